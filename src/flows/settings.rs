//! What the authorize and token flows share: the server's settings (scopes, claims,
//! policies) behind a per-process cache, the user and their groups, app assignments,
//! and the policy decision.

use std::collections::HashMap;
use std::sync::Arc;

use super::Services;
use crate::oauth::OAuthError;
use crate::oauth::idp_discovery::{Lookup, Route, Routing};
use crate::oauth::policy::{self, Decision, Lifetimes, PolicyRequest};
use crate::oauth::scope::Scope;
use crate::oauth::sign_on::{Attempt, SignOnSettings, Verdict};
use crate::store::{
    AuthServer, ClaimDef, Client, Group, Policy, PolicyRule, ScopeDef, StoreResult, User,
};

/// An authorization server's scopes, claims, policies and rules, and the org's
/// sign-on policies (the same for every server).
pub struct Settings {
    pub scopes: Vec<ScopeDef>,
    pub claims: Vec<ClaimDef>,
    pub policies: Vec<Policy>,
    pub rules: Vec<PolicyRule>,
    pub sign_on: SignOnSettings,
    /// The identity providers and the IdP discovery policy (org-wide, as `sign_on`).
    pub routing: Routing,
}

/// Each process's parsed `Settings` per server, with the `settings_version` of the
/// server row they were read under.
///
/// What it holds: the lists above, nothing about users, clients, codes or tokens.
/// How long: while the server row a request has just read (every token and authorize
/// request reads it) carries the same `settings_version`. Why it cannot grant what the
/// database would deny: database triggers (migration 15) increase the version in the
/// same transaction as every insert, update or delete of a scope, claim, policy or rule,
/// whoever makes it (this instance, another one on the same PostgreSQL, the CLI). A
/// request that starts after such a change commits reads the new version, misses the
/// cache and reads the lists again, on every instance, with no delay. The sign-on
/// policies, rules, network zones and app assignments are org-wide: their triggers
/// (migration 35) raise every server's version; so do the identity providers and the
/// IdP discovery policy and rules (migration 42). Lists are read
/// after the version, so an entry is never newer-labelled than what it holds.
#[derive(Default)]
pub struct SettingsCache {
    entries: std::sync::RwLock<HashMap<String, (i64, Arc<Settings>)>>,
}

impl SettingsCache {
    fn get(&self, server_id: &str, version: i64) -> Option<Arc<Settings>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(server_id)
            .filter(|(v, _)| *v == version)
            .map(|(_, s)| s.clone())
    }

    fn put(&self, server_id: &str, version: i64, settings: Arc<Settings>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Never replace an entry for a newer version with an older one.
        if entries.get(server_id).is_none_or(|(v, _)| *v <= version) {
            entries.insert(server_id.to_string(), (version, settings));
        }
    }
}

/// Each process's app rows, per server, with the `settings_version` of the server row
/// they were read under.
///
/// What it holds: apps (`clients` rows: secrets as keyed hashes, status, redirect URIs,
/// grant types, keys), only those that exist. How long: while the server row a request
/// has just read (every token and authorize request reads it before the app) carries
/// the same `settings_version`. Why it cannot grant what the database would deny:
/// database triggers (migration 24) increase every server's `settings_version` in the
/// same transaction as every insert, update or delete of an app, whoever makes it (this
/// instance, another one on the same PostgreSQL, the CLI): a rotated secret, a
/// deactivated or deleted app, a removed redirect URI. A request that starts after
/// such a change commits reads the new version, misses the cache and reads the app
/// again, on every instance, with no delay. The app is read after the version, so an
/// entry is never newer-labelled than what it holds. An unknown `client_id` is never
/// cached (it is looked up every time), so the cache holds at most the apps that exist.
#[derive(Default)]
pub struct ClientCache {
    entries: std::sync::RwLock<HashMap<String, ServerApps>>,
}

/// One server's cached apps by client_id, and the `settings_version` they were read
/// under.
type ServerApps = (i64, HashMap<String, Client>);

