// Runs one scenario of Okta's own Node.js libraries against a Gatehouse on loopback.
// Usage: node run.mjs <scenario> [args...]; the org URL and an SSWS token come from
// GATEHOUSE_ORG_URL and GATEHOUSE_API_TOKEN. A scenario prints one JSON line last;
// the Rust test (tests/it/okta_node.rs) reads it. Any throw exits non-zero.
import okta from '@okta/okta-sdk-nodejs';
import { OktaAuth, getWellKnown } from '@okta/okta-auth-js';

const orgUrl = process.env.GATEHOUSE_ORG_URL;
const token = process.env.GATEHOUSE_API_TOKEN;
const client = new okta.Client({ orgUrl, token, cacheStore: undefined, cacheMiddleware: null });

// okta-authn: a cookie-keeping HTTP client for okta-auth-js in Node, standing in for
// the browser's cookie jar (what `credentials: 'include'` gives a page): cookies the
// server sets are kept and sent back with the requests auth-js makes with credentials.
function cookieClient(jar) {
  return async function httpRequestClient(method, url, args = {}) {
    const headers = { ...(args.headers || {}) };
    if (args.withCredentials && jar.size) {
      headers.Cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    let body = args.data;
    if (body && typeof body !== 'string') {
      const type = headers['Content-Type'] || headers['content-type'] || '';
      body = type.includes('json') ? JSON.stringify(body) : new URLSearchParams(body).toString();
    }
    const response = await fetch(url, { method, headers, body, redirect: 'manual' });
    keepCookies(jar, response);
    const text = await response.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    const result = {
      responseText: text,
      status: response.status,
      headers: Object.fromEntries(response.headers),
      ...(json !== undefined ? { responseType: 'json', responseJSON: json } : {}),
    };
    if (!response.ok || (json && json.error)) throw result;
    return result;
  };
}

function keepCookies(jar, response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const at = pair.indexOf('=');
    const [name, value] = [pair.slice(0, at), pair.slice(at + 1)];
    if (value) jar.set(name, value); else jar.delete(name);
  }
}

