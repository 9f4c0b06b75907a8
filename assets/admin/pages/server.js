// One custom authorization server, in Okta's tabs: Settings (name, description,
// audience, signing algorithm, lifecycle), Scopes, Claims, Access policies (with their
// rules), Keys (list with status, rotate) and Token preview. The tab is the `tab`
// query parameter, so each one has its own address.

import { h, pageHead, section, details, badge, button, form, replace, link, confirmDialog, simpleTable } from '../kit.js';
import { canChange, readOnlyNote } from './access.js';
import { ALGS } from './servers.js';
import { scopesTab, claimsTab } from './server_scopes.js';
import { policiesTab } from './server_policies.js';
import { previewTab } from './server_preview.js';

const TABS = [
  ['settings', 'Settings'],
  ['scopes', 'Scopes'],
  ['claims', 'Claims'],
  ['policies', 'Access policies'],
  ['keys', 'Keys'],
  ['preview', 'Token preview'],
];

function settingsTab(ctx, s, path, writable, reload) {
  const info = details([
    ['Issuer', h('code', {}, s.issuer)],
    ['Metadata', h('a', { href: s.issuer + '/.well-known/openid-configuration' }, s.issuer + '/.well-known/openid-configuration')],
    ['Audience', (s.audiences || []).join(', ')],
    ['Signing algorithm', s.credentials.signing.alg],
  ]);
  if (!writable) return section('Settings', null, info, h('p', {}, s.description || ''));
  const f = form({
    submitLabel: 'Save settings',
    fields: [
      { name: 'name', label: 'Name', required: true, value: s.name },
      { name: 'description', label: 'Description', value: s.description },
      { name: 'audience', label: 'Audience', required: true, value: (s.audiences || [])[0] || '' },
      { name: 'alg', label: 'Signing algorithm', type: 'select', value: s.credentials.signing.alg, options: ALGS, hint: 'A new algorithm signs from the key rotation after next: each key is published before it signs.' },
    ],
    async onSubmit(v) {
      await ctx.api('PUT', path, {
        name: v.name,
        description: v.description,
        audiences: [v.audience],
        credentials: { signing: { alg: v.alg } },
        introspection: s.introspection,
      });
      ctx.toast('Settings saved');
      await reload();
    },
  });
  const lifecycle = [];
  if (s.status === 'ACTIVE') {
    lifecycle.push(button('Deactivate server', async () => {
      if (!(await confirmDialog(`Deactivate ${s.name}? It stops issuing tokens and its tokens stop working.`, 'Deactivate'))) return;
      await ctx.api('POST', path + '/lifecycle/deactivate').then(reload, ctx.failed);
    }, 'danger'));
  } else {
    lifecycle.push(button('Activate server', () => ctx.api('POST', path + '/lifecycle/activate').then(reload, ctx.failed), 'primary'));
    lifecycle.push(button('Delete server', async () => {
      if (!(await confirmDialog(`Delete ${s.name} for good, with its scopes, claims, policies and keys?`, 'Delete'))) return;
      try {
        await ctx.api('DELETE', path);
        ctx.toast(`${s.name} deleted`);
        ctx.navigate('/authorization-servers');
      } catch (err) {
        ctx.failed(err);
      }
    }, 'danger'));
  }
  return [section('Settings', null, info, f), section('Lifecycle', null, h('div', { class: 'actions' }, lifecycle))];
}

async function keysTab(ctx, s, path, writable) {
  const area = h('div');
  async function draw(keys) {
    const rotate = writable ? button('Rotate keys', async () => {
      if (!(await confirmDialog('Rotate the signing keys now? The next key starts signing; tokens signed by the old key stay valid while it is published.', 'Rotate', false))) return;
      try {
        const { body } = await ctx.api('POST', path + '/credentials/lifecycle/keyRotate');
        ctx.toast('Keys rotated');
        draw(body);
      } catch (err) {
        ctx.failed(err);
      }
    }, 'primary', { id: 'rotate-keys' }) : null;
    replace(area, section('Signing keys', rotate ? [rotate] : [],
      h('p', { class: 'hint' }, 'ACTIVE signs, NEXT is published ahead of the next rotation, EXPIRED is kept published for tokens already issued.'),
      simpleTable([
        { label: 'Key ID', cell: (k) => h('code', { 'data-kid': k.kid }, k.kid) },
        { label: 'Status', cell: (k) => badge(k.status) },
        { label: 'Type', cell: (k) => `${k.kty}${k.crv ? ' ' + k.crv : ''}` },
        { label: 'Algorithm', cell: (k) => k.alg || '—' },
        { label: 'Use', cell: (k) => k.use || 'sig' },
      ], keys, 'No keys yet.', 'Signing keys')));
  }
  await draw((await ctx.api('GET', path + '/credentials/keys')).body);
  return area;
}

export default {
  path: '/authorization-servers/:id',
  title: 'Authorization server',
  nav: false,
  async render(main, params, ctx) {
    const path = '/api/v1/authorizationServers/' + encodeURIComponent(params.id);
    const tab = TABS.some(([t]) => t === params.query.get('tab')) ? params.query.get('tab') : 'settings';
    const writable = await canChange(ctx, 'authorizationServers');
    let server = (await ctx.api('GET', path)).body;
    const body = h('div');
    const head = h('div');
    const here = '/authorization-servers/' + encodeURIComponent(params.id);
    const tabs = h('nav', { class: 'tabs', 'aria-label': 'Server sections' }, h('ul', {}, TABS.map(([t, label]) => {
      const a = link(here + (t === 'settings' ? '' : '?tab=' + t), label);
      if (t === tab) a.setAttribute('aria-current', 'page');
      return h('li', {}, a);
    })));

    async function draw() {
      document.title = `${server.name} · ${TABS.find(([t]) => t === tab)[1]} · Admin Console`;
      replace(head, pageHead(server.name, server.description || server.issuer, [badge(server.status)]),
        writable || tab === 'preview' ? null : readOnlyNote(h, 'this server\'s settings'));
      let content;
      if (tab === 'settings') content = settingsTab(ctx, server, path, writable, reload);
      else if (tab === 'scopes') content = await scopesTab(ctx, path, writable);
      else if (tab === 'claims') content = await claimsTab(ctx, path, writable);
      else if (tab === 'policies') content = await policiesTab(ctx, path, writable);
      else if (tab === 'keys') content = await keysTab(ctx, server, path, writable);
      else content = await previewTab(ctx, server, path);
      replace(body, content);
    }
    async function reload() {
      server = (await ctx.api('GET', path)).body;
      await draw();
    }
    await draw();
    main.append(h('p', {}, link('/authorization-servers', '← Authorization servers')), head, tabs, body);
  },
};
