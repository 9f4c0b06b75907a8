//! The management API, `/api/v1/...`, in Okta's shapes: one module per resource, each
//! handler a thin adapter over `admin` (where every check lives, shared with the CLI).
//! Requests authenticate with `Authorization: SSWS {token}`; every error is Okta's
//! error body. The routes and the OpenAPI document come from one list, `operations`.

pub mod answers;
pub mod api_tokens;
pub mod apps;
pub mod authn;
pub mod authorization_servers;
pub mod brands;
pub mod dashboard;
pub mod error;
pub mod extract;
pub mod groups;
pub mod keep_alive;
pub mod links;
pub mod logs;
pub mod openapi;
pub mod sessions;
pub mod token_preview;
pub mod user_sessions;
pub mod users;

use axum::Router;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter, get, on};
use utoipa::openapi::path::{HttpMethod, Operation};

use crate::http::SharedState;

/// One documented operation: its methods, its path (as in the OpenAPI document and,
/// with the `/api/v1` prefix taken off, in the router), its description, its handler.
pub struct Operation_ {
    pub methods: Vec<HttpMethod>,
    pub path: String,
    pub operation: Operation,
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

/// The operation `P` documents, served by `handler`.
fn op<P: utoipa::Path, H: Handler<T, SharedState>, T: 'static>(handler: H) -> Operation_ {
    let methods = P::methods();
    let method_filter = methods
        .iter()
        .map(filter)
        .reduce(|a, b| a.or(b))
        .unwrap_or(MethodFilter::GET);
    Operation_ {
        path: P::path(),
        operation: P::operation(),
        route: on(method_filter, handler),
        methods,
    }
}

