// Runs one scenario of Okta's own Node.js libraries against a Gatehouse on loopback.
// Usage: node run.mjs <scenario> [args...]; the org URL and an SSWS token come from
// GATEHOUSE_ORG_URL and GATEHOUSE_API_TOKEN. A scenario prints one JSON line last;
// the Rust test (tests/it/okta_node.rs) reads it. Any throw exits non-zero.
import okta from '@okta/okta-sdk-nodejs';
import authjs from '@okta/okta-auth-js';

const orgUrl = process.env.GATEHOUSE_ORG_URL;
const token = process.env.GATEHOUSE_API_TOKEN;
const client = new okta.Client({ orgUrl, token, cacheStore: undefined, cacheMiddleware: null });
// The package's default export is the OktaAuth class itself.
const OktaAuth = authjs.OktaAuth ?? authjs;

const scenarios = {
  // The management SDK lists users with its own pagination; auth-js reads discovery.
  async smoke() {
    const logins = [];
    for await (const user of await client.userApi.listUsers()) {
      logins.push(user.profile.login);
    }
    const auth = new authjs.OktaAuth({ issuer: `${orgUrl}/oauth2/default`, clientId: 'unused' });
    const wellKnown = await auth.token.getWellKnown();
    return { logins, issuer: wellKnown.issuer };
  },

  // okta-api
  // A public SPA client signs out as auth-js does: introspect, then signOut(), which
  // revokes the refresh and access tokens with `Authorization: Basic base64(clientId)`
  // and sends the browser to the logout endpoint.
  async publicSignOut(issuer, clientId, accessToken, refreshToken, idToken) {
    const auth = new OktaAuth({ issuer, clientId, redirectUri: 'https://app.example.com/callback' });
    const claims = { iss: issuer };
    const before = await auth.token.introspect('accessToken', { accessToken, claims });
    let redirect = null;
    globalThis.window = {
      location: {
        origin: 'https://app.example.com',
        href: 'https://app.example.com/',
        assign(url) { redirect = url; },
      },
    };
    const signedOut = await auth.signOut({
      accessToken: { accessToken, claims },
      refreshToken: { refreshToken },
      idToken: { idToken },
      postLogoutRedirectUri: null,
    });
    const after = await auth.token.introspect('accessToken', { accessToken, claims });
    return { before: before.active, signedOut, after: after.active, redirect };
  },

  // Okta's documented service-app payload, created with the management SDK.
  async serviceApp() {
    const application = {
      name: 'oidc_client',
      label: 'Sample Service App',
      signOnMode: 'OPENID_CONNECT',
      credentials: { oauthClient: { token_endpoint_auth_method: 'client_secret_basic' } },
      settings: {
        oauthClient: {
          response_types: ['token'],
          grant_types: ['client_credentials'],
          application_type: 'service',
        },
      },
    };
    const app = await client.applicationApi.createApplication({ application });
    return {
      id: app.id,
      clientId: app.credentials.oauthClient.client_id,
      clientSecret: app.credentials.oauthClient.client_secret,
      settings: app.settings.oauthClient,
    };
  },

  // Every member of a group and every user, with the SDK's iterator at `limit` a page,
  // counting the pages it fetched (it follows Link rel="next").
  async pagedLists(groupId, limit) {
    const counted = async (collection) => {
      let pages = 0;
      const fetchPage = collection.getNextPage.bind(collection);
      collection.getNextPage = () => { pages += 1; return fetchPage(); };
      const ids = [];
      for await (const item of collection) {
        ids.push(item.id);
      }
      return { ids, pages };
    };
    const n = Number(limit);
    return {
      members: await counted(await client.groupApi.listGroupUsers({ groupId, limit: n })),
      users: await counted(await client.userApi.listUsers({ limit: n })),
      groups: await counted(await client.groupApi.listGroups({ limit: n })),
    };
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
