// The admin console's shell (issue 17): sign-in through Gatehouse's own org server
// (authorization code + PKCE S256 + state + nonce; RFC 6749 §4.1, RFC 7636, OpenID
// Connect Core §3.1), the tokens in sessionStorage, refresh with the rotating
// refresh token (RFC 6749 §6), sign-out (RFC 7009 revocation, then RP-Initiated
// Logout 1.0), the history-API router, and `api()`, which calls the management API
// with `Authorization: Bearer` — never with a cookie.
//
// Pages are ES modules listed in pages/index.js; each is
//   export default { path: '/users/:id', title: 'User', nav: false, async render(main, params, ctx) {} }
// `params` has the path's :names and `query` (URLSearchParams); `ctx` is
// { api, navigate, user, base, signOut, toast, failed, current }: `failed(err)` is
// for an action's error after the first render (a session that ended goes back to
// sign-in, anything else is a toast), `current()` is false once the person has moved
// on to another page (stop polling then). A page imports the kit from '../kit.js'
// and the chart from '../chart.js' (console.js re-exports both, but a page importing
// console.js at its top level would be a cycle: pages/index.js is imported by it).

import { h, replace, link, toast } from './kit.js';
import pages from './pages/index.js';

export * from './kit.js';
export * from './chart.js';

const body = document.body;
const BASE = body.dataset.base.replace(/\/$/, '');
const CLIENT_ID = body.dataset.clientId;
const REDIRECT_URI = BASE + '/admin/callback';
const POST_LOGOUT = BASE + '/admin/';
const ORG = BASE + '/oauth2/v1';

/** Every Okta scope the console may use; the server grants what the client may ask. */
const SCOPES = ['openid', 'profile', 'email', 'offline_access'].concat(
  ['users', 'groups', 'apps', 'authorizationServers', 'roles', 'apiTokens', 'brands', 'sessions']
    .flatMap((x) => [`okta.${x}.read`, `okta.${x}.manage`]),
  ['okta.logs.read', 'okta.dashboard.read'],
).join(' ');

/** The navigation: the console's sections, in Okta's order. Pages not yet present
 *  answer "Not found" from the router. */
const NAV = [
  ['/', 'Dashboard'],
  ['/users', 'Users'],
  ['/groups', 'Groups'],
  ['/apps', 'Applications'],
  ['/authorization-servers', 'Authorization servers'],
  ['/log', 'System Log'],
  ['/api-tokens', 'API tokens'],
  ['/branding', 'Branding'],
];

const TOKENS = 'gatehouse.console.tokens';
const PENDING = 'gatehouse.console.pending';

// ---------------------------------------------------------------- tokens

function b64url(bytes) {
  let text = '';
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random() {
  return b64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** A JWT's claims, read without checking: the token came straight from the token
 *  endpoint over this origin's connection (OpenID Connect Core §3.1.3.7, item 6). */
function claims(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const text = atob(part + '='.repeat((4 - (part.length % 4)) % 4));
    return JSON.parse(decodeURIComponent(Array.from(text, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join('')));
  } catch {
    return {};
  }
}

function tokens() {
  try {
    return JSON.parse(sessionStorage.getItem(TOKENS));
  } catch {
    return null;
  }
}

function store(answer, previous) {
  const t = {
    access_token: answer.access_token,
    refresh_token: answer.refresh_token || (previous && previous.refresh_token),
    id_token: answer.id_token || (previous && previous.id_token),
    expires_at: Date.now() + (Number(answer.expires_in) || 3600) * 1000,
    scope: answer.scope,
  };
  sessionStorage.setItem(TOKENS, JSON.stringify(t));
  return t;
}

function forget() {
  sessionStorage.removeItem(TOKENS);
}

async function tokenRequest(form) {
  const res = await fetch(ORG + '/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams(form),
    credentials: 'omit',
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new Error(answer.error_description || answer.error || `The token endpoint answered ${res.status}`);
  }
  return answer;
}

/** Goes to the org server's authorize endpoint; back at /admin/callback. */
async function signIn(returnTo) {
  const verifier = random();
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const pending = { verifier, state: random(), nonce: random(), returnTo: returnTo || '/' };
  sessionStorage.setItem(PENDING, JSON.stringify(pending));
  const url = new URL(ORG + '/authorize');
  url.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    scope: SCOPES,
    redirect_uri: REDIRECT_URI,
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** /admin/callback: checks state, redeems the code, checks the ID token's nonce. */
async function callback() {
  const query = new URLSearchParams(location.search);
  let pending = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING));
  } catch {
    pending = null;
  }
  sessionStorage.removeItem(PENDING);
  if (!pending || query.get('state') !== pending.state) {
    throw new Error('The sign-in answer does not belong to this browser tab. Sign in again.');
  }
  if (query.get('error')) {
    throw new Error(query.get('error_description') || query.get('error'));
  }
  const answer = await tokenRequest({
    grant_type: 'authorization_code',
    code: query.get('code') || '',
    redirect_uri: REDIRECT_URI,
    client_id: CLIENT_ID,
    code_verifier: pending.verifier,
  });
  const id = claims(answer.id_token || '');
  if (id.nonce !== pending.nonce || id.aud !== CLIENT_ID && !(Array.isArray(id.aud) && id.aud.includes(CLIENT_ID))) {
    throw new Error('The ID token is not for this sign-in.');
  }
  store(answer, null);
  return pending.returnTo;
}

