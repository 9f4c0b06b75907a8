//! Who may do what through the management API: Okta's admin roles, Okta's OAuth 2.0
//! scopes for its management API (`okta.users.read`, `okta.apps.manage`, ...), and the
//! role → permission matrix as one table of data (`MATRIX`).
//!
//! Okta's model (developer.okta.com, "Administrators" and "OAuth 2.0 for Okta API
//! scopes"): an access token may call an operation when it carries the operation's
//! scope (a `manage` scope also allows reading) AND the admin it was issued to has a
//! role that allows it; a service app's token (client_credentials, no user) may call
//! exactly what its granted scopes name; an API token acts with the current roles of
//! the admin who made it.

use serde::Serialize;

/// Okta's standard admin roles that Gatehouse has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Role {
    #[serde(rename = "SUPER_ADMIN")]
    SuperAdmin,
    #[serde(rename = "ORG_ADMIN")]
    OrgAdmin,
    #[serde(rename = "APP_ADMIN")]
    AppAdmin,
    #[serde(rename = "READ_ONLY_ADMIN")]
    ReadOnlyAdmin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::SuperAdmin,
        Role::OrgAdmin,
        Role::AppAdmin,
        Role::ReadOnlyAdmin,
    ];

    /// Okta's role `type`.
    pub fn okta_type(self) -> &'static str {
        match self {
            Role::SuperAdmin => "SUPER_ADMIN",
            Role::OrgAdmin => "ORG_ADMIN",
            Role::AppAdmin => "APP_ADMIN",
            Role::ReadOnlyAdmin => "READ_ONLY_ADMIN",
        }
    }

    /// Okta's role `label`.
    pub fn label(self) -> &'static str {
        match self {
            Role::SuperAdmin => "Super Administrator",
            Role::OrgAdmin => "Organizational Administrator",
            Role::AppAdmin => "Application Administrator",
            Role::ReadOnlyAdmin => "Read Only Administrator",
        }
    }

    /// The short name the command line takes (`super`, `org`, `app`, `read-only`).
    pub fn short(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super",
            Role::OrgAdmin => "org",
            Role::AppAdmin => "app",
            Role::ReadOnlyAdmin => "read-only",
        }
    }

    /// A role by Okta type or by short name.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.okta_type() == text || r.short() == text)
    }
}

/// What the management API manages, each with Okta's scope pair `okta.{name}.read`
/// and `okta.{name}.manage` (`logs` and `dashboard` are read only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Users,
    Groups,
    Apps,
    AuthorizationServers,
    Logs,
    Roles,
    ApiTokens,
    Brands,
    Sessions,
    Dashboard,
    /// Clients registered dynamically at `/oauth2/v1/clients` (RFC 7591, RFC 7592):
    /// Okta's `okta.clients.read`, `okta.clients.manage` and `okta.clients.register`.
    Clients,
    /// Sign-on policies (`/api/v1/policies`, an app's policy).
    Policies,
    /// Network zones (`/api/v1/zones`).
    NetworkZones,
    /// Upstream identity providers and their linked users (`/api/v1/idps`).
    IdentityProviders,
}

impl Resource {
    pub const ALL: [Resource; 14] = [
        Resource::Users,
        Resource::Groups,
        Resource::Apps,
        Resource::AuthorizationServers,
        Resource::Logs,
        Resource::Roles,
        Resource::ApiTokens,
        Resource::Brands,
        Resource::Sessions,
        Resource::Dashboard,
        Resource::Clients,
        Resource::Policies,
        Resource::NetworkZones,
        Resource::IdentityProviders,
    ];

    /// The name in Okta's scopes.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Users => "users",
            Resource::Groups => "groups",
            Resource::Apps => "apps",
            Resource::AuthorizationServers => "authorizationServers",
            Resource::Logs => "logs",
            Resource::Roles => "roles",
            Resource::ApiTokens => "apiTokens",
            Resource::Brands => "brands",
            Resource::Sessions => "sessions",
            Resource::Dashboard => "dashboard",
            Resource::Clients => "clients",
            Resource::Policies => "policies",
            Resource::NetworkZones => "networkZones",
            Resource::IdentityProviders => "idps",
        }
    }

    /// Only read: Okta has no `okta.logs.manage`.
    pub fn read_only(self) -> bool {
        matches!(self, Resource::Logs | Resource::Dashboard)
    }
}

