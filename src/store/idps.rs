//! Upstream identity providers (Okta's Identity Providers API): the providers, the
//! identities linked to users, the single-use sign-in transactions, and the IdP
//! discovery policy whose rules route a typed username to a provider.
//!
//! Rows are stored as they are given: a provider's client secret arrives sealed
//! (`admin::idps` seals it under the master key) and is returned sealed; nothing here
//! checks a URL or a template. One upstream identity is one user and a user has at
//! most one identity per provider (both unique: a second link is a `Conflict`).
//!
//! Dialect differences: none. Booleans are INTEGER 0/1 in SQLite and BOOLEAN in
//! PostgreSQL (bound and read as a bool on both); the ids lists page by are
//! `COLLATE "C"` in PostgreSQL's schema, so `ORDER BY id` is byte order on both.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::db::{Arg, Backend, Row, json_list, to_json};
use super::{
    AuthMethod, GroupsAction, IdentifierType, IdpPolicyAction, IdpType, PatternMatchType, Status,
    StoreError, StoreResult, SubjectMatchType,
};
use crate::clock::UnixTime;

/// One profile field and the expression (over `idpuser.*`) that fills it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileMapping {
    pub field: String,
    pub expression: String,
}

/// An upstream OpenID Connect or OAuth 2.0 provider and Gatehouse's client there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityProvider {
    /// `0oa…`, as Okta's.
    pub id: String,
    pub idp_type: IdpType,
    /// Unique among providers.
    pub name: String,
    pub status: Status,
    /// The upstream's issuer (`iss` of its ID tokens); `None` for plain OAuth 2.0.
    pub issuer: Option<String>,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub end_session_endpoint: Option<String>,
    /// Asked of the upstream, in this order.
    pub scopes: Vec<String>,
    pub client_id: String,
    /// The client secret, sealed under the master key (`admin::idps::client_secret`
    /// opens it); `None` for `private_key_jwt`.
    pub client_secret_sealed: Option<Vec<u8>>,
    /// `client_secret_post`, `client_secret_basic` or `private_key_jwt`.
    pub token_auth_method: AuthMethod,
    /// `private_key_jwt`: the algorithm of the org server's signing key that signs the
    /// assertion (the upstream trusts the org server's JWKS).
    pub signing_alg: Option<String>,
    pub pkce: bool,
    /// `policy.maxClockSkew`, in milliseconds as Okta's.
    pub max_clock_skew_ms: i64,
    pub provisioning_action: IdpPolicyAction,
    /// `policy.provisioning.profileMaster`: the upstream's profile overwrites the
    /// user's at each sign-in.
    pub profile_master: bool,
    pub groups_action: GroupsAction,
    /// The claim naming groups (APPEND, SYNC).
    pub groups_source_attribute: Option<String>,
    /// Group ids the claim may name (APPEND, SYNC); empty: any.
    pub groups_filter: Vec<String>,
    /// Group ids every provisioned user joins (ASSIGN).
    pub groups_assignments: Vec<String>,
    pub account_link_action: IdpPolicyAction,
    /// Link only users in these groups (`policy.accountLink.filter.groups.include`);
    /// empty: any user.
    pub account_link_groups: Vec<String>,
    /// `policy.subject.userNameTemplate.template`, e.g. `idpuser.email`.
    pub username_template: String,
    pub match_type: SubjectMatchType,
    pub match_attribute: Option<String>,
    /// Profile field ← expression, in order.
    pub profile_mapping: Vec<ProfileMapping>,
    /// RP-initiated logout also ends the upstream session (its end_session_endpoint).
    pub end_upstream_session: bool,
    /// The sign-in page's button: its label (default "Sign in with {name}"), colour
    /// (`#rrggbb`) and logo (an https URL).
    pub button_label: Option<String>,
    pub button_color: Option<String>,
    pub logo_url: Option<String>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

