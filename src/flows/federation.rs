//! Sign-in through an upstream identity provider (Okta's "Sign in with …"): the
//! departure to the provider (`depart`, from `/authorize?idp=`, a button or a routing
//! rule of the sign-in page, or `/sso/idps/{id}`), and the return
//! (`callback`, `/oauth2/v1/authorize/callback`).
//!
//! A departure stores an `idp_transactions` row (the SHA-256 of `state`, the nonce, the
//! PKCE verifier, what to resume) and sends the browser to the provider; the handler
//! also gives the browser `state` in a cookie, so that the return is accepted only in
//! the browser that left (a code obtained elsewhere cannot be planted: login CSRF).
//! The return takes the transaction once (atomically), has `upstream::finish` exchange
//! the code and verify the ID token, then finds the person's user:
//!
//! 1. the identity linked before (provider, upstream `sub`): that user, who must be
//!    ACTIVE;
//! 2. else, when the provider's `accountLink.action` is AUTO, an existing user matched
//!    by `subject.matchType` against the mapped username, only when the provider says
//!    the e-mail address is verified (`email_verified: true`), and only a user in the
//!    link filter's groups; a match that cannot be linked is refused, nothing created;
//! 3. else, when `provisioning.action` is AUTO, a new ACTIVE user without a password,
//!    its profile mapped from the claims (just-in-time provisioning), linked in the
//!    same transaction.
//!
//! Then group sync (`provisioning.groups`), the upstream profile kept with the link
//! (and copied to the user's profile when the provider is the profile master), a
//! session that records the provider (and its ID token, sealed, for the provider's
//! logout), and the pending `/authorize` request resumes as after a password sign-in:
//! the sign-on policies apply (a second factor when they ask for one). The session's
//! `amr` is `["fed"]`, Okta's value for a federated sign-in (RFC 8176 registers none):
//! it counts as one factor, never as the password.
//!
//! Every failure (the provider's `error`, an unknown, used or expired `state`, a code
//! exchange or an ID token that fails, a refused link) is a `Refusal` the handler shows
//! as a page, with nothing created and `user.authentication.auth_via_IDP` FAILURE in
//! the System Log.

use serde_json::{Map, Value};

use crate::admin::syslog::{self, Actor, Event, Target};
use crate::admin::users::Profile;
use crate::clock::UnixTime;
use crate::crypto::{hex, hex_decode, okta_id, sha256};
use crate::factors::Proof;
use crate::flows::Services;
use crate::flows::assurance;
use crate::flows::authorize::{self, Known, Outcome};
use crate::flows::sessions;
use crate::flows::settings::Settings;
use crate::identity::session::Device;
use crate::oauth::{ErrorCode, OAuthError};
use crate::store::{
    AuthMethod, Expr, GroupsAction, IdentityProvider, IdpPolicyAction, IdpTransaction, IdpType,
    IdpUser, ORG_SERVER_ID, Op, Page, SessionFederation, SqlValue, StoreError, SubjectMatchType,
    User, UserStatus,
};
use crate::upstream::{self, UpstreamIdentity};

/// The one redirect URI registered at every provider (Okta's): under the issuer origin.
pub const CALLBACK_PATH: &str = "/oauth2/v1/authorize/callback";

/// Okta's `amr` value for a sign-in at an identity provider.
pub const AMR_FEDERATED: &str = "fed";

/// Where the person goes after the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resume {
    /// The pending `/authorize` request stored under this sign-in `tx`.
    Pending(String),
    /// A local address (Okta's `fromURI`).
    ReturnTo(String),
}

/// A departure: the provider's authorization URL, and the `state` the browser keeps.
#[derive(Debug)]
pub struct Departure {
    pub location: String,
    pub state: String,
}

/// The provider `id`, if it exists and is ACTIVE.
pub async fn active_provider(
    services: &Services,
    id: &str,
) -> Result<Option<IdentityProvider>, OAuthError> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    Ok(services.store.get_idp(id).await?.filter(|p| p.is_active()))
}