/// Reading, registering (creating only: Okta's `okta.clients.register`), or changing
/// (which includes both). A role's level allows every level below it; a scope allows
/// its own level and `manage` every level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Read,
    Register,
    Manage,
}

/// Over which objects: all of them, or only the admin's own (an org admin's API
/// tokens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    All,
    Own,
}

/// What one operation requires: a level on a resource, hence one Okta scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Need {
    pub resource: Resource,
    pub level: Level,
}

impl Need {
    pub const fn read(resource: Resource) -> Need {
        Need {
            resource,
            level: Level::Read,
        }
    }

    pub const fn register(resource: Resource) -> Need {
        Need {
            resource,
            level: Level::Register,
        }
    }

    pub const fn manage(resource: Resource) -> Need {
        Need {
            resource,
            level: Level::Manage,
        }
    }

    /// The Okta scope the operation requires: `okta.{resource}.{read|manage}`.
    pub fn scope(&self) -> String {
        scope_name(self.resource, self.level)
    }

    /// Does a token with these scopes carry what this needs? A `manage` scope also
    /// allows reading and registering (Okta's rule); `register` allows only that.
    pub fn granted_by(&self, scopes: &[String]) -> bool {
        let manage = scope_name(self.resource, Level::Manage);
        scopes.iter().any(|s| *s == manage || *s == self.scope())
    }
}

fn scope_name(resource: Resource, level: Level) -> String {
    let level = match level {
        Level::Read => "read",
        Level::Register => "register",
        Level::Manage => "manage",
    };
    format!("okta.{}.{level}", resource.name())
}

/// Every Okta scope the org server offers, with its description.
pub fn okta_scopes() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for resource in Resource::ALL {
        out.push((
            scope_name(resource, Level::Read),
            format!(
                "Allows the app to read {} through the management API.",
                resource.name()
            ),
        ));
        if resource == Resource::Clients {
            out.push((
                scope_name(resource, Level::Register),
                "Allows the app to register new clients dynamically (RFC 7591).".to_string(),
            ));
        }
        if !resource.read_only() {
            out.push((
                scope_name(resource, Level::Manage),
                format!(
                    "Allows the app to read and change {} through the management API.",
                    resource.name()
                ),
            ));
        }
    }
    out
}

/// Is this one of the management API's Okta scopes?
pub fn is_okta_scope(scope: &str) -> bool {
    scope.starts_with("okta.")
}

/// One permission of a role: the highest level on a resource, over which objects.
pub type Permission = (Resource, Level, Reach);

