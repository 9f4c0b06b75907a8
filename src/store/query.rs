//! Filtered, cursor-paginated listing: a small condition tree that the admin layer
//! builds from Okta's `q`, `filter` and `search` parameters, and its translation into
//! a SQL `WHERE` clause with bound values. Columns are checked against each table's
//! allowlist, so nothing from a request ever becomes SQL text.
//!
//! Each condition is written so that an index answers it (migration 31) while what it
//! matches stays that of its plain form: a prefix (`sw`, `q`) adds the range of
//! `lower(column)` the prefix spans (in byte order: `COLLATE "C"` on PostgreSQL); a
//! substring (`co`) or a word of a list (`target.id eq`) on SQLite adds the rows that a
//! full-text index beside the table (`TextIndex`, FTS5) finds, and PostgreSQL's
//! trigram indexes serve the plain `LIKE` as it is (a word of a list: the array of the
//! list's words, which a GIN index answers). The plain `LIKE` is always kept,
//! so an index only narrows what is read, never what matches.

use super::db::Dialect;
use super::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Text(String),
    Int(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// Prefix, ignoring ASCII case.
    StartsWith,
    /// Substring, ignoring ASCII case.
    Contains,
    /// One of the space-separated words of the column (`target_ids`).
    HasWord,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    pub column: &'static str,
    pub op: Op,
    pub value: SqlValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Cond(Cond),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

impl Expr {
    pub fn cond(column: &'static str, op: Op, value: SqlValue) -> Expr {
        Expr::Cond(Cond { column, op, value })
    }

    /// Both, flattening.
    pub fn and(self, other: Expr) -> Expr {
        match self {
            Expr::And(mut list) => {
                list.push(other);
                Expr::And(list)
            }
            first => Expr::And(vec![first, other]),
        }
    }
}

/// Whether `expr` holds a prefix or substring condition: what SQLite answers from an
/// index that yields every match unordered (`sw`'s range, `co`'s trigrams), so a broad
/// term costs a sort of all its matches before the first page.
pub fn seeks_text(expr: &Expr) -> bool {
    match expr {
        Expr::Cond(c) => matches!(c.op, Op::StartsWith | Op::Contains),
        Expr::And(list) | Expr::Or(list) => list.iter().any(seeks_text),
    }
}

/// One page of a listing: rows matching `filter`, after the cursor, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub filter: Option<Expr>,
    /// The cursor: the ordering column's value of the last row of the previous page.
    pub after: Option<SqlValue>,
    pub limit: i64,
}

/// `%`, `_` and `\` taken literally in a `LIKE ... ESCAPE '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn text(value: &SqlValue) -> StoreResult<&str> {
    match value {
        SqlValue::Text(t) => Ok(t),
        SqlValue::Int(_) => Err(StoreError::Schema("a text match needs a text value".into())),
    }
}

/// How SQLite's index beside a table finds text in the columns it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// An FTS5 table with the `trigram` tokenizer: finds any substring of 3 characters
    /// or more (`Op::Contains`).
    Trigram,
    /// A table of `(word, row)` pairs, one per word of the column (`word` and `row`
    /// name its columns; its primary key starts with `word`): finds a word exactly
    /// (`Op::HasWord`).
    Words {
        word: &'static str,
        row: &'static str,
    },
}

/// SQLite's index of some columns of a table by rowid, kept in step by triggers
/// (migrations 31 and 45).
#[derive(Debug, Clone, Copy)]
pub struct TextIndex {
    pub table: &'static str,
    pub columns: &'static [&'static str],
    pub tokens: Tokens,
}

/// The smallest code point above every string that starts with `prefix`, in byte
/// (code point) order: `prefix` with its last character raised by one; `None` when
/// there is none (an empty prefix, or one of U+10FFFF only).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            n => char::from_u32(n + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// An FTS5 phrase (`"..."`, quotes doubled) of `text`.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// Builds the `WHERE` clause of a page: `placeholder(n)` writes the n-th (1-based)
/// bind marker (`?` for SQLite, `$n` for PostgreSQL); `cursor_column` orders the rows.
pub struct Where<'a> {
    pub columns: &'a [&'static str],
    pub placeholder: fn(usize) -> String,
    pub binds: Vec<SqlValue>,
    pub dialect: Dialect,
    /// SQLite's full-text index beside the table, if it has one.
    pub text_index: Option<TextIndex>,
    /// Each condition in its plain form alone (no prefix range, no full-text rows), so
    /// that no index answers a `sw` or `co` and the page walks its ordering column.
    pub plain: bool,
}

