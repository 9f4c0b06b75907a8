//! Profile mappings from an upstream's claims: the small part of Okta Expression
//! Language a mapping or a `userNameTemplate` needs, evaluated safely (no code, no
//! reflection, bounded length and depth).
//!
//! ```text
//! expr    := primary ('+' primary)*          concatenation
//! primary := string | path | call | '(' expr ')'
//! string  := "…" or '…'                      with \" \' \\ escapes
//! path    := ('idpuser' | 'appuser') ('.' name)+
//! call    := 'String.' function '(' [expr (',' expr)*] ')'
//! ```
//!
//! `idpuser.<claim>` (or `appuser.<claim>`, Okta's older name for the same source)
//! reads the claim, nested with dots (`idpuser.address.locality`); a string is taken
//! as it is, a number or boolean as its text, an array or object is an error. A claim
//! that is absent or `null` is *nothing*: a function given nothing gives nothing,
//! `+` with nothing gives nothing (so `idpuser.given_name + " " + idpuser.family_name`
//! is set only when both are), except `String.join`, which skips it. A mapping whose
//! expression gives nothing leaves the field unset.
//!
//! Functions, with Okta's (Apache Commons') semantics:
//! - `String.substringBefore(s, sep)`: before the first `sep`; all of `s` if none;
//!   empty if `sep` is empty.
//! - `String.substringAfter(s, sep)`: after the first `sep`; empty if none; all of
//!   `s` if `sep` is empty.
//! - `String.toLowerCase(s)`, `String.toUpperCase(s)`.
//! - `String.append(s, suffix)`.
//! - `String.join(sep, a, b, …)`: the values that are not nothing, joined by `sep`.
//! - `String.replace(s, match, replacement)`: every occurrence, literally (Okta takes
//!   a regular expression; a literal is what mappings use it for).
//! - `String.removeSpaces(s)`.

use std::fmt;

use serde_json::{Map, Value};

