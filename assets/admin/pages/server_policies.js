// An authorization server's Access policies tab (Okta's `/policies` and their
// `/rules`): each policy with the clients it applies to and its priority, its rules
// (who, which grants and scopes, token lifetimes, or deny), add, edit, activate,
// deactivate and delete both. Not a page: the server page's tabs.

import { h, section, details, button, form, replace, confirmDialog, simpleTable, modal, badge } from '../kit.js';

const words = (text) => String(text || '').split(/[\s,]+/).filter(Boolean);

function dialogForm(title, fields, onSubmit) {
  let dialog = null;
  const f = form({
    fields,
    submitLabel: 'Save',
    onCancel: () => dialog.close(),
    async onSubmit(v) {
      await onSubmit(v);
      dialog.close();
    },
  });
  dialog = modal(title, f);
  f.querySelector('input, select, textarea').focus();
}

function policyFields(p) {
  const clients = p ? p.conditions.clients.include : [];
  return [
    { name: 'name', label: 'Name', required: true, value: p ? p.name : '' },
    { name: 'description', label: 'Description', value: p ? p.description : '' },
    { name: 'priority', label: 'Priority', type: 'number', value: p ? p.priority : '', hint: '0 to 1000; lower is evaluated first. Empty: after the others.' },
    { name: 'clients', label: 'Apps (client IDs)', value: clients.join(' '), hint: 'Space-separated; empty: all clients.' },
  ];
}

function policyBody(v) {
  const body = { name: v.name, description: v.description, conditions: { clients: { include: words(v.clients) } } };
  if (String(v.priority).trim() !== '') body.priority = Number(v.priority);
  return body;
}

function ruleFields(r) {
  const c = r ? r.conditions : null;
  const t = r ? r.actions.token : null;
  return [
    { name: 'name', label: 'Name', required: true, value: r ? r.name : '' },
    { name: 'priority', label: 'Priority', type: 'number', value: r ? r.priority : '', hint: 'Lower is evaluated first. Empty: after the others.' },
    { name: 'grants', label: 'Grant types', value: c ? c.grantTypes.include.join(' ') : 'authorization_code', hint: 'Space-separated, e.g. authorization_code client_credentials.' },
    { name: 'scopes', label: 'Scopes', value: c ? c.scopes.include.join(' ') : '*', hint: 'Space-separated; * for any.' },
    { name: 'users', label: 'Users (IDs)', value: c ? c.people.users.include.join(' ') : '', hint: 'Space-separated; users and groups both empty: everyone.' },
    { name: 'groups', label: 'Groups (IDs)', value: c ? c.people.groups.include.join(' ') : '' },
    { name: 'access', label: 'Access token lifetime (minutes)', type: 'number', value: t ? t.accessTokenLifetimeMinutes : 60 },
    { name: 'refresh', label: 'Refresh token lifetime (minutes, 0: unlimited)', type: 'number', value: t && t.refreshTokenLifetimeMinutes !== null ? t.refreshTokenLifetimeMinutes : 0 },
    { name: 'window', label: 'Refresh token idle window (minutes, 0: none)', type: 'number', value: t && t.refreshTokenWindowMinutes !== null ? t.refreshTokenWindowMinutes : 0 },
    { name: 'deny', label: 'Deny: this rule refuses the token', type: 'checkbox', value: t ? t.deny : false },
  ];
}

function ruleBody(v) {
  const body = {
    name: v.name,
    conditions: {
      people: { users: { include: words(v.users) }, groups: { include: words(v.groups) } },
      grantTypes: { include: words(v.grants) },
      scopes: { include: words(v.scopes) },
    },
    actions: { token: {
      accessTokenLifetimeMinutes: Number(v.access),
      refreshTokenLifetimeMinutes: Number(v.refresh),
      refreshTokenWindowMinutes: Number(v.window),
      deny: v.deny,
    } },
  };
  if (String(v.priority).trim() !== '') body.priority = Number(v.priority);
  return body;
}