impl ClientCache {
    fn get(&self, server_id: &str, version: i64, client_id: &str) -> Option<Client> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let (v, clients) = entries.get(server_id)?;
        if *v != version {
            return None;
        }
        clients.get(client_id).cloned()
    }

    fn put(&self, server_id: &str, version: i64, client: &Client) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        match entries.get_mut(server_id) {
            // Never replace entries of a newer version with an older one.
            Some((v, _)) if *v > version => {}
            Some((v, clients)) if *v == version => {
                clients.insert(client.client_id.clone(), client.clone());
            }
            _ => {
                let clients = HashMap::from([(client.client_id.clone(), client.clone())]);
                entries.insert(server_id.to_string(), (version, clients));
            }
        }
    }

    /// The app `client_id` as of the server row `server` (just read by this request):
    /// from this process's cache when the row's `settings_version` matches, else from
    /// the store, then cached if it exists.
    pub async fn load(
        services: &Services,
        server: &AuthServer,
        client_id: &str,
    ) -> StoreResult<Option<Client>> {
        let cache = &services.clients;
        if let Some(hit) = cache.get(&server.id, server.settings_version, client_id) {
            return Ok(Some(hit));
        }
        let client = services.store.get_client(client_id).await?;
        if let Some(client) = &client {
            cache.put(&server.id, server.settings_version, client);
        }
        Ok(client)
    }
}

impl Settings {
    /// The server's settings as of its row `server` (just read by this request): from
    /// this process's cache when the row's `settings_version` matches, else from the
    /// store (eleven queries), then cached.
    pub async fn load(
        services: &Services,
        server: &AuthServer,
    ) -> Result<Arc<Settings>, OAuthError> {
        if let Some(hit) = services.settings.get(&server.id, server.settings_version) {
            return Ok(hit);
        }
        let settings = Arc::new(Settings::read(services, &server.id).await?);
        services
            .settings
            .put(&server.id, server.settings_version, settings.clone());
        Ok(settings)
    }

    /// As `load`, reading the server's row first (one query instead of four).
    pub async fn load_by_id(
        services: &Services,
        server_id: &str,
    ) -> Result<Arc<Settings>, OAuthError> {
        match services.store.get_server(server_id).await? {
            Some(server) => Settings::load(services, &server).await,
            None => Ok(Arc::new(Settings::read(services, server_id).await?)),
        }
    }

    async fn read(services: &Services, server_id: &str) -> Result<Settings, OAuthError> {
        let store = &services.store;
        let zones = store.list_zones().await?;
        Ok(Settings {
            scopes: store.list_scopes(server_id).await?,
            claims: store.list_claims(server_id).await?,
            policies: store.list_policies(server_id).await?,
            rules: store.list_rules(server_id).await?,
            routing: Routing {
                policies: store.list_idp_discovery_policies().await?,
                rules: store.list_idp_discovery_rules().await?,
                providers: store.all_idps().await?,
                zones: zones.clone(),
            },
            sign_on: SignOnSettings {
                policies: store.list_sign_on_policies().await?,
                rules: store.list_sign_on_rules().await?,
                zones,
                apps: store.list_app_sign_on_policies().await?,
            },
        })
    }

    /// RFC 6749 §3.3: every requested scope must be one the server offers.
    pub fn check_offered(&self, scope: &Scope) -> Result<(), OAuthError> {
        if scope
            .iter()
            .all(|s| self.scopes.iter().any(|d| d.name == s))
        {
            Ok(())
        } else {
            Err(OAuthError::invalid_scope(
                "One or more scopes are not configured for the authorization server resource.",
            ))
        }
    }

    /// The access policy's decision (`oauth::policy::evaluate` over these settings).
    pub fn evaluate(
        &self,
        client_id: &str,
        grant_type: &str,
        scope: &Scope,
        subject: Option<&Subject>,
    ) -> Decision {
        let group_ids: Vec<String> = subject
            .map(|s| s.groups.iter().map(|g| g.id.clone()).collect())
            .unwrap_or_default();
        let request = PolicyRequest {
            client_id,
            grant_type,
            scope,
            user: subject.map(|s| (s.user.id.as_str(), group_ids.as_slice())),
        };
        policy::evaluate(&self.policies, &self.rules, &request)
    }

    /// The access policy's answer; anything but an allowing rule is Okta's
    /// `access_denied`.
    pub fn decide(
        &self,
        client_id: &str,
        grant_type: &str,
        scope: &Scope,
        subject: Option<&Subject>,
    ) -> Result<Lifetimes, OAuthError> {
        match self.evaluate(client_id, grant_type, scope, subject) {
            Decision::Allow { lifetimes, .. } => Ok(lifetimes),
            Decision::Deny { rule_id } => {
                tracing::info!(client = %client_id, rule = %rule_id, "a policy rule denied the request");
                Err(OAuthError::policy_denied())
            }
            Decision::NoMatch => Err(OAuthError::policy_denied()),
        }
    }
}

impl Settings {
    /// The sign-on policies' decision for `subject` signing in to `client_id` from
    /// `ip` (the address as the System Log has it; unreadable: in no zone).
    pub fn sign_on(&self, subject: &Subject, client_id: &str, ip: Option<&str>) -> Verdict {
        let group_ids: Vec<String> = subject.groups.iter().map(|g| g.id.clone()).collect();
        self.sign_on.evaluate(&Attempt {
            user_id: &subject.user.id,
            group_ids: &group_ids,
            ip: ip.and_then(|ip| ip.parse().ok()),
            client_id,
        })
    }

