// One application: general settings (name, redirect and sign-out URIs, grant types,
// PKCE, DPoP (RFC 9449) and PAR (RFC 9126) switches), client authentication (the
// token endpoint method, RFC 6749 §2.3.1 / RFC 7523 §2.2, and the JWKS for
// private_key_jwt), client secrets (two at most: add, deactivate, activate, delete —
// Okta's rotation), assigned users and groups, and the lifecycle (activate,
// deactivate, delete an inactive app). Every change is Okta's PUT of the whole app
// (`/api/v1/apps/{id}`) or one of its sub-resources.

import {
  h, pageHead, section, details, badge, button, form, replace, when, link,
  confirmDialog, simpleTable, copyButton, modal,
} from '../kit.js';
import { canChange, readOnlyNote } from './access.js';
import { kindLabel, lines, shownOnce } from './apps.js';

const GRANTS = [
  ['authorization_code', 'Authorization code'],
  ['refresh_token', 'Refresh token'],
  ['client_credentials', 'Client credentials'],
];
const CONFIDENTIAL_METHODS = [
  ['client_secret_basic', 'Client secret (HTTP Basic)'],
  ['client_secret_post', 'Client secret (in the form)'],
  ['client_secret_jwt', 'Client secret JWT (HMAC)'],
  ['private_key_jwt', 'Public key / private key JWT'],
];

/** The PUT body for `app` with `oauth`/`creds` changes over what it has now. */
export function putBody(app, label, oauth, creds) {
  const now = app.settings.oauthClient;
  const settings = {
    redirect_uris: now.redirect_uris,
    post_logout_redirect_uris: now.post_logout_redirect_uris,
    response_types: now.response_types,
    grant_types: now.grant_types,
    application_type: now.application_type,
    refresh_token: { rotation_type: 'ROTATE', leeway: now.refresh_token ? now.refresh_token.leeway : 0 },
    dpop_bound_access_tokens: now.dpop_bound_access_tokens,
    require_pushed_authorization_requests: now.require_pushed_authorization_requests,
    ...(now.jwks ? { jwks: now.jwks } : {}),
    ...(now.jwks_uri ? { jwks_uri: now.jwks_uri } : {}),
    ...oauth,
  };
  for (const k of Object.keys(settings)) if (settings[k] === undefined) delete settings[k];
  const c = app.credentials.oauthClient;
  return {
    name: 'oidc_client',
    label,
    signOnMode: 'OPENID_CONNECT',
    credentials: {
      oauthClient: {
        token_endpoint_auth_method: c.token_endpoint_auth_method,
        pkce_required: c.pkce_required,
        pkce_allow_plain: c.pkce_allow_plain,
        ...creds,
      },
    },
    settings: { oauthClient: settings },
  };
}

