// Groups: the list with a name-prefix search (`q=`, Okta's) and "Next" paging;
// "Add group" creates one.

import { h, pageHead, dataTable, link, form, button, replace, when } from '../kit.js';

export default {
  path: '/groups',
  title: 'Groups',
  nav: true,
  async render(main, params, ctx) {
    const createArea = h('div');
    const table = dataTable({
      api: ctx.api,
      caption: 'Groups',
      searchLabel: 'Search groups',
      searchHint: 'The group name starts with…',
      initial: params.query.get('q') || '',
      load: (text) => '/api/v1/groups?limit=20' + (text ? '&q=' + encodeURIComponent(text) : ''),
      empty: 'No groups match.',
      columns: [
        { label: 'Name', cell: (g) => link('/groups/' + encodeURIComponent(g.id), g.profile.name) },
        { label: 'Description', cell: (g) => g.profile.description || '' },
        { label: 'Kind', cell: (g) => g.type === 'BUILT_IN' ? 'Built in' : 'Group' },
        { label: 'Changed', cell: (g) => when(g.lastUpdated) },
      ],
    });
    const add = button('Add group', () => openCreate(), 'primary');
    function openCreate() {
      add.hidden = true;
      const f = form({
        submitLabel: 'Create group',
        fields: [
          { name: 'name', label: 'Name', required: true },
          { name: 'description', label: 'Description' },
        ],
        onCancel: close,
        async onSubmit(v) {
          const { body: g } = await ctx.api('POST', '/api/v1/groups', { profile: { name: v.name, description: v.description } });
          ctx.toast(`${g.profile.name} created`);
          ctx.navigate('/groups/' + encodeURIComponent(g.id));
        },
      });
      replace(createArea, h('section', { class: 'panel', 'aria-label': 'New group' }, h('h2', {}, 'New group'), f));
      f.querySelector('input').focus();
    }
    function close() {
      replace(createArea);
      add.hidden = false;
      add.focus();
    }
    main.append(pageHead('Groups', 'Sets of users, for app assignments and admin roles', [add]), createArea, table);
    await table.ready;
  },
};
