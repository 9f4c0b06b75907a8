//! The admin console (issue 17): `GET /admin` and every `GET /admin/*` but the assets
//! answer the one shell page (`templates/admin.html`), so that deep links, reloads and
//! the OpenID Connect callback `/admin/callback` all land on it; the console's script
//! routes by the path (history API). `/admin/assets/*` serves the console's files,
//! embedded in the binary from `assets/admin/` (no Node toolchain to build or run).
//!
//! The console is a public client of the org server (`gatehouse-console`, code flow
//! with PKCE S256) and calls the management API with `Authorization: Bearer`, never
//! with a cookie: a cross-site request carries no token, so it cannot act.
//!
//! The page keeps the pages' strict CSP (nothing inline, nothing from elsewhere, no
//! framing) and adds only `connect-src 'self'`, which the script's `fetch` to the
//! token endpoint and the API needs.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::admin::console::CONSOLE_CLIENT_ID;
use crate::http::{SharedState, pages};

/// The pages' policy and `connect-src 'self'` for the script's requests.
pub const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
                               img-src 'self'; connect-src 'self'; form-action 'self'; \
                               frame-ancestors 'none'; base-uri 'none'";

/// The console's routes.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/admin", get(shell))
        .route("/admin/", get(shell))
        .route("/admin/assets/{*file}", get(asset))
        .route("/admin/{*rest}", get(shell))
}

/// The shell: the stylesheet, the script, and the public URL the script signs in
/// against (the org server's issuer).
#[derive(Template)]
#[template(path = "admin.html")]
struct Shell<'a> {
    base: &'a str,
    client_id: &'a str,
}

async fn shell(State(state): State<SharedState>) -> Response {
    let base = state.config.base_url();
    let mut response = pages::render(
        StatusCode::OK,
        &Shell {
            base: &base,
            client_id: CONSOLE_CLIENT_ID,
        },
    );
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONSOLE_CSP),
    );
    response
}

/// Every file of the console, by its path under `/admin/assets/`.
const FILES: &[(&str, &str)] = &[
    (
        "console.css",
        include_str!("../../../assets/admin/console.css"),
    ),
    (
        "console.js",
        include_str!("../../../assets/admin/console.js"),
    ),
    ("kit.js", include_str!("../../../assets/admin/kit.js")),
    ("chart.js", include_str!("../../../assets/admin/chart.js")),
    (
        "pages/index.js",
        include_str!("../../../assets/admin/pages/index.js"),
    ),
    (
        "pages/dashboard.js",
        include_str!("../../../assets/admin/pages/dashboard.js"),
    ),
    (
        "pages/users.js",
        include_str!("../../../assets/admin/pages/users.js"),
    ),
    (
        "pages/user.js",
        include_str!("../../../assets/admin/pages/user.js"),
    ),
    (
        "pages/groups.js",
        include_str!("../../../assets/admin/pages/groups.js"),
    ),
    (
        "pages/group.js",
        include_str!("../../../assets/admin/pages/group.js"),
    ),
    (
        "pages/log.js",
        include_str!("../../../assets/admin/pages/log.js"),
    ),
    (
        "pages/access.js",
        include_str!("../../../assets/admin/pages/access.js"),
    ),
    (
        "pages/apps.js",
        include_str!("../../../assets/admin/pages/apps.js"),
    ),
    (
        "pages/app.js",
        include_str!("../../../assets/admin/pages/app.js"),
    ),
    (
        "pages/servers.js",
        include_str!("../../../assets/admin/pages/servers.js"),
    ),
    (
        "pages/server.js",
        include_str!("../../../assets/admin/pages/server.js"),
    ),
    (
        "pages/server_scopes.js",
        include_str!("../../../assets/admin/pages/server_scopes.js"),
    ),
    (
        "pages/server_policies.js",
        include_str!("../../../assets/admin/pages/server_policies.js"),
    ),
    (
        "pages/server_preview.js",
        include_str!("../../../assets/admin/pages/server_preview.js"),
    ),
    (
        "pages/tokens.js",
        include_str!("../../../assets/admin/pages/tokens.js"),
    ),
    (
        "pages/branding.js",
        include_str!("../../../assets/admin/pages/branding.js"),
    ),
    (
        "manage.css",
        include_str!("../../../assets/admin/manage.css"),
    ),
];

async fn asset(Path(file): Path<String>) -> Response {
    let Some((_, body)) = FILES.iter().find(|(name, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let content_type = if file.ends_with(".css") {
        "text/css; charset=utf-8"
    } else {
        "text/javascript; charset=utf-8"
    };
    let mut response = (*body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The files change with the binary and are named without a version: a browser
    // asks again (and gets a 304-free fresh copy) rather than run an old script
    // against a new API.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
