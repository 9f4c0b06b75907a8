//! Users: the directory Okta's `/api/v1/users` manages and the sign-in page checks.

use async_trait::async_trait;

use super::db::{Arg, Backend, Dialect, Row};
use super::query::{SqlValue, TextIndex, Tokens, Where, seeks_text};
use super::{Page, StoreError, StoreResult, User};
use crate::clock::UnixTime;

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn insert_user(&self, user: &User) -> StoreResult<()>;
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
    /// By login, without regard to case.
    async fn find_user_by_login(&self, login: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Writes every field of the user with this id but `last_login_at` (only
    /// `record_login` writes it, so an update made from an older read never undoes a
    /// sign-in); false when absent. A login that another user has is a `Conflict`.
    async fn update_user(&self, user: &User) -> StoreResult<bool>;
    /// Sets the user's `last_login_at` (a successful sign-in) and forgets their wrong
    /// passwords (the lockout count); false when absent.
    async fn record_login(&self, user_id: &str, at: UnixTime) -> StoreResult<bool>;
    /// Deletes the user with their sessions, memberships and assignments.
    async fn delete_user(&self, id: &str) -> StoreResult<bool>;
    /// A page of users ordered by id; filterable columns: `USER_COLUMNS`.
    async fn query_users(&self, page: &Page) -> StoreResult<Vec<User>>;
}

/// What a users page may filter on.
pub const USER_COLUMNS: &[&str] = &[
    "id",
    "status",
    "login",
    "login_key",
    "email",
    "first_name",
    "last_name",
    "created_at",
    "updated_at",
];

/// SQLite's trigram index of the searchable attributes (migration 31), for `co`.
const USERS_TEXT: TextIndex = TextIndex {
    table: "users_trigrams",
    columns: &["login_key", "email", "first_name", "last_name"],
    tokens: Tokens::Trigram,
};

/// A `users` row (also read by group members and app assignments).
pub(super) fn user_from_row(row: &impl Row) -> StoreResult<User> {
    let extra = row.text("profile_extra")?;
    Ok(User {
        id: row.text("id")?,
        login: row.text("login")?,
        email: row.opt_text("email")?,
        first_name: row.opt_text("first_name")?,
        last_name: row.opt_text("last_name")?,
        password_hash: row.opt_text("password_hash")?,
        status: row.text("status")?.parse()?,
        profile_extra: serde_json::from_str(&extra)
            .map_err(|e| StoreError::Schema(format!("corrupt profile_extra: {e}")))?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
        activated_at: row.opt_int("activated_at")?,
        status_changed_at: row.opt_int("status_changed_at")?,
        password_changed_at: row.opt_int("password_changed_at")?,
        last_login_at: row.opt_int("last_login_at")?,
        verified_email: row.opt_text("verified_email")?,
    })
}

fn extra_json(user: &User) -> Arg<'static> {
    serde_json::Value::Object(user.profile_extra.clone())
        .to_string()
        .into()
}

/// The statement that inserts a user, with `insert_args` (also run inside another
/// store's transaction: `store::federation`).
pub(super) const INSERT_USER: &str = "INSERT INTO users (id, login, login_key, email, first_name,
        last_name, password_hash, status, profile_extra, created_at, updated_at, activated_at,
        status_changed_at, password_changed_at, last_login_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

pub(super) fn insert_args(u: &User) -> Vec<Arg<'_>> {
    vec![
        (&u.id).into(),
        (&u.login).into(),
        u.login.to_lowercase().into(),
        (&u.email).into(),
        (&u.first_name).into(),
        (&u.last_name).into(),
        (&u.password_hash).into(),
        (&u.status).into(),
        extra_json(u),
        u.created_at.into(),
        u.updated_at.into(),
        u.activated_at.into(),
        u.status_changed_at.into(),
        u.password_changed_at.into(),
        u.last_login_at.into(),
    ]
}

