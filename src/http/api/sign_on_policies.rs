//! `/api/v1/policies` (Okta's Policy API for `OKTA_SIGN_ON`, `ACCESS_POLICY` and the
//! rules of `IDP_DISCOVERY`, handed to `admin::idps`) and
//! `PUT /api/v1/apps/{id}/policies/{policyId}`. The rules are in `admin::sign_on`;
//! this module reads Okta's JSON shapes into them. The `PASSWORD` type's requests are
//! handed to `password_policy`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiQuery, Caller, parse_json};
use super::password_policy::{self as pp, PasswordSettings};
use crate::admin::idps::{self, NewRoute};
use crate::admin::password_policy::is_password_policy;
use crate::admin::sign_on::{self, NewSignOnPolicy, NewSignOnRule};
use crate::http::SharedState;
use crate::store::{
    FactorMode, IdentifierPattern, PatternMatchType, PolicyType, Possession, RouteProvider,
    RuleAccess,
};

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IncludeExclude {
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SignOnPeople {
    pub users: Option<IncludeExclude>,
    pub groups: Option<IncludeExclude>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SignOnPolicyConditions {
    /// OKTA_SIGN_ON: `groups.include`, the groups it applies to (none: everyone).
    pub people: Option<SignOnPeople>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignOnPolicyBody {
    /// `OKTA_SIGN_ON` or `ACCESS_POLICY`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub priority: Option<i64>,
    pub conditions: Option<SignOnPolicyConditions>,
    /// PASSWORD: `password.lockout` (and `password.complexity.minLength`, fixed).
    pub settings: Option<PasswordSettings>,
}

fn policy_type(text: Option<&str>) -> Result<PolicyType, ApiError> {
    text.and_then(PolicyType::parse)
        .ok_or_else(|| ApiError::invalid("type", "must be OKTA_SIGN_ON or ACCESS_POLICY"))
}

impl SignOnPolicyBody {
    fn into_new(self) -> Result<NewSignOnPolicy, ApiError> {
        Ok(NewSignOnPolicy {
            policy_type: policy_type(self.kind.as_deref())?,
            name: self.name.unwrap_or_default(),
            description: self.description.unwrap_or_default(),
            priority: self.priority,
            groups: self
                .conditions
                .and_then(|c| c.people)
                .and_then(|p| p.groups)
                .and_then(|g| g.include)
                .unwrap_or_default(),
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SignOnNetwork {
    /// `ANYWHERE` or `ZONE`.
    pub connection: Option<String>,
    /// Network zone ids.
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SignOnRuleConditions {
    pub people: Option<SignOnPeople>,
    pub network: Option<SignOnNetwork>,
}

/// `actions.signon` of a global session policy rule.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignOnAction {
    /// `ALLOW` or `DENY`.
    pub access: Option<String>,
    /// A second factor for the session.
    pub require_factor: Option<bool>,
    /// `ALWAYS` (at every sign-in) or `SESSION` (once per `factorLifetime`).
    pub factor_prompt_mode: Option<String>,
    /// Minutes; 0: once per session.
    pub factor_lifetime: Option<i64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PossessionConstraint {
    /// `REQUIRED`: a phishing-resistant factor (a passkey).
    pub phishing_resistant: Option<String>,
    /// `REQUIRED`: a hardware-protected one.
    pub hardware_protection: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct VerificationConstraint {
    pub possession: Option<PossessionConstraint>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMethod {
    /// `1FA` or `2FA` (any two factor types).
    pub factor_mode: Option<String>,
    /// ISO 8601 duration (`PT2H`); `PT0S`: at every sign-in; absent: once per session.
    pub reauthenticate_in: Option<String>,
    pub constraints: Option<Vec<VerificationConstraint>>,
}

/// `actions.appSignOn` of an app authentication policy rule.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppSignOnAction {
    pub access: Option<String>,
    pub verification_method: Option<VerificationMethod>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignOnRuleActions {
    pub signon: Option<SignOnAction>,
    pub app_sign_on: Option<AppSignOnAction>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SignOnRuleBody {
    pub name: Option<String>,
    pub priority: Option<i64>,
    pub conditions: Option<SignOnRuleConditions>,
    pub actions: Option<SignOnRuleActions>,
}

fn access(text: Option<&str>) -> Result<RuleAccess, ApiError> {
    match text {
        None => Ok(RuleAccess::Allow),
        Some(t) => {
            RuleAccess::parse(t).ok_or_else(|| ApiError::invalid("access", "must be ALLOW or DENY"))
        }
    }
}

impl SignOnRuleBody {
    fn into_new(self, kind: PolicyType) -> Result<NewSignOnRule, ApiError> {
        let conditions = self.conditions.unwrap_or_default();
        let people = conditions.people.unwrap_or_default();
        let users = people.users.unwrap_or_default();
        let groups = people.groups.unwrap_or_default();
        let network = conditions.network.unwrap_or_default();
        let (zones_include, zones_exclude) = match network.connection.as_deref() {
            None | Some("ANYWHERE") => (vec![], vec![]),
            Some("ZONE") => {
                let include = network.include.unwrap_or_default();
                let exclude = network.exclude.unwrap_or_default();
                if include.is_empty() && exclude.is_empty() {
                    return Err(ApiError::invalid(
                        "conditions.network",
                        "a ZONE connection includes or excludes at least one zone",
                    ));
                }
                (include, exclude)
            }
            Some(_) => {
                return Err(ApiError::invalid(
                    "conditions.network.connection",
                    "must be ANYWHERE or ZONE",
                ));
            }
        };
        let actions = self.actions.unwrap_or_default();
        let (rule_access, factor_mode, possession, reauthenticate_in) = match kind {
            PolicyType::SignOn => {
                let a = actions.signon.unwrap_or_default();
                let two = a.require_factor.unwrap_or(false);
                let reauth = match (two, a.factor_prompt_mode.as_deref(), a.factor_lifetime) {
                    (false, ..) => None,
                    (true, Some("ALWAYS"), _) => Some(0),
                    (true, None | Some("SESSION" | "DEVICE"), None | Some(0)) => None,
                    (true, None | Some("SESSION" | "DEVICE"), Some(m)) if m > 0 => {
                        Some(m.saturating_mul(60))
                    }
                    (true, Some("SESSION" | "DEVICE") | None, Some(_)) => {
                        return Err(ApiError::invalid(
                            "actions.signon.factorLifetime",
                            "must be a number of minutes, 0 or more",
                        ));
                    }
                    (true, Some(_), _) => {
                        return Err(ApiError::invalid(
                            "actions.signon.factorPromptMode",
                            "must be ALWAYS, SESSION or DEVICE",
                        ));
                    }
                };
                let mode = if two {
                    FactorMode::Two
                } else {
                    FactorMode::One
                };
                (access(a.access.as_deref())?, mode, Possession::Any, reauth)
            }
            PolicyType::Access => {
                let a = actions.app_sign_on.unwrap_or_default();
                let method = a.verification_method.unwrap_or_default();
                let mode = match method.factor_mode.as_deref() {
                    None => FactorMode::One,
                    Some(m) => FactorMode::parse(m).ok_or_else(|| {
                        ApiError::invalid(
                            "actions.appSignOn.verificationMethod.factorMode",
                            "must be 1FA or 2FA",
                        )
                    })?,
                };
                let reauth = match method.reauthenticate_in.as_deref() {
                    None => None,
                    Some(d) => Some(sign_on::parse_duration(d).ok_or_else(|| {
                        ApiError::invalid(
                            "actions.appSignOn.verificationMethod.reauthenticateIn",
                            "must be an ISO 8601 duration such as PT2H",
                        )
                    })?),
                };
                let mut possession = Possession::Any;
                for c in method.constraints.unwrap_or_default() {
                    let p = c.possession.unwrap_or_default();
                    if p.hardware_protection.as_deref() == Some("REQUIRED") {
                        possession = Possession::HardwareProtected;
                    } else if p.phishing_resistant.as_deref() == Some("REQUIRED")
                        && possession == Possession::Any
                    {
                        possession = Possession::PhishingResistant;
                    }
                }
                (access(a.access.as_deref())?, mode, possession, reauth)
            }
        };
        Ok(NewSignOnRule {
            name: self.name.unwrap_or_default(),
            priority: self.priority,
            users_include: users.include.unwrap_or_default(),
            users_exclude: users.exclude.unwrap_or_default(),
            groups_include: groups.include.unwrap_or_default(),
            groups_exclude: groups.exclude.unwrap_or_default(),
            zones_include,
            zones_exclude,
            access: rule_access,
            factor_mode,
            possession,
            reauthenticate_in,
        })
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdentifierPatternBody {
    /// `SUFFIX`, `EQUALS`, `STARTS_WITH` or `CONTAINS` (`EXPRESSION` is refused).
    #[serde(rename = "matchType")]
    pub match_type: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UserIdentifierCondition {
    /// `IDENTIFIER` (the typed username).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub patterns: Option<Vec<IdentifierPatternBody>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct NetworkCondition {
    /// `ANYWHERE` or `ZONE` (then `include` and/or `exclude` name network zones).
    pub connection: Option<String>,
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AppRef {
    /// `APP`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AppCondition {
    pub include: Option<Vec<AppRef>>,
    pub exclude: Option<Vec<AppRef>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdpDiscoveryConditions {
    pub user_identifier: Option<UserIdentifierCondition>,
    pub network: Option<NetworkCondition>,
    pub app: Option<AppCondition>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpProviderRef {
    /// `OKTA` (password sign-in here), or the provider's type (`OIDC`, `OAUTH2`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpDiscoveryIdpAction {
    pub providers: Option<Vec<IdpProviderRef>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpDiscoveryActions {
    pub idp: Option<IdpDiscoveryIdpAction>,
}

/// A rule of the `IDP_DISCOVERY` policy (routing by username, network zone and app).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct IdpDiscoveryRuleBody {
    /// `IDP_DISCOVERY`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub name: Option<String>,
    pub priority: Option<i64>,
    pub conditions: Option<IdpDiscoveryConditions>,
    pub actions: Option<IdpDiscoveryActions>,
}

impl IdpDiscoveryRuleBody {
    fn into_new(self) -> Result<NewRoute, ApiError> {
        if self.kind.as_deref().is_some_and(|k| k != "IDP_DISCOVERY") {
            return Err(ApiError::invalid(
                "type",
                "a rule of the IDP_DISCOVERY policy is of type IDP_DISCOVERY",
            ));
        }
        let name = self
            .name
            .ok_or_else(|| ApiError::invalid("name", "is required"))?;
        let conditions = self.conditions.unwrap_or_default();
        let mut patterns = Vec::new();
        if let Some(ui) = conditions.user_identifier {
            if ui.kind.as_deref().is_some_and(|k| k != "IDENTIFIER") {
                return Err(ApiError::invalid(
                    "conditions.userIdentifier.type",
                    "only IDENTIFIER (the typed username) is supported",
                ));
            }
            for p in ui.patterns.unwrap_or_default() {
                let field = "conditions.userIdentifier.patterns";
                let match_type = p
                    .match_type
                    .as_deref()
                    .and_then(PatternMatchType::parse)
                    .ok_or_else(|| {
                        ApiError::invalid(
                            field,
                            "matchType must be SUFFIX, EQUALS, STARTS_WITH or CONTAINS",
                        )
                    })?;
                let value = p
                    .value
                    .filter(|v| !v.trim().is_empty())
                    .ok_or_else(|| ApiError::invalid(field, "a pattern needs a value"))?;
                patterns.push(IdentifierPattern { match_type, value });
            }
        }
        let (mut zones_include, mut zones_exclude) = (Vec::new(), Vec::new());
        if let Some(network) = conditions.network {
            let include = network.include.unwrap_or_default();
            let exclude = network.exclude.unwrap_or_default();
            match network.connection.as_deref() {
                None | Some("ANYWHERE") if include.is_empty() && exclude.is_empty() => {}
                Some("ZONE") if !include.is_empty() || !exclude.is_empty() => {
                    (zones_include, zones_exclude) = (include, exclude);
                }
                Some("ZONE") => {
                    return Err(ApiError::invalid(
                        "conditions.network",
                        "ZONE needs network zones in include or exclude",
                    ));
                }
                _ => {
                    return Err(ApiError::invalid(
                        "conditions.network.connection",
                        "must be ANYWHERE (no zones) or ZONE",
                    ));
                }
            }
        }
        let (mut apps_include, mut apps_exclude) = (Vec::new(), Vec::new());
        if let Some(app) = conditions.app {
            let ids = |refs: Option<Vec<AppRef>>| -> Result<Vec<String>, ApiError> {
                refs.unwrap_or_default()
                    .into_iter()
                    .map(|r| match (r.kind.as_deref(), r.id) {
                        (None | Some("APP"), Some(id)) if !id.is_empty() => Ok(id),
                        _ => Err(ApiError::invalid(
                            "conditions.app",
                            "each entry is {\"type\": \"APP\", \"id\": the app's client id}",
                        )),
                    })
                    .collect()
            };
            apps_include = ids(app.include)?;
            apps_exclude = ids(app.exclude)?;
        }
        let providers = self
            .actions
            .and_then(|a| a.idp)
            .and_then(|i| i.providers)
            .unwrap_or_default()
            .into_iter()
            .map(|p| match p.kind {
                Some(kind) if !kind.is_empty() => Ok(RouteProvider {
                    provider_type: kind,
                    id: p.id,
                }),
                _ => Err(ApiError::invalid(
                    "actions.idp.providers",
                    "each provider has a type (OKTA, or the provider's type and id)",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NewRoute {
            name,
            patterns,
            zones_include,
            zones_exclude,
            apps_include,
            apps_exclude,
            providers,
            priority: self.priority,
        })
    }
}

/// A rule of a sign-on policy or of the `IDP_DISCOVERY` policy (the policy's type
/// decides which); for the OpenAPI document.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum PolicyRuleBody {
    SignOn(SignOnRuleBody),
    IdpDiscovery(IdpDiscoveryRuleBody),
}

/// A rule body read as the policy's type asks: `IDP_DISCOVERY` or a sign-on rule.
fn read_body<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, ApiError> {
    let bytes = serde_json::to_vec(&body).map_err(|e| ApiError::internal(&e))?;
    parse_json(&bytes)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PolicyQuery {
    /// `OKTA_SIGN_ON`, `ACCESS_POLICY` or `PASSWORD` (required, as in Okta).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The policies of one type: system (default) last, then by priority.
#[utoipa::path(get, path = "/api/v1/policies", operation_id = "listPolicies", tag = "policies", params(PolicyQuery),
    responses((status = 200, description = "The policies", body = [super::answers::SignOnPolicy]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("ssws" = [])))]
pub async fn list(
    State(state): State<SharedState>,
    _: Caller,
    ApiQuery(q): ApiQuery<PolicyQuery>,
) -> Result<Response, ApiError> {
    if q.kind.as_deref() == Some("PASSWORD") {
        return pp::list(&state).await;
    }
    // Okta's IdP discovery policy: its routing rules are managed under
    // `/api/v1/policies/{id}/rules` below and with `gatehouse idps route`.
    if q.kind.as_deref() == Some("IDP_DISCOVERY") {
        let (policy, _) = idps::routes(&state.store).await?;
        return Ok(Json(vec![idps::discovery_policy_json(&policy)]).into_response());
    }
    let kind = policy_type(q.kind.as_deref())?;
    let list = sign_on::list(&state.store, kind).await?;
    let body: Vec<Value> = list.iter().map(sign_on::policy_json).collect();
    Ok(Json(body).into_response())
}

/// A new policy (after the existing ones unless `priority` says otherwise); an app
/// authentication policy comes with its catch-all rule.
#[utoipa::path(post, path = "/api/v1/policies", operation_id = "createPolicy", tag = "policies", request_body = SignOnPolicyBody,
    responses((status = 200, description = "The policy", body = super::answers::SignOnPolicy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    ApiJson(body): ApiJson<SignOnPolicyBody>,
) -> Result<Response, ApiError> {
    if body.kind.as_deref() == Some("PASSWORD") {
        return Err(ApiError::invalid(
            "type",
            "there is one PASSWORD policy, the default: change it with PUT",
        ));
    }
    let policy = sign_on::create(&state.store, &actor, body.into_new()?, state.clock.now()).await?;
    Ok(Json(sign_on::policy_json(&policy)).into_response())
}

#[utoipa::path(get, path = "/api/v1/policies/{policyId}", operation_id = "getPolicy", tag = "policies", params(("policyId" = String, Path)),
    responses((status = 200, description = "The policy", body = super::answers::SignOnPolicy), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path(policy_id): Path<String>,
) -> Result<Response, ApiError> {
    if is_password_policy(&policy_id) {
        return pp::get(&state).await;
    }
    let (routing, _) = idps::routes(&state.store).await?;
    if routing.id == policy_id {
        return Ok(Json(idps::discovery_policy_json(&routing)).into_response());
    }
    let policy = sign_on::find(&state.store, &policy_id).await?;
    Ok(Json(sign_on::policy_json(&policy)).into_response())
}

/// Replace name, description, priority (kept when absent) and groups; the type stays.
/// The PASSWORD policy: name, description and `settings.password.lockout`.
#[utoipa::path(put, path = "/api/v1/policies/{policyId}", operation_id = "replacePolicy", tag = "policies", params(("policyId" = String, Path)), request_body = SignOnPolicyBody,
    responses((status = 200, description = "The policy", body = super::answers::SignOnPolicy), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn replace(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(policy_id): Path<String>,
    ApiJson(body): ApiJson<SignOnPolicyBody>,
) -> Result<Response, ApiError> {
    if is_password_policy(&policy_id) {
        let SignOnPolicyBody {
            kind,
            name,
            description,
            settings,
            ..
        } = body;
        return pp::replace(&state, &actor, kind.as_deref(), name, description, settings).await;
    }
    let new = body.into_new()?;
    let policy = sign_on::update(&state.store, &actor, &policy_id, new, state.clock.now()).await?;
    Ok(Json(sign_on::policy_json(&policy)).into_response())
}

/// Delete a policy and its rules; its apps follow the default policy. The default
/// policies cannot be deleted (403).
#[utoipa::path(delete, path = "/api/v1/policies/{policyId}", operation_id = "deletePolicy", tag = "policies", params(("policyId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn delete(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(policy_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    sign_on::delete(&state.store, &actor, &policy_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/policies/{policyId}/lifecycle/activate", operation_id = "activatePolicy", tag = "policies", params(("policyId" = String, Path)),
    responses((status = 204, description = "Active"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn activate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(policy_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    sign_on::set_active(&state.store, &actor, &policy_id, true, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An inactive policy is skipped (an app assigned to it follows the default).
#[utoipa::path(post, path = "/api/v1/policies/{policyId}/lifecycle/deactivate", operation_id = "deactivatePolicy", tag = "policies", params(("policyId" = String, Path)),
    responses((status = 204, description = "Inactive"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn deactivate(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(policy_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    sign_on::set_active(&state.store, &actor, &policy_id, false, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The policy's rules in evaluation order (the catch-all last).
#[utoipa::path(get, path = "/api/v1/policies/{policyId}/rules", operation_id = "listPolicyRules", tag = "policies", params(("policyId" = String, Path)),
    responses((status = 200, description = "The rules", body = [super::answers::SignOnRule]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn rules(
    State(state): State<SharedState>,
    _: Caller,
    Path(policy_id): Path<String>,
) -> Result<Response, ApiError> {
    let (routing, routes) = idps::routes(&state.store).await?;
    if routing.id == policy_id {
        let body: Vec<Value> = routes.iter().map(idps::route_json).collect();
        return Ok(Json(body).into_response());
    }
    let policy = sign_on::find(&state.store, &policy_id).await?;
    let rules = sign_on::rules_of(&state.store, &policy_id).await?;
    let body: Vec<Value> = rules
        .iter()
        .map(|r| sign_on::rule_json(&policy, r))
        .collect();
    Ok(Json(body).into_response())
}

/// A new rule, before the catch-all: people and network zones it matches, and what it
/// asks (`actions.signon` or `actions.appSignOn`, by the policy's type). For the
/// `IDP_DISCOVERY` policy: usernames, zones and apps it matches, and the providers
/// (`actions.idp.providers`) it sends them to.
#[utoipa::path(post, path = "/api/v1/policies/{policyId}/rules", operation_id = "createPolicyRule", tag = "policies", params(("policyId" = String, Path)), request_body = PolicyRuleBody,
    responses((status = 200, description = "The rule", body = super::answers::SignOnRule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn create_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(policy_id): Path<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let (routing, _) = idps::routes(&state.store).await?;
    if routing.id == policy_id {
        let new = read_body::<IdpDiscoveryRuleBody>(body)?.into_new()?;
        let rule = idps::create_route(&state.store, &actor, new, state.clock.now()).await?;
        return Ok(Json(idps::route_json(&rule)).into_response());
    }
    let policy = sign_on::find(&state.store, &policy_id).await?;
    let new = read_body::<SignOnRuleBody>(body)?.into_new(policy.policy_type)?;
    let rule =
        sign_on::create_rule(&state.store, &actor, &policy_id, new, state.clock.now()).await?;
    Ok(Json(sign_on::rule_json(&policy, &rule)).into_response())
}

#[utoipa::path(get, path = "/api/v1/policies/{policyId}/rules/{ruleId}", operation_id = "getPolicyRule", tag = "policies", params(("policyId" = String, Path), ("ruleId" = String, Path)),
    responses((status = 200, description = "The rule", body = super::answers::SignOnRule), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn get_rule(
    State(state): State<SharedState>,
    _: Caller,
    Path((policy_id, rule_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (routing, _) = idps::routes(&state.store).await?;
    if routing.id == policy_id {
        let rule = idps::find_route(&state.store, &policy_id, &rule_id).await?;
        return Ok(Json(idps::route_json(&rule)).into_response());
    }
    let (policy, rule) = sign_on::find_rule(&state.store, &policy_id, &rule_id).await?;
    Ok(Json(sign_on::rule_json(&policy, &rule)).into_response())
}

/// Replace a rule (priority kept when absent); the catch-all's conditions stay empty.
#[utoipa::path(put, path = "/api/v1/policies/{policyId}/rules/{ruleId}", operation_id = "replacePolicyRule", tag = "policies", params(("policyId" = String, Path), ("ruleId" = String, Path)), request_body = PolicyRuleBody,
    responses((status = 200, description = "The rule", body = super::answers::SignOnRule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn replace_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((policy_id, rule_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let now = state.clock.now();
    let (routing, _) = idps::routes(&state.store).await?;
    if routing.id == policy_id {
        let new = read_body::<IdpDiscoveryRuleBody>(body)?.into_new()?;
        let rule = idps::update_route(&state.store, &actor, &policy_id, &rule_id, new, now).await?;
        return Ok(Json(idps::route_json(&rule)).into_response());
    }
    let policy = sign_on::find(&state.store, &policy_id).await?;
    let new = read_body::<SignOnRuleBody>(body)?.into_new(policy.policy_type)?;
    let rule = sign_on::update_rule(&state.store, &actor, &policy_id, &rule_id, new, now).await?;
    Ok(Json(sign_on::rule_json(&policy, &rule)).into_response())
}

/// Delete a rule; the catch-all cannot be deleted (403).
#[utoipa::path(delete, path = "/api/v1/policies/{policyId}/rules/{ruleId}", operation_id = "deletePolicyRule", tag = "policies", params(("policyId" = String, Path), ("ruleId" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn delete_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((policy_id, rule_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (routing, _) = idps::routes(&state.store).await?;
    if routing.id == policy_id {
        idps::delete_route(&state.store, &actor, &rule_id, state.clock.now()).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    sign_on::delete_rule(
        &state.store,
        &actor,
        &policy_id,
        &rule_id,
        state.clock.now(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/policies/{policyId}/rules/{ruleId}/lifecycle/activate", operation_id = "activatePolicyRule", tag = "policies", params(("policyId" = String, Path), ("ruleId" = String, Path)),
    responses((status = 204, description = "Active"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn activate_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((policy_id, rule_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let now = state.clock.now();
    let (routing, _) = idps::routes(&state.store).await?;
    if routing.id == policy_id {
        idps::set_route_active(&state.store, &actor, &policy_id, &rule_id, true, now).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    sign_on::set_rule_active(&state.store, &actor, &policy_id, &rule_id, true, now).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An inactive rule is skipped; the catch-all stays active (403).
#[utoipa::path(post, path = "/api/v1/policies/{policyId}/rules/{ruleId}/lifecycle/deactivate", operation_id = "deactivatePolicyRule", tag = "policies", params(("policyId" = String, Path), ("ruleId" = String, Path)),
    responses((status = 204, description = "Inactive"), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn deactivate_rule(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((policy_id, rule_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let now = state.clock.now();
    let (routing, _) = idps::routes(&state.store).await?;
    if routing.id == policy_id {
        idps::set_route_active(&state.store, &actor, &policy_id, &rule_id, false, now).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    sign_on::set_rule_active(&state.store, &actor, &policy_id, &rule_id, false, now).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The app follows this app authentication policy from its next sign-in on.
#[utoipa::path(put, path = "/api/v1/apps/{id}/policies/{policyId}", operation_id = "assignApplicationPolicy", tag = "apps", params(("id" = String, Path), ("policyId" = String, Path)),
    responses((status = 204, description = "Assigned"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)), security(("ssws" = [])))]
pub async fn assign_app(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((id, policy_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    sign_on::assign_app(&state.store, &actor, &id, &policy_id, state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
