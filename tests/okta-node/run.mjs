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
};

const [name, ...args] = process.argv.slice(2);
const scenario = scenarios[name];
if (!scenario) {
  console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const result = await scenario(...args);
console.log(JSON.stringify(result));
