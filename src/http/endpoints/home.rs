//! The pages a person opens first: `/`, the home page (what this server is, its
//! issuers and their discovery documents, and who is signed in, with a sign-out
//! button), and `/reference`, the management API's reference rendered on the server
//! from the same OpenAPI document as `/api/v1/openapi.json`. Both are plain HTML with
//! the pages' CSP: no script at all. `routes` also carries the demo's pages
//! (`endpoints::demo`) so that the application's router adds them in one line.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::http::{AppState, SharedState};
use crate::http::{cookies, pages};
use crate::identity::session;
use crate::store::{AuthServer, Status, StoreError, User};

/// The routes of the home page, the API reference, the demo and their stylesheet.
pub fn routes() -> Router<SharedState> {
    Router::new()
        .route("/", get(home))
        .route("/reference", get(reference))
        .route("/assets/pages.css", get(stylesheet))
        .route("/demo", get(super::demo::start_page))
        .route("/demo/start", get(super::demo::start))
        .route(super::demo::CALLBACK_PATH, get(super::demo::callback))
}

/// The wide layout of these pages (the sign-in card's stylesheet is for one narrow
/// form); served by this module so that the pages' CSP (`style-src 'self'`) holds.
const PAGES_CSS: &str = include_str!("../../../assets/pages.css");

