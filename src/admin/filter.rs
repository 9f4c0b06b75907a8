//! Okta's list parameters: the SCIM-style `filter` and `search` expressions
//! (`status eq "ACTIVE" and (profile.login sw "a" or lastUpdated gt "2026-01-01T00:00:00.000Z")`)
//! parsed into the store's condition tree, over an allowlist of attributes per
//! resource; and the `limit` bounds. `and` binds tighter than `or`, as in SCIM
//! (RFC 7644 §3.4.2.2); operators and `and`/`or` are case-insensitive.

use super::AdminError;
use crate::clock::parse_rfc3339;
use crate::store::{Expr, Op, SqlValue};

/// How an attribute's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// As given.
    Text,
    /// Without regard to case (the column holds a lowercased copy).
    Lower,
    /// An RFC 3339 date-time, compared as a time (the column in seconds).
    Time,
    /// An RFC 3339 date-time to the millisecond (the column in milliseconds).
    TimeMillis,
    /// One of a list of ids: only `eq`.
    Word,
}

/// An attribute a filter may name, and the storage column it reads.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub name: &'static str,
    pub column: &'static str,
    pub kind: Kind,
}

const MAX_LENGTH: usize = 2000;
const MAX_CONDITIONS: usize = 20;

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn tokens(field: &'static str, text: &str) -> Result<Vec<Token>, AdminError> {
    let bad = |m: &str| AdminError::invalid(field, m.to_string());
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                loop {
                    match chars.next() {
                        None => return Err(bad("has a string without its closing quote")),
                        Some('"') => break,
                        Some('\\') => value.push(unescape(&mut chars).ok_or_else(|| {
                            bad("has an escape other than a JSON string's (\\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t, \\uXXXX)")
                        })?),
                        Some(c) => value.push(c),
                    }
                }
                out.push(Token::Str(value));
            }
            c if c.is_ascii_alphanumeric() || c == '.' || c == '_' => {
                let mut word = String::new();
                while let Some(&c) = chars
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || **c == '.' || **c == '_')
                {
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
            _ => {
                return Err(bad(
                    "has a character outside names, operators, parentheses and quoted values",
                ));
            }
        }
    }
    Ok(out)
}

/// The character a JSON string escape stands for (RFC 8259 §7; SCIM filter values are
/// JSON strings, RFC 7644 §3.4.2.2), the backslash already read. A `\u` escape of a
/// surrogate is not a character: `None`, as for an unknown escape.
fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    Some(match chars.next()? {
        c @ ('"' | '\\' | '/') => c,
        'b' => '\u{8}',
        'f' => '\u{c}',
        'n' => '\n',
        'r' => '\r',
        't' => '\t',
        'u' => {
            let hex: String = (0..4).map_while(|_| chars.next()).collect();
            if hex.len() != 4 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
        }
        _ => return None,
    })
}

/// Okta answers `E0000031` (invalid search criteria) to a search with a control
/// character in it. Refused before any query: SQLite's `LIKE` stops at a NUL, so a
/// `co "\u0000"` (or `%00` in the URL) would match every row.
pub fn check_no_controls(field: &'static str, text: &str) -> Result<(), AdminError> {
    if text.chars().any(char::is_control) {
        return Err(AdminError::InvalidSearch {
            field,
            message: "must not contain control characters (U+0000 to U+001F, U+007F to U+009F)"
                .into(),
        });
    }
    Ok(())
}

struct Parser<'a> {
    field: &'static str,
    tokens: Vec<Token>,
    at: usize,
    attrs: &'a [Attr],
    conditions: usize,
    /// Parentheses open now: bounded, so a crafted filter cannot exhaust the stack.
    depth: usize,
}

/// Parentheses may nest this deep (Okta's filters need two or three).
const MAX_DEPTH: usize = 8;

