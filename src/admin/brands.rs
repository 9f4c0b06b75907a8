//! Branding of the hosted pages, in the shape of Okta's Brands API: one brand (the org's
//! name and its links) with one theme (logo, favicon, primary and secondary colours).
//! The sign-in, consent, logout, error and home pages show the name and the logo and
//! take their button colour from the theme. Images are served by Gatehouse itself, so
//! the pages' Content-Security-Policy keeps `img-src 'self'`.

use serde_json::{Value, json};

use super::syslog::{self, Actor, Event, Target};
use super::{AdminError, check_text};
use crate::clock::UnixTime;
use crate::store::{Brand, BrandImage, DynStore, ImageKind};

/// Okta's ids for the one brand and its theme: fixed, because there is one of each.
pub const BRAND_ID: &str = "bnd0default0000000000";
pub const THEME_ID: &str = "thd0default0000000000";

/// Okta's default colours (its "Okta blue" primary on white).
pub const DEFAULT_PRIMARY: &str = "#1662dd";
pub const DEFAULT_SECONDARY: &str = "#ebebed";
pub const DEFAULT_NAME: &str = "Gatehouse";

/// The largest logo or favicon accepted, as Okta's (100 kB).
pub const MAX_IMAGE_BYTES: usize = 100 * 1024;

/// The brand as it stands, Okta's defaults where nothing was set.
pub async fn get(store: &DynStore) -> Result<Brand, AdminError> {
    Ok(store.get_brand().await?.unwrap_or_else(default_brand))
}

pub fn default_brand() -> Brand {
    Brand {
        name: DEFAULT_NAME.to_string(),
        primary_color: DEFAULT_PRIMARY.to_string(),
        secondary_color: DEFAULT_SECONDARY.to_string(),
        logo_version: None,
        favicon_version: None,
        updated_at: 0,
        version: 0,
    }
}

/// What an admin may change on the brand (`PUT /api/v1/brands/{id}`, `gatehouse brand set`).
#[derive(Debug, Default, Clone)]
pub struct BrandChange {
    pub name: Option<String>,
    pub primary_color: Option<String>,
    pub secondary_color: Option<String>,
}

pub async fn update(
    store: &DynStore,
    actor: &Actor,
    change: BrandChange,
    now: UnixTime,
) -> Result<Brand, AdminError> {
    let name = match change.name {
        Some(name) => {
            check_text("name", &name, 100)?;
            Some(name.trim().to_string())
        }
        None => None,
    };
    let primary = change
        .primary_color
        .map(|c| parse_color("primaryColorHex", &c))
        .transpose()?;
    let secondary = change
        .secondary_color
        .map(|c| parse_color("secondaryColorHex", &c))
        .transpose()?;
    modify(store, actor, now, |brand| {
        if let Some(name) = &name {
            brand.name.clone_from(name);
        }
        if let Some(color) = &primary {
            brand.primary_color.clone_from(color);
        }
        if let Some(color) = &secondary {
            brand.secondary_color.clone_from(color);
        }
    })
    .await
}

/// Sets (or with `None`, removes) the logo or the favicon.
pub async fn set_image(
    store: &DynStore,
    actor: &Actor,
    kind: ImageKind,
    bytes: Option<Vec<u8>>,
    now: UnixTime,
) -> Result<Brand, AdminError> {
    let image = match bytes {
        Some(bytes) => Some(BrandImage {
            content_type: image_type(kind.field(), &bytes)?.to_string(),
            bytes,
        }),
        None => None,
    };
    store.put_brand_image(kind, image.as_ref()).await?;
    let version = image.as_ref().map(|_| now);
    modify(store, actor, now, |brand| match kind {
        ImageKind::Logo => brand.logo_version = version,
        ImageKind::Favicon => brand.favicon_version = version,
    })
    .await
}

