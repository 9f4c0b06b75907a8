//! Headers every response gets, and those every HTML page gets: no framing (CSP
//! `frame-ancestors 'none'` and `X-Frame-Options: DENY`), no caching, no referrer.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Every page's policy: nothing inline, nothing from elsewhere, no framing, and forms
/// go only to this server; scripts may fetch from this server only (the passkey
/// ceremonies' options). A page whose form is answered with a redirect to the
/// client gets `allow_form_target` instead.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; \
                        form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Lets this page's forms lead to `target`, the request's redirect URI, already
/// checked against the client's registration (exact match): `form-action 'self'`
/// and that URI's origin. Chromium applies `form-action` to every redirect that
/// follows a form submission, so with `'self'` alone the 303 from `POST /login` (or
/// `POST /consent`) to the client is blocked and the user is left on the page. Only
/// the one origin is added, not `*`: markup injected into the page still cannot send
/// the password to any other origin. Leaves the default policy when `target` has no
/// origin that can be written as a source.
pub fn allow_form_target(response: &mut Response, target: &str) {
    if let Some(source) = form_source(target) {
        let policy = PAGE_CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {source}"),
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            response
                .headers_mut()
                .insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
}

/// `allow_form_target` for several targets: the sign-in page with IdP discovery, whose
/// form may end at the app or, by a routing rule, at an identity provider.
pub fn allow_form_targets(response: &mut Response, targets: &[&str]) {
    let mut sources: Vec<String> = targets.iter().filter_map(|t| form_source(t)).collect();
    sources.sort();
    sources.dedup();
    if sources.is_empty() {
        return;
    }
    let policy = PAGE_CSP.replace(
        "form-action 'self'",
        &format!("form-action 'self' {}", sources.join(" ")),
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Lets this page frame the origins `sources` (`frame-src`; CSP source expressions
/// from `form_source`): the signed-out page's front-channel logout iframes. Nothing
/// else changes: `frame-ancestors 'none'` still keeps the page itself out of frames.
pub fn allow_frames(response: &mut Response, sources: &[String]) {
    let policy = format!("{PAGE_CSP}; frame-src {}", sources.join(" "));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The CSP source expression that matches `uri`: its origin for http(s), its scheme
/// for a native app's private-use scheme (RFC 8252 §7.1). `None` for anything else,
/// and for the schemes registration refuses (they run or embed content), should one
/// ever get this far.
pub fn form_source(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    let source = match url.scheme() {
        "http" | "https" => url.origin().ascii_serialization(),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "filesystem" => {
            return None;
        }
        scheme => format!("{scheme}:"),
    };
    // An origin or a scheme the url crate produced has none of CSP's separators; this
    // stays true if that ever changes.
    let safe = |c: char| c.is_ascii_alphanumeric() || "+-.:/[]".contains(c);
    (source != "null" && source.chars().all(safe)).then_some(source)
}

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            );
        }
    }
    response
}

/// Gives every request an id (echoed as `X-Request-Id`, attached to every log line the
/// request causes) and logs one line when it ends: method, path, status, duration.
/// Never the query string or body: they carry codes, state and credentials.
pub async fn request_log(request: Request, next: Next) -> Response {
    use tracing::Instrument;
    let id = crate::crypto::okta_id("req");
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let span = tracing::info_span!("request", id = %id);
    let started = std::time::Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            method = %method,
            path = %path,
            status,
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "request"
        )
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Counts every request for `/metrics` by its route template (bounded), never its path.
pub async fn metrics(
    State(state): State<crate::http::SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(crate::metrics::UNMATCHED, |p| p.as_str())
        .to_string();
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state.metrics.request(
        &endpoint,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Runs the request with each poll's SQLite reads in one read transaction
/// (`store::sqlite::one_snapshot_per_poll`): one lock and one emptied cache per poll,
/// not per read.
pub async fn read_snapshot(request: Request, next: Next) -> Response {
    crate::store::sqlite::one_snapshot_per_poll(next.run(request)).await
}

#[cfg(test)]
mod tests {
    use super::form_source;

    #[test]
    fn a_redirect_uri_becomes_its_origin_or_scheme() {
        let cases = [
            (
                "https://app.example.com/callback?x=1",
                Some("https://app.example.com"),
            ),
            ("http://127.0.0.1:3000/cb", Some("http://127.0.0.1:3000")),
            ("http://localhost:3000/cb", Some("http://localhost:3000")),
            (
                "https://app.example.com:443/cb",
                Some("https://app.example.com"),
            ),
            ("http://[::1]:8080/x", Some("http://[::1]:8080")),
            (
                "https://bücher.example/cb",
                Some("https://xn--bcher-kva.example"),
            ),
            ("com.example.app:/callback", Some("com.example.app:")),
            ("not a uri", None),
            ("data:text/html,hi", None),
            ("javascript:alert(1)", None),
        ];
        for (uri, want) in cases {
            assert_eq!(form_source(uri).as_deref(), want, "{uri}");
        }
    }
}