/// Every `/api/v1` operation.
pub fn operations() -> Vec<Operation_> {
    use self::{
        api_tokens as t, apps as a, authn as n, authorization_servers as s, brands as b,
        dashboard as d, groups as g, logs as l, sessions as x, token_preview as p,
        user_sessions as us, users as u,
    };
    // An image upload is larger than the JSON bodies the rest of the API reads.
    let upload = |mut operation: Operation_| {
        operation.route = operation
            .route
            .layer(axum::extract::DefaultBodyLimit::max(b::MAX_UPLOAD_BYTES));
        operation
    };
    vec![
        op::<u::__path_list, _, _>(u::list),
        op::<u::__path_create, _, _>(u::create),
        op::<u::__path_get, _, _>(u::get),
        op::<u::__path_update, _, _>(u::update),
        op::<u::__path_replace, _, _>(u::replace),
        op::<u::__path_delete, _, _>(u::delete),
        op::<u::__path_activate, _, _>(u::activate),
        op::<u::__path_deactivate, _, _>(u::deactivate),
        op::<u::__path_suspend, _, _>(u::suspend),
        op::<u::__path_unsuspend, _, _>(u::unsuspend),
        op::<u::__path_change_password, _, _>(u::change_password),
        op::<u::__path_groups_of, _, _>(u::groups_of),
        op::<u::__path_expire_password, _, _>(u::expire_password),
        op::<u::__path_app_links, _, _>(u::app_links),
        op::<us::__path_list, _, _>(us::list),
        op::<us::__path_clear, _, _>(us::clear),
        op::<us::__path_end, _, _>(us::end),
        op::<g::__path_list, _, _>(g::list),
        op::<g::__path_create, _, _>(g::create),
        op::<g::__path_get, _, _>(g::get),
        op::<g::__path_update, _, _>(g::update),
        op::<g::__path_delete, _, _>(g::delete),
        op::<g::__path_members, _, _>(g::members),
        op::<g::__path_add_member, _, _>(g::add_member),
        op::<g::__path_remove_member, _, _>(g::remove_member),
        op::<a::__path_list, _, _>(a::list),
        op::<a::__path_create, _, _>(a::create),
        op::<a::__path_get, _, _>(a::get),
        op::<a::__path_update, _, _>(a::update),
        op::<a::__path_delete, _, _>(a::delete),
        op::<a::__path_activate, _, _>(a::activate),
        op::<a::__path_deactivate, _, _>(a::deactivate),
        op::<a::__path_secrets, _, _>(a::secrets),
        op::<a::__path_new_secret, _, _>(a::new_secret),
        op::<a::__path_get_secret, _, _>(a::get_secret),
        op::<a::__path_activate_secret, _, _>(a::activate_secret),
        op::<a::__path_deactivate_secret, _, _>(a::deactivate_secret),
        op::<a::__path_delete_secret, _, _>(a::delete_secret),
        op::<a::__path_users, _, _>(a::users),
        op::<a::__path_assign_user, _, _>(a::assign_user),
        op::<a::__path_get_user, _, _>(a::get_user),
        op::<a::__path_unassign_user, _, _>(a::unassign_user),
        op::<a::__path_groups, _, _>(a::groups),
        op::<a::__path_assign_group, _, _>(a::assign_group),
        op::<a::__path_unassign_group, _, _>(a::unassign_group),
        op::<s::__path_list, _, _>(s::list),
        op::<s::__path_create, _, _>(s::create),
        op::<s::__path_get, _, _>(s::get),
        op::<s::__path_update, _, _>(s::update),
        op::<s::__path_delete, _, _>(s::delete),
        op::<s::__path_activate, _, _>(s::activate),
        op::<s::__path_deactivate, _, _>(s::deactivate),
        op::<s::__path_scopes, _, _>(s::scopes),
        op::<s::__path_create_scope, _, _>(s::create_scope),
        op::<s::__path_get_scope, _, _>(s::get_scope),
        op::<s::__path_delete_scope, _, _>(s::delete_scope),
        op::<s::__path_update_scope, _, _>(s::update_scope),
        op::<s::__path_claims, _, _>(s::claims),
        op::<s::__path_create_claim, _, _>(s::create_claim),
        op::<s::__path_get_claim, _, _>(s::get_claim),
        op::<s::__path_delete_claim, _, _>(s::delete_claim),
        op::<s::__path_update_claim, _, _>(s::update_claim),
        op::<s::__path_policies, _, _>(s::policies),
        op::<s::__path_create_policy, _, _>(s::create_policy),
        op::<s::__path_get_policy, _, _>(s::get_policy),
        op::<s::__path_delete_policy, _, _>(s::delete_policy),
        op::<s::__path_update_policy, _, _>(s::update_policy),
        op::<s::__path_activate_policy, _, _>(s::activate_policy),
        op::<s::__path_deactivate_policy, _, _>(s::deactivate_policy),
        op::<s::__path_rules, _, _>(s::rules),
        op::<s::__path_create_rule, _, _>(s::create_rule),
        op::<s::__path_get_rule, _, _>(s::get_rule),
        op::<s::__path_delete_rule, _, _>(s::delete_rule),
        op::<s::__path_update_rule, _, _>(s::update_rule),
        op::<s::__path_activate_rule, _, _>(s::activate_rule),
        op::<s::__path_deactivate_rule, _, _>(s::deactivate_rule),
        op::<s::__path_keys, _, _>(s::keys),
        op::<s::__path_key_rotate, _, _>(s::key_rotate),
        op::<p::__path_preview, _, _>(p::preview),
        op::<l::__path_list, _, _>(l::list),
        op::<d::__path_get, _, _>(d::get),
        op::<t::__path_list, _, _>(t::list),
        op::<t::__path_create, _, _>(t::create),
        op::<t::__path_get, _, _>(t::get),
        op::<t::__path_revoke, _, _>(t::revoke),
        op::<b::__path_list, _, _>(b::list),
        op::<b::__path_get, _, _>(b::get),
        op::<b::__path_replace, _, _>(b::replace),
        op::<b::__path_themes, _, _>(b::themes),
        op::<b::__path_theme, _, _>(b::theme),
        op::<b::__path_replace_theme, _, _>(b::replace_theme),
        upload(op::<b::__path_upload_logo, _, _>(b::upload_logo)),
        op::<b::__path_delete_logo, _, _>(b::delete_logo),
        upload(op::<b::__path_upload_favicon, _, _>(b::upload_favicon)),
        op::<b::__path_delete_favicon, _, _>(b::delete_favicon),
        // okta-authn: the classic Authentication API and the Sessions API.
        op::<n::__path_authenticate, _, _>(n::authenticate),
        op::<x::__path_get_me, _, _>(x::get_me),
        op::<x::__path_close_me, _, _>(x::close_me),
        op::<x::__path_refresh_me, _, _>(x::refresh_me),
        op::<x::__path_get, _, _>(x::get),
        op::<x::__path_close, _, _>(x::close),
        op::<x::__path_refresh, _, _>(x::refresh),
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