/// The role → permission matrix: for each role, the highest level it has on each
/// resource and over which objects. A resource a role does not list, it may not even
/// read. Okta's standard roles:
/// a super admin everything; an org admin users, groups and sessions, reading the rest
/// but only their own API tokens; an app admin apps (with assignments), reading users
/// and groups; a read-only admin reading everything.
pub const MATRIX: &[(Role, &[Permission])] = &[
    (
        Role::SuperAdmin,
        &[
            (Resource::Users, Level::Manage, Reach::All),
            (Resource::Groups, Level::Manage, Reach::All),
            (Resource::Apps, Level::Manage, Reach::All),
            (Resource::AuthorizationServers, Level::Manage, Reach::All),
            (Resource::Logs, Level::Read, Reach::All),
            (Resource::Roles, Level::Manage, Reach::All),
            (Resource::ApiTokens, Level::Manage, Reach::All),
            (Resource::Brands, Level::Manage, Reach::All),
            (Resource::Sessions, Level::Manage, Reach::All),
            (Resource::Dashboard, Level::Read, Reach::All),
            (Resource::Clients, Level::Manage, Reach::All),
            (Resource::Policies, Level::Manage, Reach::All),
            (Resource::NetworkZones, Level::Manage, Reach::All),
            (Resource::IdentityProviders, Level::Manage, Reach::All),
        ],
    ),
    (
        Role::OrgAdmin,
        &[
            (Resource::Users, Level::Manage, Reach::All),
            (Resource::Groups, Level::Manage, Reach::All),
            (Resource::Sessions, Level::Manage, Reach::All),
            (Resource::Apps, Level::Read, Reach::All),
            (Resource::AuthorizationServers, Level::Read, Reach::All),
            (Resource::Logs, Level::Read, Reach::All),
            (Resource::Roles, Level::Read, Reach::All),
            (Resource::ApiTokens, Level::Manage, Reach::Own),
            (Resource::Brands, Level::Read, Reach::All),
            (Resource::Dashboard, Level::Read, Reach::All),
            (Resource::Clients, Level::Read, Reach::All),
            (Resource::Policies, Level::Read, Reach::All),
            (Resource::NetworkZones, Level::Read, Reach::All),
            (Resource::IdentityProviders, Level::Read, Reach::All),
        ],
    ),
    (
        Role::AppAdmin,
        &[
            (Resource::Apps, Level::Manage, Reach::All),
            (Resource::Clients, Level::Manage, Reach::All),
            (Resource::Users, Level::Read, Reach::All),
            (Resource::Groups, Level::Read, Reach::All),
        ],
    ),
    (
        Role::ReadOnlyAdmin,
        &[
            (Resource::Users, Level::Read, Reach::All),
            (Resource::Groups, Level::Read, Reach::All),
            (Resource::Apps, Level::Read, Reach::All),
            (Resource::AuthorizationServers, Level::Read, Reach::All),
            (Resource::Logs, Level::Read, Reach::All),
            (Resource::Roles, Level::Read, Reach::All),
            (Resource::ApiTokens, Level::Read, Reach::All),
            (Resource::Brands, Level::Read, Reach::All),
            (Resource::Sessions, Level::Read, Reach::All),
            (Resource::Dashboard, Level::Read, Reach::All),
            (Resource::Clients, Level::Read, Reach::All),
            (Resource::Policies, Level::Read, Reach::All),
            (Resource::NetworkZones, Level::Read, Reach::All),
            (Resource::IdentityProviders, Level::Read, Reach::All),
        ],
    ),
];

/// Where a caller's authority comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authority {
    /// An admin's roles (a user's access token, or an API token acting for its maker).
    Roles(Vec<Role>),
    /// A service app's token: its granted scopes are its permissions.
    Scopes,
}

/// Why a request is refused (both 403 `E0000006`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The access token lacks the operation's scope (`WWW-Authenticate: Bearer
    /// error="insufficient_scope"`, RFC 6750 §3.1).
    InsufficientScope,
    /// The admin's roles do not allow it.
    Role,
}

/// May a caller with `scopes` (an access token's; `None` for an API token, which has
/// none to check) and `authority` do what `need` says? Answers how far it reaches.
pub fn decide(
    need: Need,
    scopes: Option<&[String]>,
    authority: &Authority,
) -> Result<Reach, Refusal> {
    if let Some(scopes) = scopes
        && !need.granted_by(scopes)
    {
        return Err(Refusal::InsufficientScope);
    }
    match authority {
        Authority::Scopes if scopes.is_some() => Ok(Reach::All),
        Authority::Scopes => Err(Refusal::Role),
        Authority::Roles(roles) => {
            let mut best: Option<Reach> = None;
            for role in roles {
                if let Some(reach) = role_allows(*role, need) {
                    best = match (best, reach) {
                        (Some(Reach::All), _) | (_, Reach::All) => Some(Reach::All),
                        _ => Some(Reach::Own),
                    };
                }
            }
            best.ok_or(Refusal::Role)
        }
    }
}

