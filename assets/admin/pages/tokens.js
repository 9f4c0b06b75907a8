// API tokens (Okta's `/api/v1/api-tokens`): the list, "Create token" (its value is
// shown once, with a copy button: only its hash is kept) and revoke. A token acts
// with the roles of the admin who made it (Okta's rule).

import { h, pageHead, section, button, form, replace, when, badge, confirmDialog, simpleTable } from '../kit.js';
import { canChange, readOnlyNote } from './access.js';
import { shownOnce } from './apps.js';

export default {
  path: '/api-tokens',
  title: 'API tokens',
  nav: true,
  async render(main, params, ctx) {
    const writable = await canChange(ctx, 'apiTokens');
    const list = h('div');
    const created = h('div');

    async function draw() {
      const tokens = (await ctx.api('GET', '/api/v1/api-tokens')).body;
      replace(list, section('Tokens', null, simpleTable([
        { label: 'Name', cell: (t) => t.name },
        { label: 'Made by', cell: (t) => t.userId || '—' },
        { label: 'Created', cell: (t) => when(t.created) },
        { label: 'Status', cell: (t) => badge(t.status) },
        { label: 'Actions', cell: (t) => (writable && t.status === 'ACTIVE' ? button('Revoke', async () => {
          if (!(await confirmDialog(`Revoke the token ${t.name}? Requests with it are refused from now on.`, 'Revoke'))) return;
          try {
            await ctx.api('DELETE', '/api/v1/api-tokens/' + encodeURIComponent(t.id));
            ctx.toast(`${t.name} revoked`);
            await draw();
          } catch (err) {
            ctx.failed(err);
          }
        }, 'danger', { 'aria-label': `Revoke token ${t.name}` }) : '') },
      ], tokens, 'No API tokens.', 'API tokens')));
    }

    const add = writable ? form({
      inline: true,
      submitLabel: 'Create token',
      fields: [{ name: 'name', label: 'Token name', required: true, hint: 'What it is for, e.g. "deploy pipeline".' }],
      async onSubmit(v, el) {
        const { body: t } = await ctx.api('POST', '/api/v1/api-tokens', { name: v.name });
        el.reset();
        replace(created, section(`Token ${t.name} created`, null,
          shownOnce('token value', t.tokenValue),
          h('p', { class: 'hint' }, 'Send it as Authorization: SSWS <token>. It acts with your admin roles.')));
        const heading = created.querySelector('h2');
        heading.setAttribute('tabindex', '-1');
        heading.focus();
        await draw();
      },
    }) : null;

    if (add) add.id = 'create-token';
    await draw();
    main.append(
      pageHead('API tokens', 'Tokens for the management API (Authorization: SSWS)'),
      writable ? section('Create a token', null, add) : readOnlyNote(h, 'API tokens'),
      created,
      list);
  },
};