let refreshing = null;
/** A new access token with the refresh token (which rotates); null when it fails. */
function refresh() {
  const t = tokens();
  if (!t || !t.refresh_token) return Promise.resolve(null);
  refreshing = refreshing || tokenRequest({
    grant_type: 'refresh_token',
    refresh_token: t.refresh_token,
    client_id: CLIENT_ID,
    scope: t.scope || SCOPES,
  }).then((answer) => store(answer, t), () => null).finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** Revokes the tokens, forgets them and ends the session at the org server. */
async function signOut() {
  const t = tokens();
  forget();
  if (t) {
    for (const [token, hint] of [[t.refresh_token, 'refresh_token'], [t.access_token, 'access_token']]) {
      if (!token) continue;
      await fetch(ORG + '/revoke', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, token_type_hint: hint, client_id: CLIENT_ID }),
        credentials: 'omit',
      }).catch(() => null);
    }
  }
  const url = new URL(ORG + '/logout');
  const params = { post_logout_redirect_uri: POST_LOGOUT, client_id: CLIENT_ID };
  if (t && t.id_token) params.id_token_hint = t.id_token;
  url.search = new URLSearchParams(params).toString();
  location.assign(url.toString());
}

// ---------------------------------------------------------------- api

/** An answer of the API that is not a success: Okta's error body as a message. */
export class ApiError extends Error {
  constructor(status, body) {
    const summary = (body && (body.errorSummary || body.error_description || body.error)) || `The server answered ${status}`;
    super(summary);
    this.status = status;
    this.code = body && body.errorCode;
    this.causes = ((body && body.errorCauses) || []).map((c) => c.errorSummary).filter(Boolean);
  }
}

/** The session ended (expired or revoked token that no refresh could replace). */
class SignedOut extends Error {}
/** The signed-in user has no admin role that allows this. */
class NoRole extends Error {}

/**
 * Calls the management API: `api('GET', '/api/v1/users?limit=20')`. Sends the Bearer
 * token (refreshing it first when it is about to expire, and once more on a 401),
 * never a cookie. Resolves {status, body, headers, next} where `next` is the
 * `Link: <…>; rel="next"` path; rejects with an ApiError carrying Okta's message.
 */
export async function api(method, path, payload) {
  let t = tokens();
  if (!t) throw new SignedOut();
  if (t.expires_at - Date.now() < 30000) t = (await refresh()) || t;
  let res = await send(method, path, payload, t.access_token);
  if (res.status === 401) {
    const renewed = await refresh();
    if (!renewed) {
      forget();
      throw new SignedOut();
    }
    res = await send(method, path, payload, renewed.access_token);
    if (res.status === 401) {
      forget();
      throw new SignedOut();
    }
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return { status: res.status, body: data, headers: res.headers, next: nextLink(res.headers.get('Link')) };
}

function send(method, path, payload, token) {
  const headers = { Accept: 'application/json', Authorization: 'Bearer ' + token };
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(path.startsWith('http') ? path : BASE + path, {
    method,
    headers,
    body: payload === undefined ? undefined : JSON.stringify(payload),
    credentials: 'omit',
  });
}

function nextLink(header) {
  if (!header) return null;
  for (const part of header.split(',')) {
    const m = part.match(/<([^>]+)>\s*;\s*rel="?next"?/);
    if (m) {
      const url = new URL(m[1], BASE);
      return url.pathname + url.search;
    }
  }
  return null;
}

// ---------------------------------------------------------------- router

const routes = pages.map((page) => {
  const names = [];
  const pattern = page.path.replace(/\/:([A-Za-z]+)/g, (_, name) => {
    names.push(name);
    return '/([^/]+)';
  });
  return { page, names, regex: new RegExp('^' + pattern + '/?$') };
});

function route(path) {
  for (const r of routes) {
    const m = path.match(r.regex);
    if (m) {
      const params = {};
      r.names.forEach((n, i) => {
        params[n] = decodeURIComponent(m[i + 1]);
      });
      return { page: r.page, params };
    }
  }
  return null;
}

/** The console path (after /admin) of the current location. */
function here() {
  const p = location.pathname.replace(/^\/admin/, '') || '/';
  return p;
}

/** Goes to a console path (`/users/00u1`), adding a history entry. */
export function navigate(path, replaceEntry) {
  const url = '/admin' + (path === '/' ? '/' : path);
  if (replaceEntry) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
}

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
let user = null;
let generation = 0;
let rendered = false;

function drawNav(current) {
  const extra = pages.filter((p) => p.nav && !NAV.some(([path]) => path === p.path)).map((p) => [p.path, p.title]);
  const section = '/' + (current.split('/')[1] || '');
  const toggle = h('button', { type: 'button', class: 'btn nav-toggle', 'aria-expanded': 'false', 'aria-controls': 'nav-list' }, 'Menu');
  const list = h('ul', { id: 'nav-list' }, NAV.concat(extra).map(([path, label]) => {
    const a = link(path === '/' ? '/' : path, label);
    if (path === section || (path === '/' && current === '/')) a.setAttribute('aria-current', 'page');
    return h('li', {}, a);
  }));
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    nav.classList.toggle('open', open);
  });
  nav.classList.remove('open');
  replace(nav, toggle, list);
}