/// Longest expression accepted (characters).
pub const MAX_EXPR_LEN: usize = 1024;
/// Deepest nesting of calls and parentheses.
const MAX_DEPTH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("the expression is empty")]
    Empty,
    #[error("the expression is longer than {MAX_EXPR_LEN} characters")]
    TooLong,
    #[error("the expression is nested too deeply")]
    TooDeep,
    #[error("the expression is not valid at character {at}: {expected}")]
    Syntax { at: usize, expected: &'static str },
    #[error("'{0}' is not a known source (use idpuser)")]
    UnknownSource(String),
    #[error("String.{0} is not a supported function")]
    UnknownFunction(String),
    #[error("String.{name} takes {takes}")]
    Arity { name: String, takes: &'static str },
    #[error("{0} is a list or an object, not text")]
    NotText(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expr {
    Text(String),
    /// The claim path after the source (`["address", "locality"]`).
    Path(Vec<String>),
    Call(Function, Vec<Expr>),
    Concat(Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    SubstringBefore,
    SubstringAfter,
    ToLowerCase,
    ToUpperCase,
    Append,
    Join,
    Replace,
    RemoveSpaces,
}

impl Function {
    fn parse(name: &str) -> Option<Function> {
        Some(match name {
            "substringBefore" => Function::SubstringBefore,
            "substringAfter" => Function::SubstringAfter,
            "toLowerCase" => Function::ToLowerCase,
            "toUpperCase" => Function::ToUpperCase,
            "append" => Function::Append,
            "join" => Function::Join,
            "replace" => Function::Replace,
            "removeSpaces" => Function::RemoveSpaces,
            _ => return None,
        })
    }

    /// Whether `n` arguments fit, and what it takes when not.
    fn arity(self, n: usize) -> Result<(), &'static str> {
        let (ok, takes) = match self {
            Function::ToLowerCase | Function::ToUpperCase | Function::RemoveSpaces => {
                (n == 1, "one argument")
            }
            Function::SubstringBefore | Function::SubstringAfter | Function::Append => {
                (n == 2, "two arguments")
            }
            Function::Replace => (n == 3, "three arguments"),
            Function::Join => (n >= 2, "a separator and at least one value"),
        };
        if ok { Ok(()) } else { Err(takes) }
    }
}

/// A parsed expression, to check one once (at registration) and evaluate it often.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression(Expr);

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self
            .text
            .get(self.at)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.get(self.at).copied()
    }

    fn error(&self, expected: &'static str) -> ExprError {
        ExprError::Syntax {
            at: self.at,
            expected,
        }
    }

    fn expect(&mut self, byte: u8, expected: &'static str) -> Result<(), ExprError> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    fn name(&mut self) -> Result<String, ExprError> {
        self.skip_space();
        let start = self.at;
        while let Some(b) = self.text.get(self.at) {
            let ok = b.is_ascii_alphabetic()
                || *b == b'_'
                || *b == b'$'
                || (self.at > start && (b.is_ascii_digit() || *b == b'-'));
            if !ok {
                break;
            }
            self.at += 1;
        }
        if start == self.at {
            return Err(self.error("a name"));
        }
        Ok(String::from_utf8_lossy(&self.text[start..self.at]).into_owned())
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::TooDeep);
        }
        let mut parts = vec![self.primary()?];
        while self.peek() == Some(b'+') {
            self.at += 1;
            parts.push(self.primary()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Expr::Concat(parts)
        })
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        match self.peek() {
            Some(q @ (b'"' | b'\'')) => self.string(q),
            Some(b'(') => {
                self.at += 1;
                let inner = self.expr()?;
                self.expect(b')', "')'")?;
                Ok(inner)
            }
            Some(_) => {
                let root = self.name()?;
                match root.as_str() {
                    "idpuser" | "appuser" => {
                        let mut path = Vec::new();
                        while self.peek() == Some(b'.') {
                            self.at += 1;
                            path.push(self.name()?);
                        }
                        if path.is_empty() {
                            return Err(self.error("'.' and a claim name"));
                        }
                        Ok(Expr::Path(path))
                    }
                    "String" => {
                        self.expect(b'.', "'.' and a function name")?;
                        let name = self.name()?;
                        let function = Function::parse(&name)
                            .ok_or_else(|| ExprError::UnknownFunction(name.clone()))?;
                        self.expect(b'(', "'('")?;
                        let mut args = Vec::new();
                        if self.peek() != Some(b')') {
                            args.push(self.expr()?);
                            while self.peek() == Some(b',') {
                                self.at += 1;
                                args.push(self.expr()?);
                            }
                        }
                        self.expect(b')', "')' or ','")?;
                        function
                            .arity(args.len())
                            .map_err(|takes| ExprError::Arity { name, takes })?;
                        Ok(Expr::Call(function, args))
                    }
                    _ => Err(ExprError::UnknownSource(root)),
                }
            }
            None => Err(self.error("a value")),
        }
    }

    fn string(&mut self, quote: u8) -> Result<Expr, ExprError> {
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.text.get(self.at) {
                None => return Err(self.error("the closing quote")),
                Some(b) if *b == quote => {
                    self.at += 1;
                    break;
                }
                Some(b'\\') => {
                    match self.text.get(self.at + 1) {
                        Some(e @ (b'"' | b'\'' | b'\\')) => out.push(*e),
                        _ => return Err(self.error("\\\", \\' or \\\\")),
                    }
                    self.at += 2;
                }
                Some(b) => {
                    out.push(*b);
                    self.at += 1;
                }
            }
        }
        // The input is a &str and quotes are ASCII, so the bytes between are UTF-8.
        Ok(Expr::Text(String::from_utf8_lossy(&out).into_owned()))
    }
}

/// Parses `expr` (see the module comment); what to validate a mapping with when it
/// is registered.
pub fn parse(expr: &str) -> Result<Expression, ExprError> {
    if expr.trim().is_empty() {
        return Err(ExprError::Empty);
    }
    if expr.chars().count() > MAX_EXPR_LEN {
        return Err(ExprError::TooLong);
    }
    let mut p = Parser {
        text: expr.as_bytes(),
        at: 0,
        depth: 0,
    };
    let e = p.expr()?;
    if p.peek().is_some() {
        return Err(p.error("'+' or the end"));
    }
    Ok(Expression(e))
}

impl Expression {
    /// The value for `claims` (the upstream identity's), or nothing.
    pub fn eval(&self, claims: &Map<String, Value>) -> Result<Option<String>, ExprError> {
        eval_expr(&self.0, claims)
    }
}

/// `parse` then `Expression::eval`.
pub fn eval(expr: &str, claims: &Map<String, Value>) -> Result<Option<String>, ExprError> {
    parse(expr)?.eval(claims)
}

fn lookup(path: &[String], claims: &Map<String, Value>) -> Result<Option<String>, ExprError> {
    let mut value = match claims.get(&path[0]) {
        Some(v) => v,
        None => return Ok(None),
    };
    for name in &path[1..] {
        value = match value.get(name) {
            Some(v) => v,
            None => return Ok(None),
        };
    }
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        Value::Array(_) | Value::Object(_) => {
            Err(ExprError::NotText(format!("idpuser.{}", path.join("."))))
        }
    }
}

