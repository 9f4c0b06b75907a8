//! The URIs an app registers: redirect and post-logout URIs (RFC 6749 §3.1.2, RFC 8252
//! §7, RFC 9700 §4.1.3) and its `jwks_uri` (RFC 7523 §2.2), with the host checks they
//! share.

use url::{Host, Url};

use crate::admin::AdminError;

const JWKS_URI_FIELD: &str = "settings.oauthClient.jwks_uri";

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// A redirect URI must be absolute with no fragment (RFC 6749 §3.1.2), https unless it
/// is loopback (RFC 8252 §7.3), or a private-use scheme for a native app (RFC 8252
/// §7.1); never a scheme that runs or embeds content.
///
/// Answers the URI as it is stored: as given, except that an internationalised host is
/// stored in its ASCII (punycode) form, the form a browser puts on the wire.
pub fn check_redirect_uri(
    field: &'static str,
    uri: &str,
    public_client: bool,
) -> Result<String, AdminError> {
    if uri.len() > 2000 || uri.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AdminError::invalid(
            field,
            format!("{uri:?} is not a valid URI"),
        ));
    }
    let url = Url::parse(uri)
        .map_err(|_| AdminError::invalid(field, format!("{uri:?} is not an absolute URI")))?;
    check_uri_host(field, uri, &url)?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(AdminError::invalid(
            field,
            format!("{uri:?} must not have a fragment"),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(AdminError::invalid(
            field,
            format!("{uri:?} must not have user information"),
        ));
    }
    let stored = if uri.is_ascii() {
        uri.to_string()
    } else {
        url.to_string()
    };
    match url.scheme() {
        "https" => Ok(stored),
        "http" if is_loopback(&url) => Ok(stored),
        "http" => Err(AdminError::invalid(
            field,
            format!("{uri:?} must use https (http is allowed only for loopback)"),
        )),
        "javascript" | "data" | "file" | "vbscript" | "about" | "blob" | "ftp" | "ws" | "wss" => {
            Err(AdminError::invalid(
                field,
                format!("{uri:?} uses a scheme that is not allowed"),
            ))
        }
        _ if public_client => Ok(stored),
        _ => Err(AdminError::invalid(
            field,
            format!("{uri:?}: custom schemes are for native apps (auth method none)"),
        )),
    }
}

/// What a registered URI's authority must be, whatever its scheme: no wildcard
/// (`*` anywhere: redirect URIs are compared as exact strings, RFC 9700 §4.1.3, and a
/// pattern would only mislead whoever reads the registration); for `http(s)`, written
/// `scheme://host` with a host (`https:///cb`, `https:/cb` and `https:cb` are read by
/// URL parsers as the host `cb`: refused, not guessed); and no label of the host mixing
/// Latin, Cyrillic and Greek letters, the look-alikes of a phishing registration
/// (`аpple.com` with a Cyrillic `а`), whether given in Unicode or punycode.
pub fn check_uri_host(field: &'static str, uri: &str, url: &Url) -> Result<(), AdminError> {
    if uri.contains('*') {
        return Err(AdminError::invalid(
            field,
            format!("{uri:?}: wildcards are not allowed; register each URI exactly"),
        ));
    }
    if matches!(url.scheme(), "http" | "https") {
        let rest = &uri[url.scheme().len()..];
        let authority_given = rest
            .strip_prefix("://")
            .is_some_and(|r| !r.is_empty() && !r.starts_with(['/', '?', '#']));
        if !authority_given || url.host().is_none() {
            return Err(AdminError::invalid(
                field,
                format!("{uri:?} has no host (write scheme://host/path)"),
            ));
        }
    }
    if let Some(Host::Domain(ascii)) = url.host() {
        let (unicode, _) = idna::domain_to_unicode(ascii);
        if let Some(label) = unicode.split('.').find(|l| mixes_scripts(l)) {
            return Err(AdminError::invalid(
                field,
                format!(
                    "{uri:?}: the host label {label:?} mixes Latin, Cyrillic or Greek letters (a look-alike of another name)"
                ),
            ));
        }
    }
    Ok(())
}

/// The scripts whose letters pass for each other in a host name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Script {
    Latin,
    Cyrillic,
    Greek,
}