/// The active providers, for the sign-in page's buttons, by name.
pub async fn buttons(services: &Services) -> Result<Vec<IdentityProvider>, OAuthError> {
    let mut all: Vec<IdentityProvider> = services
        .store
        .all_idps()
        .await?
        .into_iter()
        .filter(|p| p.is_active())
        .collect();
    all.sort_by_key(|a| a.name.to_lowercase());
    Ok(all)
}

/// The redirect URI registered at the providers: `{issuer origin}/oauth2/v1/authorize/callback`.
pub fn redirect_uri(services: &Services) -> String {
    format!("{}{CALLBACK_PATH}", services.config.base_url())
}

/// Stores the transaction and names the provider's authorization URL.
pub async fn depart(
    services: &Services,
    provider: &IdentityProvider,
    resume: Resume,
    login_hint: Option<String>,
    now: UnixTime,
) -> Result<Departure, OAuthError> {
    let config = upstream_config(services, provider, now).await?;
    let redirect_uri = redirect_uri(services);
    let login_hint = login_hint.filter(|h| !h.is_empty() && h.len() <= 256);
    let hints = upstream::Hints {
        login_hint: login_hint.as_deref(),
        ..upstream::Hints::default()
    };
    let begun = upstream::begin(&config, &redirect_uri, &hints, now)
        .map_err(|e| OAuthError::internal(&e))?;
    let upstream::Transaction {
        state,
        nonce,
        code_verifier,
    } = begun.transaction;
    let (pending_id, return_to) = match resume {
        Resume::Pending(tx) => (Some(hex(&sha256(tx.as_bytes()))), None),
        Resume::ReturnTo(to) => (None, Some(to)),
    };
    let row = IdpTransaction {
        state_hash: sha256(state.as_bytes()),
        idp_id: provider.id.clone(),
        nonce,
        code_verifier,
        redirect_uri,
        pending_id,
        return_to,
        login_hint,
        created_at: now,
        expires_at: begun.expires_at,
    };
    services.store.insert_idp_transaction(&row).await?;
    Ok(Departure {
        location: begun.url,
        state,
    })
}

/// The provider as `upstream` needs it: its client secret unsealed, or for
/// `private_key_jwt` the org server's signing keys (the provider trusts its JWKS).
/// Loopback and plain http only with `allow_private_jwks_uri`, as for every fetch.
async fn upstream_config(
    services: &Services,
    provider: &IdentityProvider,
    now: UnixTime,
) -> Result<upstream::ProviderConfig, OAuthError> {
    let kind = match provider.idp_type {
        IdpType::Oidc => upstream::Kind::Oidc,
        IdpType::OAuth2 => upstream::Kind::OAuth2,
    };
    let secret = crate::admin::idps::client_secret(provider, &services.master);
    let mut config = upstream::ProviderConfig::new(
        kind,
        provider.issuer.as_deref().unwrap_or(""),
        &provider.client_id,
        secret,
    );
    config.authorization_endpoint = provider.authorization_endpoint.clone();
    config.token_endpoint = provider.token_endpoint.clone();
    config.userinfo_endpoint = provider.userinfo_endpoint.clone();
    config.jwks_uri = provider.jwks_uri.clone();
    config.end_session_endpoint = provider.end_session_endpoint.clone();
    config.token_auth = match provider.token_auth_method {
        AuthMethod::ClientSecretPost => upstream::TokenAuth::ClientSecretPost,
        AuthMethod::PrivateKeyJwt => {
            let ring = services
                .keys
                .get(ORG_SERVER_ID, now)
                .await
                .map_err(|e| OAuthError::internal(&e))?;
            upstream::TokenAuth::PrivateKeyJwt(ring)
        }
        _ => upstream::TokenAuth::ClientSecretBasic,
    };
    if !provider.scopes.is_empty() {
        config.scopes = provider.scopes.clone();
    }
    config.pkce = provider.pkce;
    // Okta's `maxClockSkew` is in milliseconds; 0 (its default) keeps `upstream`'s.
    if provider.max_clock_skew_ms > 0 {
        config.max_clock_skew = provider.max_clock_skew_ms / 1000;
    }
    config.allow_private = services.config.client_auth.allow_private_jwks_uri;
    Ok(config)
}

