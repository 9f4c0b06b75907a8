// Every console page, in one array; the router matches a path against each `path`
// in this order (':name' is a path segment). A page with `nav: true` whose path is
// not one of the shell's sections (console.js NAV) is added to the navigation.
// Sections: '/' Dashboard, '/users', '/groups', '/apps', '/authorization-servers',
// '/log' (System Log), '/api-tokens', '/branding'.

import dashboard from './dashboard.js';
import users from './users.js';
import user from './user.js';
import groups from './groups.js';
import group from './group.js';
import log from './log.js';
import apps from './apps.js';
import app from './app.js';
import servers from './servers.js';
import server from './server.js';
import tokens from './tokens.js';
import branding from './branding.js';

export default [
  dashboard,
  users,
  user,
  groups,
  group,
  log,
  apps,
  app,
  servers,
  server,
  tokens,
  branding,
];
