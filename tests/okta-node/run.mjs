// Runs one scenario of Okta's own Node.js libraries against a Gatehouse on loopback.
// Usage: node run.mjs <scenario> [args...]; the org URL and an SSWS token come from
// GATEHOUSE_ORG_URL and GATEHOUSE_API_TOKEN. A scenario prints one JSON line last;
// the Rust test (tests/it/okta_node.rs) reads it. Any throw exits non-zero.
import okta from '@okta/okta-sdk-nodejs';
import { OktaAuth, getWellKnown } from '@okta/okta-auth-js';

const orgUrl = process.env.GATEHOUSE_ORG_URL;
const token = process.env.GATEHOUSE_API_TOKEN;
const client = new okta.Client({ orgUrl, token, cacheStore: undefined, cacheMiddleware: null });

const scenarios = {
  // The management SDK lists users with its own pagination; auth-js reads discovery.
  async smoke() {
    const logins = [];
    for await (const user of await client.userApi.listUsers()) {
      logins.push(user.profile.login);
    }
    const auth = new OktaAuth({ issuer: `${orgUrl}/oauth2/default`, clientId: 'unused' });
    const wellKnown = await getWellKnown(auth);
    return { logins, issuer: wellKnown.issuer };
  },
};

const [name, ...args] = process.argv.slice(2);
const scenario = scenarios[name];
if (!scenario) {
  console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const result = await scenario(...args);
console.log(JSON.stringify(result));