/// The browser's return from a provider.
pub struct CallbackRequest<'a> {
    /// The query: `state`, and `code` or `error` (`error_description`).
    pub params: &'a crate::oauth::params::Params,
    /// The `state` the browser kept at the departure (its cookie).
    pub bound_state: Option<&'a str>,
    /// The browser's session cookie: it ends when the new session starts.
    pub session_cookie: Option<&'a str>,
    pub ip: Option<String>,
    /// The browser's `User-Agent`, recorded with the session it signs in to.
    pub user_agent: Option<&'a str>,
}

/// Why a return was refused; nothing was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `state`, a `state` this browser did not leave with, or one unknown, used or
    /// expired: the sign-in cannot be trusted or resumed.
    Expired,
    /// The provider is gone or no longer active.
    ProviderInactive,
    /// The provider answered with an error the person caused (`access_denied`: they
    /// declined, or may not use the app there).
    Declined { error: String },
    /// The provider's answer, the code exchange, its ID token or userinfo failed, or
    /// the provider is set up wrongly (`upstream::UpstreamError`'s text, which names
    /// no secret).
    Upstream { detail: String },
    /// The linked user is not ACTIVE.
    UserNotActive,
    /// A user with the mapped username or e-mail exists but cannot be linked
    /// automatically (linking off, the e-mail not verified, or outside the filter).
    LinkRefused,
    /// Nobody matches and the provider does not create users.
    ProvisioningDisabled,
    /// The mapped profile is not a valid user profile (e.g. no username).
    Profile(String),
}

impl Refusal {
    /// What `upstream`'s error comes to: the person's doing, a response that does not
    /// belong to this sign-in, or the provider's fault.
    fn from_upstream(e: &upstream::UpstreamError) -> Refusal {
        match (e.fault(), e) {
            (upstream::Fault::User, upstream::UpstreamError::Denied { error }) => {
                Refusal::Declined {
                    error: error.clone(),
                }
            }
            (upstream::Fault::Request, _) => Refusal::Expired,
            _ => Refusal::Upstream {
                detail: e.to_string(),
            },
        }
    }

    fn reason(&self) -> String {
        match self {
            Refusal::Expired => "INVALID_STATE: unknown, used or expired state".into(),
            Refusal::ProviderInactive => "IDP_INACTIVE".into(),
            Refusal::Declined { error } => format!("IDP_DENIED: {error}"),
            Refusal::Upstream { detail } => format!("UPSTREAM: {detail}"),
            Refusal::UserNotActive => "USER_NOT_ACTIVE".into(),
            Refusal::LinkRefused => "ACCOUNT_LINK_REFUSED".into(),
            Refusal::ProvisioningDisabled => "PROVISIONING_DISABLED".into(),
            Refusal::Profile(e) => format!("INVALID_PROFILE: {e}"),
        }
    }
}

/// What the browser gets.
pub enum Callback {
    Refused(Refusal),
    /// The pending request needs a second factor: the step's page.
    SecondFactor(String),
    /// Signed in: the new session's cookie value and where the browser goes.
    SignedIn {
        session_id: String,
        outcome: Outcome,
    },
}

/// The return from a provider.
pub async fn callback(
    services: &Services,
    request: CallbackRequest<'_>,
    now: UnixTime,
) -> Result<Callback, OAuthError> {
    let ip = request.ip.clone();
    let state = request.params.one("state").ok().flatten().unwrap_or("");
    let bound = request.bound_state.unwrap_or("");
    if state.is_empty()
        || state.len() > 256
        || !crate::crypto::constant_time_eq(state.as_bytes(), bound.as_bytes())
    {
        failed(services, None, &Refusal::Expired, ip, now).await;
        return Ok(Callback::Refused(Refusal::Expired));
    }
    let Some(tx) = services
        .store
        .take_idp_transaction(&sha256(state.as_bytes()), now)
        .await?
    else {
        failed(services, None, &Refusal::Expired, ip, now).await;
        return Ok(Callback::Refused(Refusal::Expired));
    };
    let Some(provider) = active_provider(services, &tx.idp_id).await? else {
        failed(services, None, &Refusal::ProviderInactive, ip, now).await;
        return Ok(Callback::Refused(Refusal::ProviderInactive));
    };
    match signed_in(services, &request, state, &provider, &tx, now).await? {
        Ok(callback) => Ok(callback),
        Err(refusal) => {
            failed(services, Some(&provider), &refusal, ip, now).await;
            Ok(Callback::Refused(refusal))
        }
    }
}