async fn stylesheet() -> Response {
    let mut response = PAGES_CSS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// One authorization server as the home page lists it.
pub struct Issuer {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub discovery: String,
    pub keys: String,
}

/// The signed-in person, and the double-submit token their sign-out form repeats.
pub struct SignedIn {
    pub name: String,
    pub login: String,
    pub csrf: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    issuers: &'a [Issuer],
    signed_in: Option<SignedIn>,
}

fn issuer_of(state: &AppState, server: &AuthServer) -> Issuer {
    let issuer = state.issuer(server);
    Issuer {
        id: server.id.clone(),
        name: server.name.clone(),
        discovery: format!("{issuer}/.well-known/openid-configuration"),
        keys: format!("{}/keys", state.endpoint_base(server)),
        issuer,
    }
}

async fn home(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    let mut servers = match state.store.list_servers().await {
        Ok(servers) => servers,
        Err(e) => return pages::unavailable(&e),
    };
    servers.retain(|s| s.status == Status::Active);
    // The org server first, then `default`, then the others by name.
    servers.sort_by_key(|s| {
        (
            !s.is_org(),
            s.id != crate::store::DEFAULT_SERVER_ID,
            s.name.clone(),
        )
    });
    let issuers: Vec<Issuer> = servers.iter().map(|s| issuer_of(&state, s)).collect();
    let user = match signed_in_user(&state, &headers).await {
        Ok(user) => user,
        Err(e) => return pages::unavailable(&e),
    };
    let signed_in = user.map(|user| {
        let name = [user.first_name.as_deref(), user.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        SignedIn {
            name: if name.is_empty() {
                user.login.clone()
            } else {
                name
            },
            login: user.login,
            csrf: cookies::csrf_token(&headers),
        }
    });
    let csrf = signed_in.as_ref().map(|s| s.csrf.clone());
    let mut response = pages::render(
        StatusCode::OK,
        &HomePage {
            issuers: &issuers,
            signed_in,
        },
    );
    if let Some(csrf) = csrf {
        cookies::append(
            &mut response,
            cookies::set(cookies::CSRF, &csrf, state.config.secure_cookies(), None),
        );
    }
    response
}

/// The active user whose live session this browser's cookie names, if any.
async fn signed_in_user(state: &AppState, headers: &HeaderMap) -> Result<Option<User>, StoreError> {
    let Some(cookie) = cookies::get(headers, cookies::SESSION) else {
        return Ok(None);
    };
    let now = state.clock.now();
    let Some(session) = state
        .store
        .live_session(&session::id_hash(&cookie), now)
        .await?
    else {
        return Ok(None);
    };
    Ok(state
        .store
        .get_user(&session.user_id)
        .await?
        .filter(User::is_active))
}

/// One operation of the reference.
pub struct OperationView {
    pub method: String,
    pub path: String,
    pub id: String,
    pub summary: String,
    pub description: String,
    pub params: Vec<ParamView>,
    pub body: Option<String>,
    pub responses: Vec<ResponseView>,
}

pub struct ParamView {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub kind: String,
    pub description: String,
}

pub struct ResponseView {
    pub status: String,
    pub description: String,
    pub schema: String,
}

pub struct TagView {
    pub name: String,
    pub description: String,
    pub operations: Vec<OperationView>,
}

pub struct SchemaView {
    pub name: String,
    pub description: String,
    pub properties: Vec<ParamView>,
}

#[derive(Template)]
#[template(path = "reference.html")]
struct ReferencePage<'a> {
    title: &'a str,
    description: &'a str,
    tags: &'a [TagView],
    schemas: &'a [SchemaView],
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A schema in a few words: a `$ref`'s name, `[T]` for an array, else its type.
fn schema_name(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    if let Some(items) = schema.get("items") {
        return format!("[{}]", schema_name(items));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            let names: Vec<String> = list
                .iter()
                .map(schema_name)
                .filter(|n| n != "null")
                .collect();
            return names.join(" | ");
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".to_string(),
    }
}

fn json_schema(content: Option<&Value>) -> String {
    content
        .and_then(|c| c.get("application/json"))
        .and_then(|m| m.get("schema"))
        .map(schema_name)
        .unwrap_or_default()
}

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// The reference's view of the document: operations grouped by tag in the order the
/// tags are declared, each path's methods in `METHODS` order; then the schemas.
pub fn reference_views(doc: &Value) -> (Vec<TagView>, Vec<SchemaView>) {
    let mut tags: Vec<TagView> = doc["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| TagView {
            name: text(t, "name"),
            description: text(t, "description"),
            operations: Vec::new(),
        })
        .collect();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(*method) else {
                    continue;
                };
                let params = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| ParamView {
                        name: text(p, "name"),
                        location: text(p, "in"),
                        required: p["required"].as_bool().unwrap_or(false),
                        kind: p.get("schema").map(schema_name).unwrap_or_default(),
                        description: text(p, "description"),
                    })
                    .collect();
                let body = op
                    .get("requestBody")
                    .map(|b| json_schema(b.get("content")))
                    .filter(|s| !s.is_empty());
                let responses = op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, r)| ResponseView {
                        status: status.clone(),
                        description: text(r, "description"),
                        schema: json_schema(r.get("content")),
                    })
                    .collect();
                let view = OperationView {
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    id: text(op, "operationId"),
                    summary: text(op, "summary"),
                    description: text(op, "description"),
                    params,
                    body,
                    responses,
                };
                let tag = op["tags"][0].as_str().unwrap_or_default();
                match tags.iter_mut().find(|t| t.name == tag) {
                    Some(t) => t.operations.push(view),
                    None => tags.push(TagView {
                        name: tag.to_string(),
                        description: String::new(),
                        operations: vec![view],
                    }),
                }
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| {
            let required: Vec<&str> = s["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            SchemaView {
                name: name.clone(),
                description: text(s, "description"),
                properties: s["properties"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(p, v)| ParamView {
                        name: p.clone(),
                        location: String::new(),
                        required: required.contains(&p.as_str()),
                        kind: schema_name(v),
                        description: text(v, "description"),
                    })
                    .collect(),
            }
        })
        .collect();
    (tags, schemas)
}

async fn reference() -> Response {
    let doc = match serde_json::to_value(crate::http::api::openapi::document()) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document did not serialise");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let (tags, schemas) = reference_views(&doc);
    pages::render(
        StatusCode::OK,
        &ReferencePage {
            title: doc["info"]["title"].as_str().unwrap_or("API reference"),
            description: doc["info"]["description"].as_str().unwrap_or_default(),
            tags: &tags,
            schemas: &schemas,
        },
    )
}
