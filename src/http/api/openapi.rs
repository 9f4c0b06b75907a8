//! The OpenAPI 3.1 document of the management API at `/api/v1/openapi.json`, built
//! from the same list of operations as the router, so a route cannot go undocumented.

use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

use super::{apps, authorization_servers as servers, error, groups, operations, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse management API",
        description = "Okta's management API shapes: users, groups, apps, authorization servers, the System Log and API tokens. \
                       Authenticate with `Authorization: SSWS {token}` (`gatehouse api-tokens create`)."
    ),
    components(schemas(
        error::ErrorBody,
        error::ErrorCause,
        users::UserBody,
        users::UserCredentials,
        users::PasswordValue,
        users::ChangePasswordBody,
        groups::GroupBody,
        groups::GroupProfile,
        apps::AppBody,
        apps::AppCredentials,
        apps::OAuthClientCredentials,
        apps::AppSettings,
        apps::OAuthClientSettings,
        apps::RefreshTokenSettings,
        apps::AppUserBody,
        apps::AppGroupBody,
        servers::ServerBody,
        servers::ScopeBody,
        servers::ClaimBody,
        servers::ClaimConditions,
        servers::PolicyBody,
        servers::PolicyConditions,
        servers::Include,
        servers::RuleBody,
        servers::RuleConditions,
        servers::People,
        servers::RuleActions,
        servers::TokenActions,
    ))
)]
struct ApiDoc;

/// The document: every operation of `operations()`, and the `ssws` security scheme.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for op in operations() {
        doc.paths
            .add_path_operation(&op.path, op.methods, op.operation);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "ssws",
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "Authorization",
            "`SSWS {token}`, a token from `gatehouse api-tokens create`",
        ))),
    );
    doc
}

pub async fn get() -> Response {
    match document().to_json() {
        Ok(text) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            text,
        )
            .into_response(),
        Err(e) => error::ApiError::internal(&e).into_response(),
    }
}
