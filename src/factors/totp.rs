//! RFC 6238 time-based one-time passwords (TOTP) on RFC 4226's HOTP: HMAC-SHA-1, six
//! digits, 30-second steps, as every authenticator app reads them from an
//! `otpauth://totp/` URI (the Key Uri Format most apps follow). A code is accepted for
//! the current step and one step either side (RFC 6238 §5.2: the clocks of the phone
//! and the server drift, and a code typed at the end of its step arrives in the next).
//! Which step it matched is returned, so the caller can refuse that step and every
//! earlier one afterwards (§5.2: a verifier must not accept the same code twice).

use aws_lc_rs::hmac;

use crate::clock::UnixTime;
use crate::crypto::constant_time_eq;

/// RFC 6238 §4: X, the step size in seconds.
pub const STEP: i64 = 30;
/// Six digits: what every authenticator app shows by default.
pub const DIGITS: u32 = 6;
/// Steps accepted either side of the current one.
pub const SKEW: i64 = 1;
/// The shared secret's length: 160 bits, RFC 4226 §4 R6's recommendation for SHA-1.
pub const SECRET_BYTES: usize = 20;

/// The time step `now` falls in (RFC 6238 §4.2, T0 = 0).
pub fn step_at(now: UnixTime) -> i64 {
    now.div_euclid(STEP)
}

/// RFC 4226 §5.3: the HOTP value for `counter`, as the zero-padded decimal string.
pub fn code_at_step(secret: &[u8], counter: i64) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &counter.to_be_bytes());
    let mac = mac.as_ref();
    let offset = (mac[mac.len() - 1] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The step `code` is right for among the current one and `SKEW` either side, the
/// latest if several (`None`: right for none). Each candidate is compared in constant
/// time, and all are computed whatever the answer.
pub fn matching_step(secret: &[u8], code: &str, now: UnixTime) -> Option<i64> {
    let code = normalise(code)?;
    let current = step_at(now);
    let mut found = None;
    for step in current - SKEW..=current + SKEW {
        if constant_time_eq(code_at_step(secret, step).as_bytes(), code.as_bytes()) {
            found = Some(step);
        }
    }
    found
}

/// A code as typed: spaces are allowed (apps show `123 456`); anything but six digits
/// is no code.
fn normalise(code: &str) -> Option<String> {
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (digits.len() == DIGITS as usize && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// RFC 4648 §6 base32 without padding: how authenticator apps take the secret.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Reads RFC 4648 base32 (either case, spaces and padding ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            out.push((buffer >> (bits - 8)) as u8);
            bits -= 8;
        }
    }
    Some(out)
}

/// The `otpauth://totp/` URI an authenticator app scans: the label is
/// `issuer:account`, and `issuer` is repeated as a parameter.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        enc(issuer),
        enc(account),
        base32(secret),
        enc(issuer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 rows (the seed is "12345678901234567890"), last
    /// six of the eight digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let seed = b"12345678901234567890";
        for (time, eight) in [
            (59, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(code_at_step(seed, step_at(time)), eight[2..], "T = {time}");
        }
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_and_no_further() {
        let secret = [7u8; SECRET_BYTES];
        let now = 1_700_000_000;
        let step = step_at(now);
        for delta in -1..=1 {
            let code = code_at_step(&secret, step + delta);
            assert_eq!(matching_step(&secret, &code, now), Some(step + delta));
        }
        for delta in [-3, -2, 2, 3] {
            let code = code_at_step(&secret, step + delta);
            assert_eq!(matching_step(&secret, &code, now), None, "{delta}");
        }
        let spaced = code_at_step(&secret, step);
        let spaced = format!("{} {}", &spaced[..3], &spaced[3..]);
        assert_eq!(matching_step(&secret, &spaced, now), Some(step));
        for bad in ["", "12345", "1234567", "abcdef", "12345a"] {
            assert_eq!(matching_step(&secret, bad, now), None, "{bad}");
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        // RFC 4648 §10, without padding.
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), encoded);
            assert_eq!(base32_decode(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(base32_decode("mzxw 6ytb oi==").unwrap(), b"foobar");
        assert_eq!(base32_decode("MZ1"), None);
    }

    #[test]
    fn the_uri_names_issuer_and_account() {
        let uri = otpauth_uri("Gatehouse", "ada@example.com", b"12345678901234567890");
        assert!(uri.starts_with("otpauth://totp/Gatehouse:ada%40example%2Ecom?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Gatehouse"), "{uri}");
    }
}
