//! The System Log.

use async_trait::async_trait;

use super::db::{Arg, Backend, Row, placeholder};
use super::query::Where;
use super::{LogEvent, Page, StoreResult};
use crate::clock::UnixMillis;

#[async_trait]
pub trait LogStore: Send + Sync {
    /// Appends an event; its `seq` is assigned by the database.
    async fn insert_event(&self, event: &LogEvent) -> StoreResult<()>;
    /// A page of events in the order written (by `seq`); filterable: `LOG_COLUMNS`.
    async fn query_events(&self, page: &Page) -> StoreResult<Vec<LogEvent>>;
    /// How many events of each of `event_types` were published in `[since, until)`
    /// (milliseconds), by hour (`published / 3_600_000`), type and outcome: through the
    /// index on `(event_type, published, outcome_result)` (migration 27), which holds
    /// every column the count reads.
    async fn count_events_by_hour(
        &self,
        event_types: &[&str],
        since: UnixMillis,
        until: UnixMillis,
    ) -> StoreResult<Vec<HourCount>>;
    /// Deletes events published before `before` (milliseconds since the epoch, as
    /// `published` is kept since migration 23); returns how many.
    async fn purge_events(&self, before: UnixMillis) -> StoreResult<u64>;
}

/// One row of `count_events_by_hour`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourCount {
    /// Hours since the epoch.
    pub hour: i64,
    pub event_type: String,
    pub outcome_result: String,
    pub count: i64,
}

/// What a System Log page may filter on.
pub const LOG_COLUMNS: &[&str] = &[
    "published",
    "event_type",
    "outcome_result",
    "actor_id",
    "target_ids",
    "event",
];

fn event_from_row(row: &impl Row) -> StoreResult<LogEvent> {
    let target_ids = row.text("target_ids")?;
    Ok(LogEvent {
        seq: row.int("seq")?,
        uuid: row.text("uuid")?,
        published: row.int("published")?,
        event_type: row.text("event_type")?,
        outcome_result: row.text("outcome_result")?,
        actor_id: row.text("actor_id")?,
        target_ids: target_ids.split_whitespace().map(str::to_string).collect(),
        event: row.text("event")?,
    })
}

/// The ids with a space either side of each, so `% id %` matches one exactly.
fn target_words(ids: &[String]) -> String {
    format!(" {} ", ids.join(" "))
}

/// An event's row (alone, or in the transaction of what it records).
pub(super) const INSERT_EVENT: &str = "INSERT INTO system_log (uuid, published, event_type,
        outcome_result, actor_id, target_ids, event) VALUES ($1, $2, $3, $4, $5, $6, $7)";

pub(super) fn event_args(e: &LogEvent) -> [Arg<'_>; 7] {
    [
        (&e.uuid).into(),
        e.published.into(),
        (&e.event_type).into(),
        (&e.outcome_result).into(),
        (&e.actor_id).into(),
        target_words(&e.target_ids).into(),
        (&e.event).into(),
    ]
}

#[async_trait]
impl<B: Backend> LogStore for B {
    async fn insert_event(&self, e: &LogEvent) -> StoreResult<()> {
        self.execute(INSERT_EVENT, &event_args(e)).await?;
        Ok(())
    }

    async fn query_events(&self, page: &Page) -> StoreResult<Vec<LogEvent>> {
        let (clause, values) = Where {
            columns: LOG_COLUMNS,
            placeholder,
            binds: vec![],
        }
        .page(page, "seq")?;
        let args: Vec<Arg<'_>> = values.iter().map(Arg::from).collect();
        let rows = self
            .fetch_all(&format!("SELECT * FROM system_log {clause}"), &args)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn count_events_by_hour(
        &self,
        event_types: &[&str],
        since: UnixMillis,
        until: UnixMillis,
    ) -> StoreResult<Vec<HourCount>> {
        let mut counts = Vec::new();
        // One query per type: each is a range of the index, read in order.
        for event_type in event_types {
            let rows = self
                .fetch_all(
                    "SELECT published / 3600000 AS hour, outcome_result, COUNT(*) AS n
                     FROM system_log
                     WHERE event_type = $1 AND published >= $2 AND published < $3
                     GROUP BY published / 3600000, outcome_result",
                    &[(*event_type).into(), since.into(), until.into()],
                )
                .await?;
            for row in &rows {
                counts.push(HourCount {
                    hour: row.int("hour")?,
                    event_type: event_type.to_string(),
                    outcome_result: row.text("outcome_result")?,
                    count: row.int("n")?,
                });
            }
        }
        Ok(counts)
    }

    async fn purge_events(&self, before: UnixMillis) -> StoreResult<u64> {
        // In batches, oldest first, through the index on `published` (as the janitor's
        // other deletes): a first purge of a large log never holds the database long.
        super::maintenance::delete_in_batches(
            self,
            "DELETE FROM system_log WHERE seq IN
                (SELECT seq FROM system_log WHERE published < $1 ORDER BY published LIMIT $2)",
            before,
            super::maintenance::PURGE_BATCH,
        )
        .await
    }
}