#[cfg(test)]
impl IdentityProvider {
    /// An OIDC provider at `https://idp.example` with Okta's default policies, for
    /// the unit tests of what reads providers (routing, the settings cache).
    pub fn example(id: &str, status: Status) -> Self {
        IdentityProvider {
            id: id.into(),
            idp_type: IdpType::Oidc,
            name: id.into(),
            status,
            issuer: Some("https://idp.example".into()),
            authorization_endpoint: "https://idp.example/a".into(),
            token_endpoint: "https://idp.example/t".into(),
            userinfo_endpoint: None,
            jwks_uri: Some("https://idp.example/k".into()),
            end_session_endpoint: None,
            scopes: vec!["openid".into()],
            client_id: "c".into(),
            client_secret_sealed: None,
            token_auth_method: AuthMethod::ClientSecretBasic,
            signing_alg: None,
            pkce: true,
            max_clock_skew_ms: 0,
            provisioning_action: IdpPolicyAction::Auto,
            profile_master: false,
            groups_action: GroupsAction::None,
            groups_source_attribute: None,
            groups_filter: vec![],
            groups_assignments: vec![],
            account_link_action: IdpPolicyAction::Disabled,
            account_link_groups: vec![],
            username_template: "idpuser.email".into(),
            match_type: SubjectMatchType::Username,
            match_attribute: None,
            profile_mapping: vec![],
            end_upstream_session: false,
            button_label: None,
            button_color: None,
            logo_url: None,
            created_at: 0,
            updated_at: 0,
        }
    }
}

impl IdentityProvider {
    pub fn is_active(&self) -> bool {
        self.status == Status::Active
    }
}

/// A user's identity at a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct IdpUser {
    pub idp_id: String,
    /// The upstream `sub`.
    pub external_id: String,
    pub user_id: String,
    /// The upstream profile (claims) last seen.
    pub profile: serde_json::Map<String, serde_json::Value>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// One redirect to a provider, waiting for the browser to come back: taken once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpTransaction {
    /// SHA-256 of the `state` sent upstream.
    pub state_hash: Vec<u8>,
    pub idp_id: String,
    pub nonce: String,
    /// PKCE's verifier, when the provider uses PKCE.
    pub code_verifier: Option<String>,
    /// The redirect URI sent upstream (the token request repeats it).
    pub redirect_uri: String,
    /// The pending `/authorize` request to resume, if the sign-in came from one.
    pub pending_id: Option<String>,
    /// Otherwise, a local address to return to.
    pub return_to: Option<String>,
    pub login_hint: Option<String>,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// The lifetime of a sign-in transaction: 10 minutes.
pub const IDP_TRANSACTION_SECONDS: i64 = 600;

/// A list of providers: `q` a case-insensitive prefix of the name, `idp_type` one type,
/// `after` the last id of the previous page.
#[derive(Debug, Clone, Default)]
pub struct IdpQuery {
    pub q: Option<String>,
    pub idp_type: Option<IdpType>,
    pub after: Option<String>,
    pub limit: i64,
}

/// Okta's IDP_DISCOVERY policy (one, org-wide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpDiscoveryPolicy {
    pub id: String,
    pub name: String,
    pub description: String,
    pub priority: i64,
    pub status: Status,
    pub system: bool,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

/// A pattern of `conditions.userIdentifier.patterns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentifierPattern {
    #[serde(rename = "matchType")]
    pub match_type: PatternMatchType,
    pub value: String,
}

/// A provider of `actions.idp.providers`: `{"type":"OKTA"}` (a password, here) or
/// `{"type":"OIDC","id":"0oa…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteProvider {
    #[serde(rename = "type")]
    pub provider_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The `type` of the provider that means Gatehouse's own password sign-in.
pub const ROUTE_OKTA: &str = "OKTA";

/// A rule of the IdP discovery policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpDiscoveryRule {
    pub id: String,
    pub policy_id: String,
    pub name: String,
    pub priority: i64,
    pub status: Status,
    /// The catch-all default: never deleted, always evaluated last.
    pub system: bool,
    pub identifier_type: IdentifierType,
    /// `ATTRIBUTE`: the user profile attribute the patterns compare.
    pub identifier_attribute: Option<String>,
    /// None: any username.
    pub patterns: Vec<IdentifierPattern>,
    /// Network zone ids; none included: anywhere.
    pub zones_include: Vec<String>,
    pub zones_exclude: Vec<String>,
    /// App client ids; none included: any app.
    pub apps_include: Vec<String>,
    pub apps_exclude: Vec<String>,
    pub providers: Vec<RouteProvider>,
    pub created_at: UnixTime,
    pub updated_at: UnixTime,
}