fn eval_expr(e: &Expr, claims: &Map<String, Value>) -> Result<Option<String>, ExprError> {
    Ok(match e {
        Expr::Text(t) => Some(t.clone()),
        Expr::Path(path) => lookup(path, claims)?,
        Expr::Concat(parts) => {
            let mut out = String::new();
            for part in parts {
                match eval_expr(part, claims)? {
                    Some(s) => out.push_str(&s),
                    None => return Ok(None),
                }
            }
            Some(out)
        }
        Expr::Call(Function::Join, args) => {
            let sep = match eval_expr(&args[0], claims)? {
                Some(s) => s,
                None => return Ok(None),
            };
            let mut values = Vec::new();
            for a in &args[1..] {
                if let Some(v) = eval_expr(a, claims)? {
                    values.push(v);
                }
            }
            Some(values.join(&sep))
        }
        Expr::Call(function, args) => {
            let mut values = Vec::with_capacity(args.len());
            for a in args {
                match eval_expr(a, claims)? {
                    Some(v) => values.push(v),
                    None => return Ok(None),
                }
            }
            Some(call(*function, &values))
        }
    })
}

fn call(function: Function, v: &[String]) -> String {
    match function {
        Function::SubstringBefore => {
            if v[1].is_empty() {
                String::new()
            } else {
                v[0].split_once(v[1].as_str())
                    .map_or(v[0].clone(), |(before, _)| before.to_string())
            }
        }
        Function::SubstringAfter => {
            if v[1].is_empty() {
                v[0].clone()
            } else {
                v[0].split_once(v[1].as_str())
                    .map_or(String::new(), |(_, after)| after.to_string())
            }
        }
        Function::ToLowerCase => v[0].to_lowercase(),
        Function::ToUpperCase => v[0].to_uppercase(),
        Function::Append => format!("{}{}", v[0], v[1]),
        Function::Replace => {
            if v[1].is_empty() {
                v[0].clone()
            } else {
                v[0].replace(v[1].as_str(), &v[2])
            }
        }
        Function::RemoveSpaces => v[0].chars().filter(|c| !c.is_whitespace()).collect(),
        Function::Join => unreachable!("join is evaluated lazily"),
    }
}

/// A mapping that failed: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the mapping of {field} is not valid: {error}")]
pub struct MappingError {
    pub field: String,
    pub error: ExprError,
}

