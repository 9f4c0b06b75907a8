//! The management API, `/api/v1/...`, in Okta's shapes: one module per resource, each
//! handler a thin adapter over `admin` (where every check lives, shared with the CLI).
//! Requests authenticate with `Authorization: SSWS {token}` or `Bearer {access
//! token}` of the org server (see `flows::api_caller`); every error is Okta's error
//! body. The routes, what each requires of its caller (`Access`: one Okta scope and
//! the role permission it stands for) and the OpenAPI document come from one list,
//! `operations`.

pub mod answers;
pub mod api_tokens;
pub mod apps;
pub mod authn;
pub mod authorization_servers;
pub mod brands;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod factors;
pub mod groups;
pub mod idps;
pub mod initial_tokens;
pub mod keep_alive;
pub mod links;
pub mod logs;
pub mod openapi;
pub mod roles;
pub mod sessions;
pub mod sign_on_policies;
pub mod token_preview;
pub mod trusted_servers;
pub mod user_sessions;
pub mod users;
pub mod zones;

use axum::Router;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter, get, on};
use utoipa::openapi::path::{HttpMethod, Operation};

use crate::admin::permissions::{Need, Resource::*};
use crate::http::SharedState;
use extract::Access;

/// One documented operation: its methods, its path (as in the OpenAPI document and,
/// with the `/api/v1` prefix taken off, in the router), its description, its handler.
pub struct Operation_ {
    pub methods: Vec<HttpMethod>,
    pub path: String,
    pub operation: Operation,
    /// What the caller needs: one Okta scope and the role permission it stands for.
    pub access: Access,
    pub route: MethodRouter<SharedState>,
}

fn filter(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Options => MethodFilter::OPTIONS,
        HttpMethod::Trace => MethodFilter::TRACE,
    }
}

/// The operation `P` documents, served by `handler` to callers `access` lets in (the
/// route puts it in the request, where `extract::Authorized` reads it).
fn op<P: utoipa::Path, H: Handler<T, SharedState>, T: 'static>(
    access: Access,
    handler: H,
) -> Operation_ {
    let methods = P::methods();
    let method_filter = methods
        .iter()
        .map(filter)
        .reduce(|a, b| a.or(b))
        .unwrap_or(MethodFilter::GET);
    Operation_ {
        path: P::path(),
        operation: P::operation(),
        route: on(method_filter, handler).layer(axum::Extension(access)),
        access,
        methods,
    }
}