async fn signed_in(
    services: &Services,
    request: &CallbackRequest<'_>,
    state: &str,
    provider: &IdentityProvider,
    tx: &IdpTransaction,
    now: UnixTime,
) -> Result<Result<Callback, Refusal>, OAuthError> {
    // The request to resume must still be waiting before anything is created.
    let pending_hash = match &tx.pending_id {
        Some(id) => {
            let hash = hex_decode(id).unwrap_or_default();
            if services.store.get_pending(&hash, now).await?.is_none() {
                return Ok(Err(Refusal::Expired));
            }
            Some(hash)
        }
        None => None,
    };
    let answer = match upstream::Callback::from_pairs(request.params.iter()) {
        Ok(answer) => answer,
        Err(e) => return Ok(Err(Refusal::from_upstream(&e))),
    };
    let transaction = upstream::Transaction {
        state: state.to_string(),
        nonce: tx.nonce.clone(),
        code_verifier: tx.code_verifier.clone(),
    };
    let config = upstream_config(services, provider, now).await?;
    let identity = match services
        .upstream
        .finish(&config, &answer, &transaction, &tx.redirect_uri, now)
        .await
    {
        Ok(identity) => identity,
        Err(e) => return Ok(Err(Refusal::from_upstream(&e))),
    };
    let (user, link, created) = match find_or_create(services, provider, &identity, now).await? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    sync_groups(services, provider, &user, &identity.claims, now).await?;
    services
        .store
        .update_idp_user_profile(&provider.id, &link.external_id, &identity.claims, now)
        .await?;
    let user = if provider.profile_master && !created {
        master_profile(services, provider, user, &identity.claims, now).await?
    } else {
        user
    };
    services.store.record_login(&user.id, now).await?;
    record(
        services,
        &user,
        Event::success(
            "user.authentication.auth_via_IDP",
            "Authenticate user via IDP",
            vec![Target::user(&user), provider_target(provider)],
        ),
        request.ip.clone(),
        now,
    )
    .await;
    let federation = SessionFederation {
        idp_id: provider.id.clone(),
        sealed_id_token: identity
            .id_token
            .as_deref()
            .filter(|_| provider.end_upstream_session)
            .map(|t| sessions::seal_id_token(services, &provider.id, &user.id, t)),
    };
    let proof = Proof {
        auth_time: now,
        amr: vec![AMR_FEDERATED.to_string()],
        mfa_at: None,
    };
    let Some(pending_hash) = pending_hash else {
        let (session_id, _) = sessions::start_federated(
            services,
            &user.id,
            proof,
            federation,
            now,
            request.session_cookie,
            &Device::new(request.user_agent, request.ip.clone()),
        )
        .await?;
        let location = tx.return_to.clone().unwrap_or_else(|| "/account".into());
        return Ok(Ok(Callback::SignedIn {
            session_id,
            outcome: Outcome::Redirect(location),
        }));
    };
    let Some(taken) = services.store.take_pending(&pending_hash, now).await? else {
        return Ok(Err(Refusal::Expired));
    };
    let Ok(pending) =
        serde_json::from_str::<crate::oauth::authorize::AuthorizationRequest>(&taken.request)
    else {
        return Ok(Err(Refusal::Expired));
    };
    let ip = request.ip.clone();
    let requirement = assurance::requirement(services, &pending, &user, ip.as_deref(), now).await?;
    if !requirement.met_by_amr(&proof.amr, proof.mfa_at, now) {
        let location = assurance::start_federated(
            services,
            &pending,
            &user,
            &proof,
            requirement,
            Some(federation),
            now,
        )
        .await?;
        return Ok(Ok(Callback::SecondFactor(location)));
    }
    let (session_id, session) = sessions::start_federated(
        services,
        &user.id,
        proof.clone(),
        federation,
        now,
        request.session_cookie,
        &Device::new(request.user_agent, request.ip.clone()),
    )
    .await?;
    let outcome = match &pending.hint_sub {
        Some(sub) if *sub != user.id => Outcome::Reply(pending.reply.error(&OAuthError::new(
            ErrorCode::LoginRequired,
            "The user who signed in is not the one the id_token_hint names.",
        ))),
        _ => {
            authorize::complete(
                services,
                &pending,
                &user.id,
                now,
                now,
                Known {
                    ip,
                    user: Some(user.clone()),
                    amr: proof.amr,
                    session_hash: Some(session.id_hash),
                    ..Known::default()
                },
            )
            .await
        }
    };
    Ok(Ok(Callback::SignedIn {
        session_id,
        outcome,
    }))
}

