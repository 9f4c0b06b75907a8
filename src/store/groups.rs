//! Groups of users and their members.
//!
//! Dialect difference: `ORDER BY (id = $3) DESC` (a match on id first) is a 0/1 integer
//! sort in SQLite and a boolean sort in PostgreSQL; both put the match first.

use async_trait::async_trait;

use super::db::{Arg, Backend, Row};
use super::query::Where;
use super::users::user_from_row;
use super::{Group, Page, StoreResult, User};

#[async_trait]
pub trait GroupStore: Send + Sync {
    async fn insert_group(&self, group: &Group) -> StoreResult<()>;
    async fn list_groups(&self) -> StoreResult<Vec<Group>>;
    /// By id, or by name without regard to case.
    async fn find_group(&self, id_or_name: &str) -> StoreResult<Option<Group>>;
    /// Adds a member; false when the user already was one.
    async fn add_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<bool>;
    async fn remove_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<bool>;
    /// The groups a user is in, by name.
    async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<Group>>;
    /// Writes name, description and `updated_at`; false when absent. A name another
    /// group has is a `Conflict`.
    async fn update_group(&self, group: &Group) -> StoreResult<bool>;
    async fn delete_group(&self, id: &str) -> StoreResult<bool>;
    /// A page of groups ordered by id; filterable columns: `GROUP_COLUMNS`.
    async fn query_groups(&self, page: &Page) -> StoreResult<Vec<Group>>;
    /// The members of a group, by id.
    async fn group_members(&self, group_id: &str) -> StoreResult<Vec<User>>;
}

/// What a groups page may filter on.
pub const GROUP_COLUMNS: &[&str] = &["id", "name", "created_at", "updated_at"];

/// A `groups` row (also read by app assignments).
pub(super) fn group_from_row(row: &impl Row) -> StoreResult<Group> {
    Ok(Group {
        id: row.text("id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

#[async_trait]
impl<B: Backend> GroupStore for B {
    async fn insert_group(&self, g: &Group) -> StoreResult<()> {
        self.execute(
            "INSERT INTO groups (id, name, name_key, description, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                (&g.id).into(),
                (&g.name).into(),
                g.name.to_lowercase().into(),
                (&g.description).into(),
                g.created_at.into(),
                g.updated_at.into(),
            ],
        )
        .await?;
        Ok(())
    }

    async fn list_groups(&self) -> StoreResult<Vec<Group>> {
        let rows = self
            .fetch_all("SELECT * FROM groups ORDER BY name_key", &[])
            .await?;
        rows.iter().map(group_from_row).collect()
    }

    async fn find_group(&self, id_or_name: &str) -> StoreResult<Option<Group>> {
        let row = self
            .fetch_optional(
                "SELECT * FROM groups WHERE id = $1 OR name_key = $2
                 ORDER BY (id = $3) DESC LIMIT 1",
                &[
                    id_or_name.into(),
                    id_or_name.to_lowercase().into(),
                    id_or_name.into(),
                ],
            )
            .await?;
        row.as_ref().map(group_from_row).transpose()
    }

    async fn add_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "INSERT INTO group_members (group_id, user_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
                &[group_id.into(), user_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn remove_group_member(&self, group_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = self
            .execute(
                "DELETE FROM group_members WHERE group_id = $1 AND user_id = $2",
                &[group_id.into(), user_id.into()],
            )
            .await?;
        Ok(done == 1)
    }

    async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<Group>> {
        let rows = self
            .fetch_all(
                "SELECT g.* FROM groups g JOIN group_members m ON m.group_id = g.id
                 WHERE m.user_id = $1 ORDER BY g.name_key",
                &[user_id.into()],
            )
            .await?;
        rows.iter().map(group_from_row).collect()
    }

    async fn update_group(&self, g: &Group) -> StoreResult<bool> {
        let done = self
            .execute(
                "UPDATE groups SET name = $1, name_key = $2, description = $3, updated_at = $4
                 WHERE id = $5",
                &[
                    (&g.name).into(),
                    g.name.to_lowercase().into(),
                    (&g.description).into(),
                    g.updated_at.into(),
                    (&g.id).into(),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    async fn delete_group(&self, id: &str) -> StoreResult<bool> {
        let done = self
            .execute("DELETE FROM groups WHERE id = $1", &[id.into()])
            .await?;
        Ok(done == 1)
    }

    async fn query_groups(&self, page: &Page) -> StoreResult<Vec<Group>> {
        let (clause, values) = Where::new(GROUP_COLUMNS, B::DIALECT).page(page, "id")?;
        let args: Vec<Arg<'_>> = values.iter().map(Arg::from).collect();
        let rows = self
            .fetch_all(&format!("SELECT * FROM groups {clause}"), &args)
            .await?;
        rows.iter().map(group_from_row).collect()
    }

    async fn group_members(&self, group_id: &str) -> StoreResult<Vec<User>> {
        let rows = self
            .fetch_all(
                "SELECT u.* FROM users u JOIN group_members m ON m.user_id = u.id
                 WHERE m.group_id = $1 ORDER BY u.id",
                &[group_id.into()],
            )
            .await?;
        rows.iter().map(user_from_row).collect()
    }
}