    /// Where the IdP discovery policy sends `identifier` (what the person typed; `None`
    /// before they typed anything) signing in to `client_id` from `ip` (unreadable: in
    /// no zone): a password, or an active upstream provider.
    pub fn route(
        &self,
        identifier: Option<&str>,
        client_id: Option<&str>,
        ip: Option<&str>,
    ) -> Route {
        self.routing.route(&Lookup {
            identifier,
            ip: ip.and_then(|ip| ip.parse().ok()),
            client_id,
        })
    }
}

/// The user tokens are for, with their groups.
pub struct Subject {
    pub user: User,
    pub groups: Vec<Group>,
}

impl Subject {
    /// The user if they exist and are active.
    pub async fn load(services: &Services, user_id: &str) -> Result<Option<Subject>, OAuthError> {
        let user = match services.store.get_user(user_id).await? {
            Some(user) if user.keeps_sign_in() => user,
            _ => return Ok(None),
        };
        Subject::with_groups(services, user).await
    }

    /// A user this request has just read (and found active), with their groups.
    pub async fn with_groups(
        services: &Services,
        user: User,
    ) -> Result<Option<Subject>, OAuthError> {
        let groups = services.store.user_groups(&user.id).await?;
        Ok(Some(Subject { user, groups }))
    }

    pub fn group_names(&self) -> Vec<String> {
        self.groups.iter().map(|g| g.name.clone()).collect()
    }
}

/// Okta's app assignments gate sign-in: an app with any assignment gives codes and
/// tokens only to the users assigned to it, directly or through one of their groups;
/// an app with none is open to every active user. Checked at /authorize, at the code
/// exchange and at every refresh, so an unassigned user's refresh token stops working.
pub async fn check_assigned(
    services: &Services,
    client_id: &str,
    user_id: &str,
) -> Result<(), OAuthError> {
    match services.store.user_may_use_app(client_id, user_id).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(OAuthError::not_assigned()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::testing::fixture;
    use crate::store::{
        IdentifierPattern, IdentifierType, IdentityProvider, IdpDiscoveryRule, PatternMatchType,
        RouteProvider, Status,
    };

    /// The routing rules and providers are cached by the settings version, and a change
    /// (here straight in the store, as another instance or the CLI would make it) is
    /// seen by the next request.
    #[tokio::test]
    async fn routing_is_cached_until_a_provider_or_rule_changes() {
        let f = fixture().await;
        let store = &f.services.store;
        let idp = IdentityProvider {
            name: "Corp".into(),
            created_at: f.now,
            updated_at: f.now,
            ..IdentityProvider::example("0oaCorp", Status::Active)
        };
        let load = || async {
            let server = store.get_server("default").await.unwrap().unwrap();
            Settings::load(&f.services, &server).await.unwrap()
        };
        let routed = |s: &Settings| {
            s.route(Some("ann@corp.example"), None, None)
                .provider()
                .map(|p| p.id.clone())
        };
        assert_eq!(routed(&*load().await), None);

        store.insert_idp(&idp).await.unwrap();
        let policy = store.list_idp_discovery_policies().await.unwrap()[0]
            .id
            .clone();
        store
            .insert_idp_discovery_rule(&IdpDiscoveryRule {
                id: "0prCorp".into(),
                policy_id: policy,
                name: "Corp".into(),
                priority: 1,
                status: Status::Active,
                system: false,
                identifier_type: IdentifierType::Identifier,
                identifier_attribute: None,
                patterns: vec![IdentifierPattern {
                    match_type: PatternMatchType::Suffix,
                    value: "corp.example".into(),
                }],
                zones_include: vec![],
                zones_exclude: vec![],
                apps_include: vec![],
                apps_exclude: vec![],
                providers: vec![RouteProvider {
                    provider_type: "OIDC".into(),
                    id: Some("0oaCorp".into()),
                }],
                created_at: f.now,
                updated_at: f.now,
            })
            .await
            .unwrap();
        let settings = load().await;
        assert_eq!(routed(&settings).as_deref(), Some("0oaCorp"));
        assert!(Arc::ptr_eq(&settings, &load().await), "unchanged: cached");

        store
            .set_idp_status("0oaCorp", Status::Inactive, f.now)
            .await
            .unwrap();
        assert_eq!(routed(&*load().await), None, "deactivated: a password");
        assert!(load().await.routing.active_provider("0oaCorp").is_none());
    }
}
