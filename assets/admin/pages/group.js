// One group: its profile (edit), delete (with confirmation; the built-in Everyone
// cannot be changed), and its members (add by login, remove), a page at a time.

import { h, pageHead, section, details, button, form, replace, when, link, confirmDialog, dataTable, badge } from '../kit.js';
import { fullName } from './users.js';

export default {
  path: '/groups/:id',
  title: 'Group',
  nav: false,
  async render(main, params, ctx) {
    const path = '/api/v1/groups/' + encodeURIComponent(params.id);
    let group = (await ctx.api('GET', path)).body;
    const builtIn = group.type === 'BUILT_IN';
    const head = h('div');
    const profile = h('div');

    function draw() {
      document.title = group.profile.name + ' · Admin Console';
      const remove = builtIn ? null : button('Delete group', async () => {
        if (await confirmDialog(`Delete the group ${group.profile.name}? Its members stay; their membership ends.`, 'Delete')) {
          try {
            await ctx.api('DELETE', path);
            ctx.toast(`${group.profile.name} deleted`);
            ctx.navigate('/groups');
          } catch (err) {
            ctx.failed(err);
          }
        }
      }, 'danger');
      replace(head, pageHead(group.profile.name, group.profile.description || (builtIn ? 'Every user is a member' : ''), [remove]));
      replace(profile, section('Profile', builtIn ? null : [button('Edit', edit)], details([
        ['Name', group.profile.name], ['Description', group.profile.description || '—'],
        ['Id', h('code', {}, group.id)], ['Created', when(group.created)], ['Changed', when(group.lastUpdated)],
      ])));
    }

    function edit() {
      const f = form({
        submitLabel: 'Save group',
        fields: [
          { name: 'name', label: 'Name', value: group.profile.name, required: true },
          { name: 'description', label: 'Description', value: group.profile.description || '' },
        ],
        onCancel: draw,
        async onSubmit(v) {
          group = (await ctx.api('PUT', path, { profile: { name: v.name, description: v.description } })).body;
          ctx.toast('Group saved');
          draw();
        },
      });
      replace(profile, section('Edit group', null, f));
      f.querySelector('input').focus();
    }

    const members = dataTable({
      api: ctx.api,
      caption: 'Members',
      load: () => path + '/users?limit=20',
      empty: 'No members yet.',
      columns: [
        { label: 'Name', cell: (u) => link('/users/' + encodeURIComponent(u.id), fullName(u) || u.profile.login) },
        { label: 'Login', cell: (u) => u.profile.login },
        { label: 'Status', cell: (u) => badge(u.status) },
        {
          label: 'Actions',
          cell: (u) => builtIn ? '' : button('Remove', async () => {
            if (await confirmDialog(`Remove ${u.profile.login} from ${group.profile.name}?`, 'Remove')) {
              try {
                await ctx.api('DELETE', `${path}/users/${encodeURIComponent(u.id)}`);
                ctx.toast(`${u.profile.login} removed`);
                members.reload();
              } catch (err) {
                ctx.failed(err);
              }
            }
          }, '', { 'aria-label': 'Remove ' + u.profile.login }),
        },
      ],
    });
    const addForm = builtIn ? null : form({
      inline: true,
      submitLabel: 'Add member',
      fields: [{ name: 'login', label: 'User login or id', required: true, hint: 'The user is looked up by login or id.' }],
      async onSubmit(v, f) {
        const { body: u } = await ctx.api('GET', '/api/v1/users/' + encodeURIComponent(v.login.trim()));
        await ctx.api('PUT', `${path}/users/${encodeURIComponent(u.id)}`);
        f.reset();
        ctx.toast(`${u.profile.login} added`);
        members.reload();
      },
    });

    draw();
    main.append(head, profile, section('Members', null, addForm, members), h('p', {}, link('/groups', '← All groups')));
    await members.ready;
  },
};