#[async_trait]
pub trait IdpStore: Send + Sync {
    /// A name in use is a `Conflict`.
    async fn insert_idp(&self, idp: &IdentityProvider) -> StoreResult<()>;
    async fn get_idp(&self, id: &str) -> StoreResult<Option<IdentityProvider>>;
    /// Writes everything but the id and `created_at`; false when absent. A name in use
    /// is a `Conflict`.
    async fn update_idp(&self, idp: &IdentityProvider) -> StoreResult<bool>;
    /// Its linked identities, transactions go with it; false when absent.
    async fn delete_idp(&self, id: &str) -> StoreResult<bool>;
    /// Sets ACTIVE/INACTIVE; false when absent.
    async fn set_idp_status(&self, id: &str, status: Status, now: UnixTime) -> StoreResult<bool>;
    /// A page of providers by id.
    async fn list_idps(&self, query: &IdpQuery) -> StoreResult<Vec<IdentityProvider>>;
    /// Every provider, by id (the settings cache holds them).
    async fn all_idps(&self) -> StoreResult<Vec<IdentityProvider>>;

    /// Links an upstream identity to a user. Already linked (the identity, or the user
    /// at this provider): `Conflict`, nothing written.
    async fn link_idp_user(&self, link: &IdpUser) -> StoreResult<()>;
    /// The user an upstream identity is linked to.
    async fn find_idp_user(&self, idp_id: &str, external_id: &str) -> StoreResult<Option<IdpUser>>;
    /// A user's identity at a provider.
    async fn get_idp_user(&self, idp_id: &str, user_id: &str) -> StoreResult<Option<IdpUser>>;
    /// Records the upstream profile seen at a sign-in; false when not linked.
    async fn update_idp_user_profile(
        &self,
        idp_id: &str,
        external_id: &str,
        profile: &serde_json::Map<String, serde_json::Value>,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// A page of a provider's linked users, by user id after `after`.
    async fn list_idp_users(
        &self,
        idp_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<IdpUser>>;
    /// A user's identities at every provider, by provider id.
    async fn list_user_idps(&self, user_id: &str) -> StoreResult<Vec<IdpUser>>;
    /// Unlinks; false when not linked.
    async fn unlink_idp_user(&self, idp_id: &str, user_id: &str) -> StoreResult<bool>;

    async fn insert_idp_transaction(&self, tx: &IdpTransaction) -> StoreResult<()>;
    /// Takes a transaction once, one atomic `DELETE ... RETURNING`, only while
    /// unexpired: of racing callbacks with the same `state`, one gets it.
    async fn take_idp_transaction(
        &self,
        state_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<IdpTransaction>>;

    /// The IDP_DISCOVERY policies (one, the system default).
    async fn list_idp_discovery_policies(&self) -> StoreResult<Vec<IdpDiscoveryPolicy>>;
    /// Writes name, description, status and `updated_at`; false when absent.
    async fn update_idp_discovery_policy(&self, policy: &IdpDiscoveryPolicy) -> StoreResult<bool>;
    /// Every rule: system rules last, then by priority.
    async fn list_idp_discovery_rules(&self) -> StoreResult<Vec<IdpDiscoveryRule>>;
    async fn insert_idp_discovery_rule(&self, rule: &IdpDiscoveryRule) -> StoreResult<()>;
    /// Writes everything but the id, policy, system flag and `created_at` of the rule
    /// with this id in its policy; false when absent.
    async fn update_idp_discovery_rule(&self, rule: &IdpDiscoveryRule) -> StoreResult<bool>;
    /// Deletes a rule that is not a system one; false when absent or system.
    async fn delete_idp_discovery_rule(&self, policy_id: &str, id: &str) -> StoreResult<bool>;
}

fn json_of<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Schema(format!("corrupt {what}: {e}")))
}

fn json_arg<T: Serialize + ?Sized>(value: &T) -> Arg<'static> {
    Arg::OwnedText(serde_json::to_string(value).expect("plain data serialises"))
}

