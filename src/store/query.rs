//! Filtered, cursor-paginated listing: a small condition tree that the admin layer
//! builds from Okta's `q`, `filter` and `search` parameters, and its translation into
//! a SQL `WHERE` clause with bound values. Columns are checked against each table's
//! allowlist, so nothing from a request ever becomes SQL text.

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

/// Builds the `WHERE` clause of a page: `placeholder(n)` writes the n-th (1-based)
/// bind marker (`?` for SQLite, `$n` for PostgreSQL); `cursor_column` orders the rows.
pub struct Where<'a> {
    pub columns: &'a [&'static str],
    pub placeholder: fn(usize) -> String,
    pub binds: Vec<SqlValue>,
}

impl Where<'_> {
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
                let pattern = format!("{}%", like_escape(&text(&c.value)?.to_ascii_lowercase()));
                format!(
                    "lower({col}) LIKE {} ESCAPE '\\'",
                    self.bind(SqlValue::Text(pattern))
                )
            }
            Op::Contains => {
                let pattern = format!("%{}%", like_escape(&text(&c.value)?.to_ascii_lowercase()));
                format!(
                    "lower({col}) LIKE {} ESCAPE '\\'",
                    self.bind(SqlValue::Text(pattern))
                )
            }
            Op::HasWord => {
                let pattern = format!("% {} %", like_escape(text(&c.value)?));
                format!(
                    "{col} LIKE {} ESCAPE '\\'",
                    self.bind(SqlValue::Text(pattern))
                )
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
        let mut clauses = Vec::new();
        if let Some(filter) = &page.filter {
            clauses.push(self.expr(filter)?);
        }
        if let Some(after) = &page.after {
            clauses.push(format!("{cursor_column} > {}", self.bind(after.clone())));
        }
        let condition = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let limit = self.bind(SqlValue::Int(page.limit.max(0)));
        Ok((
            format!("{condition} ORDER BY {cursor_column} LIMIT {limit}"),
            self.binds,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(_: usize) -> String {
        "?".into()
    }

    fn dollar(n: usize) -> String {
        format!("${n}")
    }

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
        let (sql, binds) = Where {
            columns: &columns,
            placeholder: dollar,
            binds: vec![],
        }
        .page(&page, "id")
        .unwrap();
        assert_eq!(
            sql,
            "WHERE (status = $1 OR (lower(login_key) LIKE $2 ESCAPE '\\' AND updated_at > $3)) AND id > $4 ORDER BY id LIMIT $5"
        );
        assert_eq!(binds[1], SqlValue::Text("a\\_b\\%%".into()));
        assert_eq!(binds[4], SqlValue::Int(2));
        let (sql, _) = Where {
            columns: &columns,
            placeholder: question,
            binds: vec![],
        }
        .page(
            &Page {
                limit: 1,
                ..Page::default()
            },
            "seq",
        )
        .unwrap();
        assert_eq!(sql, " ORDER BY seq LIMIT ?");
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
            Where {
                columns: &["status"],
                placeholder: question,
                binds: vec![]
            }
            .page(&page, "id")
            .is_err()
        );
    }
}