/// Read, change, write if nobody wrote in between (else read again), and log it.
async fn modify(
    store: &DynStore,
    actor: &Actor,
    now: UnixTime,
    change: impl Fn(&mut Brand),
) -> Result<Brand, AdminError> {
    for _ in 0..5 {
        let before = get(store).await?;
        let mut brand = before.clone();
        change(&mut brand);
        brand.updated_at = now;
        if store.put_brand(&brand).await? {
            brand.version += 1;
            record(store, actor, &before, &brand, now).await;
            return Ok(brand);
        }
    }
    Err(AdminError::Conflict(
        "the brand kept changing while it was written; try again".into(),
    ))
}

async fn record(store: &DynStore, actor: &Actor, before: &Brand, after: &Brand, now: UnixTime) {
    let target = Target::new(BRAND_ID, "Brand", &after.name)
        .changed(Some(record_json(before)), Some(record_json(after)));
    let event = Event::success("brand.update", "Update brand", vec![target]);
    syslog::record(store, actor, event, now).await;
}

/// What the System Log keeps of a change: the settings, not the image bytes.
fn record_json(brand: &Brand) -> Value {
    json!({
        "name": brand.name,
        "primaryColorHex": brand.primary_color,
        "secondaryColorHex": brand.secondary_color,
        "logo": brand.logo_version.is_some(),
        "favicon": brand.favicon_version.is_some(),
    })
}

/// `#rrggbb` (or `#rgb`), as Okta takes it, in lower case and six digits.
pub fn parse_color(field: &'static str, value: &str) -> Result<String, AdminError> {
    let hex = value.trim().strip_prefix('#').unwrap_or("");
    let six = match hex.len() {
        3 => hex.chars().flat_map(|c| [c, c]).collect::<String>(),
        6 => hex.to_string(),
        _ => String::new(),
    };
    if six.len() != 6 || !six.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(AdminError::invalid(
            field,
            "must be a colour as #rrggbb, e.g. #1662dd",
        ));
    }
    Ok(format!("#{}", six.to_ascii_lowercase()))
}

/// The image's media type, from its first bytes (never from what the uploader says):
/// PNG, JPEG, GIF or ICO. SVG is refused: it can carry script, and a logo is served
/// from this origin.
pub fn image_type(field: &'static str, bytes: &[u8]) -> Result<&'static str, AdminError> {
    if bytes.is_empty() {
        return Err(AdminError::invalid(field, "the file is empty"));
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(AdminError::invalid(
            field,
            format!("must be at most {MAX_IMAGE_BYTES} bytes"),
        ));
    }
    let kind = if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        "image/gif"
    } else if bytes.starts_with(&[0, 0, 1, 0]) {
        "image/x-icon"
    } else {
        return Err(AdminError::invalid(
            field,
            "must be a PNG, JPEG, GIF or ICO image",
        ));
    };
    Ok(kind)
}

/// Relative luminance, WCAG 2.x.
fn luminance(hex: &str) -> f64 {
    let channel = |i: usize| {
        let v = f64::from(u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).unwrap_or(0)) / 255.0;
        if v <= 0.039_28 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2)
}

/// WCAG contrast ratio between two `#rrggbb` colours (1 to 21).
pub fn contrast(a: &str, b: &str) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

/// The text colour for a button of `background`: white or near-black, whichever
/// contrasts more (Okta's `primaryColorContrastHex`).
pub fn contrast_text(background: &str) -> &'static str {
    if contrast(background, "#ffffff") >= contrast(background, "#000000") {
        "#ffffff"
    } else {
        "#000000"
    }
}

/// The stylesheet that themes the pages: custom properties read by `gatehouse.css`.
/// The colours are validated `#rrggbb` values, so nothing else can reach the CSS.
pub fn stylesheet(brand: &Brand) -> String {
    format!(
        ":root {{ --brand: {p}; --on-brand: {op}; --brand-secondary: {s}; --on-brand-secondary: {os}; }}\n",
        p = brand.primary_color,
        op = contrast_text(&brand.primary_color),
        s = brand.secondary_color,
        os = contrast_text(&brand.secondary_color),
    )
}

/// Where the pages load the logo and favicon from (a new URL for every upload, so
/// they can be cached for long).
pub fn image_url(kind: ImageKind, version: Option<UnixTime>) -> Option<String> {
    version.map(|v| format!("/brand/{}?v={v}", kind.path()))
}