// A browser's navigation: GET with the jar's cookies, no redirects followed.
async function navigate(jar, url) {
  const headers = jar.size ? { Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  const response = await fetch(url, { headers, redirect: 'manual' });
  keepCookies(jar, response);
  return { status: response.status, location: response.headers.get('location') };
}

const scenarios = {
  // An OIDC identity provider created, listed, deactivated, activated and deleted with
  // the management SDK's IdentityProviderApi, as Okta's documentation shows.
  async identityProviders() {
    const api = client.identityProviderApi;
    const created = await api.createIdentityProvider({
      identityProvider: {
        type: 'OIDC',
        name: 'Corp from Node',
        protocol: {
          type: 'OIDC',
          endpoints: {
            authorization: { url: 'https://idp.example/oauth2/v1/authorize', binding: 'HTTP-REDIRECT' },
            token: { url: 'https://idp.example/oauth2/v1/token', binding: 'HTTP-POST' },
            userInfo: { url: 'https://idp.example/oauth2/v1/userinfo', binding: 'HTTP-REDIRECT' },
            jwks: { url: 'https://idp.example/oauth2/v1/keys', binding: 'HTTP-REDIRECT' },
          },
          scopes: ['openid', 'profile', 'email'],
          credentials: {
            client: {
              client_id: 'gatehouse-client',
              client_secret: 'node-sdk-secret-value',
              token_endpoint_auth_method: 'client_secret_post',
            },
          },
          issuer: { url: 'https://idp.example' },
        },
        policy: {
          provisioning: { action: 'AUTO', profileMaster: true, groups: { action: 'NONE' } },
          accountLink: { filter: null, action: 'AUTO' },
          subject: { userNameTemplate: { template: 'idpuser.email' }, matchType: 'USERNAME' },
          maxClockSkew: 0,
        },
      },
    });
    const names = [];
    for await (const idp of await api.listIdentityProviders({ q: 'Corp', type: 'OIDC' })) {
      names.push(idp.name);
    }
    const deactivated = await api.deactivateIdentityProvider({ idpId: created.id });
    const activated = await api.activateIdentityProvider({ idpId: created.id });
    const read = await api.getIdentityProvider({ idpId: created.id });
    await api.deleteIdentityProvider({ idpId: created.id });
    let gone = null;
    try {
      await api.getIdentityProvider({ idpId: created.id });
    } catch (e) {
      gone = e.status;
    }
    return {
      id: created.id,
      type: created.type,
      status: created.status,
      names,
      deactivated: deactivated.status,
      activated: activated.status,
      issuer: read.protocol?.issuer?.url ?? null,
      clientId: read.protocol?.credentials?.client?.client_id ?? null,
      secret: read.protocol?.credentials?.client?.client_secret ?? null,
      gone,
    };
  },

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

  // okta-authn: the classic Authentication API and the Sessions API through
  // okta-auth-js, as an app with its own sign-in form uses them: signInWithCredentials,
  // then the sessionToken at /authorize (getWithRedirect's URL, followed as a browser
  // would) and the code exchanged by auth-js, then session.get/refresh/exists/close.
  async authn(clientId, redirectUri, username, password) {
    const jar = new Map();
    let navigateTo;
    const auth = new OktaAuth({
      issuer: `${orgUrl}/oauth2/default`,
      clientId,
      redirectUri,
      scopes: ['openid', 'profile', 'email'],
      pkce: true,
      httpRequestClient: cookieClient(jar),
      setLocation: (url) => { navigateTo = url; },
    });
    const out = {};
    try {
      await auth.signInWithCredentials({ username, password: 'not the password' });
      out.wrongPassword = 'accepted';
    } catch (e) {
      out.wrongPassword = e.errorCode;
    }
    const tx = await auth.signInWithCredentials({ username, password });
    out.status = tx.status;
    out.userId = tx.user && tx.user.id;
    out.expiresAt = tx.expiresAt;
    out.existsBefore = await auth.session.exists();

    await auth.token.getWithRedirect({ sessionToken: tx.sessionToken, responseType: 'code' });
    const hop = await navigate(jar, navigateTo);
    out.authorizeStatus = hop.status;
    const back = new URL(hop.location);
    const meta = auth.transactionManager.load();
    const { tokens } = await auth.token.exchangeCodeForTokens({
      authorizationCode: back.searchParams.get('code'),
      codeVerifier: meta.codeVerifier,
      nonce: meta.nonce,
    });
    out.idTokenSub = tokens.idToken.claims.sub;
    out.accessToken = Boolean(tokens.accessToken && tokens.accessToken.accessToken);

    out.existsAfter = await auth.session.exists();
    const session = await auth.session.get();
    out.session = { id: session.id, login: session.login, userId: session.userId, status: session.status, amr: session.amr };
    const refreshed = await session.refresh();
    out.refreshedExpiresAt = refreshed.expiresAt;
    await auth.session.close();
    out.existsAfterClose = await auth.session.exists();

    // The token again, with prompt=none: used up, so no session and login_required.
    await auth.token.getWithRedirect({ sessionToken: tx.sessionToken, responseType: 'code', prompt: 'none' });
    const replay = await navigate(jar, navigateTo);
    out.replayError = new URL(replay.location).searchParams.get('error');
    return out;
  },

  // Routing rules of the IDP_DISCOVERY policy through the SDK's PolicyApi: a rule
  // sending one domain to a provider created by the SDK, listed, then deleted.
  async idpDiscoveryRules() {
    const idp = await client.identityProviderApi.createIdentityProvider({
      identityProvider: {
        type: 'OIDC',
        name: 'Routed from Node',
        protocol: {
          type: 'OIDC',
          endpoints: {
            authorization: { url: 'https://idp.example/oauth2/v1/authorize', binding: 'HTTP-REDIRECT' },
            token: { url: 'https://idp.example/oauth2/v1/token', binding: 'HTTP-POST' },
            jwks: { url: 'https://idp.example/oauth2/v1/keys', binding: 'HTTP-REDIRECT' },
          },
          scopes: ['openid', 'email'],
          credentials: { client: { client_id: 'gatehouse-client', client_secret: 'node-sdk-secret-value' } },
          issuer: { url: 'https://idp.example' },
        },
      },
    });
    const policies = [];
    for await (const p of await client.policyApi.listPolicies({ type: 'IDP_DISCOVERY' })) {
      policies.push(p);
    }
    const policyId = policies[0].id;
    const created = await client.policyApi.createPolicyRule({
      policyId,
      policyRule: {
        type: 'IDP_DISCOVERY',
        name: 'Corp from Node',
        conditions: {
          userIdentifier: { type: 'IDENTIFIER', patterns: [{ matchType: 'SUFFIX', value: 'corp.example' }] },
          network: { connection: 'ANYWHERE' },
        },
        actions: { idp: { providers: [{ type: 'OIDC', id: idp.id }] } },
      },
    });
    const listed = [];
    for await (const r of await client.policyApi.listPolicyRules({ policyId })) {
      listed.push({ id: r.id, name: r.name, system: r.system });
    }
    await client.policyApi.deletePolicyRule({ policyId, ruleId: created.id });
    const after = [];
    for await (const r of await client.policyApi.listPolicyRules({ policyId })) {
      after.push(r.id);
    }
    return {
      policyType: policies[0].type,
      rule: { id: created.id, type: created.type, status: created.status, name: created.name },
      provider: created.actions.idp.providers[0].id,
      idp: idp.id,
      listed,
      after,
    };
  },

  // The password policy's lockout through the management SDK (listPolicies,
  // replacePolicy, getUser, unlockUser) and okta-auth-js's signInWithCredentials
  // meeting a locked account.
  async lockout(userId, username, password) {
    const out = {};
    const policies = [];
    for await (const p of await client.policyApi.listPolicies({ type: 'PASSWORD' })) {
      policies.push(p);
    }
    const policy = policies[0];
    out.policy = { id: policy.id, type: policy.type, maxAttempts: policy.settings.password.lockout.maxAttempts };
    policy.settings.password.lockout.maxAttempts = 2;
    policy.settings.password.lockout.showLockoutFailures = true;
    const replaced = await client.policyApi.replacePolicy({ policyId: policy.id, policy });
    out.replaced = replaced.settings.password.lockout.maxAttempts;

    const auth = new OktaAuth({ issuer: `${orgUrl}/oauth2/default`, clientId: 'unused' });
    const attempt = async (pw) => {
      try {
        return (await auth.signInWithCredentials({ username, password: pw })).status;
      } catch (e) {
        return e.errorCode;
      }
    };
    out.first = await attempt('not the password');
    out.second = await attempt('not the password');
    out.right = await attempt(password);
    out.status = (await client.userApi.getUser({ userId })).status;
    await client.userApi.unlockUser({ userId });
    out.unlocked = (await client.userApi.getUser({ userId })).status;
    out.after = await attempt(password);
    try {
      await client.userApi.unlockUser({ userId });
      out.again = 'accepted';
    } catch (e) {
      out.again = { status: e.status, code: e.errorCode };
    }
    return out;
  },

  // okta-factors: an e-mail factor through the management SDK's UserFactorApi, in
  // three steps (the Rust test reads each code from its SMTP server in between).
  async emailFactorEnroll(userId, email) {
    const factor = await client.userFactorApi.enrollFactor({
      userId,
      body: { factorType: 'email', provider: 'OKTA', profile: { email } },
    });
    return { id: factor.id, factorType: factor.factorType, status: factor.status, email: factor.profile.email };
  },

  async emailFactorActivate(userId, factorId, passCode) {
    const active = await client.userFactorApi.activateFactor({ userId, factorId, body: { passCode } });
    const challenge = await client.userFactorApi.verifyFactor({ userId, factorId });
    const listed = [];
    for await (const f of await client.userFactorApi.listFactors({ userId })) {
      listed.push({ factorType: f.factorType, provider: f.provider, email: f.profile && f.profile.email });
    }
    return { status: active.status, factorResult: challenge.factorResult, listed };
  },

  async emailFactorVerify(userId, factorId, passCode) {
    const verified = await client.userFactorApi.verifyFactor({ userId, factorId, body: { passCode } });
    let wrong;
    try {
      await client.userFactorApi.verifyFactor({ userId, factorId, body: { passCode } });
    } catch (e) {
      wrong = { status: e.status, errorCode: e.errorCode };
    }
    return { factorResult: verified.factorResult, reused: wrong };
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
