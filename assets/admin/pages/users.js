// Users: the list with search (Okta's `search=` expression, or plain text that is
// looked for at the start of the login, email, first or last name) and "Next"
// paging; "Add user" creates one, with or without a password, active or staged.

import { h, pageHead, dataTable, badge, link, form, button, replace, when } from '../kit.js';

/** Plain text becomes a prefix search over the searchable profile fields; text
 *  that already reads as an Okta expression (`profile.login sw "a"`) is sent as is. */
export function searchExpression(text) {
  if (!text) return '';
  if (/\s(eq|sw|co|gt|ge|lt|le|pr|ne)(\s|$)/i.test(text)) return text;
  const quoted = '"' + text.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
  return ['profile.login', 'profile.email', 'profile.firstName', 'profile.lastName']
    .map((f) => `${f} sw ${quoted}`).join(' or ');
}

export default {
  path: '/users',
  title: 'Users',
  nav: true,
  async render(main, params, ctx) {
    const createArea = h('div');
    const table = dataTable({
      api: ctx.api,
      caption: 'Users',
      searchLabel: 'Search users',
      searchHint: 'Login, email or name starts with… — or an Okta expression such as profile.lastName eq "Smith"',
      initial: params.query.get('search') || '',
      load: (text) => '/api/v1/users?limit=20' + (text ? '&search=' + encodeURIComponent(searchExpression(text)) : ''),
      empty: 'No users match.',
      columns: [
        { label: 'Name', cell: (u) => link('/users/' + encodeURIComponent(u.id), fullName(u) || u.profile.login) },
        { label: 'Login', cell: (u) => u.profile.login },
        { label: 'Status', cell: (u) => badge(u.status) },
        { label: 'Last sign-in', cell: (u) => when(u.lastLogin) },
      ],
    });
    const add = button('Add user', () => openCreate(), 'primary');
    function openCreate() {
      add.hidden = true;
      const f = form({
        submitLabel: 'Create user',
        fields: [
          { name: 'firstName', label: 'First name', required: true, autocomplete: 'off' },
          { name: 'lastName', label: 'Last name', required: true },
          { name: 'login', label: 'Login (an email address)', type: 'email', required: true },
          { name: 'email', label: 'Email', type: 'email', hint: 'Left empty: the login.' },
          { name: 'password', label: 'Password', type: 'password', hint: 'Left empty: the user has no password yet and cannot sign in with one.' },
          { name: 'activate', label: 'Activate now', type: 'checkbox', value: true },
        ],
        onCancel: close,
        async onSubmit(v) {
          const body = { profile: { firstName: v.firstName, lastName: v.lastName, login: v.login, email: v.email || v.login } };
          if (v.password) body.credentials = { password: { value: v.password } };
          const { body: created } = await ctx.api('POST', '/api/v1/users?activate=' + (v.activate ? 'true' : 'false'), body);
          ctx.toast(`${created.profile.login} created`);
          ctx.navigate('/users/' + encodeURIComponent(created.id));
        },
      });
      replace(createArea, h('section', { class: 'panel', 'aria-label': 'New user' }, h('h2', {}, 'New user'), f));
      f.querySelector('input').focus();
    }
    function close() {
      replace(createArea);
      add.hidden = false;
      add.focus();
    }
    main.append(pageHead('Users', 'People who sign in through this server', [add]), createArea, table);
    await table.ready;
  },
};

export function fullName(u) {
  return [u.profile.firstName, u.profile.lastName].filter(Boolean).join(' ');
}
