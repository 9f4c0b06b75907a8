// Authorization servers: the custom servers (Okta's `/api/v1/authorizationServers`;
// the org server is not among them, as in Okta) and "Add authorization server"
// (name, description, audience, signing algorithm).

import { h, pageHead, dataTable, link, button, replace, badge, form } from '../kit.js';
import { canChange } from './access.js';

export const ALGS = [['RS256', 'RS256 (RSA)'], ['ES256', 'ES256 (P-256)']];

export default {
  path: '/authorization-servers',
  title: 'Authorization servers',
  nav: true,
  async render(main, params, ctx) {
    const writable = await canChange(ctx, 'authorizationServers');
    const createArea = h('div');
    const table = dataTable({
      api: ctx.api,
      caption: 'Authorization servers',
      load: () => '/api/v1/authorizationServers?limit=50',
      empty: 'No custom authorization servers.',
      columns: [
        { label: 'Name', cell: (s) => link('/authorization-servers/' + encodeURIComponent(s.id), s.name) },
        { label: 'Audience', cell: (s) => (s.audiences || []).join(', ') },
        { label: 'Issuer', cell: (s) => h('code', {}, s.issuer) },
        { label: 'Status', cell: (s) => badge(s.status) },
      ],
    });
    const add = writable ? button('Add authorization server', () => open(), 'primary', { id: 'add-server' }) : null;
    function open() {
      add.hidden = true;
      const f = form({
        submitLabel: 'Create server',
        fields: [
          { name: 'name', label: 'Name', required: true },
          { name: 'audience', label: 'Audience', required: true, hint: 'The aud of its access tokens, e.g. api://orders.' },
          { name: 'description', label: 'Description' },
          { name: 'alg', label: 'Signing algorithm', type: 'select', value: 'RS256', options: ALGS },
        ],
        onCancel: close,
        async onSubmit(v) {
          const { body: s } = await ctx.api('POST', '/api/v1/authorizationServers', {
            name: v.name,
            description: v.description,
            audiences: [v.audience],
            credentials: { signing: { alg: v.alg } },
          });
          ctx.toast(`${s.name} created`);
          ctx.navigate('/authorization-servers/' + encodeURIComponent(s.id));
        },
      });
      replace(createArea, h('section', { class: 'panel', 'aria-labelledby': 'new-server' }, h('h2', { id: 'new-server' }, 'New authorization server'), f));
      f.querySelector('input').focus();
    }
    function close() {
      replace(createArea);
      add.hidden = false;
      add.focus();
    }
    main.append(pageHead('Authorization servers', 'Custom servers: their scopes, claims, access policies and keys', add ? [add] : []), createArea, table);
    await table.ready;
  },
};
