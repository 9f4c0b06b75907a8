// An authorization server's Scopes and Claims tabs (Okta's `/scopes` and `/claims`):
// the list, add, edit and delete. Not a page: the server page's tabs.

import { h, section, button, form, replace, confirmDialog, simpleTable, modal, badge } from '../kit.js';

/** A form in a dialog; closes when `onSubmit` succeeds. */
function editDialog(title, fields, onSubmit) {
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

function scopeFields(s) {
  return [
    { name: 'name', label: 'Name', required: true, value: s ? s.name : '', hint: 'As clients ask for it, e.g. orders:read.' },
    { name: 'description', label: 'Description', value: s ? s.description : '' },
    { name: 'consent', label: 'User consent', type: 'select', value: s ? s.consent : 'IMPLICIT', options: [['IMPLICIT', 'Implicit (not asked)'], ['REQUIRED', 'Required (asked)']] },
    { name: 'default', label: 'Default scope (granted when a client asks for none)', type: 'checkbox', value: s ? s.default : false },
  ];
}

const scopeBody = (v) => ({ name: v.name, description: v.description, consent: v.consent, default: v.default });

export async function scopesTab(ctx, path, writable) {
  const area = h('div');
  async function draw() {
    const scopes = (await ctx.api('GET', path + '/scopes')).body;
    const actions = (s) => {
      if (!writable || s.system) return s.system ? h('span', { class: 'muted' }, 'System') : '';
      const url = `${path}/scopes/${encodeURIComponent(s.id)}`;
      return h('div', { class: 'actions' },
        button('Edit', () => editDialog(`Edit scope ${s.name}`, scopeFields(s), async (v) => {
          await ctx.api('PUT', url, scopeBody(v));
          ctx.toast('Scope saved');
          await draw();
        }), '', { 'aria-label': `Edit scope ${s.name}` }),
        button('Delete', async () => {
          if (!(await confirmDialog(`Delete the scope ${s.name}? Clients asking for it are refused.`, 'Delete'))) return;
          try {
            await ctx.api('DELETE', url);
            ctx.toast('Scope deleted');
            await draw();
          } catch (err) {
            ctx.failed(err);
          }
        }, 'danger', { 'aria-label': `Delete scope ${s.name}` }));
    };
    const add = writable ? form({
      submitLabel: 'Add scope',
      fields: scopeFields(null),
      async onSubmit(v, el) {
        await ctx.api('POST', path + '/scopes', scopeBody(v));
        ctx.toast(`Scope ${v.name} added`);
        el.reset();
        await draw();
      },
    }) : null;
    replace(area,
      section('Scopes', null, simpleTable([
        { label: 'Name', cell: (s) => h('code', {}, s.name) },
        { label: 'Description', cell: (s) => s.description || '' },
        { label: 'Consent', cell: (s) => s.consent },
        { label: 'Default', cell: (s) => (s.default ? 'Yes' : 'No') },
        { label: 'Actions', cell: actions },
      ], scopes, 'No scopes.', 'Scopes')),
      add ? section('Add a scope', null, add) : null);
  }
  await draw();
  return area;
}

function claimFields(c) {
  return [
    { name: 'name', label: 'Name', required: true, value: c ? c.name : '', hint: 'The claim in the token, e.g. department.' },
    { name: 'claimType', label: 'Include in', type: 'select', value: c ? c.claimType : 'RESOURCE', options: [['RESOURCE', 'Access token'], ['IDENTITY', 'ID token']] },
    { name: 'valueType', label: 'Value type', type: 'select', value: c ? c.valueType : 'EXPRESSION', options: [['EXPRESSION', 'Expression'], ['GROUPS', 'Groups']] },
    { name: 'value', label: 'Value', required: true, value: c ? c.value : '', hint: 'An expression such as user.email or a "quoted" literal; for groups, the filter value.' },
    { name: 'group_filter_type', label: 'Groups filter (for Groups)', type: 'select', value: c && c.group_filter_type ? c.group_filter_type : 'STARTS_WITH', options: [['STARTS_WITH', 'Starts with'], ['EQUALS', 'Equals'], ['CONTAINS', 'Contains'], ['REGEX', 'Matches regex']] },
    { name: 'scopes', label: 'Only with these scopes', value: c ? (c.conditions.scopes || []).join(' ') : '', hint: 'Space-separated; empty: any scope.' },
  ];
}

function claimBody(v) {
  const body = {
    name: v.name,
    claimType: v.claimType,
    valueType: v.valueType,
    value: v.value,
    conditions: { scopes: v.scopes.split(/\s+/).filter(Boolean) },
  };
  if (v.valueType === 'GROUPS') body.group_filter_type = v.group_filter_type;
  return body;
}

export async function claimsTab(ctx, path, writable) {
  const area = h('div');
  async function draw() {
    const claims = (await ctx.api('GET', path + '/claims')).body;
    const actions = (c) => {
      if (!writable) return '';
      const url = `${path}/claims/${encodeURIComponent(c.id)}`;
      return h('div', { class: 'actions' },
        button('Edit', () => editDialog(`Edit claim ${c.name}`, claimFields(c), async (v) => {
          await ctx.api('PUT', url, claimBody(v));
          ctx.toast('Claim saved');
          await draw();
        }), '', { 'aria-label': `Edit claim ${c.name}` }),
        button('Delete', async () => {
          if (!(await confirmDialog(`Delete the claim ${c.name}?`, 'Delete'))) return;
          try {
            await ctx.api('DELETE', url);
            ctx.toast('Claim deleted');
            await draw();
          } catch (err) {
            ctx.failed(err);
          }
        }, 'danger', { 'aria-label': `Delete claim ${c.name}` }));
    };
    const add = writable ? form({
      submitLabel: 'Add claim',
      fields: claimFields(null),
      async onSubmit(v, el) {
        await ctx.api('POST', path + '/claims', claimBody(v));
        ctx.toast(`Claim ${v.name} added`);
        el.reset();
        await draw();
      },
    }) : null;
    replace(area,
      section('Claims', null, simpleTable([
        { label: 'Name', cell: (c) => h('code', {}, c.name) },
        { label: 'Token', cell: (c) => (c.claimType === 'IDENTITY' ? 'ID token' : 'Access token') },
        { label: 'Value', cell: (c) => h('code', {}, c.valueType === 'GROUPS' ? `groups ${c.group_filter_type || ''} ${c.value}` : c.value) },
        { label: 'Scopes', cell: (c) => (c.conditions.scopes || []).join(' ') || 'Any' },
        { label: 'Status', cell: (c) => badge(c.status) },
        { label: 'Actions', cell: actions },
      ], claims, 'No claims.', 'Claims')),
      add ? section('Add a claim', null, add) : null);
  }
  await draw();
  return area;
}
