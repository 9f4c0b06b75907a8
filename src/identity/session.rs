//! Sign-in sessions. The browser's cookie holds a random 256-bit id; the store holds
//! only its SHA-256, so a copy of the database cannot be replayed as a cookie.

use crate::clock::UnixTime;
use crate::crypto::{random_token, sha256};
use crate::store::Session;

/// A new session for `user_id`, signed in at `now`: the cookie value and the row.
pub fn start(user_id: &str, now: UnixTime, lifetime: i64) -> (String, Session) {
    let id = random_token();
    let session = Session {
        id_hash: sha256(id.as_bytes()),
        user_id: user_id.to_string(),
        auth_time: now,
        created_at: now,
        expires_at: now + lifetime,
        amr: vec![crate::factors::amr::PWD.to_string()],
        mfa_at: None,
        user_agent: None,
        ip: None,
        last_seen_at: Some(now),
    };
    (id, session)
}

/// The most of a `User-Agent` a session keeps.
pub const MAX_USER_AGENT: usize = 256;

/// Where a sign-in came from, as the handler saw it: the browser's `User-Agent` and
/// the client's address (`http::client_ip`). Flows never read headers; handlers pass
/// this in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl Device {
    /// The device for a request with `user_agent` (cut to `MAX_USER_AGENT` characters,
    /// control characters dropped; `None` when empty) from `ip`.
    pub fn new(user_agent: Option<&str>, ip: Option<String>) -> Self {
        let user_agent = user_agent
            .map(|ua| {
                ua.chars()
                    .filter(|c| !c.is_control())
                    .take(MAX_USER_AGENT)
                    .collect::<String>()
                    .trim()
                    .to_string()
            })
            .filter(|ua| !ua.is_empty());
        Device { user_agent, ip }
    }
}

/// The stored form of a cookie's session id.
pub fn id_hash(cookie_value: &str) -> Vec<u8> {
    sha256(cookie_value.as_bytes())
}

/// How long an Authentication API `sessionToken` can be redeemed (Okta's authn
/// transaction lifetime, 5 minutes).
pub const SESSION_TOKEN_TTL: i64 = 300;

/// A new one-time `sessionToken` for `user_id`, who entered the password at `now`:
/// the value the caller gets, and the row (only its SHA-256).
pub fn new_session_token(user_id: &str, now: UnixTime) -> (String, crate::store::SessionToken) {
    let value = random_token();
    let row = crate::store::SessionToken {
        token_hash: session_token_hash(&value),
        user_id: user_id.to_string(),
        auth_time: now,
        created_at: now,
        expires_at: now + SESSION_TOKEN_TTL,
    };
    (value, row)
}

/// The stored form of a `sessionToken`: SHA-256 under a label of its own, so that no
/// other kind of token (a session cookie, a sign-in `tx`) can ever be taken for one.
pub fn session_token_hash(value: &str) -> Vec<u8> {
    let mut text = b"gatehouse sessionToken\0".to_vec();
    text.extend_from_slice(value.as_bytes());
    sha256(&text)
}

/// What the Sessions API calls a session: `102` and the base64url of the stored hash.
/// The store keeps only the hash of the cookie, so the public id is derived from that
/// hash; it names the session to an admin but cannot be turned back into the cookie.
pub fn public_id(id_hash: &[u8]) -> String {
    format!("102{}", crate::crypto::b64url(id_hash))
}

/// The stored hash a public session id names (`None`: not one of ours).
pub fn hash_of_public_id(id: &str) -> Option<Vec<u8>> {
    let hash = crate::crypto::b64url_decode(id.strip_prefix("102")?)?;
    (hash.len() == 32).then_some(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_public_id_names_its_session_and_nothing_else() {
        let (cookie, row) = start("00u1", 0, 60);
        let id = public_id(&row.id_hash);
        assert_eq!(hash_of_public_id(&id), Some(row.id_hash.clone()));
        assert!(!id.contains(&cookie));
        for bad in [
            "",
            "102",
            "103abc",
            "102!!",
            &format!("102{}", crate::crypto::b64url(b"short")),
        ] {
            assert_eq!(hash_of_public_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_session_token_hash_differs_from_a_session_id_hash() {
        assert_ne!(session_token_hash("x"), id_hash("x"));
    }
}

/// A short, human description of a `User-Agent`: the browser family and its major
/// version, and the operating system ("Chrome 126 on Windows", "Safari on iPhone",
/// "Firefox 128 on Linux"); "Unknown browser" for anything else. Only for telling a
/// person's sessions apart: a User-Agent is whatever the client chose to send.
pub fn describe_user_agent(user_agent: &str) -> String {
    let browser = browser(user_agent);
    let os = operating_system(user_agent);
    match (browser, os) {
        (Some(b), Some(os)) => format!("{b} on {os}"),
        (Some(b), None) => b,
        (None, Some(os)) => format!("Unknown browser on {os}"),
        (None, None) => "Unknown browser".to_string(),
    }
}

/// The major version after `token` (`Chrome/126.0.1` → `126`).
fn major_after(ua: &str, token: &str) -> Option<String> {
    let start = ua.find(token)? + token.len();
    let major: String = ua[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .take(6)
        .collect();
    (!major.is_empty()).then_some(major)
}

fn browser(ua: &str) -> Option<String> {
    // Order matters: Edge, Opera and Samsung Internet also say "Chrome", Chrome also
    // says "Safari", and every browser on iOS is Safari underneath.
    const VERSIONED: [(&str, &str); 9] = [
        ("Edg/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("EdgA/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
    ];
    for (token, name) in VERSIONED {
        if ua.contains(token) {
            return Some(match major_after(ua, token) {
                Some(major) => format!("{name} {major}"),
                None => name.to_string(),
            });
        }
    }
    if ua.contains("Safari/") && ua.contains("Version/") {
        return Some("Safari".to_string());
    }
    None
}

fn operating_system(ua: &str) -> Option<&'static str> {
    const SYSTEMS: [(&str, &str); 8] = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("CrOS", "ChromeOS"),
        ("Macintosh", "macOS"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ];
    SYSTEMS
        .iter()
        .find(|(token, _)| ua.contains(token))
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod device_tests {
    use super::*;

    #[test]
    fn real_user_agents_are_described() {
        let cases = [
            (
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
                "Chrome 156 on Linux",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                "Safari on iPhone",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
                "Firefox 128 on Windows",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
                "Edge 126 on Windows",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0",
                "Firefox 127 on macOS",
            ),
            (
                "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.122 Mobile Safari/537.36",
                "Chrome 126 on Android",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
                "Samsung Internet 25 on Android",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
                "Chrome 126 on iPhone",
            ),
            (
                "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15",
                "Firefox 127 on iPad",
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0",
                "Opera 111 on Windows",
            ),
            (
                "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
                "Chrome 126 on ChromeOS",
            ),
            ("curl/8.5.0", "Unknown browser"),
            ("", "Unknown browser"),
        ];
        for (ua, expected) in cases {
            assert_eq!(describe_user_agent(ua), expected, "{ua}");
        }
    }

    #[test]
    fn a_device_keeps_at_most_256_characters_and_no_control_characters() {
        let long = "A".repeat(1000);
        let device = Device::new(Some(&long), Some("192.0.2.1".into()));
        assert_eq!(device.user_agent.as_deref().map(str::len), Some(256));
        assert_eq!(
            Device::new(Some("a\tb\u{7f}c"), None).user_agent.as_deref(),
            Some("abc")
        );
        assert_eq!(Device::new(Some("   "), None).user_agent, None);
        assert_eq!(Device::new(None, None), Device::default());
    }
}
