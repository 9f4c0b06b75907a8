// One user: profile (edit), lifecycle (activate, suspend, unsuspend, unlock, deactivate,
// delete — Okta's: a user is deactivated before being deleted), set or expire the
// password, groups (add, remove), app assignments (appLinks), sessions (list, end
// one, end all) and recent sign-ins (System Log `user.session.start` with this user
// as actor). Each section loads on its own, so one the admin's role does not allow
// says so without hiding the rest.

import {
  h, pageHead, section, details, badge, button, form, replace, when, link,
  confirmDialog, simpleTable,
} from '../kit.js';
import { fullName } from './users.js';

const DAY = 24 * 3600 * 1000;

export default {
  path: '/users/:id',
  title: 'User',
  nav: false,
  async render(main, params, ctx) {
    const path = '/api/v1/users/' + encodeURIComponent(params.id);
    let user = (await ctx.api('GET', path)).body;
    const head = h('div');
    const profile = h('div');
    const lifecycle = h('div', { class: 'actions' });

    /** Runs an action; on success reloads the user and says `done`. */
    async function act(method, url, payload, done) {
      try {
        await ctx.api(method, url, payload);
        if (done) ctx.toast(done);
        user = (await ctx.api('GET', path)).body;
        draw();
        return true;
      } catch (err) {
        if (err.status === 404 && method === 'DELETE' && url === path) return true;
        ctx.failed(err);
        return false;
      }
    }

    function draw() {
      const name = fullName(user) || user.profile.login;
      document.title = name + ' · Admin Console';
      replace(head, pageHead(name, user.profile.login, [badge(user.status)]));
      drawLifecycle();
      drawProfile();
    }

    function drawLifecycle() {
      const s = user.status;
      const lc = (op) => path + '/lifecycle/' + op;
      const buttons = [];
      if (['STAGED', 'PROVISIONED', 'DEPROVISIONED'].includes(s)) {
        buttons.push(button('Activate', () => act('POST', lc('activate'), undefined, 'Activated'), 'primary'));
      }
      if (s === 'ACTIVE' || s === 'PASSWORD_EXPIRED') {
        buttons.push(button('Suspend', async () => {
          if (await confirmDialog(`Suspend ${user.profile.login}? They cannot sign in until unsuspended.`, 'Suspend')) {
            await act('POST', lc('suspend'), undefined, 'Suspended');
          }
        }));
      }
      if (s === 'SUSPENDED') buttons.push(button('Unsuspend', () => act('POST', lc('unsuspend'), undefined, 'Unsuspended')));
      // The password policy's lockout: sessions and tokens were kept, sign-in is refused.
      if (s === 'LOCKED_OUT') buttons.push(button('Unlock', () => act('POST', lc('unlock'), undefined, 'Unlocked'), 'primary'));
      if (s !== 'DEPROVISIONED') {
        buttons.push(button('Deactivate', async () => {
          if (await confirmDialog(`Deactivate ${user.profile.login}? Their sessions and tokens end.`, 'Deactivate')) {
            await act('POST', lc('deactivate'), undefined, 'Deactivated');
          }
        }, 'danger'));
      } else {
        buttons.push(button('Delete', async () => {
          if (await confirmDialog(`Delete ${user.profile.login} for good? This cannot be undone.`, 'Delete')) {
            try {
              await ctx.api('DELETE', path);
              ctx.toast(`${user.profile.login} deleted`);
              ctx.navigate('/users');
            } catch (err) {
              ctx.failed(err);
            }
          }
        }, 'danger'));
      }
      replace(lifecycle, buttons);
    }

    function drawProfile() {
      const p = user.profile;
      replace(profile, section('Profile', [button('Edit', () => editProfile())],
        details([
          ['First name', p.firstName], ['Last name', p.lastName], ['Login', p.login],
          ['Email', p.email], ['Mobile phone', p.mobilePhone], ['Id', h('code', {}, user.id)],
          ['Created', when(user.created)], ['Activated', when(user.activated)],
          ['Last sign-in', when(user.lastLogin)], ['Password changed', when(user.passwordChanged)],
        ])));
    }

    function editProfile() {
      const p = user.profile;
      const f = form({
        submitLabel: 'Save profile',
        fields: [
          { name: 'firstName', label: 'First name', value: p.firstName, required: true },
          { name: 'lastName', label: 'Last name', value: p.lastName, required: true },
          { name: 'login', label: 'Login', type: 'email', value: p.login, required: true },
          { name: 'email', label: 'Email', type: 'email', value: p.email, required: true },
          { name: 'mobilePhone', label: 'Mobile phone', type: 'tel', value: p.mobilePhone || '' },
        ],
        onCancel: drawProfile,
        async onSubmit(v) {
          const changed = { firstName: v.firstName, lastName: v.lastName, login: v.login, email: v.email };
          changed.mobilePhone = v.mobilePhone || null;
          user = (await ctx.api('POST', path, { profile: changed })).body;
          ctx.toast('Profile saved');
          draw();
        },
      });
      replace(profile, section('Edit profile', null, f));
      f.querySelector('input').focus();
    }

    const password = section('Password', [
      button('Expire password', async () => {
        if (await confirmDialog(`Expire ${user.profile.login}'s password? They must choose a new one at their next sign-in.`, 'Expire', false)) {
          await act('POST', path + '/lifecycle/expire_password', undefined, 'Password expired');
        }
      }),
    ], form({
      inline: true,
      submitLabel: 'Set password',
      fields: [{ name: 'password', label: 'New password', type: 'password', required: true }],
      async onSubmit(v, f) {
        await ctx.api('POST', path, { credentials: { password: { value: v.password } } });
        f.reset();
        ctx.toast('Password set');
      },
    }));

    const groups = h('div');
    async function loadGroups() {
      const list = await sectionData(ctx, groups, 'Groups', () => ctx.api('GET', path + '/groups'));
      if (!list) return;
      const picker = h('div');
      replace(groups, section('Groups', [button('Add to group', () => pickGroup(picker, list.body))], picker,
        simpleTable([
          { label: 'Group', cell: (g) => link('/groups/' + encodeURIComponent(g.id), g.profile.name) },
          { label: 'Description', cell: (g) => g.profile.description || '' },
          {
            label: 'Actions',
            cell: (g) => g.type === 'BUILT_IN' ? h('span', { class: 'muted' }, 'Everyone') : button('Remove', async () => {
              if (await confirmDialog(`Remove ${user.profile.login} from ${g.profile.name}?`, 'Remove')) {
                try {
                  await ctx.api('DELETE', `/api/v1/groups/${encodeURIComponent(g.id)}/users/${encodeURIComponent(user.id)}`);
                  ctx.toast('Removed from ' + g.profile.name);
                  loadGroups();
                } catch (err) {
                  ctx.failed(err);
                }
              }
            }, '', { 'aria-label': 'Remove from ' + g.profile.name }),
          },
        ], list.body, 'In no group.', 'Groups')));
    }

    async function pickGroup(area, current) {
      let all;
      try {
        all = (await ctx.api('GET', '/api/v1/groups?limit=200')).body;
      } catch (err) {
        ctx.failed(err);
        return;
      }
      const have = new Set(current.map((g) => g.id));
      const options = all.filter((g) => !have.has(g.id) && g.type !== 'BUILT_IN').map((g) => [g.id, g.profile.name]);
      if (!options.length) {
        replace(area, h('p', { class: 'muted' }, 'There is no other group. Create one under Groups.'));
        return;
      }
      const f = form({
        inline: true,
        submitLabel: 'Add',
        fields: [{ name: 'group', label: 'Group', type: 'select', options, required: true }],
        onCancel: () => replace(area),
        async onSubmit(v) {
          await ctx.api('PUT', `/api/v1/groups/${encodeURIComponent(v.group)}/users/${encodeURIComponent(user.id)}`);
          ctx.toast('Added to ' + options.find(([id]) => id === v.group)[1]);
          loadGroups();
        },
      });
      replace(area, f);
      f.querySelector('select').focus();
    }

    const apps = h('div');
    async function loadApps() {
      const list = await sectionData(ctx, apps, 'Applications', () => ctx.api('GET', path + '/appLinks'));
      if (!list) return;
      replace(apps, section('Applications', null, simpleTable([
        { label: 'Application', cell: (a) => link('/apps/' + encodeURIComponent(a.appInstanceId), a.label) },
        { label: 'Kind', cell: (a) => a.appName || '' },
        { label: 'Link', cell: (a) => a.linkUrl ? h('code', {}, a.linkUrl) : '' },
      ], list.body, 'Assigned to no application.', 'Applications')));
    }

    const sessions = h('div');
    async function loadSessions() {
      const list = await sectionData(ctx, sessions, 'Sessions', () => ctx.api('GET', path + '/sessions'));
      if (!list) return;
      const endAll = button('End all sessions', async () => {
        if (await confirmDialog(`End every session of ${user.profile.login}? They must sign in again everywhere.`, 'End all')) {
          try {
            await ctx.api('DELETE', path + '/sessions');
            ctx.toast('All sessions ended');
            loadSessions();
          } catch (err) {
            ctx.failed(err);
          }
        }
      }, 'danger', { disabled: list.body.length === 0 });
      replace(sessions, section('Sessions', [endAll], simpleTable([
        { label: 'Started', cell: (x) => when(x.createdAt) },
        { label: 'Last used', cell: (x) => when(x.lastSeenAt) },
        { label: 'Expires', cell: (x) => when(x.expiresAt) },
        { label: 'Address', cell: (x) => x.client?.ipAddress || '—' },
        { label: 'Browser', cell: (x) => x.client?.userAgent?.summary || '—' },
        {
          label: 'Actions',
          cell: (x) => button('End', async () => {
            try {
              await ctx.api('DELETE', `${path}/sessions/${encodeURIComponent(x.id)}`);
              ctx.toast('Session ended');
              loadSessions();
            } catch (err) {
              ctx.failed(err);
            }
          }, '', { 'aria-label': 'End the session started ' + when(x.createdAt) }),
        },
      ], list.body, 'No active session.', 'Sessions')));
    }

    const signIns = h('div');
    async function loadSignIns() {
      const since = new Date(Date.now() - 30 * DAY).toISOString();
      const filter = `eventType eq "user.session.start" and actor.id eq "${user.id}"`;
      const list = await sectionData(ctx, signIns, 'Recent sign-ins', () =>
        ctx.api('GET', `/api/v1/logs?limit=1000&since=${encodeURIComponent(since)}&filter=${encodeURIComponent(filter)}`));
      if (!list) return;
      const recent = list.body.slice(-10).reverse();
      replace(signIns, section('Recent sign-ins', [link('/log?filter=' + encodeURIComponent(filter), 'In the System Log')], simpleTable([
        { label: 'When', cell: (e) => when(e.published) },
        { label: 'Result', cell: (e) => badge(e.outcome && e.outcome.result) },
        { label: 'Reason', cell: (e) => (e.outcome && e.outcome.reason) || '' },
        { label: 'Address', cell: (e) => (e.client && e.client.ipAddress) || '—' },
      ], recent, 'No sign-in in the last 30 days.', 'Recent sign-ins')));
    }

    draw();
    main.append(head, h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Lifecycle' }, lifecycle),
      profile, password, groups, apps, sessions, signIns,
      h('p', {}, link('/users', '← All users')));
    await Promise.all([loadGroups(), loadApps(), loadSessions(), loadSignIns()]);
  },
};

/**
 * Loads one section's data; when the API refuses (the role does not allow it, or the
 * server lacks the operation) the section says so and the rest of the page stands.
 * A session that ended is thrown on, to the shell.
 */
async function sectionData(ctx, area, title, load) {
  try {
    return await load();
  } catch (err) {
    if (!err.status) throw err;
    replace(area, section(title, null, h('p', { class: 'muted' }, err.status === 403
      ? 'Your admin role does not allow this.'
      : err.message)));
    return null;
  }
}
