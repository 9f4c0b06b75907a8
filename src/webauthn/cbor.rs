//! A small CBOR reader (RFC 8949) for what WebAuthn sends: the attestation object, the
//! authenticator data's credential public key (a COSE_Key) and its extensions. It reads
//! the major types WebAuthn uses (unsigned and negative integers, byte and text strings,
//! arrays, maps, `false`/`true`/`null`) with definite lengths only, as CTAP2's canonical
//! encoding requires; floats, tags and indefinite lengths are refused, and so is nesting
//! deeper than a COSE key or attestation statement ever goes.

/// A decoded CBOR item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An integer, unsigned (major type 0) or negative (major type 1).
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Value>),
    /// The pairs in the order they came.
    Map(Vec<(Value, Value)>),
    Bool(bool),
    Null,
}

/// Why a CBOR item could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CborError(pub &'static str);

const MAX_DEPTH: usize = 8;

impl Value {
    /// The value under the integer key `key` of a map.
    pub fn get_int(&self, key: i128) -> Option<&Value> {
        self.entries()?
            .iter()
            .find(|(k, _)| *k == Value::Int(key))
            .map(|(_, v)| v)
    }

    /// The value under the text key `key` of a map.
    pub fn get_text(&self, key: &str) -> Option<&Value> {
        self.entries()?
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .map(|(_, v)| v)
    }

    pub fn entries(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(pairs) => Some(pairs),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

/// Reads exactly one item filling all of `input`.
pub fn decode(input: &[u8]) -> Result<Value, CborError> {
    let (value, used) = decode_prefix(input)?;
    if used != input.len() {
        return Err(CborError("bytes after the CBOR item"));
    }
    Ok(value)
}

/// Reads one item at the start of `input`: the item and how many bytes it took (the
/// authenticator data's public key is followed by more data without a length).
pub fn decode_prefix(input: &[u8]) -> Result<(Value, usize), CborError> {
    let mut reader = Reader { input, at: 0 };
    let value = reader.item(0)?;
    Ok((value, reader.at))
}

struct Reader<'a> {
    input: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.input.len())
            .ok_or(CborError("the CBOR item is cut short"))?;
        let bytes = &self.input[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    /// The argument of a head: the additional information, or the 1, 2, 4 or 8 bytes after it.
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        let size = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return Err(CborError("indefinite lengths are not accepted")),
            _ => return Err(CborError("a reserved additional information value")),
        };
        Ok(self
            .take(size)?
            .iter()
            .fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    }

    fn length(&mut self, info: u8) -> Result<usize, CborError> {
        let n = self.argument(info)?;
        // Every item takes at least one byte, so no honest length exceeds what is left.
        usize::try_from(n)
            .ok()
            .filter(|n| *n <= self.input.len() - self.at)
            .ok_or(CborError("a length longer than the input"))
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError("CBOR nested too deeply"));
        }
        let head = self.take(1)?[0];
        let (major, info) = (head >> 5, head & 0x1f);
        Ok(match major {
            0 => Value::Int(i128::from(self.argument(info)?)),
            1 => Value::Int(-1 - i128::from(self.argument(info)?)),
            2 => {
                let n = self.length(info)?;
                Value::Bytes(self.take(n)?.to_vec())
            }
            3 => {
                let n = self.length(info)?;
                let text = std::str::from_utf8(self.take(n)?)
                    .map_err(|_| CborError("a text string that is not UTF-8"))?;
                Value::Text(text.to_string())
            }
            4 => {
                let n = self.length(info)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Value::Array(items)
            }
            5 => {
                let n = self.length(info)?;
                let mut pairs: Vec<(Value, Value)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.item(depth + 1)?;
                    if pairs.iter().any(|(k, _)| *k == key) {
                        return Err(CborError("a map with a repeated key"));
                    }
                    let value = self.item(depth + 1)?;
                    pairs.push((key, value));
                }
                Value::Map(pairs)
            }
            6 => return Err(CborError("tags are not accepted")),
            _ => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 => Value::Null,
                _ => return Err(CborError("floats and other simple values are not accepted")),
            },
        })
    }
}

/// Writes `value` in CTAP2 canonical form's shape (shortest heads, pairs in the given
/// order): used to build COSE keys and test authenticators' data.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(value, &mut out);
    out
}

fn head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn write(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Int(i) if *i >= 0 => head(0, *i as u64, out),
        Value::Int(i) => head(1, (-1 - *i) as u64, out),
        Value::Bytes(b) => {
            head(2, b.len() as u64, out);
            out.extend_from_slice(b);
        }
        Value::Text(t) => {
            head(3, t.len() as u64, out);
            out.extend_from_slice(t.as_bytes());
        }
        Value::Array(items) => {
            head(4, items.len() as u64, out);
            items.iter().for_each(|i| write(i, out));
        }
        Value::Map(pairs) => {
            head(5, pairs.len() as u64, out);
            for (k, v) in pairs {
                write(k, out);
                write(v, out);
            }
        }
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Null => out.push(0xf6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8949 Appendix A examples.
    #[test]
    fn reads_the_rfc_examples() {
        let cases: &[(&str, Value)] = &[
            ("00", Value::Int(0)),
            ("17", Value::Int(23)),
            ("1818", Value::Int(24)),
            ("1903e8", Value::Int(1000)),
            ("1bffffffffffffffff", Value::Int(18446744073709551615)),
            ("20", Value::Int(-1)),
            ("3863", Value::Int(-100)),
            ("4401020304", Value::Bytes(vec![1, 2, 3, 4])),
            ("6449455446", Value::Text("IETF".into())),
            ("f4", Value::Bool(false)),
            ("f6", Value::Null),
            (
                "83010203",
                Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
            ),
            (
                "a201020304",
                Value::Map(vec![
                    (Value::Int(1), Value::Int(2)),
                    (Value::Int(3), Value::Int(4)),
                ]),
            ),
        ];
        for (hex, want) in cases {
            let bytes = crate::crypto::hex_decode(hex).unwrap();
            assert_eq!(decode(&bytes).as_ref(), Ok(want), "{hex}");
            assert_eq!(encode(want), bytes, "{hex}");
        }
    }

    #[test]
    fn refuses_what_webauthn_never_sends() {
        for hex in [
            "",                         // nothing
            "18",                       // cut short
            "5f42010243030405ff",       // indefinite byte string
            "c11a514b67b0",             // a tag
            "f93c00",                   // a half float
            "a201020103",               // a repeated key
            "5b00000000ffffffff",       // a length beyond the input
            "0000",                     // bytes after the item
            "62c328",                   // not UTF-8
            "818181818181818181818100", // too deep
        ] {
            let bytes = crate::crypto::hex_decode(hex).unwrap();
            assert!(decode(&bytes).is_err(), "{hex}");
        }
        let (value, used) = decode_prefix(&[0x01, 0xff]).unwrap();
        assert_eq!((value, used), (Value::Int(1), 1));
    }
}