#[async_trait]
impl<B: Backend> UserStore for B {
    async fn insert_user(&self, u: &User) -> StoreResult<()> {
        self.execute(INSERT_USER, &insert_args(u)).await?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        let row = self
            .fetch_optional("SELECT * FROM users WHERE id = $1", &[id.into()])
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn find_user_by_login(&self, login: &str) -> StoreResult<Option<User>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM users WHERE login_key = $1",
                &[login.to_lowercase().into()],
            )
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let rows = self
            .fetch_all("SELECT * FROM users ORDER BY created_at, id", &[])
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    async fn update_user(&self, u: &User) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE users SET login = $1, login_key = $2, email = $3, first_name = $4,
                    last_name = $5, password_hash = $6, status = $7, profile_extra = $8,
                    created_at = $9, updated_at = $10, activated_at = $11,
                    status_changed_at = $12, password_changed_at = $13
                 WHERE id = $14",
                &[
                    (&u.login).into(),
                    u.login.to_lowercase().into(),
                    (&u.email).into(),
                    (&u.first_name).into(),
                    (&u.last_name).into(),
                    (&u.password_hash).into(),
                    (&u.status).into(),
                    extra_json(u),
                    u.created_at.into(),
                    u.updated_at.into(),
                    u.activated_at.into(),
                    u.status_changed_at.into(),
                    u.password_changed_at.into(),
                    (&u.id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn record_login(&self, user_id: &str, at: UnixTime) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE users SET last_login_at = $1, failed_logins = 0 WHERE id = $2",
                &[at.into(), user_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_user(&self, id: &str) -> StoreResult<bool> {
        let done = self
            .execute("DELETE FROM users WHERE id = $1", &[id.into()])
            .await?;
        Ok(done == 1)
    }

    async fn query_users(&self, page: &Page) -> StoreResult<Vec<User>> {
        if B::DIALECT == Dialect::Sqlite && page.filter.as_ref().is_some_and(seeks_text) {
            let walked = walk_page(self, page).await?;
            if walked.len() as i64 >= page.limit {
                return Ok(walked);
            }
        }
        let (clause, values) = Where::new(USER_COLUMNS, B::DIALECT)
            .with_text_index(USERS_TEXT)
            .page(page, "id")?;
        let args: Vec<Arg<'_>> = values.iter().map(Arg::from).collect();
        let rows = self
            .fetch_all(&format!("SELECT * FROM users {clause}"), &args)
            .await?;
        rows.iter().map(user_from_row).collect()
    }
}

/// How many users, in id order after the cursor, `walk_page` reads at most.
const WALK_ROWS: i64 = 10_000;

/// SQLite, a `sw` or `co` term: the page as a walk of the primary key (the page's order)
/// with the plain condition as a filter, over the next `WALK_ROWS` users alone. A broad
/// term (one that matches most users) fills the page within them, and this is then the
/// page, exactly: the first `limit` matches in id order. A narrower one does not, and
/// the caller asks the indexes (`sw`'s range, `co`'s trigrams), which then yield fewer
/// than `limit × total ÷ WALK_ROWS` matches to sort: each plan serves the terms it is
/// cheap for, where the indexes alone sort every match of a broad term first (issue 17,
/// bench/RESULTS.md). PostgreSQL's planner makes this choice from its statistics.
async fn walk_page<B: Backend>(store: &B, page: &Page) -> StoreResult<Vec<User>> {
    let mut clause = Where::new(USER_COLUMNS, B::DIALECT).plain();
    let after = match &page.after {
        Some(after) => {
            clause.binds.push(after.clone());
            "WHERE id > $1"
        }
        None => "",
    };
    clause.binds.push(SqlValue::Int(WALK_ROWS));
    let walk = format!("${}", clause.binds.len());
    let rest = Page {
        after: None,
        ..page.clone()
    };
    let (condition, values) = clause.page(&rest, "id")?;
    let args: Vec<Arg<'_>> = values.iter().map(Arg::from).collect();
    let rows = store
        .fetch_all(
            &format!(
                "SELECT * FROM (SELECT * FROM users {after} ORDER BY id LIMIT {walk}) {condition}"
            ),
            &args,
        )
        .await?;
    rows.iter().map(user_from_row).collect()
}