function drawWho() {
  if (!user) {
    replace(who);
    return;
  }
  replace(who,
    h('span', { class: 'who-name', title: user.login || '' }, user.name),
    h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => signOut() }, 'Sign out'));
}

function signInScreen(message) {
  body.classList.add('signed-out');
  user = null;
  drawWho();
  replace(nav);
  const button = h('button', { type: 'button', class: 'btn btn-primary btn-large' }, 'Sign in with Gatehouse');
  button.addEventListener('click', () => signIn(here() === '/callback' ? '/' : here() + location.search));
  replace(main, h('div', { class: 'signin' },
    h('h1', {}, 'Admin Console'),
    h('p', {}, `Manage users, groups, applications and authorization servers of ${body.dataset.brand}.`),
    message ? h('p', { class: 'form-error', role: 'alert' }, message) : null,
    button));
  document.title = 'Sign in · Admin Console';
}

function noRoleScreen(err) {
  replace(main, h('div', { class: 'signin' },
    h('h1', {}, 'No admin role'),
    h('p', {}, `You are signed in as ${user ? user.name : 'a user'}, but you have no admin role that allows this console. Ask a super admin to grant you one (gatehouse admins grant).`),
    err && err.message ? h('p', { class: 'muted' }, err.message) : null,
    h('button', { type: 'button', class: 'btn', onclick: () => signOut() }, 'Sign out')));
  document.title = 'No admin role · Admin Console';
}

async function render() {
  const mine = ++generation;
  const path = here();
  if (path === '/callback') {
    try {
      const back = await callback();
      history.replaceState(null, '', '/admin' + (back === '/' ? '/' : back));
    } catch (err) {
      history.replaceState(null, '', '/admin/');
      signInScreen(err.message);
      return;
    }
    return render();
  }
  const t = tokens();
  if (!t) {
    signInScreen();
    return;
  }
  body.classList.remove('signed-out');
  const id = claims(t.id_token || '');
  const access = claims(t.access_token || '');
  user = { id: access.uid || id.sub, name: id.name || id.preferred_username || id.email || access.sub, login: id.preferred_username || access.sub };
  drawWho();
  drawNav(path);
  const found = route(path);
  const page = found ? found.page : null;
  document.title = (page ? page.title : 'Not found') + ' · Admin Console';
  replace(main, h('p', { class: 'loading' }, 'Loading…'));
  if (!page) {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'There is no console page at this address. '), link('/', 'Go to the dashboard'));
    return;
  }
  const params = { ...found.params, query: new URLSearchParams(location.search) };
  const ctx = { api, navigate, user, base: BASE, signOut, toast, failed, current: () => mine === generation };
  const area = h('div', { class: 'page' });
  try {
    await page.render(area, params, ctx);
    if (mine !== generation) return;
    replace(main, area);
  } catch (err) {
    if (mine !== generation) return;
    if (err instanceof SignedOut) {
      signInScreen('Your session has ended. Sign in again.');
    } else if (err instanceof ApiError && err.status === 403) {
      // Every admin role may read users (issue 17, item 3): refused that too, the
      // person has no role at all; otherwise only this page is beyond their role.
      const anyRole = await api('GET', '/api/v1/users?limit=1').then(() => true, () => false);
      if (mine !== generation) return;
      if (anyRole) {
        replace(main, h('h1', {}, page.title), h('p', { class: 'form-error', role: 'alert' },
          'Your admin role does not allow this page. ' + err.message), link('/', 'Go to the dashboard'));
      } else {
        noRoleScreen(err);
      }
    } else {
      replace(main, h('h1', {}, page.title), h('p', { class: 'form-error', role: 'alert' }, err.message || String(err)));
    }
    return;
  }
  // After a navigation (not the first page), focus goes to the page, as a page load
  // would put it: a screen reader reads the new page, Tab starts from its top.
  if (rendered) main.focus({ preventScroll: true });
  rendered = true;
}

/** Handles a page's error that happens after its first render (a button's action). */
export function failed(err) {
  if (err instanceof SignedOut) signInScreen('Your session has ended. Sign in again.');
  else toast(err.message || String(err), 'error');
}

document.addEventListener('click', (e) => {
  const a = e.target.closest && e.target.closest('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/admin')) return;
  e.preventDefault();
  navigate(url.pathname.replace(/^\/admin/, '') + url.search || '/');
});
window.addEventListener('popstate', () => render());

export { NoRole, SignedOut };

render();