/// Every `/api/v1` operation.
pub fn operations() -> Vec<Operation_> {
    use self::{
        api_tokens as t, apps as a, authn as n, authorization_servers as s, brands as b,
        dashboard as d, factors as f, groups as g, idps as i, initial_tokens as it, logs as l,
        roles as r, sessions as x, sign_on_policies as sp, token_preview as p,
        trusted_servers as ts, user_sessions as us, users as u, zones as z,
    };
    // An image upload is larger than the JSON bodies the rest of the API reads.
    let upload = |mut operation: Operation_| {
        operation.route = operation
            .route
            .layer(axum::extract::DefaultBodyLimit::max(b::MAX_UPLOAD_BYTES));
        operation
    };
    let read = |resource| Access::Needs(Need::read(resource));
    let manage = |resource| Access::Needs(Need::manage(resource));
    vec![
        op::<u::__path_list, _, _>(read(Users), u::list),
        op::<u::__path_create, _, _>(manage(Users), u::create),
        op::<u::__path_get, _, _>(read(Users), u::get),
        op::<u::__path_update, _, _>(manage(Users), u::update),
        op::<u::__path_replace, _, _>(manage(Users), u::replace),
        op::<u::__path_delete, _, _>(manage(Users), u::delete),
        op::<u::__path_activate, _, _>(manage(Users), u::activate),
        op::<u::__path_verify_email, _, _>(manage(Users), u::verify_email),
        op::<u::__path_deactivate, _, _>(manage(Users), u::deactivate),
        op::<u::__path_suspend, _, _>(manage(Users), u::suspend),
        op::<u::__path_unsuspend, _, _>(manage(Users), u::unsuspend),
        op::<u::__path_change_password, _, _>(manage(Users), u::change_password),
        op::<u::__path_groups_of, _, _>(read(Users), u::groups_of),
        op::<u::__path_expire_password, _, _>(manage(Users), u::expire_password),
        op::<u::__path_app_links, _, _>(read(Users), u::app_links),
        op::<us::__path_list, _, _>(read(Sessions), us::list),
        op::<us::__path_clear, _, _>(manage(Sessions), us::clear),
        op::<us::__path_end, _, _>(manage(Sessions), us::end),
        op::<f::__path_list, _, _>(read(Users), f::list),
        op::<f::__path_enroll, _, _>(manage(Users), f::enroll),
        op::<f::__path_get, _, _>(read(Users), f::get),
        op::<f::__path_activate, _, _>(manage(Users), f::activate),
        op::<f::__path_verify, _, _>(manage(Users), f::verify),
        op::<f::__path_delete, _, _>(manage(Users), f::delete),
        op::<f::__path_reset, _, _>(manage(Users), f::reset),
        op::<g::__path_list, _, _>(read(Groups), g::list),
        op::<g::__path_create, _, _>(manage(Groups), g::create),
        op::<g::__path_get, _, _>(read(Groups), g::get),
        op::<g::__path_update, _, _>(manage(Groups), g::update),
        op::<g::__path_delete, _, _>(manage(Groups), g::delete),
        op::<g::__path_members, _, _>(read(Groups), g::members),
        op::<g::__path_add_member, _, _>(manage(Groups), g::add_member),
        op::<g::__path_remove_member, _, _>(manage(Groups), g::remove_member),
        op::<a::__path_list, _, _>(read(Apps), a::list),
        op::<a::__path_create, _, _>(manage(Apps), a::create),
        op::<a::__path_get, _, _>(read(Apps), a::get),
        op::<a::__path_update, _, _>(manage(Apps), a::update),
        op::<a::__path_delete, _, _>(manage(Apps), a::delete),
        op::<a::__path_activate, _, _>(manage(Apps), a::activate),
        op::<a::__path_deactivate, _, _>(manage(Apps), a::deactivate),
        op::<a::__path_secrets, _, _>(read(Apps), a::secrets),
        op::<a::__path_new_secret, _, _>(manage(Apps), a::new_secret),
        op::<a::__path_get_secret, _, _>(read(Apps), a::get_secret),
        op::<a::__path_activate_secret, _, _>(manage(Apps), a::activate_secret),
        op::<a::__path_deactivate_secret, _, _>(manage(Apps), a::deactivate_secret),
        op::<a::__path_delete_secret, _, _>(manage(Apps), a::delete_secret),
        op::<a::__path_users, _, _>(read(Apps), a::users),
        op::<a::__path_assign_user, _, _>(manage(Apps), a::assign_user),
        op::<a::__path_get_user, _, _>(read(Apps), a::get_user),
        op::<a::__path_unassign_user, _, _>(manage(Apps), a::unassign_user),
        op::<a::__path_groups, _, _>(read(Apps), a::groups),
        op::<a::__path_assign_group, _, _>(manage(Apps), a::assign_group),
        op::<a::__path_unassign_group, _, _>(manage(Apps), a::unassign_group),
        // An app's sign-on policy is the app's setting and the policy's.
        op::<sp::__path_assign_app, _, _>(manage(Policies), sp::assign_app),
        op::<r::__path_list_grants, _, _>(read(Apps), r::list_grants),
        // Granting an app an okta.* scope is as strong as the scope: a role manager's.
        op::<r::__path_grant_scope, _, _>(manage(Roles), r::grant_scope),
        op::<r::__path_revoke_scope, _, _>(manage(Roles), r::revoke_scope),
        op::<s::__path_list, _, _>(read(AuthorizationServers), s::list),
        op::<s::__path_create, _, _>(manage(AuthorizationServers), s::create),
        op::<s::__path_get, _, _>(read(AuthorizationServers), s::get),
        op::<s::__path_update, _, _>(manage(AuthorizationServers), s::update),
        op::<s::__path_delete, _, _>(manage(AuthorizationServers), s::delete),
        op::<s::__path_activate, _, _>(manage(AuthorizationServers), s::activate),
        op::<s::__path_deactivate, _, _>(manage(AuthorizationServers), s::deactivate),
        op::<s::__path_scopes, _, _>(read(AuthorizationServers), s::scopes),
        op::<s::__path_create_scope, _, _>(manage(AuthorizationServers), s::create_scope),
        op::<s::__path_get_scope, _, _>(read(AuthorizationServers), s::get_scope),
        op::<s::__path_delete_scope, _, _>(manage(AuthorizationServers), s::delete_scope),
        op::<s::__path_update_scope, _, _>(manage(AuthorizationServers), s::update_scope),
        op::<s::__path_claims, _, _>(read(AuthorizationServers), s::claims),
        op::<s::__path_create_claim, _, _>(manage(AuthorizationServers), s::create_claim),
        op::<s::__path_get_claim, _, _>(read(AuthorizationServers), s::get_claim),
        op::<s::__path_delete_claim, _, _>(manage(AuthorizationServers), s::delete_claim),
        op::<s::__path_update_claim, _, _>(manage(AuthorizationServers), s::update_claim),
        op::<s::__path_policies, _, _>(read(AuthorizationServers), s::policies),
        op::<s::__path_create_policy, _, _>(manage(AuthorizationServers), s::create_policy),
        op::<s::__path_get_policy, _, _>(read(AuthorizationServers), s::get_policy),
        op::<s::__path_delete_policy, _, _>(manage(AuthorizationServers), s::delete_policy),
        op::<s::__path_update_policy, _, _>(manage(AuthorizationServers), s::update_policy),
        op::<s::__path_activate_policy, _, _>(manage(AuthorizationServers), s::activate_policy),
        op::<s::__path_deactivate_policy, _, _>(manage(AuthorizationServers), s::deactivate_policy),
        op::<s::__path_rules, _, _>(read(AuthorizationServers), s::rules),
        op::<s::__path_create_rule, _, _>(manage(AuthorizationServers), s::create_rule),
        op::<s::__path_get_rule, _, _>(read(AuthorizationServers), s::get_rule),
        op::<s::__path_delete_rule, _, _>(manage(AuthorizationServers), s::delete_rule),
        op::<s::__path_update_rule, _, _>(manage(AuthorizationServers), s::update_rule),
        op::<s::__path_activate_rule, _, _>(manage(AuthorizationServers), s::activate_rule),
        op::<s::__path_deactivate_rule, _, _>(manage(AuthorizationServers), s::deactivate_rule),
        op::<s::__path_keys, _, _>(read(AuthorizationServers), s::keys),
        op::<s::__path_key_rotate, _, _>(manage(AuthorizationServers), s::key_rotate),
        op::<ts::__path_list, _, _>(read(AuthorizationServers), ts::list),
        op::<ts::__path_create, _, _>(manage(AuthorizationServers), ts::create),
        op::<ts::__path_delete, _, _>(manage(AuthorizationServers), ts::delete),
        // Token Preview signs, stores and issues nothing: reading the server's policies.
        op::<p::__path_preview, _, _>(read(AuthorizationServers), p::preview),
        op::<l::__path_list, _, _>(read(Logs), l::list),
        op::<d::__path_get, _, _>(read(Dashboard), d::get),
        op::<r::__path_list_user, _, _>(read(Roles), r::list_user),
        op::<r::__path_grant_user, _, _>(manage(Roles), r::grant_user),
        op::<r::__path_revoke_user, _, _>(manage(Roles), r::revoke_user),
        op::<r::__path_list_group, _, _>(read(Roles), r::list_group),
        op::<r::__path_grant_group, _, _>(manage(Roles), r::grant_group),
        op::<r::__path_revoke_group, _, _>(manage(Roles), r::revoke_group),
        op::<t::__path_list, _, _>(read(ApiTokens), t::list),
        op::<t::__path_create, _, _>(manage(ApiTokens), t::create),
        op::<t::__path_get, _, _>(read(ApiTokens), t::get),
        op::<t::__path_revoke, _, _>(manage(ApiTokens), t::revoke),
        // Initial access tokens register clients: as strong as okta.clients.register.
        op::<it::__path_list, _, _>(read(Clients), it::list),
        op::<it::__path_create, _, _>(manage(Clients), it::create),
        op::<it::__path_revoke, _, _>(manage(Clients), it::revoke),
        op::<b::__path_list, _, _>(read(Brands), b::list),
        op::<b::__path_get, _, _>(read(Brands), b::get),
        op::<b::__path_replace, _, _>(manage(Brands), b::replace),
        op::<b::__path_themes, _, _>(read(Brands), b::themes),
        op::<b::__path_theme, _, _>(read(Brands), b::theme),
        op::<b::__path_replace_theme, _, _>(manage(Brands), b::replace_theme),
        upload(op::<b::__path_upload_logo, _, _>(
            manage(Brands),
            b::upload_logo,
        )),
        op::<b::__path_delete_logo, _, _>(manage(Brands), b::delete_logo),
        upload(op::<b::__path_upload_favicon, _, _>(
            manage(Brands),
            b::upload_favicon,
        )),
        op::<b::__path_delete_favicon, _, _>(manage(Brands), b::delete_favicon),
        op::<sp::__path_list, _, _>(read(Policies), sp::list),
        op::<sp::__path_create, _, _>(manage(Policies), sp::create),
        op::<sp::__path_get, _, _>(read(Policies), sp::get),
        op::<sp::__path_replace, _, _>(manage(Policies), sp::replace),
        op::<sp::__path_delete, _, _>(manage(Policies), sp::delete),
        op::<sp::__path_activate, _, _>(manage(Policies), sp::activate),
        op::<sp::__path_deactivate, _, _>(manage(Policies), sp::deactivate),
        op::<sp::__path_rules, _, _>(read(Policies), sp::rules),
        op::<sp::__path_create_rule, _, _>(manage(Policies), sp::create_rule),
        op::<sp::__path_get_rule, _, _>(read(Policies), sp::get_rule),
        op::<sp::__path_replace_rule, _, _>(manage(Policies), sp::replace_rule),
        op::<sp::__path_delete_rule, _, _>(manage(Policies), sp::delete_rule),
        op::<sp::__path_activate_rule, _, _>(manage(Policies), sp::activate_rule),
        op::<sp::__path_deactivate_rule, _, _>(manage(Policies), sp::deactivate_rule),
        op::<z::__path_list, _, _>(read(NetworkZones), z::list),
        op::<z::__path_create, _, _>(manage(NetworkZones), z::create),
        op::<z::__path_get, _, _>(read(NetworkZones), z::get),
        op::<z::__path_replace, _, _>(manage(NetworkZones), z::replace),
        op::<z::__path_delete, _, _>(manage(NetworkZones), z::delete),
        op::<z::__path_activate, _, _>(manage(NetworkZones), z::activate),
        op::<z::__path_deactivate, _, _>(manage(NetworkZones), z::deactivate),
        op::<i::__path_list, _, _>(read(IdentityProviders), i::list),
        op::<i::__path_create, _, _>(manage(IdentityProviders), i::create),
        op::<i::__path_get, _, _>(read(IdentityProviders), i::get),
        op::<i::__path_replace, _, _>(manage(IdentityProviders), i::replace),
        op::<i::__path_delete, _, _>(manage(IdentityProviders), i::delete),
        op::<i::__path_activate, _, _>(manage(IdentityProviders), i::activate),
        op::<i::__path_deactivate, _, _>(manage(IdentityProviders), i::deactivate),
        op::<i::__path_users, _, _>(read(IdentityProviders), i::users),
        op::<i::__path_get_user, _, _>(read(IdentityProviders), i::get_user),
        op::<i::__path_unlink, _, _>(manage(IdentityProviders), i::unlink),
        op::<i::__path_of_user, _, _>(read(IdentityProviders), i::of_user),
        // okta-authn: the classic Authentication API and the Sessions API.
        op::<n::__path_authenticate, _, _>(Access::Public, n::authenticate),
        op::<x::__path_get_me, _, _>(Access::Public, x::get_me),
        op::<x::__path_close_me, _, _>(Access::Public, x::close_me),
        op::<x::__path_refresh_me, _, _>(Access::Public, x::refresh_me),
        op::<x::__path_get, _, _>(read(Sessions), x::get),
        op::<x::__path_close, _, _>(manage(Sessions), x::close),
        op::<x::__path_refresh, _, _>(manage(Sessions), x::refresh),
    ]
}

pub const PREFIX: &str = "/api/v1";

/// The router nested at `/api/v1`: every operation, the OpenAPI document (no token
/// needed), Okta's 404 for an unknown path and 405 for a known path's other methods.
pub fn router() -> Router<SharedState> {
    let mut router = Router::new().route("/openapi.json", get(openapi::get));
    for operation in operations() {
        let path = operation
            .path
            .strip_prefix(PREFIX)
            .expect("every API path starts with /api/v1")
            .to_string();
        router = router.route(&path, operation.route);
    }
    router
        .fallback(|| async { error::ApiError::not_found("the requested path").into_response() })
        .method_not_allowed_fallback(|| async {
            error::ApiError::method_not_allowed().into_response()
        })
        .layer(axum::middleware::from_fn(keep_alive::layer))
}