/// The linked user, a user linked now, or a user created now; or why none may sign in.
async fn find_or_create(
    services: &Services,
    provider: &IdentityProvider,
    identity: &UpstreamIdentity,
    now: UnixTime,
) -> Result<Result<(User, IdpUser, bool), Refusal>, OAuthError> {
    if let Some(link) = services
        .store
        .find_idp_user(&provider.id, &identity.subject)
        .await?
    {
        return Ok(match services.store.get_user(&link.user_id).await? {
            Some(user) if user.is_active() => Ok((user, link, false)),
            _ => Err(Refusal::UserNotActive),
        });
    }
    let profile = match mapped_profile(provider, &identity.claims) {
        Ok(profile) => profile,
        Err(e) => return Ok(Err(Refusal::Profile(e))),
    };
    let existing = matching_user(services, provider, &profile).await?;
    let link = IdpUser {
        idp_id: provider.id.clone(),
        external_id: identity.subject.clone(),
        user_id: String::new(),
        profile: identity.claims.clone(),
        created_at: now,
        updated_at: now,
    };
    if let Some(user) = existing {
        if provider.account_link_action != IdpPolicyAction::Auto
            || !identity.email_verified
            || !in_link_filter(services, provider, &user).await?
        {
            return Ok(Err(Refusal::LinkRefused));
        }
        if !user.is_active() {
            return Ok(Err(Refusal::UserNotActive));
        }
        let link = IdpUser {
            user_id: user.id.clone(),
            ..link
        };
        match services.store.link_idp_user(&link).await {
            Ok(()) => {}
            // Linked at this provider already (to another upstream identity).
            Err(StoreError::Conflict(_)) => return Ok(Err(Refusal::LinkRefused)),
            Err(e) => return Err(e.into()),
        }
        let event = Event::success(
            "user.identity_provider.link",
            "Link user to identity provider",
            vec![Target::user(&user), provider_target(provider)],
        );
        record(services, &user, event, None, now).await;
        return Ok(Ok((user, link, false)));
    }
    if provider.provisioning_action != IdpPolicyAction::Auto {
        return Ok(Err(Refusal::ProvisioningDisabled));
    }
    let user = User {
        id: okta_id("00u"),
        login: profile.login,
        email: profile.email,
        first_name: profile.first_name,
        last_name: profile.last_name,
        password_hash: None,
        status: UserStatus::Active,
        profile_extra: profile.extra,
        created_at: now,
        updated_at: now,
        activated_at: Some(now),
        status_changed_at: Some(now),
        password_changed_at: None,
        last_login_at: None,
        // The provider vouched for the address; it is recorded as verified only when
        // it said so.
        verified_email: None,
    };
    let link = IdpUser {
        user_id: user.id.clone(),
        ..link
    };
    match services.store.insert_linked_user(&user, &link).await {
        Ok(()) => {}
        // The username is taken (by a user the match type does not look at), or the
        // identity was linked by a sign-in racing this one.
        Err(StoreError::Conflict(_)) => return Ok(Err(Refusal::LinkRefused)),
        Err(e) => return Err(e.into()),
    }
    let target = Target::user(&user).changed(None, Some(crate::admin::users::to_json(&user)));
    let event = Event::success(
        "user.lifecycle.create",
        "Create Okta user",
        vec![target, provider_target(provider)],
    )
    .with_debug("provisioningSource", "JIT")
    .with_debug("idpId", provider.id.clone());
    record_as(services, &provider_actor(provider), event, now).await;
    Ok(Ok((user, link, true)))
}