/// The brand as Okta's Brand object.
pub fn brand_json(brand: &Brand, base: &str) -> Value {
    json!({
        "id": BRAND_ID,
        "name": brand.name,
        "isDefault": true,
        "removePoweredByOkta": true,
        "agreeToCustomPrivacyPolicy": false,
        "customPrivacyPolicyUrl": null,
        "locale": "en",
        "defaultApp": {"appInstanceId": null, "appLinkName": null, "classicApplicationUri": null},
        "_links": {
            "self": {"href": format!("{base}/api/v1/brands/{BRAND_ID}")},
            "themes": {"href": format!("{base}/api/v1/brands/{BRAND_ID}/themes")},
        }
    })
}

/// The theme as Okta's Theme object.
pub fn theme_json(brand: &Brand, base: &str) -> Value {
    let url = |kind, v| image_url(kind, v).map(|path| format!("{base}{path}"));
    json!({
        "id": THEME_ID,
        "logo": url(ImageKind::Logo, brand.logo_version),
        "favicon": url(ImageKind::Favicon, brand.favicon_version),
        "backgroundImage": null,
        "primaryColorHex": brand.primary_color,
        "primaryColorContrastHex": contrast_text(&brand.primary_color),
        "secondaryColorHex": brand.secondary_color,
        "secondaryColorContrastHex": contrast_text(&brand.secondary_color),
        "signInPageTouchPointVariant": "OKTA_DEFAULT",
        "endUserDashboardTouchPointVariant": "OKTA_DEFAULT",
        "errorPageTouchPointVariant": "OKTA_DEFAULT",
        "emailTemplateTouchPointVariant": "OKTA_DEFAULT",
        "loadingPageTouchPointVariant": "OKTA_DEFAULT",
        "_links": {
            "self": {"href": format!("{base}/api/v1/brands/{BRAND_ID}/themes/{THEME_ID}")},
            "logo": {"href": format!("{base}/api/v1/brands/{BRAND_ID}/themes/{THEME_ID}/logo")},
            "favicon": {"href": format!("{base}/api/v1/brands/{BRAND_ID}/themes/{THEME_ID}/favicon")},
        }
    })
}

/// Serves an uploaded image to the pages.
pub async fn image(store: &DynStore, kind: ImageKind) -> Result<Option<BrandImage>, AdminError> {
    Ok(store.get_brand_image(kind).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_six_lower_case_hex_digits() {
        assert_eq!(parse_color("c", "#1662DD").unwrap(), "#1662dd");
        assert_eq!(parse_color("c", "#abc").unwrap(), "#aabbcc");
        for bad in ["1662dd", "#12345", "#gggggg", "red", "#1662dd;}", ""] {
            assert!(parse_color("c", bad).is_err(), "{bad}");
        }
    }

    /// WCAG 2.x worked values: black on white is 21:1, and Okta's blue takes white text.
    #[test]
    fn contrast_follows_wcag() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 0.01);
        assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
        assert_eq!(contrast_text("#1662dd"), "#ffffff");
        assert_eq!(contrast_text("#ffd400"), "#000000");
        for color in ["#1662dd", "#ffd400", "#00ff00", "#800080", "#777777"] {
            assert!(contrast(color, contrast_text(color)) >= 4.5, "{color}");
        }
    }

    #[test]
    fn images_are_known_by_their_bytes() {
        assert_eq!(
            image_type("logo", b"\x89PNG\r\n\x1a\n....").unwrap(),
            "image/png"
        );
        assert_eq!(image_type("logo", b"GIF89a..").unwrap(), "image/gif");
        assert!(image_type("logo", b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_err());
        assert!(image_type("logo", b"").is_err());
        assert!(image_type("logo", &vec![0x89; MAX_IMAGE_BYTES + 1]).is_err());
    }

    #[test]
    fn the_stylesheet_holds_only_validated_colours() {
        let css = stylesheet(&default_brand());
        assert!(css.contains("--brand: #1662dd;"));
        assert!(css.contains("--on-brand: #ffffff;"));
    }
}
