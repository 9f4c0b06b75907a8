//! The branding the hosted pages load from Gatehouse itself (so their CSP keeps
//! `style-src 'self'` and `img-src 'self'`): the theme's colours as a stylesheet, and the
//! uploaded logo and favicon. The pages name a new URL after every change (`?v=`), so
//! these may be cached for long.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::admin::brands;
use crate::store::ImageKind;

use crate::http::SharedState;

/// `/brand/theme.css`: custom properties that `gatehouse.css` reads.
pub async fn theme_css(State(state): State<SharedState>) -> Response {
    let Ok(brand) = brands::get(&state.store).await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let mut response = brands::stylesheet(&brand).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

pub async fn logo(state: State<SharedState>) -> Response {
    image(state, ImageKind::Logo).await
}

pub async fn favicon(state: State<SharedState>) -> Response {
    image(state, ImageKind::Favicon).await
}

/// An uploaded image, with the media type sniffed at upload; `nosniff` (set on every
/// response) keeps a browser from reading it as anything else.
async fn image(State(state): State<SharedState>, kind: ImageKind) -> Response {
    let image = match brands::image(&state.store, kind).await {
        Ok(Some(image)) => image,
        Ok(None) if kind == ImageKind::Favicon => {
            return StatusCode::NOT_FOUND.into_response();
        }
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(_) => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
    };
    let Ok(content_type) = HeaderValue::from_str(&image.content_type) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut response = image.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    response
}
