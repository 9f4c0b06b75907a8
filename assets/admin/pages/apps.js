// Applications: the list with a label-prefix search (`q=`, Okta's) and "Next" paging,
// and the create wizard (Okta's "Create App Integration"): pick the kind of app —
// web (confidential, with a client secret), single-page (public, PKCE S256), native
// (public, PKCE S256, a private-use scheme redirect, RFC 8252 §7.1) or service
// (client_credentials) — then its name and redirect URIs; the client secret is shown
// once, with a copy button, and never again (only its hash is kept).

import { h, pageHead, dataTable, link, button, replace, badge, when, form, copyButton } from '../kit.js';
import { canChange } from './access.js';

/** The kinds of app the wizard makes, in Okta's words. */
export const KINDS = [
  {
    id: 'web', label: 'Web application',
    hint: 'A server-side app that keeps a client secret (authorization code flow).',
    auth: 'client_secret_basic', type: 'web', grants: ['authorization_code', 'refresh_token'],
    redirect: 'https://app.example.com/callback',
  },
  {
    id: 'spa', label: 'Single-page application',
    hint: 'A browser app: no secret, PKCE with S256 required.',
    auth: 'none', type: 'browser', grants: ['authorization_code', 'refresh_token'],
    redirect: 'https://spa.example.com/callback',
  },
  {
    id: 'native', label: 'Native application',
    hint: 'A desktop or mobile app: no secret, PKCE with S256, a private-use scheme redirect such as com.example.app:/callback.',
    auth: 'none', type: 'native', grants: ['authorization_code', 'refresh_token'],
    redirect: 'com.example.app:/callback',
  },
  {
    id: 'service', label: 'API service',
    hint: 'Machine to machine: client credentials with a secret, no user and no redirect.',
    auth: 'client_secret_basic', type: 'service', grants: ['client_credentials'],
    redirect: null,
  },
];

/** Lines of a textarea as a list, blanks left out. */
export function lines(text) {
  return String(text || '').split('\n').map((l) => l.trim()).filter(Boolean);
}

/** Okta's app body for the wizard's answers. */
export function newAppBody(kind, v) {
  const oauth = {
    grant_types: kind.grants.filter((g) => g !== 'refresh_token' || v.refresh),
    redirect_uris: kind.redirect ? lines(v.redirect_uris) : [],
    post_logout_redirect_uris: kind.redirect ? lines(v.post_logout_redirect_uris) : [],
    response_types: kind.redirect ? ['code'] : [],
    application_type: kind.type,
  };
  return {
    name: 'oidc_client',
    label: v.label,
    signOnMode: 'OPENID_CONNECT',
    credentials: { oauthClient: { token_endpoint_auth_method: kind.auth } },
    settings: { oauthClient: oauth },
  };
}

/** A value shown once: the text, a copy button, and a warning that it will not be again. */
export function shownOnce(name, value) {
  return h('div', { class: 'shown-once', role: 'group', 'aria-label': name },
    h('p', { class: 'hint' }, `Copy the ${name} now: it is shown only this once.`),
    h('div', { class: 'secret-row' }, h('code', { class: 'secret', 'data-secret': '' }, value), copyButton(value, 'Copy ' + name)));
}