impl Parser<'_> {
    fn bad(&self, message: impl Into<String>) -> AdminError {
        AdminError::invalid(self.field, message)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Expr, AdminError> {
        let mut list = vec![self.and()?];
        while self.keyword("or") {
            self.at += 1;
            list.push(self.and()?);
        }
        Ok(if list.len() == 1 {
            list.remove(0)
        } else {
            Expr::Or(list)
        })
    }

    fn and(&mut self) -> Result<Expr, AdminError> {
        let mut list = vec![self.primary()?];
        while self.keyword("and") {
            self.at += 1;
            list.push(self.primary()?);
        }
        Ok(if list.len() == 1 {
            list.remove(0)
        } else {
            Expr::And(list)
        })
    }

    fn primary(&mut self) -> Result<Expr, AdminError> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(self.bad("nests parentheses too deep"));
                }
                let inner = self.or()?;
                self.depth -= 1;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err(self.bad("has a parenthesis that is not closed"));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(name)) => {
                self.at += 1;
                self.condition(&name)
            }
            _ => Err(self.bad("expected an attribute name or '('")),
        }
    }

    fn condition(&mut self, name: &str) -> Result<Expr, AdminError> {
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(self.bad(format!("may have at most {MAX_CONDITIONS} conditions")));
        }
        let attr = *self.attrs.iter().find(|a| a.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.attrs.iter().map(|a| a.name).collect();
            self.bad(format!(
                "{name:?} cannot be filtered on; use one of {}",
                names.join(", ")
            ))
        })?;
        let op = match self.tokens.get(self.at) {
            Some(Token::Word(w)) => w.to_ascii_lowercase(),
            _ => return Err(self.bad(format!("expected an operator after {name}"))),
        };
        self.at += 1;
        let value = match self.tokens.get(self.at) {
            Some(Token::Str(v)) => v.clone(),
            _ => return Err(self.bad(format!("expected a quoted value after {name} {op}"))),
        };
        check_no_controls(self.field, &value)?;
        self.at += 1;
        let op = match (op.as_str(), attr.kind) {
            ("eq", Kind::Word) => Op::HasWord,
            (_, Kind::Word) => return Err(self.bad(format!("{name} supports only eq"))),
            ("sw" | "co", Kind::Time | Kind::TimeMillis) => {
                return Err(self.bad(format!("{name} is a time: use eq, gt, ge, lt or le")));
            }
            ("eq", _) => Op::Eq,
            ("ne", _) => Op::Ne,
            ("gt", _) => Op::Gt,
            ("ge", _) => Op::Ge,
            ("lt", _) => Op::Lt,
            ("le", _) => Op::Le,
            ("sw", _) => Op::StartsWith,
            ("co", _) => Op::Contains,
            (other, _) => {
                return Err(self.bad(format!(
                    "{other:?} is not an operator (eq, ne, gt, ge, lt, le, sw, co)"
                )));
            }
        };
        let value = match attr.kind {
            Kind::Time => SqlValue::Int(parse_rfc3339(&value).ok_or_else(|| {
                self.bad(format!(
                    "{name} needs an RFC 3339 date-time, e.g. \"2026-01-31T08:00:00.000Z\""
                ))
            })?),
            Kind::TimeMillis => {
                SqlValue::Int(crate::clock::parse_rfc3339_millis(&value).ok_or_else(|| {
                    self.bad(format!(
                        "{name} needs an RFC 3339 date-time, e.g. \"2026-01-31T08:00:00.000Z\""
                    ))
                })?)
            }
            Kind::Lower => SqlValue::Text(value.to_lowercase()),
            Kind::Text | Kind::Word => SqlValue::Text(value),
        };
        Ok(Expr::cond(attr.column, op, value))
    }
}

/// Parses a `filter` or `search` expression over `attrs`; errors name `field`.
pub fn parse(field: &'static str, text: &str, attrs: &[Attr]) -> Result<Expr, AdminError> {
    if text.len() > MAX_LENGTH {
        return Err(AdminError::invalid(
            field,
            format!("must be at most {MAX_LENGTH} characters"),
        ));
    }
    check_no_controls(field, text)?;
    let tokens = tokens(field, text)?;
    let mut parser = Parser {
        field,
        tokens,
        at: 0,
        attrs,
        conditions: 0,
        depth: 0,
    };
    let expr = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(
            parser.bad("has text after the end of the expression (join conditions with and/or)")
        );
    }
    Ok(expr)
}

/// `limit`: `default` when absent, 1 to `max`.
pub fn limit(given: Option<i64>, default: i64, max: i64) -> Result<i64, AdminError> {
    match given {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(AdminError::invalid(
            "limit",
            format!("must be between 1 and {max}"),
        )),
    }
}