fn script(c: char) -> Option<Script> {
    match c as u32 {
        _ if c.is_ascii_alphabetic() => Some(Script::Latin),
        0x00C0..=0x024F | 0x1E00..=0x1EFF => Some(Script::Latin),
        0x0370..=0x03FF | 0x1F00..=0x1FFF => Some(Script::Greek),
        0x0400..=0x052F | 0x1C80..=0x1C8F | 0x2DE0..=0x2DFF | 0xA640..=0xA69F => {
            Some(Script::Cyrillic)
        }
        _ => None,
    }
}

/// True when `label` has letters of two of Latin, Cyrillic and Greek (digits, hyphens
/// and other scripts count for none).
pub fn mixes_scripts(label: &str) -> bool {
    let mut seen: Option<Script> = None;
    for s in label.chars().filter_map(script) {
        match seen {
            None => seen = Some(s),
            Some(first) if first != s => return true,
            _ => {}
        }
    }
    false
}

/// Front-Channel Logout 1.0 §2: the URI an iframe of the signed-out page loads. Checked
/// as a redirect URI (the browser goes there), and its scheme, host and port must be
/// those of one of the app's redirect URIs, as the specification requires: a
/// registration cannot make the signed-out page load someone else's site.
pub fn check_frontchannel_logout_uri(
    uri: &str,
    redirect_uris: &[String],
) -> Result<String, AdminError> {
    const FIELD: &str = "settings.oauthClient.frontchannel_logout_uri";
    let stored = check_redirect_uri(FIELD, uri, false)?;
    let origin = |u: &str| Url::parse(u).ok().map(|u| u.origin());
    let own = origin(&stored);
    if own.is_none()
        || !redirect_uris
            .iter()
            .any(|r| origin(r).is_some_and(|o| Some(o) == own))
    {
        return Err(AdminError::invalid(
            FIELD,
            "must have the scheme, host and port of one of the app's redirect URIs",
        ));
    }
    Ok(stored)
}

/// Back-Channel Logout 1.0 §2.2: where the server POSTs logout tokens. The server
/// itself connects there, so it is checked as a `jwks_uri` is (https, and not an
/// address of the server's own network unless `allow_private`), under its own field.
pub fn check_backchannel_logout_uri(uri: &str, allow_private: bool) -> Result<String, AdminError> {
    check_outbound_uri(
        "settings.oauthClient.backchannel_logout_uri",
        uri,
        allow_private,
    )
}

/// A `jwks_uri`: an absolute https URL without user information or fragment, whose
/// host is not one that is clearly this server's own network: a loopback, private,
/// link-local (the cloud metadata address 169.254.169.254 among them), CGNAT or other
/// non-public literal address, `localhost` or a name under it, or a cloud metadata
/// name. `allow_private` (the server's `allow_private_jwks_uri`, for development)
/// lifts that and allows plain http to such hosts. A name that resolves to such an
/// address is refused again at each fetch (`tokens::remote_jwks`), which resolves it.
pub fn check_jwks_uri(uri: &str, allow_private: bool) -> Result<String, AdminError> {
    check_outbound_uri(JWKS_URI_FIELD, uri, allow_private)
}

/// A URL this server itself connects to (a `jwks_uri`, a back-channel logout URI), as
/// `check_jwks_uri` describes, with errors naming `field`.
pub fn check_outbound_uri(
    field: &'static str,
    uri: &str,
    allow_private: bool,
) -> Result<String, AdminError> {
    let url = Url::parse(uri).map_err(|_| AdminError::invalid(field, "must be an absolute URL"))?;
    check_uri_host(field, uri, &url)?;
    let private = match url.host() {
        Some(Host::Ipv4(ip)) => !crate::tokens::remote_jwks::is_public(ip.into()),
        Some(Host::Ipv6(ip)) => !crate::tokens::remote_jwks::is_public(ip.into()),
        Some(Host::Domain(name)) => internal_name(name),
        None => true,
    };
    if private && !allow_private {
        return Err(AdminError::invalid(
            field,
            "must not point at a loopback, private, link-local or metadata address (allow_private_jwks_uri is for development)",
        ));
    }
    if uri.len() > 2000
        || !url.username().is_empty()
        || url.password().is_some()
        || url.fragment().is_some()
    {
        return Err(AdminError::invalid(
            field,
            "must not have user information or a fragment",
        ));
    }
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if allow_private && private => Ok(url.to_string()),
        _ => Err(AdminError::invalid(field, "must use https")),
    }
}