/// The user the mapped profile matches by the provider's `subject.matchType`:
/// USERNAME the username (Gatehouse's `login`, without regard to case), EMAIL the
/// e-mail address, USERNAME_OR_EMAIL either; CUSTOM_ATTRIBUTE is matched as USERNAME.
async fn matching_user(
    services: &Services,
    provider: &IdentityProvider,
    profile: &Profile,
) -> Result<Option<User>, OAuthError> {
    let by_login = services.store.find_user_by_login(&profile.login);
    Ok(match provider.match_type {
        SubjectMatchType::Username | SubjectMatchType::CustomAttribute => by_login.await?,
        SubjectMatchType::Email => user_by_email(services, profile.email.as_deref()).await?,
        SubjectMatchType::UsernameOrEmail => match by_login.await? {
            Some(user) => Some(user),
            None => user_by_email(services, profile.email.as_deref()).await?,
        },
    })
}

/// The one user whose e-mail address is `email` (none when several share it: a match
/// must be unambiguous).
async fn user_by_email(
    services: &Services,
    email: Option<&str>,
) -> Result<Option<User>, OAuthError> {
    let Some(email) = email.filter(|e| !e.is_empty() && e.len() <= 256) else {
        return Ok(None);
    };
    let page = Page {
        filter: Some(Expr::cond(
            "email",
            Op::Eq,
            SqlValue::Text(email.to_string()),
        )),
        after: None,
        limit: 2,
    };
    let mut found = services.store.query_users(&page).await?;
    Ok(if found.len() == 1 { found.pop() } else { None })
}

/// Whether `user` is in the groups the link filter names (none named: any user).
async fn in_link_filter(
    services: &Services,
    provider: &IdentityProvider,
    user: &User,
) -> Result<bool, OAuthError> {
    if provider.account_link_groups.is_empty() {
        return Ok(true);
    }
    let groups = services.store.user_groups(&user.id).await?;
    Ok(groups
        .iter()
        .any(|g| provider.account_link_groups.contains(&g.id)))
}

/// The profile the provider's mapping makes of the claims: `login` from
/// `subject.userNameTemplate`, then each mapped field.
fn mapped_profile(
    provider: &IdentityProvider,
    claims: &Map<String, Value>,
) -> Result<Profile, String> {
    let text = |expression: &str| -> Result<Option<String>, String> {
        let value = upstream::mapping::eval(expression, claims).map_err(|e| e.to_string())?;
        Ok(value.filter(|v| !v.is_empty()))
    };
    let login = text(&provider.username_template)?
        .ok_or_else(|| "the username template gives no username".to_string())?;
    let mut profile = Profile {
        login,
        ..Profile::default()
    };
    for mapping in &provider.profile_mapping {
        let value = text(&mapping.expression)?;
        match mapping.field.as_str() {
            "login" => {
                if let Some(login) = value {
                    profile.login = login;
                }
            }
            "email" => profile.email = value,
            "firstName" => profile.first_name = value,
            "lastName" => profile.last_name = value,
            field => {
                if let Some(value) = value {
                    profile
                        .extra
                        .insert(field.to_string(), Value::String(value));
                }
            }
        }
    }
    profile.check().map_err(|e| e.to_string())?;
    Ok(profile)
}