impl<'a> Where<'a> {
    /// A clause over `columns` in `dialect`'s SQL, with `$n` markers.
    pub fn new(columns: &'a [&'static str], dialect: Dialect) -> Self {
        Where {
            columns,
            placeholder: super::db::placeholder,
            binds: Vec::new(),
            dialect,
            text_index: None,
            plain: false,
        }
    }

    /// Without the index-seeking additions of `sw` and `co` (see `plain`).
    pub fn plain(mut self) -> Self {
        self.plain = true;
        self
    }

    /// With SQLite's full-text index `index` (ignored on PostgreSQL).
    pub fn with_text_index(mut self, index: TextIndex) -> Self {
        self.text_index = Some(index);
        self
    }

    /// `lower(col)` as the prefix range compares it: in byte order.
    fn ordered(&self, col: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("lower({col})"),
            Dialect::Postgres => format!("lower({col}) COLLATE \"C\""),
        }
    }

    /// `AND rowid IN (the rows SQLite's text index finds for `value`)`, when the column
    /// has an index that `finds` (an FTS5 query for `Trigram`, the word itself for
    /// `Words`) and `usable`; else nothing.
    fn text_rows(
        &mut self,
        col: &str,
        finds: fn(&Tokens) -> bool,
        usable: bool,
        value: String,
    ) -> String {
        let Some(index) = self.text_index.filter(|i| {
            !self.plain
                && self.dialect == Dialect::Sqlite
                && finds(&i.tokens)
                && i.columns.contains(&col)
                && usable
        }) else {
            return String::new();
        };
        let table = index.table;
        let value = self.bind(SqlValue::Text(value));
        match index.tokens {
            Tokens::Trigram => {
                format!(" AND rowid IN (SELECT rowid FROM {table} WHERE {table} MATCH {value})")
            }
            Tokens::Words { word, row } => {
                format!(" AND rowid IN (SELECT {row} FROM {table} WHERE {word} = {value})")
            }
        }
    }

    fn bind(&mut self, value: SqlValue) -> String {
        self.binds.push(value);
        (self.placeholder)(self.binds.len())
    }

    fn expr(&mut self, expr: &Expr) -> StoreResult<String> {
        match expr {
            Expr::Cond(c) => self.cond(c),
            // The neutral element of each: an empty And holds, an empty Or does not.
            Expr::And(list) if list.is_empty() => Ok("1=1".into()),
            Expr::Or(list) if list.is_empty() => Ok("1=0".into()),
            Expr::And(list) | Expr::Or(list) => {
                let joiner = if matches!(expr, Expr::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts = list
                    .iter()
                    .map(|e| self.expr(e))
                    .collect::<StoreResult<Vec<_>>>()?;
                Ok(format!("({})", parts.join(joiner)))
            }
        }
    }

    fn cond(&mut self, c: &Cond) -> StoreResult<String> {
        if !self.columns.contains(&c.column) {
            return Err(StoreError::Schema(format!(
                "{} cannot be filtered on",
                c.column
            )));
        }
        let col = c.column;
        let cmp = |op: &str, this: &mut Self| format!("{col} {op} {}", this.bind(c.value.clone()));
        Ok(match c.op {
            Op::Eq => cmp("=", self),
            Op::Ne => cmp("<>", self),
            Op::Gt => cmp(">", self),
            Op::Ge => cmp(">=", self),
            Op::Lt => cmp("<", self),
            Op::Le => cmp("<=", self),
            Op::StartsWith => {
                let prefix = text(&c.value)?.to_ascii_lowercase();
                let pattern = format!("{}%", like_escape(&prefix));
                let mut sql = format!(
                    "(lower({col}) LIKE {} ESCAPE '\\'",
                    self.bind(SqlValue::Text(pattern))
                );
                if self.plain {
                    sql.push(')');
                    return Ok(sql);
                }
                let ordered = self.ordered(col);
                sql.push_str(&format!(
                    " AND {ordered} >= {}",
                    self.bind(SqlValue::Text(prefix.clone()))
                ));
                if let Some(end) = prefix_end(&prefix) {
                    sql.push_str(&format!(
                        " AND {ordered} < {}",
                        self.bind(SqlValue::Text(end))
                    ));
                }
                sql.push(')');
                sql
            }
            Op::Contains => {
                let part = text(&c.value)?.to_ascii_lowercase();
                let pattern = format!("%{}%", like_escape(&part));
                let like = format!(
                    "lower({col}) LIKE {} ESCAPE '\\'",
                    self.bind(SqlValue::Text(pattern))
                );
                let usable = part.chars().count() >= 3;
                let query = format!("{col} : {}", fts_phrase(&part));
                let rows = self.text_rows(col, |t| matches!(t, Tokens::Trigram), usable, query);
                format!("({like}{rows})")
            }
            Op::HasWord => {
                let word = text(&c.value)?;
                let pattern = format!("% {} %", like_escape(word));
                let like = format!(
                    "{col} LIKE {} ESCAPE '\\'",
                    self.bind(SqlValue::Text(pattern))
                );
                // A word holds no whitespace: the index of words finds no other.
                let usable = !word.is_empty() && !word.contains(char::is_whitespace);
                let mut rows = self.text_rows(
                    col,
                    |t| matches!(t, Tokens::Words { .. }),
                    usable,
                    word.to_string(),
                );
                if self.dialect == Dialect::Postgres && !self.plain && usable {
                    // The column's words as an array, which a GIN index of that very
                    // expression answers (migration 32); a word holds no space.
                    rows = format!(
                        " AND string_to_array(btrim({col}), ' ') @> ARRAY[{}]::text[]",
                        self.bind(SqlValue::Text(word.to_string()))
                    );
                }
                format!("({like}{rows})")
            }
        })
    }

    /// `WHERE filter AND cursor_column > after ORDER BY cursor_column LIMIT n`, and the
    /// values to bind in order.
    pub fn page(
        mut self,
        page: &Page,
        cursor_column: &str,
    ) -> StoreResult<(String, Vec<SqlValue>)> {
        let condition = self.condition(page, cursor_column)?;
        let limit = self.bind(SqlValue::Int(page.limit.max(0)));
        Ok((
            format!("{condition} ORDER BY {cursor_column} LIMIT {limit}"),
            self.binds,
        ))
    }

    /// `WHERE filter AND cursor_column > after` alone (empty when neither), and the
    /// values to bind in order: what a page reads, for counting it (`probe_broad`).
    pub fn rows(
        mut self,
        page: &Page,
        cursor_column: &str,
    ) -> StoreResult<(String, Vec<SqlValue>)> {
        let condition = self.condition(page, cursor_column)?;
        Ok((condition, self.binds))
    }

    fn condition(&mut self, page: &Page, cursor_column: &str) -> StoreResult<String> {
        let mut clauses = Vec::new();
        if let Some(filter) = &page.filter {
            clauses.push(self.expr(filter)?);
        }
        if let Some(after) = &page.after {
            clauses.push(format!("{cursor_column} > {}", self.bind(after.clone())));
        }
        Ok(if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_where_clause_with_binds() {
        let filter =
            Expr::Or(vec![
                Expr::cond("status", Op::Eq, SqlValue::Text("ACTIVE".into())),
                Expr::cond("login_key", Op::StartsWith, SqlValue::Text("A_b%".into()))
                    .and(Expr::cond("updated_at", Op::Gt, SqlValue::Int(5))),
            ]);
        let page = Page {
            filter: Some(filter),
            after: Some(SqlValue::Text("00u1".into())),
            limit: 2,
        };
        let columns = ["status", "login_key", "updated_at"];
        let (sql, binds) = Where::new(&columns, Dialect::Postgres)
            .page(&page, "id")
            .unwrap();
        assert_eq!(
            sql,
            "WHERE (status = $1 OR ((lower(login_key) LIKE $2 ESCAPE '\\' AND lower(login_key) COLLATE \"C\" >= $3 AND lower(login_key) COLLATE \"C\" < $4) AND updated_at > $5)) AND id > $6 ORDER BY id LIMIT $7"
        );
        assert_eq!(binds[1], SqlValue::Text("a\\_b\\%%".into()));
        assert_eq!(binds[2], SqlValue::Text("a_b%".into()));
        assert_eq!(binds[3], SqlValue::Text("a_b&".into()));
        assert_eq!(binds[6], SqlValue::Int(2));
        let (sql, _) = Where::new(&columns, Dialect::Sqlite)
            .page(
                &Page {
                    limit: 1,
                    ..Page::default()
                },
                "seq",
            )
            .unwrap();
        assert_eq!(sql, " ORDER BY seq LIMIT $1");
    }

    #[test]
    fn a_prefix_spans_the_range_up_to_its_successor() {
        assert_eq!(prefix_end("ab").as_deref(), Some("ac"));
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end(""), None);
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        // No range above an empty prefix: only the LIKE.
        let page = Page {
            filter: Some(Expr::cond(
                "name",
                Op::StartsWith,
                SqlValue::Text(String::new()),
            )),
            after: None,
            limit: 1,
        };
        let (sql, _) = Where::new(&["name"], Dialect::Sqlite)
            .page(&page, "id")
            .unwrap();
        assert_eq!(
            sql,
            "WHERE (lower(name) LIKE $1 ESCAPE '\\' AND lower(name) >= $2) ORDER BY id LIMIT $3"
        );
    }

    #[test]
    fn sqlite_asks_its_full_text_index_and_keeps_the_like() {
        const INDEX: TextIndex = TextIndex {
            table: "users_trigrams",
            columns: &["last_name"],
            tokens: Tokens::Trigram,
        };
        let contains = |column: &'static str, value: &str, dialect| {
            let page = Page {
                filter: Some(Expr::cond(
                    column,
                    Op::Contains,
                    SqlValue::Text(value.into()),
                )),
                after: None,
                limit: 1,
            };
            Where::new(&["last_name", "email"], dialect)
                .with_text_index(INDEX)
                .page(&page, "id")
                .unwrap()
        };
        let (sql, binds) = contains("last_name", "Li\"d%", Dialect::Sqlite);
        assert_eq!(
            sql,
            "WHERE (lower(last_name) LIKE $1 ESCAPE '\\' AND rowid IN (SELECT rowid FROM users_trigrams WHERE users_trigrams MATCH $2)) ORDER BY id LIMIT $3"
        );
        assert_eq!(binds[0], SqlValue::Text("%li\"d\\%%".into()));
        assert_eq!(binds[1], SqlValue::Text("last_name : \"li\"\"d%\"".into()));
        // Too short for trigrams, a column it does not hold, or PostgreSQL: the LIKE alone.
        for (column, value, dialect) in [
            ("last_name", "li", Dialect::Sqlite),
            ("email", "liddell", Dialect::Sqlite),
            ("last_name", "liddell", Dialect::Postgres),
        ] {
            let (sql, _) = contains(column, value, dialect);
            assert!(!sql.contains("MATCH"), "{sql}");
        }
    }

    #[test]
    fn a_word_is_found_by_its_row_in_the_table_of_words() {
        const INDEX: TextIndex = TextIndex {
            table: "system_log_target_ids",
            columns: &["target_ids"],
            tokens: Tokens::Words {
                word: "target_id",
                row: "seq",
            },
        };
        let has_word = |value: &str, dialect| {
            let page = Page {
                filter: Some(Expr::cond(
                    "target_ids",
                    Op::HasWord,
                    SqlValue::Text(value.into()),
                )),
                after: None,
                limit: 1,
            };
            Where::new(&["target_ids"], dialect)
                .with_text_index(INDEX)
                .page(&page, "seq")
                .unwrap()
        };
        let (sql, binds) = has_word("0oa_1\"", Dialect::Sqlite);
        assert_eq!(
            sql,
            "WHERE (target_ids LIKE $1 ESCAPE '\\' AND rowid IN (SELECT seq FROM system_log_target_ids WHERE target_id = $2)) ORDER BY seq LIMIT $3"
        );
        assert_eq!(binds[0], SqlValue::Text("% 0oa\\_1\" %".into()));
        // The word itself, as written: the table holds ids exactly.
        assert_eq!(binds[1], SqlValue::Text("0oa_1\"".into()));
        let (sql, _) = has_word("00u1", Dialect::Postgres);
        assert!(sql.contains("@> ARRAY[$2]::text[]"), "{sql}");
        // Two words, or none, are no one id: the LIKE alone, on both backends.
        for value in ["00u1 00u2", ""] {
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                let (sql, _) = has_word(value, dialect);
                assert!(!sql.contains("system_log_target_ids"), "{sql}");
                assert!(!sql.contains("ARRAY"), "{sql}");
            }
        }
    }

    #[test]
    fn plain_keeps_the_like_alone() {
        const INDEX: TextIndex = TextIndex {
            table: "users_trigrams",
            columns: &["last_name"],
            tokens: Tokens::Trigram,
        };
        let filter = Expr::cond("last_name", Op::Contains, SqlValue::Text("idd".into())).and(
            Expr::cond("last_name", Op::StartsWith, SqlValue::Text("Li".into())),
        );
        assert!(seeks_text(&filter));
        assert!(!seeks_text(&Expr::cond(
            "last_name",
            Op::Eq,
            SqlValue::Text("x".into())
        )));
        let page = Page {
            filter: Some(filter),
            after: None,
            limit: 1,
        };
        let (sql, binds) = Where::new(&["last_name"], Dialect::Sqlite)
            .with_text_index(INDEX)
            .plain()
            .page(&page, "id")
            .unwrap();
        assert_eq!(
            sql,
            "WHERE ((lower(last_name) LIKE $1 ESCAPE '\\') AND (lower(last_name) LIKE $2 ESCAPE '\\')) ORDER BY id LIMIT $3"
        );
        assert_eq!(binds[1], SqlValue::Text("li%".into()));
    }

    #[test]
    fn refuses_a_column_not_allowed() {
        let page = Page {
            filter: Some(Expr::cond(
                "password_hash",
                Op::Eq,
                SqlValue::Text("x".into()),
            )),
            after: None,
            limit: 1,
        };
        assert!(
            Where::new(&["status"], Dialect::Sqlite)
                .page(&page, "id")
                .is_err()
        );
    }
}