/// Applies `mapping` (profile field, expression) to `claims`: the profile, each field
/// whose expression gives a value set to it as a string, the others left out.
pub fn apply(
    mapping: &[(String, String)],
    claims: &Map<String, Value>,
) -> Result<Map<String, Value>, MappingError> {
    let mut profile = Map::new();
    for (field, expr) in mapping {
        let value = eval(expr, claims).map_err(|error| MappingError {
            field: field.clone(),
            error,
        })?;
        if let Some(value) = value {
            profile.insert(field.clone(), Value::String(value));
        }
    }
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims() -> Map<String, Value> {
        json!({
            "email": "Alice.Smith@Corp.Example",
            "given_name": "Alice",
            "family_name": "Smith",
            "id": 4242,
            "email_verified": true,
            "address": {"locality": "Lyon", "country": null},
            "groups": ["a", "b"],
            "note": "it's \"quoted\"",
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn ok(expr: &str) -> Option<String> {
        eval(expr, &claims()).unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    #[test]
    fn paths_read_claims_nested_and_as_text() {
        assert_eq!(
            ok("idpuser.email").as_deref(),
            Some("Alice.Smith@Corp.Example")
        );
        assert_eq!(ok("appuser.given_name").as_deref(), Some("Alice"));
        assert_eq!(ok("idpuser.address.locality").as_deref(), Some("Lyon"));
        assert_eq!(ok("idpuser.id").as_deref(), Some("4242"));
        assert_eq!(ok("idpuser.email_verified").as_deref(), Some("true"));
        assert_eq!(ok("idpuser.address.country"), None, "null is nothing");
        assert_eq!(ok("idpuser.missing"), None);
        assert_eq!(ok("idpuser.email.deeper"), None);
        assert_eq!(
            eval("idpuser.groups", &claims()),
            Err(ExprError::NotText("idpuser.groups".into()))
        );
    }

    #[test]
    fn literals_and_concatenation() {
        assert_eq!(
            ok(r#"idpuser.given_name + " " + idpuser.family_name"#).as_deref(),
            Some("Alice Smith")
        );
        assert_eq!(
            ok(r#"'a\'b' + "c\"d" + "\\""#).as_deref(),
            Some("a'bc\"d\\")
        );
        assert_eq!(ok(r#"idpuser.given_name + idpuser.missing"#), None);
        assert_eq!(ok(r#"("x" + ("y"))"#).as_deref(), Some("xy"));
        assert_eq!(ok(r#""é ✓""#).as_deref(), Some("é ✓"));
    }

    #[test]
    fn the_string_functions_okta_documents() {
        assert_eq!(
            ok(r#"String.substringBefore(idpuser.email, "@")"#).as_deref(),
            Some("Alice.Smith")
        );
        assert_eq!(
            ok(r#"String.toLowerCase(String.substringAfter(idpuser.email, "@"))"#).as_deref(),
            Some("corp.example")
        );
        assert_eq!(
            ok(r#"String.substringBefore("abc", "z")"#).as_deref(),
            Some("abc")
        );
        assert_eq!(
            ok(r#"String.substringAfter("abc", "z")"#).as_deref(),
            Some("")
        );
        assert_eq!(
            ok(r#"String.substringBefore("abc", "")"#).as_deref(),
            Some("")
        );
        assert_eq!(
            ok(r#"String.substringAfter("abc", "")"#).as_deref(),
            Some("abc")
        );
        assert_eq!(ok(r#"String.toUpperCase("ab")"#).as_deref(), Some("AB"));
        assert_eq!(
            ok(r#"String.append(idpuser.given_name, "!")"#).as_deref(),
            Some("Alice!")
        );
        assert_eq!(
            ok(r#"String.join(" ", idpuser.given_name, idpuser.missing, idpuser.family_name)"#)
                .as_deref(),
            Some("Alice Smith")
        );
        assert_eq!(
            ok(r#"String.replace("a.b.c", ".", "-")"#).as_deref(),
            Some("a-b-c")
        );
        assert_eq!(ok(r#"String.removeSpaces(" a b ")"#).as_deref(), Some("ab"));
        assert_eq!(ok(r#"String.toLowerCase(idpuser.missing)"#), None);
    }

    #[test]
    fn what_is_not_the_language_is_refused() {
        for (expr, want) in [
            ("", ExprError::Empty),
            ("   ", ExprError::Empty),
            ("user.email", ExprError::UnknownSource("user".into())),
            ("System.exit(0)", ExprError::UnknownSource("System".into())),
            (
                "String.format(\"x\")",
                ExprError::UnknownFunction("format".into()),
            ),
            (
                "String.toLowerCase()",
                ExprError::Arity {
                    name: "toLowerCase".into(),
                    takes: "one argument",
                },
            ),
        ] {
            assert_eq!(eval(expr, &claims()), Err(want), "{expr}");
        }
        for bad in [
            "idpuser",
            "idpuser.",
            "\"open",
            "idpuser.email +",
            "idpuser.email idpuser.email",
            "String.toLowerCase(\"a\"",
            "(\"a\"",
            "\"a\\n\"",
            "idpuser.email == \"x\"",
        ] {
            assert!(
                matches!(eval(bad, &claims()), Err(ExprError::Syntax { .. })),
                "{bad}: {:?}",
                eval(bad, &claims())
            );
        }
        let deep = format!("{}\"x\"{}", "(".repeat(40), ")".repeat(40));
        assert_eq!(eval(&deep, &claims()), Err(ExprError::TooDeep));
        let long = format!("\"{}\"", "x".repeat(MAX_EXPR_LEN));
        assert_eq!(eval(&long, &claims()), Err(ExprError::TooLong));
    }

    #[test]
    fn apply_builds_a_profile_and_names_the_failing_field() {
        let mapping = vec![
            ("login".to_string(), "idpuser.email".to_string()),
            ("firstName".to_string(), "idpuser.given_name".to_string()),
            ("nickName".to_string(), "idpuser.nickname".to_string()),
            (
                "displayName".to_string(),
                r#"idpuser.given_name + " " + idpuser.family_name"#.to_string(),
            ),
        ];
        let profile = apply(&mapping, &claims()).unwrap();
        assert_eq!(
            Value::Object(profile),
            json!({"login": "Alice.Smith@Corp.Example", "firstName": "Alice", "displayName": "Alice Smith"})
        );
        let broken = vec![("groups".to_string(), "idpuser.groups".to_string())];
        assert_eq!(apply(&broken, &claims()).unwrap_err().field, "groups");
    }
}