/// The provider is the profile master: the user's profile becomes the mapped one (the
/// username stays).
async fn master_profile(
    services: &Services,
    provider: &IdentityProvider,
    mut user: User,
    claims: &Map<String, Value>,
    now: UnixTime,
) -> Result<User, OAuthError> {
    let Ok(profile) = mapped_profile(provider, claims) else {
        return Ok(user);
    };
    let before = (
        user.email.clone(),
        user.first_name.clone(),
        user.last_name.clone(),
    );
    user.email = profile.email.or(user.email);
    user.first_name = profile.first_name.or(user.first_name);
    user.last_name = profile.last_name.or(user.last_name);
    for (name, value) in profile.extra {
        user.profile_extra.insert(name, value);
    }
    if before
        != (
            user.email.clone(),
            user.first_name.clone(),
            user.last_name.clone(),
        )
    {
        user.updated_at = now;
        services.store.update_user(&user).await?;
    }
    Ok(user)
}

/// `policy.provisioning.groups`: APPEND adds the user to the groups the claim names
/// (by name or id, within the filter when there is one); SYNC does that and removes
/// the user from the filter's groups the claim does not name; ASSIGN adds the fixed
/// groups. Groups that do not exist are skipped.
async fn sync_groups(
    services: &Services,
    provider: &IdentityProvider,
    user: &User,
    claims: &Map<String, Value>,
    now: UnixTime,
) -> Result<(), OAuthError> {
    let actor = provider_actor(provider);
    let wanted: Vec<String> = match provider.groups_action {
        GroupsAction::None => return Ok(()),
        GroupsAction::Assign => provider.groups_assignments.clone(),
        GroupsAction::Append | GroupsAction::Sync => {
            let claim = provider
                .groups_source_attribute
                .as_deref()
                .and_then(|name| claims.get(name));
            let named: Vec<String> = match claim {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                Some(Value::String(one)) => vec![one.clone()],
                _ => Vec::new(),
            };
            let mut ids = Vec::new();
            for name in named.iter().take(200) {
                if let Ok(group) = crate::admin::groups::find(&services.store, name).await
                    && (provider.groups_filter.is_empty()
                        || provider.groups_filter.contains(&group.id))
                {
                    ids.push(group.id);
                }
            }
            ids
        }
    };
    for id in &wanted {
        // A group deleted since it was configured is skipped.
        let _ = crate::admin::groups::add_member(&services.store, &actor, id, &user.id, now).await;
    }
    if provider.groups_action == GroupsAction::Sync {
        for group in services.store.user_groups(&user.id).await? {
            if provider.groups_filter.contains(&group.id) && !wanted.contains(&group.id) {
                let _ = crate::admin::groups::remove_member(
                    &services.store,
                    &actor,
                    &group.id,
                    &user.id,
                    now,
                )
                .await;
            }
        }
    }
    Ok(())
}

fn provider_target(provider: &IdentityProvider) -> Target {
    Target::new(&provider.id, "IdentityProvider", &provider.name)
}

/// The provider as the actor of what it causes (a just-in-time user, group changes).
fn provider_actor(provider: &IdentityProvider) -> Actor {
    Actor {
        id: provider.id.clone(),
        kind: "IdentityProvider",
        alternate_id: provider.name.clone(),
        display_name: provider.name.clone(),
        ip: None,
    }
}

async fn record(services: &Services, user: &User, event: Event, ip: Option<String>, now: UnixTime) {
    syslog::record(&services.store, &Actor::user(user, ip), event, now).await;
}

async fn record_as(services: &Services, actor: &Actor, event: Event, now: UnixTime) {
    syslog::record(&services.store, actor, event, now).await;
}

/// `user.authentication.auth_via_IDP` FAILURE, with the reason.
async fn failed(
    services: &Services,
    provider: Option<&IdentityProvider>,
    refusal: &Refusal,
    ip: Option<String>,
    now: UnixTime,
) {
    tracing::info!(event = "user.authentication.auth_via_IDP", outcome = "FAILURE", reason = %refusal.reason(), "federated sign-in refused");
    let targets = provider.map(provider_target).into_iter().collect();
    let event = Event::failure(
        "user.authentication.auth_via_IDP",
        "Authenticate user via IDP",
        refusal.reason(),
        targets,
    );
    let actor = Actor::unknown_user("unknown", ip);
    syslog::record(&services.store, &actor, event, now).await;
}

/// Where the provider sends the browser back after ending its session.
pub const LOGOUT_CALLBACK_PATH: &str = "/sso/logout/callback";