/// One page of a list held in memory, kept in its order: the items after the one whose
/// id is `after`, at most `limit`, and the next page's cursor (the id of the page's last
/// item) when more follow. An `after` naming no item of the list (deleted since, or not
/// a cursor of this list) is `E0000001` naming `after`: the caller starts again.
pub fn page_of<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
    after: Option<&str>,
    limit: i64,
) -> Result<(Vec<T>, Option<String>), AdminError> {
    let start = match after.filter(|a| !a.is_empty()) {
        None => 0,
        Some(cursor) => {
            items
                .iter()
                .position(|item| id(item) == cursor)
                .ok_or_else(|| {
                    AdminError::invalid("after", "is not a cursor of this list (start again)")
                })?
                + 1
        }
    };
    let limit = limit.max(0) as usize;
    let more = items.len() > start.saturating_add(limit);
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = if more {
        page.last().map(|item| id(item).to_string())
    } else {
        None
    };
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_a_list_in_memory() {
        fn id<'r>(s: &'r &str) -> &'r str {
            s
        }
        let items = vec!["a", "b", "c", "d", "e"];
        let (page, next) = page_of(items.clone(), id, None, 2).unwrap();
        assert_eq!((page, next.as_deref()), (vec!["a", "b"], Some("b")));
        let (page, next) = page_of(items.clone(), id, Some("b"), 2).unwrap();
        assert_eq!((page, next.as_deref()), (vec!["c", "d"], Some("d")));
        let (page, next) = page_of(items.clone(), id, Some("d"), 2).unwrap();
        assert_eq!((page, next), (vec!["e"], None));
        let (page, next) = page_of(items.clone(), id, Some("c"), 2).unwrap();
        assert_eq!(
            (page, next),
            (vec!["d", "e"], None),
            "a full last page has no next"
        );
        assert!(page_of(items, id, Some("x"), 2).is_err());
    }

    const ATTRS: &[Attr] = &[
        Attr {
            name: "status",
            column: "status",
            kind: Kind::Text,
        },
        Attr {
            name: "profile.login",
            column: "login_key",
            kind: Kind::Lower,
        },
        Attr {
            name: "lastUpdated",
            column: "updated_at",
            kind: Kind::Time,
        },
        Attr {
            name: "target.id",
            column: "target_ids",
            kind: Kind::Word,
        },
    ];

    fn text(s: &str) -> SqlValue {
        SqlValue::Text(s.into())
    }

    #[test]
    fn parses_okta_filters() {
        assert_eq!(
            parse("filter", r#"status eq "ACTIVE""#, ATTRS).unwrap(),
            Expr::cond("status", Op::Eq, text("ACTIVE"))
        );
        assert_eq!(
            parse(
                "filter",
                r#"status eq "ACTIVE" or status eq "STAGED" and profile.login sw "Al""#,
                ATTRS
            )
            .unwrap(),
            Expr::Or(vec![
                Expr::cond("status", Op::Eq, text("ACTIVE")),
                Expr::And(vec![
                    Expr::cond("status", Op::Eq, text("STAGED")),
                    Expr::cond("login_key", Op::StartsWith, text("al"))
                ]),
            ]),
            "and binds tighter than or"
        );
        assert_eq!(
            parse(
                "filter",
                r#"(status EQ "A" OR status eq "B") AND lastUpdated gt "2026-11-24T18:58:03.000Z""#,
                ATTRS
            )
            .unwrap(),
            Expr::And(vec![
                Expr::Or(vec![
                    Expr::cond("status", Op::Eq, text("A")),
                    Expr::cond("status", Op::Eq, text("B"))
                ]),
                Expr::cond("updated_at", Op::Gt, SqlValue::Int(1_795_546_683)),
            ])
        );
        assert_eq!(
            parse("f", r#"profile.login eq "a\"b\\""#, ATTRS).unwrap(),
            Expr::cond("login_key", Op::Eq, text("a\"b\\"))
        );
        assert_eq!(
            parse("f", r#"target.id eq "00u1""#, ATTRS).unwrap(),
            Expr::cond("target_ids", Op::HasWord, text("00u1"))
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in [
            "",
            "status",
            r#"status eq"#,
            r#"status eq ACTIVE"#,
            r#"status like "A""#,
            r#"password eq "x""#,
            r#"status eq "A" status eq "B""#,
            r#"(status eq "A""#,
            r#"status eq "A"; drop table users"#,
            r#"lastUpdated gt "yesterday""#,
            r#"lastUpdated sw "2026""#,
            r#"target.id sw "00u""#,
            r#"status eq "unterminated"#,
        ] {
            let e = parse("filter", bad, ATTRS).unwrap_err();
            assert!(
                matches!(
                    e,
                    AdminError::Invalid {
                        field: "filter",
                        ..
                    }
                ),
                "{bad}: {e}"
            );
        }
        let many = vec![r#"status eq "A""#; 21].join(" or ");
        assert!(parse("filter", &many, ATTRS).is_err());
        // Deep nesting is refused before it can exhaust the stack (2000 characters
        // allow ~1000 levels); a few levels are fine.
        let deep = format!("{}status eq \"A\"{}", "(".repeat(900), ")".repeat(900));
        assert!(parse("filter", &deep, ATTRS).is_err());
        let shallow = format!("{}status eq \"A\"{}", "(".repeat(3), ")".repeat(3));
        assert!(parse("filter", &shallow, ATTRS).is_ok());
    }

    #[test]
    fn json_escapes_decode_and_control_characters_are_invalid_search_criteria() {
        assert_eq!(
            parse("f", r#"profile.login sw "\u0041\/\u00e9""#, ATTRS).unwrap(),
            Expr::cond("login_key", Op::StartsWith, text("a/é"))
        );
        for bad in [
            r#"profile.login co "\u0000""#,
            r#"profile.login sw "\u001f""#,
            r#"profile.login co "\n""#,
            r#"status eq "\u007F""#,
            "profile.login co \"\u{0}\"",
            "profile.login co \"a\u{1b}\"",
            "status eq \"A\"\u{0}",
        ] {
            let e = parse("search", bad, ATTRS).unwrap_err();
            assert!(
                matches!(
                    e,
                    AdminError::InvalidSearch {
                        field: "search",
                        ..
                    }
                ),
                "{bad}: {e}"
            );
        }
        for bad in [
            r#"status eq "\x41""#,
            r#"status eq "\u00""#,
            r#"status eq "\ud800""#,
        ] {
            assert!(
                matches!(parse("filter", bad, ATTRS), Err(AdminError::Invalid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None, 200, 200).unwrap(), 200);
        assert_eq!(limit(Some(1), 200, 200).unwrap(), 1);
        assert!(limit(Some(0), 200, 200).is_err());
        assert!(limit(Some(201), 200, 200).is_err());
    }
}
