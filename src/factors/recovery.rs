//! One-time recovery codes: ten random codes shown once when they are made, stored as
//! a keyed hash each (`MasterKey::hash_recovery_code`), each usable once in place of a
//! second factor. Making new ones replaces the old set.

use crate::crypto::random_bytes;

/// How many codes a set holds.
pub const COUNT: usize = 10;

/// Lower-case letters and digits without the ones people confuse (o, 1, l, i): 32
/// symbols, five bits each.
const ALPHABET: &[u8; 32] = b"abcdefghjkmnpqrstuvwxyz023456789";

/// A new set of codes, as shown to the person: ten groups `xxxxx-xxxxx` of 50 random
/// bits each.
pub fn generate() -> Vec<String> {
    (0..COUNT)
        .map(|_| {
            let bytes = random_bytes::<10>();
            let chars: String = bytes
                .iter()
                .map(|b| ALPHABET[(b & 31) as usize] as char)
                .collect();
            format!("{}-{}", &chars[..5], &chars[5..])
        })
        .collect()
}

/// A code as typed, in the form it was hashed in: spaces and dashes dropped, lower
/// case. `None` when it cannot be a recovery code (so nothing is hashed or counted as
/// a guess at one).
pub fn normalise(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (code.len() == 10 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_ten_distinct_and_read_back_as_typed() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        for code in &codes {
            assert_eq!(code.len(), 11);
            let plain = normalise(code).unwrap();
            assert_eq!(
                normalise(&code.to_uppercase().replace('-', " ")),
                Some(plain)
            );
        }
        assert_eq!(normalise("123456"), None);
        assert_eq!(normalise("abcde-fghi!"), None);
    }
}
