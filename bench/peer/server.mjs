// node-oidc-provider as bench/run.sh's peer (PEER=1): the same scenarios, the same load,
// against a well-known OpenID Provider. Never in CI. Usage: node server.mjs PORT
//
// Configured to cost what Gatehouse's answers cost, as far as it can:
//  - RS256 ID tokens and RS256 JWT access tokens: a default resource indicator
//    (urn:bench) with accessTokenFormat 'jwt' for every token request that names none;
//  - client_credentials, the code flow with a session (SSO), refresh tokens rotated on
//    every use, introspection, JWKS; client_secret_basic as Gatehouse's bench app;
//  - its routes at Gatehouse's (Okta's) paths under /oauth2/default/v1/, so the same
//    drivers (wrk, bench/flows) speak to both.
// Introspection: node-oidc-provider introspects only the tokens it stores, not its JWT
// access tokens, so S6 gives it an opaque one (client_credentials for the resource
// urn:bench:opaque); Gatehouse introspects its JWT. Storage: its own in-memory adapter
// over an unbounded Map (nothing on disk), one Node.js process (single-threaded).
//
// The sign-in page is a tiny interaction of this file, shaped as Gatehouse's for the
// driver: GET /interaction/UID is a form with hidden `tx` (the interaction id) and
// `csrf` fields; POST /login (tx, username, password) checks the password, grants
// openid, profile, email, offline_access and the resource, and redirects to the
// provider's resume URL, which answers with the code.
import crypto from 'node:crypto';
import Provider from 'oidc-provider';
import MemoryAdapter from './node_modules/oidc-provider/lib/adapters/memory_adapter.js';

const port = Number(process.argv[2] || 18311);
const base = `http://127.0.0.1:${port}`;
const LOGIN = process.env.PEER_LOGIN || 'bench@example.com';
const PASSWORD = process.env.PEER_PASSWORD || 'bench password 1';
const CLIENT_ID = process.env.PEER_CLIENT_ID || 'bench';
const CLIENT_SECRET = process.env.PEER_CLIENT_SECRET || 'bench-secret-0123456789abcdef0123456789abcdef';
const RESOURCE = 'urn:bench';
const OPAQUE_RESOURCE = 'urn:bench:opaque';

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'bench-rs256' };

// Its in-memory adapter, but over an unbounded store: the default keeps at most 1,000
// entries (an LRU), so under load codes are evicted before their exchange and sessions
// and grants before their next use, which fails requests Gatehouse answers.
class Unbounded {
  #map = new Map();
  constructor() {
    setInterval(() => {
      const now = Date.now();
      for (const [key, entry] of this.#map) if (entry.expiresAt <= now) this.#map.delete(key);
    }, 10_000).unref();
  }
  get(key) {
    const entry = this.#map.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#map.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key, value, options) {
    this.#map.set(key, { value, expiresAt: options?.maxAge ? Date.now() + options.maxAge : Infinity });
  }
  delete(key) {
    this.#map.delete(key);
  }
}
const store = new Unbounded();
class Adapter extends MemoryAdapter {
  constructor(model) {
    super(model, store);
  }
}

const v1 = '/oauth2/default/v1';
const provider = new Provider(base, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: ['https://app.example.com/callback'],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  adapter: Adapter,
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'bench.read'],
  claims: { email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
  async findAccount(_ctx, sub) {
    if (sub !== '00u1bench') return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, email: LOGIN, email_verified: true, name: 'Bench User', preferred_username: LOGIN };
      },
    };
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf ?? RESOURCE,
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, resource) => {
        if (resource !== RESOURCE && resource !== OPAQUE_RESOURCE) throw new Provider.errors.InvalidTarget();
        return {
          scope: 'bench.read',
          audience: resource,
          accessTokenTTL: 3600,
          accessTokenFormat: resource === RESOURCE ? 'jwt' : 'opaque',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  pkce: { required: () => false },
  rotateRefreshToken: true,
  ttl: { AccessToken: 3600, ClientCredentials: 3600, IdToken: 3600, AuthorizationCode: 60, RefreshToken: 30 * 86400, Session: 86400, Interaction: 600, Grant: 30 * 86400 },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  routes: {
    authorization: `${v1}/authorize`,
    token: `${v1}/token`,
    introspection: `${v1}/introspect`,
    revocation: `${v1}/revoke`,
    jwks: `${v1}/keys`,
    userinfo: `${v1}/userinfo`,
    end_session: `${v1}/logout`,
  },
});

async function formBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

provider.use(async (ctx, next) => {
  const page = ctx.path.match(/^\/interaction\/([\w-]+)$/);
  if (ctx.method === 'GET' && page) {
    ctx.type = 'html';
    ctx.body = `<!doctype html><form method="post" action="/login">
<input type="hidden" name="tx" value="${escape(page[1])}">
<input type="hidden" name="csrf" value="-">
<input name="username"><input name="password" type="password"><button>Sign in</button></form>`;
    return;
  }
  if (ctx.method === 'POST' && ctx.path === '/login') {
    const form = await formBody(ctx.req);
    const interaction = await provider.Interaction.find(form.get('tx') || '');
    if (!interaction) ctx.throw(400, 'no such interaction');
    const same = (a, b) => a.length === b.length && crypto.timingSafeEqual(Buffer.from(a), Buffer.from(b));
    if (form.get('username') !== LOGIN || !same(form.get('password') || '', PASSWORD)) {
      ctx.throw(401, 'wrong username or password');
    }
    const grant = new provider.Grant({ accountId: '00u1bench', clientId: interaction.params.client_id });
    grant.addOIDCScope('openid profile email offline_access');
    grant.addResourceScope(RESOURCE, 'bench.read');
    const grantId = await grant.save();
    interaction.result = { login: { accountId: '00u1bench' }, consent: { grantId } };
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
    ctx.status = 303;
    ctx.redirect(interaction.returnTo);
    return;
  }
  await next();
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`node-oidc-provider listening on ${base}`);
});
