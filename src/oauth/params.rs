//! Request parameters as received (RFC 6749 §3.1, §3.2): decoded from a query string or
//! a form body, strictly. Parameters must not repeat (§3.1: "MUST NOT be included more
//! than once"); bytes that are not UTF-8 are refused rather than replaced.

use percent_encoding::percent_decode;

use super::OAuthError;

/// Longest query string or form body accepted (bytes). A `state` of 4 KB and a long
/// `scope` fit; a megabyte does not.
pub const MAX_PARAMS_BYTES: usize = 64 * 1024;
/// Most parameters accepted in one request.
pub const MAX_PARAMS: usize = 100;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated(pub String);

impl Params {
    /// Decodes `application/x-www-form-urlencoded` text.
    pub fn parse(raw: &[u8]) -> Result<Self, OAuthError> {
        if raw.len() > MAX_PARAMS_BYTES {
            return Err(OAuthError::invalid_request(
                "The request parameters are too large.",
            ));
        }
        let mut pairs = Vec::new();
        for piece in raw.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            if pairs.len() == MAX_PARAMS {
                return Err(OAuthError::invalid_request(
                    "The request has too many parameters.",
                ));
            }
            let (name, value) = match piece.iter().position(|&b| b == b'=') {
                Some(i) => (&piece[..i], &piece[i + 1..]),
                None => (piece, &b""[..]),
            };
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Params { pairs })
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Params {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The value of `name`; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Result<Option<&str>, Repeated> {
        let mut found = None;
        for (k, v) in &self.pairs {
            if k == name && !v.is_empty() {
                if found.is_some() {
                    return Err(Repeated(name.to_string()));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found)
    }

    /// `get`, with a repeat answered as `invalid_request`.
    pub fn one(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        self.get(name).map_err(|Repeated(n)| {
            OAuthError::invalid_request(format!("The '{n}' parameter was given more than once."))
        })
    }

    /// A parameter that must be present.
    pub fn required(&self, name: &str) -> Result<&str, OAuthError> {
        self.one(name)?.ok_or_else(|| {
            OAuthError::invalid_request(format!("The '{name}' parameter is required."))
        })
    }

    /// The first parameter name (of those with a value) that appears more than once.
    pub fn first_repeated(&self) -> Option<&str> {
        let mut seen = std::collections::HashSet::new();
        self.pairs
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .find(|(k, _)| !seen.insert(k.as_str()))
            .map(|(k, _)| k.as_str())
    }

    /// Form-encoded again (`Params::parse` reads it back to the same pairs).
    pub fn to_form(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.iter())
            .finish()
    }

    /// Without the parameters named in `names`.
    pub fn without(&self, names: &[&str]) -> Params {
        Params {
            pairs: self
                .pairs
                .iter()
                .filter(|(k, _)| !names.contains(&k.as_str()))
                .cloned()
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

fn decode(bytes: &[u8]) -> Result<String, OAuthError> {
    let plus_as_space: Vec<u8> = bytes
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    let decoded: Vec<u8> = percent_decode(&plus_as_space).collect();
    let text = String::from_utf8(decoded)
        .map_err(|_| OAuthError::invalid_request("The request parameters are not valid UTF-8."))?;
    // No protocol value holds a NUL, and PostgreSQL text cannot store one: refuse it
    // here rather than fail later in the database.
    if text.contains('\0') {
        return Err(OAuthError::invalid_request(
            "The request parameters contain a NUL character.",
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_form_encoding() {
        let p = Params::parse(b"a=b+c&d=%26%3D&e=&f").unwrap();
        assert_eq!(p.one("a").unwrap(), Some("b c"));
        assert_eq!(p.one("d").unwrap(), Some("&="));
        assert_eq!(p.one("e").unwrap(), None);
        assert_eq!(p.one("f").unwrap(), None);
    }

    #[test]
    fn refuses_repeats_and_bad_utf8() {
        let p = Params::parse(b"scope=a&scope=b").unwrap();
        assert_eq!(p.one("scope").unwrap_err().code(), "invalid_request");
        assert_eq!(p.first_repeated(), Some("scope"));
        assert!(Params::parse(b"state=%FF%FE").is_err());
        assert!(Params::parse(b"st\xffate=1").is_err());
        assert_eq!(
            Params::parse(b"nonce=a%00b").unwrap_err().code(),
            "invalid_request"
        );
    }

    #[test]
    fn form_round_trips() {
        let p = Params::parse(b"a=b+c&d=%26%3D&e=&state=%E2%9C%93").unwrap();
        assert_eq!(Params::parse(p.to_form().as_bytes()).unwrap(), p);
        assert_eq!(p.without(&["a", "e"]).to_form(), "d=%26%3D&state=%E2%9C%93");
    }

    #[test]
    fn refuses_huge_and_numerous_input() {
        assert!(Params::parse(&vec![b'a'; MAX_PARAMS_BYTES + 1]).is_err());
        let many: String = (0..=MAX_PARAMS).map(|i| format!("p{i}=1&")).collect();
        assert!(Params::parse(many.as_bytes()).is_err());
    }
}