export default {
  path: '/apps/:id',
  title: 'Application',
  nav: false,
  async render(main, params, ctx) {
    const path = '/api/v1/apps/' + encodeURIComponent(params.id);
    let app = (await ctx.api('GET', path)).body;
    const writable = await canChange(ctx, 'apps');
    const head = h('div');
    const general = h('div');
    const auth = h('div');
    const secrets = h('div');
    const people = h('div');
    const lifecycle = h('div');

    async function reload() {
      app = (await ctx.api('GET', path)).body;
      draw();
    }

    /** Runs a change; a secret in the answer is shown once. */
    async function save(body, done) {
      const { body: saved } = await ctx.api('PUT', path, body);
      ctx.toast(done || 'Saved');
      const secret = saved.credentials.oauthClient.client_secret;
      if (secret) modal('New client secret', shownOnce('client secret', secret));
      app = saved;
      draw();
    }

    function draw() {
      document.title = app.label + ' · Admin Console';
      const c = app.credentials.oauthClient;
      replace(head, pageHead(app.label, kindLabel(app), [badge(app.status)]),
        details([
          ['Client ID', h('span', {}, h('code', {}, c.client_id), ' ', copyButton(c.client_id, 'Copy client ID'))],
          ['Created', when(app.created)],
          ['Changed', when(app.lastUpdated)],
        ]),
        writable ? null : readOnlyNote(h, 'apps'));
      drawGeneral();
      drawAuth();
      drawSecrets().catch(ctx.failed);
      drawPeople().catch(ctx.failed);
      drawLifecycle();
    }

    function drawGeneral() {
      const o = app.settings.oauthClient;
      const c = app.credentials.oauthClient;
      const isPublic = c.token_endpoint_auth_method === 'none';
      const grants = GRANTS.concat(o.grant_types.filter((g) => !GRANTS.some(([x]) => x === g)).map((g) => [g, g]));
      if (!writable) {
        replace(general, section('General', null, details([
          ['Name', app.label],
          ['Sign-in redirect URIs', list(o.redirect_uris)],
          ['Sign-out redirect URIs', list(o.post_logout_redirect_uris)],
          ['Grant types', list(o.grant_types)],
          ['PKCE required', c.pkce_required ? 'Yes' : 'No'],
          ['DPoP-bound tokens', o.dpop_bound_access_tokens ? 'Yes' : 'No'],
          ['Pushed authorization requests only', o.require_pushed_authorization_requests ? 'Yes' : 'No'],
        ])));
        return;
      }
      const f = form({
        submitLabel: 'Save general settings',
        fields: [
          { name: 'label', label: 'Name', required: true, value: app.label },
          { name: 'redirect_uris', label: 'Sign-in redirect URIs', type: 'textarea', rows: 3, value: o.redirect_uris.join('\n'), hint: 'One per line, compared exactly.' },
          { name: 'post_logout_redirect_uris', label: 'Sign-out redirect URIs', type: 'textarea', rows: 2, value: o.post_logout_redirect_uris.join('\n'), hint: 'One per line.' },
          ...grants.map(([g, label]) => ({ name: 'grant:' + g, label: 'Grant: ' + label, type: 'checkbox', value: o.grant_types.includes(g) })),
          { name: 'pkce_required', label: 'Require PKCE', type: 'checkbox', value: c.pkce_required, hint: isPublic ? 'Always on for a public client.' : 'Require a code_challenge (S256) at /authorize.' },
          { name: 'dpop', label: 'Require DPoP-bound tokens (RFC 9449)', type: 'checkbox', value: o.dpop_bound_access_tokens },
          { name: 'par', label: 'Require pushed authorization requests (RFC 9126)', type: 'checkbox', value: o.require_pushed_authorization_requests },
        ],
        async onSubmit(v) {
          const granted = grants.map(([g]) => g).filter((g) => v['grant:' + g]);
          await save(putBody(app, v.label, {
            redirect_uris: lines(v.redirect_uris),
            post_logout_redirect_uris: lines(v.post_logout_redirect_uris),
            grant_types: granted,
            response_types: granted.includes('authorization_code') ? ['code'] : [],
            dpop_bound_access_tokens: v.dpop,
            require_pushed_authorization_requests: v.par,
          }, { pkce_required: isPublic ? true : v.pkce_required }), 'General settings saved');
        },
      });
      f.id = 'app-general';
      if (isPublic) f.inputs.pkce_required.disabled = true;
      replace(general, section('General', null, f));
    }

    function drawAuth() {
      const o = app.settings.oauthClient;
      const c = app.credentials.oauthClient;
      const method = c.token_endpoint_auth_method;
      if (method === 'none' || !writable) {
        replace(auth, section('Client authentication', null, details([
          ['Token endpoint method', method === 'none' ? 'None (public client, PKCE)' : method],
          ...(o.jwks ? [['JWKS', h('pre', { class: 'json' }, JSON.stringify(o.jwks, null, 2))]] : []),
          ...(o.jwks_uri ? [['JWKS URI', o.jwks_uri]] : []),
        ])));
        return;
      }
      const f = form({
        submitLabel: 'Save client authentication',
        fields: [
          { name: 'method', label: 'Token endpoint authentication method', type: 'select', value: method, options: CONFIDENTIAL_METHODS },
          { name: 'jwks', label: 'Public keys (JWKS) for private_key_jwt', type: 'textarea', rows: 6, value: o.jwks ? JSON.stringify(o.jwks, null, 2) : '', hint: 'A JSON object {"keys": [...]} of public keys; leave empty to use the JWKS URI.' },
          { name: 'jwks_uri', label: 'JWKS URI for private_key_jwt', type: 'url', value: o.jwks_uri || '', hint: 'https; where the app publishes its keys.' },
        ],
        async onSubmit(v) {
          const change = { jwks: undefined, jwks_uri: undefined };
          if (v.method === 'private_key_jwt') {
            if (v.jwks.trim()) {
              try {
                change.jwks = JSON.parse(v.jwks);
              } catch {
                throw new Error('The JWKS is not JSON: give an object like {"keys": [{"kty": "EC", ...}]}.');
              }
            } else if (v.jwks_uri.trim()) {
              change.jwks_uri = v.jwks_uri.trim();
            }
          }
          const body = putBody(app, app.label, {}, { token_endpoint_auth_method: v.method });
          delete body.settings.oauthClient.jwks;
          delete body.settings.oauthClient.jwks_uri;
          Object.assign(body.settings.oauthClient, JSON.parse(JSON.stringify(change)));
          await save(body, 'Client authentication saved');
        },
      });
      f.id = 'app-auth';
      replace(auth, section('Client authentication', null, f));
    }

    async function drawSecrets() {
      if (app.credentials.oauthClient.token_endpoint_auth_method === 'none') {
        replace(secrets);
        return;
      }
      const base = path + '/credentials/secrets';
      const list = (await ctx.api('GET', base)).body;
      const act = (label, fn) => button(label, () => fn().then(() => drawSecrets()).catch(ctx.failed));
      const rows = list.map((s) => ({ ...s, actions: !writable ? [] : s.status === 'ACTIVE'
        ? [act('Deactivate', async () => {
          if (await confirmDialog('Deactivate this client secret? Clients that use it are refused at once.', 'Deactivate')) {
            await ctx.api('POST', `${base}/${encodeURIComponent(s.id)}/lifecycle/deactivate`);
            ctx.toast('Secret deactivated');
          }
        })]
        : [act('Activate', async () => {
          await ctx.api('POST', `${base}/${encodeURIComponent(s.id)}/lifecycle/activate`);
          ctx.toast('Secret activated');
        }), act('Delete', async () => {
          if (await confirmDialog('Delete this client secret for good?', 'Delete')) {
            await ctx.api('DELETE', `${base}/${encodeURIComponent(s.id)}`);
            ctx.toast('Secret deleted');
          }
        })] }));
      const add = writable ? button('Generate new secret', async () => {
        try {
          const { body: s } = await ctx.api('POST', base);
          modal('New client secret', shownOnce('client secret', s.client_secret));
          await drawSecrets();
        } catch (err) {
          ctx.failed(err);
        }
      }, 'primary', { disabled: list.length >= 2, id: 'new-secret' }) : null;
      replace(secrets, section('Client secrets', add ? [add] : [],
        h('p', { class: 'hint' }, 'Two at most: generate the new one, move the app to it, then deactivate and delete the old one.'),
        simpleTable([
          { label: 'Secret', cell: (s) => h('code', { title: 'A fingerprint, not the secret' }, (s.secret_hash || s.id).slice(0, 12) + '…') },
          { label: 'Status', cell: (s) => badge(s.status) },
          { label: 'Created', cell: (s) => when(s.created) },
          { label: 'Actions', cell: (s) => h('div', { class: 'actions' }, s.actions) },
        ], rows, 'No secrets.', 'Client secrets')));
    }

    async function drawPeople() {
      const [users, groups] = await Promise.all([
        ctx.api('GET', path + '/users?limit=200'),
        ctx.api('GET', path + '/groups?limit=200'),
      ]);
      const remove = (what, url, name) => button('Remove', async () => {
        if (!(await confirmDialog(`Remove ${name} from ${app.label}? They can no longer sign in to it.`, 'Remove'))) return;
        try {
          await ctx.api('DELETE', url);
          ctx.toast(`${name} removed`);
          await drawPeople();
        } catch (err) {
          ctx.failed(err);
        }
      }, 'danger', { 'aria-label': `Remove ${what} ${name}` });
      const userTable = simpleTable([
        { label: 'User', cell: (u) => link('/users/' + encodeURIComponent(u.id), u.credentials.userName) },
        { label: 'Assigned', cell: (u) => when(u.created) },
        { label: 'Actions', cell: (u) => writable ? remove('user', `${path}/users/${encodeURIComponent(u.id)}`, u.credentials.userName) : '' },
      ], users.body, 'No users assigned.', 'Assigned users');
      const groupTable = simpleTable([
        { label: 'Group', cell: (g) => link('/groups/' + encodeURIComponent(g.id), g.id) },
        { label: 'Priority', cell: (g) => String(g.priority) },
        { label: 'Actions', cell: (g) => writable ? remove('group', `${path}/groups/${encodeURIComponent(g.id)}`, g.id) : '' },
      ], groups.body, 'No groups assigned.', 'Assigned groups');
      const addUser = writable ? form({
        inline: true,
        submitLabel: 'Assign user',
        fields: [{ name: 'user', label: 'User (login or ID)', required: true, autocomplete: 'off' }],
        async onSubmit(v) {
          await ctx.api('POST', path + '/users', { id: v.user.trim() });
          ctx.toast(`${v.user.trim()} assigned`);
          await drawPeople();
        },
      }) : null;
      if (addUser) addUser.id = 'assign-user';
      const addGroup = writable ? form({
        inline: true,
        submitLabel: 'Assign group',
        fields: [{ name: 'group', label: 'Group (name or ID)', required: true, autocomplete: 'off' }],
        async onSubmit(v) {
          await ctx.api('PUT', `${path}/groups/${encodeURIComponent(v.group.trim())}`, {});
          ctx.toast(`${v.group.trim()} assigned`);
          await drawPeople();
        },
      }) : null;
      if (addGroup) addGroup.id = 'assign-group';
      replace(people,
        section('Assigned users', null, h('p', { class: 'hint' }, 'Only assigned users, and members of assigned groups, may sign in to this app.'), addUser, userTable),
        section('Assigned groups', null, addGroup, groupTable));
    }

    function drawLifecycle() {
      if (!writable) {
        replace(lifecycle);
        return;
      }
      const buttons = [];
      if (app.status === 'ACTIVE') {
        buttons.push(button('Deactivate app', async () => {
          if (!(await confirmDialog(`Deactivate ${app.label}? Its sign-ins and token requests are refused until it is activated again.`, 'Deactivate'))) return;
          try {
            await ctx.api('POST', path + '/lifecycle/deactivate');
            ctx.toast('App deactivated');
            await reload();
          } catch (err) {
            ctx.failed(err);
          }
        }, 'danger'));
      } else {
        buttons.push(button('Activate app', async () => {
          try {
            await ctx.api('POST', path + '/lifecycle/activate');
            ctx.toast('App activated');
            await reload();
          } catch (err) {
            ctx.failed(err);
          }
        }, 'primary'));
        buttons.push(button('Delete app', async () => {
          if (!(await confirmDialog(`Delete ${app.label} for good? Its secrets, assignments and tokens go with it.`, 'Delete'))) return;
          try {
            await ctx.api('DELETE', path);
            ctx.toast(`${app.label} deleted`);
            ctx.navigate('/apps');
          } catch (err) {
            ctx.failed(err);
          }
        }, 'danger'));
      }
      replace(lifecycle, section('Lifecycle', null,
        h('p', { class: 'hint' }, app.status === 'ACTIVE' ? 'An app is deactivated before it can be deleted.' : 'The app is inactive: activate it, or delete it.'),
        h('div', { class: 'actions' }, buttons)));
    }

    draw();
    main.append(h('p', {}, link('/apps', '← Applications')), head, general, auth, secrets, people, lifecycle);
  },
};

function list(items) {
  return items && items.length ? h('ul', { class: 'plain' }, items.map((i) => h('li', {}, i))) : '—';
}