fn idp_from_row(row: &impl Row) -> StoreResult<IdentityProvider> {
    Ok(IdentityProvider {
        id: row.text("id")?,
        idp_type: row.text("idp_type")?.parse()?,
        name: row.text("name")?,
        status: row.text("status")?.parse()?,
        issuer: row.opt_text("issuer")?,
        authorization_endpoint: row.text("authorization_endpoint")?,
        token_endpoint: row.text("token_endpoint")?,
        userinfo_endpoint: row.opt_text("userinfo_endpoint")?,
        jwks_uri: row.opt_text("jwks_uri")?,
        end_session_endpoint: row.opt_text("end_session_endpoint")?,
        scopes: json_list(&row.text("scopes")?)?,
        client_id: row.text("client_id")?,
        client_secret_sealed: row.opt_bytes("client_secret_sealed")?,
        token_auth_method: row.text("token_auth_method")?.parse()?,
        signing_alg: row.opt_text("signing_alg")?,
        pkce: row.bool("pkce")?,
        max_clock_skew_ms: row.int("max_clock_skew_ms")?,
        provisioning_action: row.text("provisioning_action")?.parse()?,
        profile_master: row.bool("profile_master")?,
        groups_action: row.text("groups_action")?.parse()?,
        groups_source_attribute: row.opt_text("groups_source_attribute")?,
        groups_filter: json_list(&row.text("groups_filter")?)?,
        groups_assignments: json_list(&row.text("groups_assignments")?)?,
        account_link_action: row.text("account_link_action")?.parse()?,
        account_link_groups: json_list(&row.text("account_link_groups")?)?,
        username_template: row.text("username_template")?,
        match_type: row.text("match_type")?.parse()?,
        match_attribute: row.opt_text("match_attribute")?,
        profile_mapping: json_of(&row.text("profile_mapping")?, "profile mapping")?,
        end_upstream_session: row.bool("end_upstream_session")?,
        button_label: row.opt_text("button_label")?,
        button_color: row.opt_text("button_color")?,
        logo_url: row.opt_text("logo_url")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn idp_user_from_row(row: &impl Row) -> StoreResult<IdpUser> {
    Ok(IdpUser {
        idp_id: row.text("idp_id")?,
        external_id: row.text("external_id")?,
        user_id: row.text("user_id")?,
        profile: json_of(&row.text("profile")?, "upstream profile")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn transaction_from_row(row: &impl Row) -> StoreResult<IdpTransaction> {
    Ok(IdpTransaction {
        state_hash: row.bytes("state_hash")?,
        idp_id: row.text("idp_id")?,
        nonce: row.text("nonce")?,
        code_verifier: row.opt_text("code_verifier")?,
        redirect_uri: row.text("redirect_uri")?,
        pending_id: row.opt_text("pending_id")?,
        return_to: row.opt_text("return_to")?,
        login_hint: row.opt_text("login_hint")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
    })
}

fn policy_from_row(row: &impl Row) -> StoreResult<IdpDiscoveryPolicy> {
    Ok(IdpDiscoveryPolicy {
        id: row.text("id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        priority: row.int("priority")?,
        status: row.text("status")?.parse()?,
        system: row.bool("system")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn rule_from_row(row: &impl Row) -> StoreResult<IdpDiscoveryRule> {
    Ok(IdpDiscoveryRule {
        id: row.text("id")?,
        policy_id: row.text("policy_id")?,
        name: row.text("name")?,
        priority: row.int("priority")?,
        status: row.text("status")?.parse()?,
        system: row.bool("system")?,
        identifier_type: row.text("identifier_type")?.parse()?,
        identifier_attribute: row.opt_text("identifier_attribute")?,
        patterns: json_of(&row.text("patterns")?, "identifier patterns")?,
        zones_include: json_list(&row.text("zones_include")?)?,
        zones_exclude: json_list(&row.text("zones_exclude")?)?,
        apps_include: json_list(&row.text("apps_include")?)?,
        apps_exclude: json_list(&row.text("apps_exclude")?)?,
        providers: json_of(&row.text("providers")?, "rule providers")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// The provider columns an update writes, in bind order ($1..$33); the insert adds
/// `id` ($34) and `created_at` ($35).
fn idp_values(p: &IdentityProvider) -> Vec<Arg<'_>> {
    vec![
        (&p.idp_type).into(),
        (&p.name).into(),
        (&p.status).into(),
        (&p.issuer).into(),
        (&p.authorization_endpoint).into(),
        (&p.token_endpoint).into(),
        (&p.userinfo_endpoint).into(),
        (&p.jwks_uri).into(),
        (&p.end_session_endpoint).into(),
        to_json(&p.scopes),
        (&p.client_id).into(),
        (&p.client_secret_sealed).into(),
        (&p.token_auth_method).into(),
        (&p.signing_alg).into(),
        p.pkce.into(),
        p.max_clock_skew_ms.into(),
        (&p.provisioning_action).into(),
        p.profile_master.into(),
        (&p.groups_action).into(),
        (&p.groups_source_attribute).into(),
        to_json(&p.groups_filter),
        to_json(&p.groups_assignments),
        (&p.account_link_action).into(),
        to_json(&p.account_link_groups),
        (&p.username_template).into(),
        (&p.match_type).into(),
        (&p.match_attribute).into(),
        json_arg(&p.profile_mapping),
        p.end_upstream_session.into(),
        (&p.button_label).into(),
        (&p.button_color).into(),
        (&p.logo_url).into(),
        p.updated_at.into(),
    ]
}

const INSERT_IDP: &str = "INSERT INTO identity_providers (
    idp_type, name, status, issuer, authorization_endpoint, token_endpoint,
    userinfo_endpoint, jwks_uri, end_session_endpoint, scopes, client_id,
    client_secret_sealed, token_auth_method, signing_alg, pkce, max_clock_skew_ms,
    provisioning_action, profile_master, groups_action, groups_source_attribute,
    groups_filter, groups_assignments, account_link_action, account_link_groups,
    username_template, match_type, match_attribute, profile_mapping,
    end_upstream_session, button_label, button_color, logo_url, updated_at, id,
    created_at)
 VALUES (
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
    $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34,
    $35)";

const UPDATE_IDP: &str = "UPDATE identity_providers SET
    idp_type = $1, name = $2, status = $3, issuer = $4, authorization_endpoint = $5,
    token_endpoint = $6, userinfo_endpoint = $7, jwks_uri = $8,
    end_session_endpoint = $9, scopes = $10, client_id = $11,
    client_secret_sealed = $12, token_auth_method = $13, signing_alg = $14,
    pkce = $15, max_clock_skew_ms = $16, provisioning_action = $17,
    profile_master = $18, groups_action = $19, groups_source_attribute = $20,
    groups_filter = $21, groups_assignments = $22, account_link_action = $23,
    account_link_groups = $24, username_template = $25, match_type = $26,
    match_attribute = $27, profile_mapping = $28, end_upstream_session = $29,
    button_label = $30, button_color = $31, logo_url = $32, updated_at = $33
 WHERE id = $34";

/// Rule columns an update writes, in bind order ($1..$13); the insert adds
/// `system`, `policy_id`, `id` and `created_at`.
fn rule_values(r: &IdpDiscoveryRule) -> Vec<Arg<'_>> {
    vec![
        (&r.name).into(),
        r.priority.into(),
        (&r.status).into(),
        (&r.identifier_type).into(),
        (&r.identifier_attribute).into(),
        json_arg(&r.patterns),
        to_json(&r.zones_include),
        to_json(&r.zones_exclude),
        to_json(&r.apps_include),
        to_json(&r.apps_exclude),
        json_arg(&r.providers),
        r.updated_at.into(),
        r.system.into(),
    ]
}

/// `q` as a `LIKE` prefix pattern with `\` escaping `%`, `_` and itself.
fn like_prefix(q: &str) -> String {
    let mut out = String::with_capacity(q.len() + 1);
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[async_trait]
impl<B: Backend> IdpStore for B {
    async fn insert_idp(&self, p: &IdentityProvider) -> StoreResult<()> {
        let mut args = idp_values(p);
        args.extend([(&p.id).into(), p.created_at.into()]);
        self.execute(INSERT_IDP, &args).await?;
        Ok(())
    }

    async fn get_idp(&self, id: &str) -> StoreResult<Option<IdentityProvider>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM identity_providers WHERE id = $1",
                &[id.into()],
            )
            .await?;
        row.as_ref().map(idp_from_row).transpose()
    }

    async fn update_idp(&self, p: &IdentityProvider) -> StoreResult<bool> {
        let mut args = idp_values(p);
        args.push((&p.id).into());
        Ok(self.execute(UPDATE_IDP, &args).await? == 1)
    }

    async fn delete_idp(&self, id: &str) -> StoreResult<bool> {
        let done = self
            .execute("DELETE FROM identity_providers WHERE id = $1", &[id.into()])
            .await?;
        Ok(done == 1)
    }

    async fn set_idp_status(&self, id: &str, status: Status, now: UnixTime) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE identity_providers SET status = $1, updated_at = $2 WHERE id = $3",
                &[(&status).into(), now.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn list_idps(&self, query: &IdpQuery) -> StoreResult<Vec<IdentityProvider>> {
        let q = query.q.as_deref().map(like_prefix);
        let rows = self
            .fetch_all(
                "SELECT * FROM identity_providers
                 WHERE ($1 IS NULL OR lower(name) LIKE $1 ESCAPE '\\')
                   AND ($2 IS NULL OR idp_type = $2)
                   AND ($3 IS NULL OR id > $3)
                 ORDER BY id LIMIT $4",
                &[
                    Arg::Text(q.as_deref()),
                    Arg::Text(query.idp_type.map(IdpType::as_str)),
                    Arg::Text(query.after.as_deref()),
                    query.limit.into(),
                ],
            )
            .await?;
        rows.iter().map(idp_from_row).collect()
    }

    async fn all_idps(&self) -> StoreResult<Vec<IdentityProvider>> {
        let rows = self
            .fetch_all("SELECT * FROM identity_providers ORDER BY id", &[])
            .await?;
        rows.iter().map(idp_from_row).collect()
    }

    async fn link_idp_user(&self, link: &IdpUser) -> StoreResult<()> {
        self.execute(
            "INSERT INTO idp_users (idp_id, external_id, user_id, profile, created_at,
                updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                (&link.idp_id).into(),
                (&link.external_id).into(),
                (&link.user_id).into(),
                json_arg(&link.profile),
                link.created_at.into(),
                link.updated_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn find_idp_user(&self, idp_id: &str, external_id: &str) -> StoreResult<Option<IdpUser>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM idp_users WHERE idp_id = $1 AND external_id = $2",
                &[idp_id.into(), external_id.into()],
            )
            .await?;
        row.as_ref().map(idp_user_from_row).transpose()
    }

    async fn get_idp_user(&self, idp_id: &str, user_id: &str) -> StoreResult<Option<IdpUser>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM idp_users WHERE idp_id = $1 AND user_id = $2",
                &[idp_id.into(), user_id.into()],
            )
            .await?;
        row.as_ref().map(idp_user_from_row).transpose()
    }

    async fn update_idp_user_profile(
        &self,
        idp_id: &str,
        external_id: &str,
        profile: &serde_json::Map<String, serde_json::Value>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE idp_users SET profile = $1, updated_at = $2
                 WHERE idp_id = $3 AND external_id = $4",
                &[
                    json_arg(profile),
                    now.into(),
                    idp_id.into(),
                    external_id.into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn list_idp_users(
        &self,
        idp_id: &str,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<IdpUser>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM idp_users WHERE idp_id = $1 AND ($2 IS NULL OR user_id > $2)
                 ORDER BY user_id LIMIT $3",
                &[idp_id.into(), Arg::Text(after), limit.into()],
            )
            .await?;
        rows.iter().map(idp_user_from_row).collect()
    }

    async fn list_user_idps(&self, user_id: &str) -> StoreResult<Vec<IdpUser>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM idp_users WHERE user_id = $1 ORDER BY idp_id",
                &[user_id.into()],
            )
            .await?;
        rows.iter().map(idp_user_from_row).collect()
    }

    async fn unlink_idp_user(&self, idp_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM idp_users WHERE idp_id = $1 AND user_id = $2",
                &[idp_id.into(), user_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn insert_idp_transaction(&self, t: &IdpTransaction) -> StoreResult<()> {
        self.execute(
            "INSERT INTO idp_transactions (state_hash, idp_id, nonce, code_verifier,
                redirect_uri, pending_id, return_to, login_hint, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                (&t.state_hash).into(),
                (&t.idp_id).into(),
                (&t.nonce).into(),
                (&t.code_verifier).into(),
                (&t.redirect_uri).into(),
                (&t.pending_id).into(),
                (&t.return_to).into(),
                (&t.login_hint).into(),
                t.created_at.into(),
                t.expires_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn take_idp_transaction(
        &self,
        state_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<Option<IdpTransaction>> {
        let row = self
            .fetch_optional(
                "DELETE FROM idp_transactions WHERE state_hash = $1 AND expires_at > $2
                 RETURNING *",
                &[state_hash.into(), now.into()],
            )
            .await?;
        row.as_ref().map(transaction_from_row).transpose()
    }

    async fn list_idp_discovery_policies(&self) -> StoreResult<Vec<IdpDiscoveryPolicy>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM idp_discovery_policies ORDER BY system, priority, created_at, id",
                &[],
            )
            .await?;
        rows.iter().map(policy_from_row).collect()
    }

    async fn update_idp_discovery_policy(&self, p: &IdpDiscoveryPolicy) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE idp_discovery_policies SET name = $1, description = $2, status = $3,
                    updated_at = $4
                 WHERE id = $5",
                &[
                    (&p.name).into(),
                    (&p.description).into(),
                    (&p.status).into(),
                    p.updated_at.into(),
                    (&p.id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn list_idp_discovery_rules(&self) -> StoreResult<Vec<IdpDiscoveryRule>> {
        let rows = self
            .fetch_all(
                "SELECT * FROM idp_discovery_rules ORDER BY system, priority, created_at, id",
                &[],
            )
            .await?;
        rows.iter().map(rule_from_row).collect()
    }

    async fn insert_idp_discovery_rule(&self, r: &IdpDiscoveryRule) -> StoreResult<()> {
        let mut args = rule_values(r);
        args.extend([(&r.policy_id).into(), (&r.id).into(), r.created_at.into()]);
        self.execute(
            "INSERT INTO idp_discovery_rules (name, priority, status, identifier_type,
                identifier_attribute, patterns, zones_include, zones_exclude, apps_include,
                apps_exclude, providers, updated_at, system, policy_id, id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
            &args,
        )
        .await?;
        Ok(())
    }

    async fn update_idp_discovery_rule(&self, r: &IdpDiscoveryRule) -> StoreResult<bool> {
        let mut args = rule_values(r);
        args.truncate(12);
        args.extend([(&r.policy_id).into(), (&r.id).into()]);
        let done = self
            .execute(
                "UPDATE idp_discovery_rules SET name = $1, priority = $2, status = $3,
                    identifier_type = $4, identifier_attribute = $5, patterns = $6,
                    zones_include = $7, zones_exclude = $8, apps_include = $9,
                    apps_exclude = $10, providers = $11, updated_at = $12
                 WHERE policy_id = $13 AND id = $14",
                &args,
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_idp_discovery_rule(&self, policy_id: &str, id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM idp_discovery_rules WHERE policy_id = $1 AND id = $2 AND NOT system",
                &[policy_id.into(), id.into()],
            )
            .await?;
        Ok(done == 1)
    }
}