export async function policiesTab(ctx, path, writable) {
  const area = h('div');

  /** A button that runs `fn` and redraws; `ask` asks first. */
  function action(label, fn, kind, ask, aria) {
    return button(label, async () => {
      if (ask && !(await confirmDialog(ask, label))) return;
      try {
        await fn();
        await draw();
      } catch (err) {
        ctx.failed(err);
      }
    }, kind, { 'aria-label': aria });
  }

  function policyPanel(p) {
    const url = `${path}/policies/${encodeURIComponent(p.id)}`;
    const rules = (p._embedded && p._embedded.rules) || [];
    const ruleActions = (r) => {
      if (!writable) return '';
      const ruleUrl = `${url}/rules/${encodeURIComponent(r.id)}`;
      return h('div', { class: 'actions' },
        button('Edit', () => dialogForm(`Edit rule ${r.name}`, ruleFields(r), async (v) => {
          await ctx.api('PUT', ruleUrl, ruleBody(v));
          ctx.toast('Rule saved');
          await draw();
        }), '', { 'aria-label': `Edit rule ${r.name}` }),
        r.status === 'ACTIVE'
          ? action('Deactivate', () => ctx.api('POST', ruleUrl + '/lifecycle/deactivate'), '', null, `Deactivate rule ${r.name}`)
          : action('Activate', () => ctx.api('POST', ruleUrl + '/lifecycle/activate'), '', null, `Activate rule ${r.name}`),
        action('Delete', () => ctx.api('DELETE', ruleUrl), 'danger', `Delete the rule ${r.name}?`, `Delete rule ${r.name}`));
    };
    const people = (r) => {
      const u = r.conditions.people.users.include;
      const g = r.conditions.people.groups.include;
      return u.length || g.length ? [u.length ? `users ${u.join(', ')}` : null, g.length ? `groups ${g.join(', ')}` : null].filter(Boolean).join('; ') : 'Everyone';
    };
    const headActions = writable ? [
      button('Edit', () => dialogForm(`Edit policy ${p.name}`, policyFields(p), async (v) => {
        await ctx.api('PUT', url, policyBody(v));
        ctx.toast('Policy saved');
        await draw();
      }), '', { 'aria-label': `Edit policy ${p.name}` }),
      p.status === 'ACTIVE'
        ? action('Deactivate', () => ctx.api('POST', url + '/lifecycle/deactivate'), '', null, `Deactivate policy ${p.name}`)
        : action('Activate', () => ctx.api('POST', url + '/lifecycle/activate'), '', null, `Activate policy ${p.name}`),
      action('Delete', () => ctx.api('DELETE', url), 'danger', `Delete the policy ${p.name} with its rules?`, `Delete policy ${p.name}`),
    ] : [];
    const addRule = writable ? button('Add rule', () => dialogForm(`New rule in ${p.name}`, ruleFields(null), async (v) => {
      await ctx.api('POST', url + '/rules', ruleBody(v));
      ctx.toast('Rule added');
      await draw();
    }), '', { 'aria-label': `Add rule to policy ${p.name}` }) : null;
    return section(`${p.name}`, headActions,
      details([
        ['Status', badge(p.status)],
        ['Priority', String(p.priority)],
        ['Apps', p.conditions.clients.include.length ? p.conditions.clients.include.join(', ') : 'All clients'],
        ['Description', p.description || '—'],
      ]),
      h('h3', {}, 'Rules'),
      simpleTable([
        { label: 'Rule', cell: (r) => r.name },
        { label: 'Priority', cell: (r) => String(r.priority) },
        { label: 'Who', cell: people },
        { label: 'Grants', cell: (r) => r.conditions.grantTypes.include.join(', ') },
        { label: 'Scopes', cell: (r) => r.conditions.scopes.include.join(' ') },
        { label: 'Tokens', cell: (r) => (r.actions.token.deny ? 'Denied' : `access ${r.actions.token.accessTokenLifetimeMinutes} min`) },
        { label: 'Status', cell: (r) => badge(r.status) },
        { label: 'Actions', cell: ruleActions },
      ], rules, 'No rules: this policy grants nothing.', `Rules of ${p.name}`),
      addRule ? h('div', { class: 'actions' }, addRule) : null);
  }

  async function draw() {
    const list = (await ctx.api('GET', path + '/policies')).body;
    // The list leaves the rules out; each policy's GET has them.
    const full = await Promise.all(list.map((p) => ctx.api('GET', `${path}/policies/${encodeURIComponent(p.id)}`).then((r) => r.body)));
    full.sort((a, b) => a.priority - b.priority);
    const add = writable ? button('Add policy', () => dialogForm('New access policy', policyFields(null), async (v) => {
      await ctx.api('POST', path + '/policies', policyBody(v));
      ctx.toast('Policy added');
      await draw();
    }), 'primary') : null;
    replace(area,
      h('div', { class: 'actions toolbar' }, add, h('p', { class: 'hint' }, 'Policies are evaluated by priority; the first whose apps match decides, by its first matching rule.')),
      full.length ? full.map(policyPanel) : h('p', { class: 'muted' }, 'No access policies: this server issues no tokens.'));
  }
  await draw();
  return area;
}
