// What the signed-in admin's roles let them change, so a page shows only the change
// buttons that can work (Okta's SUPER_ADMIN, ORG_ADMIN,
// APP_ADMIN and READ_ONLY_ADMIN). The API decides every request on its own; this only
// spares a read-only admin buttons that would be refused. Not a page: imported by
// the pages of apps, authorization servers, API tokens and branding.

// These pages' own styles, beside console.css (a stylesheet from this origin: the
// console's CSP allows it).
if (!document.querySelector('link[data-manage]')) {
  const sheet = document.createElement('link');
  sheet.rel = 'stylesheet';
  sheet.href = '/admin/assets/manage.css';
  sheet.setAttribute('data-manage', '');
  document.head.append(sheet);
}

/** The resource each role may change (SUPER_ADMIN: all of them). */
const WRITES = {
  ORG_ADMIN: ['users', 'groups', 'sessions', 'apiTokens'],
  APP_ADMIN: ['apps', 'apiTokens'],
  READ_ONLY_ADMIN: [],
};

let cached = null;

/** The admin's role types, read once per signed-in user; null when unknown. */
async function roles(ctx) {
  if (cached && cached.user === ctx.user.id) return cached.types;
  let types = null;
  try {
    const res = await ctx.api('GET', '/api/v1/users/' + encodeURIComponent(ctx.user.id) + '/roles');
    types = Array.isArray(res.body) ? res.body.map((r) => r.type) : null;
  } catch {
    // Roles that cannot be read (or a session that ended, which the page's next
    // request meets too): the API stays the judge of each change.
    types = null;
  }
  cached = { user: ctx.user.id, types };
  return types;
}

/**
 * True when the admin may change `resource` (`apps`, `authorizationServers`,
 * `apiTokens`, `brands`). Unknown roles count as allowed: the API refuses what is
 * not, and the page shows its message.
 */
export async function canChange(ctx, resource) {
  const types = await roles(ctx);
  if (!types) return true;
  return types.some((t) => t === 'SUPER_ADMIN' || (WRITES[t] || []).includes(resource));
}

/** The line a page shows instead of its change buttons. */
export function readOnlyNote(h, what) {
  return h('p', { class: 'hint read-only', role: 'note' }, `Read only: your admin role lets you see ${what} but not change them.`);
}
