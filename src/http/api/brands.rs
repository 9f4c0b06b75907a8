//! `/api/v1/brands`: Okta's Brands and Themes API for the one brand Gatehouse has — its
//! name, its theme's colours, and the logo and favicon uploads (multipart, as Okta's).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, Caller};
use crate::admin::brands::{self, BRAND_ID, BrandChange, THEME_ID};
use crate::http::SharedState;
use crate::store::ImageKind;

/// The largest upload read: the image cap and room for the multipart framing.
pub const MAX_UPLOAD_BYTES: usize = brands::MAX_IMAGE_BYTES + 8 * 1024;

fn brand_id(id: &str) -> Result<(), ApiError> {
    if id == BRAND_ID {
        Ok(())
    } else {
        Err(ApiError::not_found(&format!("brand {id}")))
    }
}

fn theme_ids(brand: &str, theme: &str) -> Result<(), ApiError> {
    brand_id(brand)?;
    if theme == THEME_ID {
        Ok(())
    } else {
        Err(ApiError::not_found(&format!("theme {theme}")))
    }
}

/// The brands: Gatehouse has one, the default.
#[utoipa::path(get, path = "/api/v1/brands", tag = "brands", operation_id = "listBrands",
    responses((status = 200, description = "The brands", body = [Object]), (status = 401, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn list(State(state): State<SharedState>, _: Caller) -> Result<Response, ApiError> {
    let brand = brands::get(&state.store).await?;
    Ok(Json(vec![brands::brand_json(&brand, &state.config.base_url())]).into_response())
}

#[utoipa::path(get, path = "/api/v1/brands/{brandId}", tag = "brands", operation_id = "getBrand",
    params(("brandId" = String, Path)),
    responses((status = 200, description = "The brand", body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn get(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    brand_id(&id)?;
    let brand = brands::get(&state.store).await?;
    Ok(Json(brands::brand_json(&brand, &state.config.base_url())).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct BrandBody {
    /// The org's name, shown on every hosted page.
    pub name: Option<String>,
}

/// Rename the brand (the org name on the hosted pages).
#[utoipa::path(put, path = "/api/v1/brands/{brandId}", tag = "brands", operation_id = "replaceBrand",
    params(("brandId" = String, Path)), request_body = BrandBody,
    responses((status = 200, description = "The brand", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn replace(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BrandBody>,
) -> Result<Response, ApiError> {
    brand_id(&id)?;
    let change = BrandChange {
        name: body.name,
        ..BrandChange::default()
    };
    let now = state.clock.now();
    let brand = brands::update(&state.store, &actor, change, now).await?;
    state.brand.set(&brand, now);
    Ok(Json(brands::brand_json(&brand, &state.config.base_url())).into_response())
}

#[utoipa::path(get, path = "/api/v1/brands/{brandId}/themes", tag = "brands", operation_id = "listBrandThemes",
    params(("brandId" = String, Path)),
    responses((status = 200, description = "The themes", body = [Object]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn themes(
    State(state): State<SharedState>,
    _: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    brand_id(&id)?;
    let brand = brands::get(&state.store).await?;
    Ok(Json(vec![brands::theme_json(&brand, &state.config.base_url())]).into_response())
}

#[utoipa::path(get, path = "/api/v1/brands/{brandId}/themes/{themeId}", tag = "brands", operation_id = "getBrandTheme",
    params(("brandId" = String, Path), ("themeId" = String, Path)),
    responses((status = 200, description = "The theme", body = Object), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn theme(
    State(state): State<SharedState>,
    _: Caller,
    Path((brand, theme)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    theme_ids(&brand, &theme)?;
    let brand = brands::get(&state.store).await?;
    Ok(Json(brands::theme_json(&brand, &state.config.base_url())).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ThemeBody {
    /// The buttons' colour, `#rrggbb`.
    #[serde(rename = "primaryColorHex")]
    pub primary_color_hex: String,
    /// The secondary buttons' colour, `#rrggbb`.
    #[serde(rename = "secondaryColorHex")]
    pub secondary_color_hex: String,
}

/// Set the theme's colours (Okta requires both; the touch-point variants are accepted and
/// Gatehouse has only its own).
#[utoipa::path(put, path = "/api/v1/brands/{brandId}/themes/{themeId}", tag = "brands", operation_id = "replaceBrandTheme",
    params(("brandId" = String, Path), ("themeId" = String, Path)), request_body = ThemeBody,
    responses((status = 200, description = "The theme", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn replace_theme(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((brand, theme)): Path<(String, String)>,
    ApiJson(body): ApiJson<ThemeBody>,
) -> Result<Response, ApiError> {
    theme_ids(&brand, &theme)?;
    let change = BrandChange {
        primary_color: Some(body.primary_color_hex),
        secondary_color: Some(body.secondary_color_hex),
        ..BrandChange::default()
    };
    let now = state.clock.now();
    let brand = brands::update(&state.store, &actor, change, now).await?;
    state.brand.set(&brand, now);
    Ok(Json(brands::theme_json(&brand, &state.config.base_url())).into_response())
}

/// Removes an image; the pages fall back to Gatehouse's own.
async fn remove(
    state: &SharedState,
    actor: crate::admin::Actor,
    kind: ImageKind,
    brand: &str,
    theme: &str,
) -> Result<StatusCode, ApiError> {
    theme_ids(brand, theme)?;
    let now = state.clock.now();
    let brand = brands::set_image(&state.store, &actor, kind, None, now).await?;
    state.brand.set(&brand, now);
    Ok(StatusCode::NO_CONTENT)
}

async fn upload(
    state: &SharedState,
    actor: crate::admin::Actor,
    kind: ImageKind,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let file = multipart_file(content_type, body).ok_or_else(|| {
        ApiError::invalid(
            "file",
            "send the image as multipart/form-data in a part named file",
        )
    })?;
    let now = state.clock.now();
    let brand = brands::set_image(&state.store, &actor, kind, Some(file.to_vec()), now).await?;
    state.brand.set(&brand, now);
    let theme = brands::theme_json(&brand, &state.config.base_url());
    // Okta's documented answers: 200 for a logo, 201 for a favicon.
    let status = match kind {
        ImageKind::Logo => StatusCode::OK,
        ImageKind::Favicon => StatusCode::CREATED,
    };
    Ok((
        status,
        Json(serde_json::json!({ "url": theme[kind.field()] })),
    )
        .into_response())
}

/// Upload the logo: a PNG, JPEG or GIF of at most 100 kB, in a multipart part named `file`.
#[utoipa::path(post, path = "/api/v1/brands/{brandId}/themes/{themeId}/logo", tag = "brands", operation_id = "uploadBrandThemeLogo",
    params(("brandId" = String, Path), ("themeId" = String, Path)),
    responses((status = 200, description = "The logo's URL", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn upload_logo(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((brand, theme)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    theme_ids(&brand, &theme)?;
    upload(&state, actor, ImageKind::Logo, &headers, &body).await
}

/// Remove the logo: the pages show the org name alone.
#[utoipa::path(delete, path = "/api/v1/brands/{brandId}/themes/{themeId}/logo", tag = "brands", operation_id = "deleteBrandThemeLogo",
    params(("brandId" = String, Path), ("themeId" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn delete_logo(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((brand, theme)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove(&state, actor, ImageKind::Logo, &brand, &theme).await
}

/// Upload the favicon: a PNG, GIF or ICO of at most 100 kB, in a multipart part named `file`.
#[utoipa::path(post, path = "/api/v1/brands/{brandId}/themes/{themeId}/favicon", tag = "brands", operation_id = "uploadBrandThemeFavicon",
    params(("brandId" = String, Path), ("themeId" = String, Path)),
    responses((status = 201, description = "The favicon's URL", body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn upload_favicon(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((brand, theme)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    theme_ids(&brand, &theme)?;
    upload(&state, actor, ImageKind::Favicon, &headers, &body).await
}

/// Remove the favicon: the pages use Gatehouse's own.
#[utoipa::path(delete, path = "/api/v1/brands/{brandId}/themes/{themeId}/favicon", tag = "brands", operation_id = "deleteBrandThemeFavicon",
    params(("brandId" = String, Path), ("themeId" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("ssws" = [])))]
pub async fn delete_favicon(
    State(state): State<SharedState>,
    Caller(actor): Caller,
    Path((brand, theme)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove(&state, actor, ImageKind::Favicon, &brand, &theme).await
}

/// The content of the part named `file` in a `multipart/form-data` body (RFC 7578): the
/// body is split at `--boundary` lines; each part is headers, a blank line, content.
pub fn multipart_file<'a>(content_type: &str, body: &'a [u8]) -> Option<&'a [u8]> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params.split(';').find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"'))
    })?;
    if boundary.is_empty() || boundary.len() > 70 {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut rest = body;
    // The preamble, up to the first delimiter.
    let start = find(rest, delimiter)?;
    rest = &rest[start + delimiter.len()..];
    loop {
        if rest.starts_with(b"--") {
            return None; // the closing delimiter: no part named file
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let headers_end = find(rest, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
        let content = &rest[headers_end + 4..];
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(delimiter);
        let end = find(content, &closing)?;
        let is_file = headers.lines().any(|line| {
            let lower = line.to_ascii_lowercase();
            lower.starts_with("content-disposition:")
                && lower.contains("form-data")
                && (lower.contains("name=\"file\"") || lower.contains("name=file"))
        });
        if is_file {
            return Some(&content[..end]);
        }
        rest = &content[end + closing.len()..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::multipart_file;

    #[test]
    fn reads_the_part_named_file() {
        let body = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nnot this\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\nDATA\r\n--XyZ--\r\n";
        let file = multipart_file("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(file, b"\x89PNG\r\n\x1a\nDATA");
        assert_eq!(
            multipart_file("multipart/form-data; boundary=\"XyZ\"", body).unwrap(),
            file
        );
    }

    #[test]
    fn refuses_what_is_not_a_file_part() {
        let body =
            b"--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nx\r\n--XyZ--\r\n";
        assert!(multipart_file("multipart/form-data; boundary=XyZ", body).is_none());
        assert!(multipart_file("application/json", body).is_none());
        assert!(multipart_file("multipart/form-data; boundary=Other", body).is_none());
        assert!(multipart_file("multipart/form-data; boundary=XyZ", b"--XyZ\r\nno end").is_none());
    }
}