function wizard(ctx, area, close) {
  let kind = null;
  const legendId = 'kind-legend';
  const radios = KINDS.map((k) => {
    const id = 'kind-' + k.id;
    const input = h('input', { type: 'radio', name: 'kind', id, value: k.id, 'aria-describedby': id + '-hint' });
    return h('div', { class: 'field field-check' }, input, h('label', { for: id }, k.label), h('p', { class: 'hint', id: id + '-hint' }, k.hint));
  });
  const choose = h('form', { class: 'form' },
    h('fieldset', { class: 'kinds', 'aria-labelledby': legendId },
      h('legend', { id: legendId }, 'Step 1 of 2: what kind of app?'), radios),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary', id: 'wizard-next' }, 'Next'), button('Cancel', close)));
  choose.addEventListener('submit', (e) => {
    e.preventDefault();
    const picked = choose.querySelector('input[name=kind]:checked');
    if (!picked) {
      ctx.toast('Pick the kind of app first', 'error');
      choose.querySelector('input[name=kind]').focus();
      return;
    }
    kind = KINDS.find((k) => k.id === picked.value);
    details();
  });
  choose.querySelector('input[name=kind]').checked = true;

  function details() {
    const fields = [{ name: 'label', label: 'App name', required: true, hint: 'Shown to people who sign in.' }];
    if (kind.redirect) {
      fields.push(
        { name: 'redirect_uris', label: 'Sign-in redirect URIs', type: 'textarea', rows: 3, required: true, value: kind.redirect, hint: 'One per line; https (http only for localhost)' + (kind.id === 'native' ? ', or a private-use scheme.' : '.') },
        { name: 'post_logout_redirect_uris', label: 'Sign-out redirect URIs', type: 'textarea', rows: 2, hint: 'Optional; one per line.' },
        { name: 'refresh', label: 'Refresh tokens (offline_access)', type: 'checkbox', value: true },
      );
    }
    const f = form({
      fields,
      submitLabel: 'Create app',
      onCancel: close,
      async onSubmit(v) {
        const { body: app } = await ctx.api('POST', '/api/v1/apps', newAppBody(kind, v));
        done(app);
      },
    });
    f.id = 'wizard-details';
    replace(area, h('section', { class: 'panel', 'aria-labelledby': 'wizard-title' },
      h('h2', { id: 'wizard-title' }, `Step 2 of 2: ${kind.label}`), f));
    f.querySelector('input').focus();
  }

  function done(app) {
    const secret = app.credentials.oauthClient.client_secret;
    const clientId = app.credentials.oauthClient.client_id;
    ctx.toast(`${app.label} created`);
    const open = link('/apps/' + encodeURIComponent(app.id), 'Go to ' + app.label);
    replace(area, h('section', { class: 'panel', 'aria-labelledby': 'created-title' },
      h('h2', { id: 'created-title', tabindex: '-1' }, `${app.label} is ready`),
      h('dl', { class: 'details' },
        h('dt', {}, 'Client ID'), h('dd', {}, h('code', { 'data-client-id': '' }, clientId), ' ', copyButton(clientId, 'Copy client ID')),
        h('dt', {}, 'Kind'), h('dd', {}, kind.label)),
      secret ? shownOnce('client secret', secret) : h('p', { class: 'hint' }, 'A public client has no secret: it proves itself with PKCE.'),
      h('div', { class: 'actions' }, open, button('Done', close))));
    area.querySelector('#created-title').focus();
  }

  replace(area, h('section', { class: 'panel', 'aria-labelledby': 'wizard-title' },
    h('h2', { id: 'wizard-title' }, 'Create app'), choose));
  choose.querySelector('input[name=kind]').focus();
}

export default {
  path: '/apps',
  title: 'Applications',
  nav: true,
  async render(main, params, ctx) {
    const writable = await canChange(ctx, 'apps');
    const createArea = h('div');
    const table = dataTable({
      api: ctx.api,
      caption: 'Applications',
      searchLabel: 'Search applications',
      searchHint: 'The app name starts with…',
      initial: params.query.get('q') || '',
      load: (text) => '/api/v1/apps?limit=20' + (text ? '&q=' + encodeURIComponent(text) : ''),
      empty: 'No applications match.',
      columns: [
        { label: 'Name', cell: (a) => link('/apps/' + encodeURIComponent(a.id), a.label) },
        { label: 'Kind', cell: (a) => kindLabel(a) },
        { label: 'Client ID', cell: (a) => h('code', {}, a.id) },
        { label: 'Status', cell: (a) => badge(a.status) },
        { label: 'Changed', cell: (a) => when(a.lastUpdated) },
      ],
    });
    const add = writable ? button('Create app', () => {
      add.hidden = true;
      wizard(ctx, createArea, close);
    }, 'primary', { id: 'create-app' }) : null;
    function close() {
      replace(createArea);
      add.hidden = false;
      add.focus();
      table.reload();
    }
    main.append(pageHead('Applications', 'OpenID Connect apps that sign people in or call APIs', add ? [add] : []), createArea, table);
    await table.ready;
  },
};

/** The wizard's name for an app's kind, from its application type. */
export function kindLabel(app) {
  const type = app.settings && app.settings.oauthClient && app.settings.oauthClient.application_type;
  const k = KINDS.find((x) => x.type === type);
  return k ? k.label : (type || '—');
}