/// How long the continuation of a logout at a provider stays good.
const LOGOUT_STATE_SECONDS: i64 = 600;

const LOGOUT_STATE_CONTEXT: &[u8] = b"gatehouse upstream logout state v1";

/// RP-initiated logout of a session signed in at a provider whose setting says so
/// (`end_upstream_session`, and it has an `end_session_endpoint`): the provider's
/// logout URL, with its ID token as `id_token_hint` and this server's
/// `LOGOUT_CALLBACK_PATH` as `post_logout_redirect_uri`, whose `state` carries `next`
/// (the app's `post_logout_redirect_uri` with its `state`) sealed with the master key.
/// `None` when the session was not signed in at such a provider. Read before the
/// session ends.
pub async fn upstream_logout(
    services: &Services,
    session_hash: &[u8],
    user_id: &str,
    next: Option<&str>,
    now: UnixTime,
) -> Result<Option<String>, OAuthError> {
    let Some(federation) = services.store.session_federation(session_hash, now).await? else {
        return Ok(None);
    };
    let Some(provider) = active_provider(services, &federation.idp_id).await? else {
        return Ok(None);
    };
    if !provider.end_upstream_session || provider.end_session_endpoint.is_none() {
        return Ok(None);
    }
    let hint = federation
        .sealed_id_token
        .as_deref()
        .and_then(|sealed| sessions::open_id_token(services, &provider.id, user_id, sealed));
    let config = upstream_config(services, &provider, now).await?;
    let back = format!("{}{LOGOUT_CALLBACK_PATH}", services.config.base_url());
    let state = next.map(|next| {
        let plain = format!("{}\n{next}", now + LOGOUT_STATE_SECONDS);
        crate::crypto::b64url(
            &services
                .master
                .encrypt(plain.as_bytes(), LOGOUT_STATE_CONTEXT),
        )
    });
    Ok(upstream::end_session_url(
        &config,
        hint.as_deref(),
        Some(&back),
        state.as_deref(),
    ))
}

/// Where the browser goes once the provider has ended its session: the app's
/// `post_logout_redirect_uri` sealed in `state` at the departure, while unexpired;
/// `None` (the signed-out page) for no state, or one this server did not seal.
pub fn logout_continuation(
    services: &Services,
    state: Option<&str>,
    now: UnixTime,
) -> Option<String> {
    let sealed = crate::crypto::b64url_decode(state?)?;
    let plain = services
        .master
        .decrypt(&sealed, LOGOUT_STATE_CONTEXT)
        .ok()?;
    let text = String::from_utf8(plain).ok()?;
    let (expires, next) = text.split_once('\n')?;
    (expires.parse::<i64>().ok()? > now).then(|| next.to_string())
}

/// Okta's IdP discovery for a sign-in to `server_id`, from the settings cache
/// (`flows::Settings`, valid while the server's version stamp is: the identity
/// providers' and routing rules' triggers raise it): `None` when no rule can send
/// anyone away from the password, so the sign-in page asks for the username and the
/// password together; otherwise where the typed `username` goes: `Some(Some(provider))`
/// for an active upstream provider, `Some(None)` for the password.
pub async fn route(
    services: &Services,
    server_id: &str,
    username: &str,
    client_id: &str,
    ip: Option<&str>,
) -> Result<Option<Option<IdentityProvider>>, OAuthError> {
    let settings = Settings::load_by_id(services, server_id).await?;
    if !settings.routing.routes_away() {
        return Ok(None);
    }
    let typed = (!username.is_empty() && username.len() <= 256).then_some(username);
    let route = settings.route(typed, Some(client_id), ip);
    Ok(Some(typed.and(route.provider().cloned())))
}

/// Whether IdP discovery is on for sign-ins to `server_id`: some active rule routes
/// somewhere other than the password (then the sign-in page asks for the username
/// first).
pub async fn routes_away(services: &Services, server_id: &str) -> Result<bool, OAuthError> {
    Ok(Settings::load_by_id(services, server_id)
        .await?
        .routing
        .routes_away())
}
