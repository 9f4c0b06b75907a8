//! The enrollment QR code, drawn by Gatehouse as inline SVG: the shared secret never
//! leaves the server for a third-party image service, and the page's CSP
//! (`img-src 'self'`) needs no exception.

use qrcode::QrCode;
use qrcode::render::svg;

/// An `<svg>` element showing `text` as a QR code (medium error correction), ready to
/// be placed in a page; `None` when `text` is too long for a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M).ok()?;
    let image = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    // The XML declaration belongs to a file, not to an element inside HTML.
    let start = image.find("<svg")?;
    Some(image[start..].replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code to scan with an authenticator app\" ",
        1,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_code_is_an_svg_element() {
        let image = super::svg("otpauth://totp/Gatehouse:ada?secret=GEZDGNBV").unwrap();
        assert!(image.starts_with("<svg role=\"img\""));
        assert!(image.ends_with("</svg>"));
        assert!(!image.contains("<?xml"));
    }
}
