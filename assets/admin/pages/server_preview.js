// An authorization server's Token preview tab (Okta's Token Preview): pick an app, a
// user, a grant type and scopes; the server answers the claims of the ID and access
// tokens it would issue now under its access policies (nothing signed, stored or
// logged as issued), or why it would refuse. Not a page: the server page's tabs.

import { h, section, form, replace } from '../kit.js';

/** Claims as a definition list, then as JSON (what the decoded token holds). */
function claimsView(title, claims, id) {
  if (!claims) {
    return h('section', { class: 'panel', 'aria-labelledby': id },
      h('h3', { id }, title), h('p', { class: 'muted' }, 'None: the ID token needs the openid scope and a user.'));
  }
  const rows = Object.entries(claims).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  return h('section', { class: 'panel preview-token', 'aria-labelledby': id, 'data-token': id },
    h('h3', { id }, title),
    h('dl', { class: 'details claims' }, rows.flatMap(([k, v]) => [h('dt', {}, h('code', {}, k)), h('dd', { 'data-claim': k }, v)])),
    h('details', {}, h('summary', {}, 'As JSON'), h('pre', { class: 'json' }, JSON.stringify(claims, null, 2))));
}

export async function previewTab(ctx, server, path) {
  const [apps, scopes] = await Promise.all([
    ctx.api('GET', '/api/v1/apps?limit=200'),
    ctx.api('GET', path + '/scopes'),
  ]);
  const result = h('div', { 'aria-live': 'polite' });
  const appOptions = apps.body.map((a) => [a.id, `${a.label} (${a.id})`]);
  const f = form({
    submitLabel: 'Preview tokens',
    fields: [
      { name: 'clientId', label: 'App', type: 'select', required: true, options: appOptions },
      { name: 'grantType', label: 'Grant type', type: 'select', value: 'authorization_code', options: [['authorization_code', 'Authorization code (a user signs in)'], ['client_credentials', 'Client credentials (no user)']] },
      { name: 'userId', label: 'User (login or ID)', autocomplete: 'off', hint: 'For authorization code; left out for client credentials.' },
      { name: 'scopes', label: 'Scopes', value: 'openid profile email', hint: 'Space-separated. Offered here: ' + scopes.body.map((s) => s.name).join(' ') },
    ],
    async onSubmit(v) {
      const body = {
        clientId: v.clientId,
        grantType: v.grantType,
        scopes: v.scopes.split(/\s+/).filter(Boolean),
      };
      if (v.grantType !== 'client_credentials' && v.userId.trim()) body.userId = v.userId.trim();
      replace(result);
      const { body: preview } = await ctx.api('POST', path + '/tokens/preview', body);
      replace(result,
        h('p', {}, 'Scopes granted: ', h('code', { 'data-granted': '' }, (preview.scopes || []).join(' ') || 'none')),
        h('div', { class: 'preview-grid' },
          claimsView('ID token', preview.idToken, 'preview-id'),
          claimsView('Access token', preview.accessToken, 'preview-access')));
      result.scrollIntoView({ block: 'start' });
    },
  });
  f.id = 'preview-form';
  if (!appOptions.length) {
    return section('Token preview', null, h('p', { class: 'muted' }, 'No apps yet: create one to preview its tokens.'));
  }
  return [section('Token preview', null,
    h('p', { class: 'hint' }, `The claims ${server.name} would put in the tokens now, under its access policies. Nothing is signed or issued.`),
    f), result];
}