/// Names that are clearly a machine's own or its cloud's internal ones: `localhost` and
/// names under it (RFC 6761 §6.3), the metadata service names of the large clouds, and
/// the `.internal`, `.local` and `.localdomain` suffixes that never resolve publicly.
fn internal_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let under = |suffix: &str| name == suffix || name.ends_with(&format!(".{suffix}"));
    under("localhost")
        || under("internal")
        || under("local")
        || under("localdomain")
        || matches!(name.as_str(), "metadata" | "instance-data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://app.example.com/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/x",
        ] {
            assert!(check_redirect_uri("r", ok, false).is_ok(), "{ok}");
        }
        assert!(check_redirect_uri("r", "com.example.app:/cb", true).is_ok());
        for bad in [
            "/relative",
            "https://app.example.com/cb#frag",
            "http://app.example.com/cb",
            "javascript:alert(1)",
            "data:text/html,x",
            "https://user@app.example.com/cb",
            "https://app.example.com/c b",
        ] {
            assert!(check_redirect_uri("r", bad, true).is_err(), "{bad}");
        }
        assert!(check_redirect_uri("r", "com.example.app:/cb", false).is_err());
    }

    #[test]
    fn wildcards_missing_hosts_and_look_alikes_are_refused_idn_stored_as_punycode() {
        for bad in [
            "https://*.example.com/cb",
            "https://app.example.com/*",
            "com.example.*:/cb",
            "https:///cb",
            "https:/cb",
            "https:cb",
            "http:///127.0.0.1/cb",
            "https://\u{430}pple.com/cb",
            "https://p\u{430}ypal.example/cb",
            "https://\u{3bf}ne.example/cb",
        ] {
            assert!(check_redirect_uri("r", bad, true).is_err(), "{bad}");
        }
        let punycode = idna::domain_to_ascii("\u{430}pple.com").unwrap();
        assert!(punycode.starts_with("xn--"));
        assert!(check_redirect_uri("r", &format!("https://{punycode}/cb"), true).is_err());
        // Whole labels in one script are names like any other; stored in ASCII.
        assert_eq!(
            check_redirect_uri("r", "https://b\u{fc}cher.example/cb", false).unwrap(),
            "https://xn--bcher-kva.example/cb"
        );
        assert_eq!(
            check_redirect_uri(
                "r",
                "https://\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}/cb",
                false
            )
            .unwrap(),
            "https://xn--e1afmkfd.xn--p1ai/cb"
        );
        assert!(check_redirect_uri("r", "https://xn--bcher-kva.example/cb", false).is_ok());
        assert!(check_redirect_uri("r", "com.example.app:/cb", true).is_ok());
        assert!(
            mixes_scripts("\u{430}pple")
                && !mixes_scripts("app-1")
                && !mixes_scripts("\u{444}\u{43e}\u{442}\u{43e}")
        );
    }

    #[test]
    fn jwks_uri_on_internal_addresses_only_when_allowed() {
        for bad in [
            "https://127.0.0.1/jwks",
            "https://10.1.2.3/jwks",
            "https://192.168.0.1/jwks",
            "https://172.16.0.1/jwks",
            "https://169.254.169.254/latest/meta-data",
            "https://100.64.0.1/jwks",
            "https://[::1]/jwks",
            "https://[fd00::1]/jwks",
            "https://[fe80::1]/jwks",
            "https://[::ffff:127.0.0.1]/jwks",
            "https://0.0.0.0/jwks",
            "https://localhost/jwks",
            "https://api.localhost/jwks",
            "https://metadata.google.internal/computeMetadata/v1/",
            "https://metadata/jwks",
            "https://printer.local/jwks",
            "http://127.0.0.1:8080/jwks",
        ] {
            assert!(check_jwks_uri(bad, false).is_err(), "{bad}");
        }
        assert!(check_jwks_uri("http://127.0.0.1:8080/jwks", true).is_ok());
        assert!(check_jwks_uri("https://10.1.2.3/jwks", true).is_ok());
        assert!(
            check_jwks_uri("http://keys.example.com/jwks", true).is_err(),
            "http only to private hosts"
        );
        assert!(check_jwks_uri("https://keys.example.com/jwks", false).is_ok());
        assert!(check_jwks_uri("https://*.example.com/jwks", true).is_err());
        assert!(check_jwks_uri("https:///jwks", true).is_err());
    }
}