/// What the matrix says of one role and one need.
pub fn role_allows(role: Role, need: Need) -> Option<Reach> {
    MATRIX
        .iter()
        .filter(|(r, _)| *r == role)
        .flat_map(|(_, grants)| grants.iter())
        .find(|(resource, level, _)| *resource == need.resource && *level >= need.level)
        .map(|(_, _, reach)| *reach)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn manage_scope_reads_too_read_scope_does_not_write() {
        let users_read = Need::read(Resource::Users);
        let users_manage = Need::manage(Resource::Users);
        assert!(users_read.granted_by(&scopes(&["okta.users.manage"])));
        assert!(users_read.granted_by(&scopes(&["okta.users.read"])));
        assert!(!users_manage.granted_by(&scopes(&["okta.users.read"])));
        assert!(!users_read.granted_by(&scopes(&["okta.groups.manage", "openid"])));
        assert_eq!(users_manage.scope(), "okta.users.manage");
        // okta.clients.register registers, and neither reads nor changes.
        let register = Need::register(Resource::Clients);
        assert_eq!(register.scope(), "okta.clients.register");
        assert!(register.granted_by(&scopes(&["okta.clients.register"])));
        assert!(register.granted_by(&scopes(&["okta.clients.manage"])));
        assert!(!register.granted_by(&scopes(&["okta.clients.read"])));
        assert!(!Need::read(Resource::Clients).granted_by(&scopes(&["okta.clients.register"])));
        assert!(!Need::manage(Resource::Clients).granted_by(&scopes(&["okta.clients.register"])));
        assert_eq!(
            Need::read(Resource::AuthorizationServers).scope(),
            "okta.authorizationServers.read"
        );
    }

    #[test]
    fn the_matrix_follows_the_roles() {
        let all = |role| {
            Resource::ALL
                .into_iter()
                .all(|r| role_allows(role, Need::read(r)).is_some())
        };
        assert!(all(Role::SuperAdmin) && all(Role::ReadOnlyAdmin));
        for r in Resource::ALL {
            assert_eq!(role_allows(Role::ReadOnlyAdmin, Need::manage(r)), None);
            assert_eq!(
                role_allows(Role::SuperAdmin, Need::manage(r)).is_some(),
                !r.read_only()
            );
        }
        assert!(role_allows(Role::AppAdmin, Need::manage(Resource::Apps)).is_some());
        assert!(role_allows(Role::AppAdmin, Need::manage(Resource::Users)).is_none());
        assert!(role_allows(Role::AppAdmin, Need::read(Resource::Users)).is_some());
        assert!(role_allows(Role::OrgAdmin, Need::manage(Resource::Users)).is_some());
        assert!(role_allows(Role::OrgAdmin, Need::manage(Resource::Apps)).is_none());
        assert_eq!(
            role_allows(Role::OrgAdmin, Need::read(Resource::ApiTokens)),
            Some(Reach::Own)
        );
    }

    #[test]
    fn scope_first_then_role() {
        let need = Need::manage(Resource::Users);
        let ro = Authority::Roles(vec![Role::ReadOnlyAdmin]);
        assert_eq!(
            decide(need, Some(&scopes(&["okta.users.read"])), &ro),
            Err(Refusal::InsufficientScope)
        );
        assert_eq!(
            decide(need, Some(&scopes(&["okta.users.manage"])), &ro),
            Err(Refusal::Role)
        );
        assert_eq!(decide(need, None, &ro), Err(Refusal::Role));
        let both = Authority::Roles(vec![Role::ReadOnlyAdmin, Role::OrgAdmin]);
        assert_eq!(decide(need, None, &both), Ok(Reach::All));
        assert_eq!(
            decide(
                need,
                Some(&scopes(&["okta.users.manage"])),
                &Authority::Scopes
            ),
            Ok(Reach::All)
        );
        assert_eq!(decide(need, None, &Authority::Scopes), Err(Refusal::Role));
        assert_eq!(
            decide(need, None, &Authority::Roles(vec![])),
            Err(Refusal::Role)
        );
    }

    #[test]
    fn okta_scopes_have_no_manage_for_read_only_resources() {
        let names: Vec<String> = okta_scopes().into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"okta.logs.read".to_string()));
        assert!(!names.contains(&"okta.logs.manage".to_string()));
        assert!(names.contains(&"okta.users.manage".to_string()));
        assert!(names.contains(&"okta.clients.register".to_string()));
        assert!(names.contains(&"okta.idps.manage".to_string()));
        assert_eq!(names.len(), 27);
    }
}
