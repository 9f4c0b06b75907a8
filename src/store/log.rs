//! The System Log.

use async_trait::async_trait;

use super::db::{Arg, Backend, Dialect, LogQueue, Row, Tx};
use super::query::{Expr, Op, SqlValue, TextIndex, Tokens, Where};
use super::{LogEvent, Page, StoreError, StoreResult};
use crate::clock::UnixMillis;

#[async_trait]
pub trait LogStore: Send + Sync {
    /// Appends an event; its `seq` is assigned by the database.
    async fn insert_event(&self, event: &LogEvent) -> StoreResult<()>;
    /// A page of events in the order written (by `seq`); filterable: `LOG_COLUMNS`.
    async fn query_events(&self, page: &Page) -> StoreResult<Vec<LogEvent>>;
    /// The newest `limit` events of `event_types` that `actor_id` did, newest first
    /// (a person's recent sign-ins on the account page): through the index on
    /// `(actor_id, seq)` (migration 31), read backwards.
    async fn recent_events_of_actor(
        &self,
        actor_id: &str,
        event_types: &[&str],
        limit: i64,
    ) -> StoreResult<Vec<LogEvent>>;
    /// How many events of each of `event_types` were published in `[since, until)`
    /// (milliseconds), by hour (`published / 3_600_000`), type and outcome: through the
    /// index on `(event_type, published, outcome_result)` (migration 31), which holds
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

/// `LOG_COLUMNS` and `seq`, which only the store's own bound from `since` names.
const LOG_PAGE_COLUMNS: &[&str] = &[
    "published",
    "event_type",
    "outcome_result",
    "actor_id",
    "target_ids",
    "event",
    "seq",
];

/// How many of the oldest events `first_seq_since` reads before it asks the index.
pub const LOG_HEAD_ROWS: i64 = 10_000;

/// The `since` of a page: the greatest `published >= t` among the conditions that all
/// hold (the top level of the filter, as `admin::syslog` builds it).
fn since_of(filter: &Expr) -> Option<i64> {
    let list = match filter {
        Expr::And(list) => list.as_slice(),
        single => std::slice::from_ref(single),
    };
    list.iter()
        .filter_map(|e| match e {
            Expr::Cond(c) if c.column == "published" && c.op == Op::Ge => match c.value {
                SqlValue::Int(t) => Some(t),
                SqlValue::Text(_) => None,
            },
            _ => None,
        })
        .max()
}

/// The smallest `seq` of an event published at or after `since` (None: there is none),
/// so a page from `since` walks `seq` (its order: the primary key, or `(event_type, seq)`
/// and `(actor_id, seq)`) from there instead of filtering every older event first
/// (issue 17: 0.6–1.8 s at 2,000,000 events). Exact, being a minimum, so the bound
/// `seq >= first` drops no event the page would show; `published` is still checked.
/// Two reads, each bounded by what it can find: the oldest `LOG_HEAD_ROWS` events (a
/// `since` at or before the start of the log is answered there), else the range of
/// `published >= since` in `system_log_published_seq` (migration 32), read from the
/// index alone: as many entries as events since then. Each planner would otherwise
/// turn that `min` into a walk of the primary key in `seq` order, the very walk this
/// bound avoids: SQLite is told the index (`INDEXED BY`), PostgreSQL is kept from it by
/// the subquery's `OFFSET 0`.
async fn first_seq_since<B: Backend>(store: &B, since: i64) -> StoreResult<Option<i64>> {
    let head = store
        .fetch_optional(
            "SELECT min(seq) AS first FROM
                (SELECT seq, published FROM system_log ORDER BY seq LIMIT $1) head
             WHERE published >= $2",
            &[LOG_HEAD_ROWS.into(), since.into()],
        )
        .await?;
    if let Some(first) = head.map(|row| row.opt_int("first")).transpose()?.flatten() {
        return Ok(Some(first));
    }
    let range = match B::DIALECT {
        Dialect::Sqlite => {
            "SELECT min(seq) AS first FROM system_log INDEXED BY system_log_published_seq
             WHERE published >= $1"
        }
        Dialect::Postgres => {
            "SELECT min(seq) AS first FROM
                (SELECT seq FROM system_log WHERE published >= $1 OFFSET 0) recent"
        }
    };
    let range = store.fetch_optional(range, &[since.into()]).await?;
    Ok(range.map(|row| row.opt_int("first")).transpose()?.flatten())
}

/// SQLite's index of the targets' ids (migration 45), for `target.id eq`.
const LOG_TEXT: TextIndex = TextIndex {
    table: "system_log_target_ids",
    columns: &["target_ids"],
    tokens: Tokens::Words {
        word: "target_id",
        row: "seq",
    },
};

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

/// Group commit: the most events one transaction writes.
const LOG_BATCH: usize = 64;

/// The System Log's group commit on SQLite (PostgreSQL writes each event directly):
/// events are written by one task per store, which writes every event queued while it
/// wrote the last batch (at most `LOG_BATCH`) in one transaction, a prepared `INSERT`
/// per event, then tells each request whether its event committed. A request
/// waits for that answer (`insert_event`), so an event is never acknowledged before it
/// is stored; under load, many requests' events share one commit.
/// An event whose request is cancelled is still written. The task ends when the store
/// is dropped (its queue with it).
fn start_writer<B: Backend>(store: B) -> LogQueue {
    let (queue, mut pending) = tokio::sync::mpsc::unbounded_channel::<(
        LogEvent,
        tokio::sync::oneshot::Sender<StoreResult<()>>,
    )>();
    tokio::spawn(async move {
        while let Some(first) = pending.recv().await {
            // Let the requests that are ready run first: those that log queue their
            // events behind this one and share its commit.
            tokio::task::yield_now().await;
            let mut batch = vec![first];
            while batch.len() < LOG_BATCH {
                match pending.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let written = if let [(event, _)] = batch.as_slice() {
                store
                    .execute(INSERT_EVENT, &event_args(event))
                    .await
                    .map(drop)
            } else {
                insert_all(&store, batch.iter().map(|(e, _)| e)).await
            };
            for (_, done) in batch {
                let answer = match &written {
                    Ok(_) => Ok(()),
                    Err(e) => Err(StoreError::Unavailable(e.to_string())),
                };
                // The request may have been cancelled: its event is written all the same.
                let _ = done.send(answer);
            }
        }
    });
    queue
}

/// Events in one transaction, in their order: all or none. (One statement reading a
/// JSON array of the rows cost more: building the JSON here and SQLite parsing it
/// again, bench/RESULTS.md, 2026-12-07 09:10.)
async fn insert_all<'a, B: Backend>(
    store: &B,
    events: impl Iterator<Item = &'a LogEvent>,
) -> StoreResult<()> {
    let mut tx = store.begin().await?;
    for e in events {
        tx.execute(INSERT_EVENT, &event_args(e)).await?;
    }
    tx.commit().await
}

/// `event_args` when there is no event: NULLs of the columns' types, for a statement
/// that binds an event it may not insert (PostgreSQL types every parameter).
pub(super) const NO_EVENT: [Arg<'static>; 7] = [
    Arg::Text(None),
    Arg::Int(None),
    Arg::Text(None),
    Arg::Text(None),
    Arg::Text(None),
    Arg::Text(None),
    Arg::Text(None),
];

#[async_trait]
impl<B: Backend> LogStore for B {
    async fn insert_event(&self, e: &LogEvent) -> StoreResult<()> {
        if B::DIALECT == Dialect::Postgres {
            // Measured (bench/RESULTS.md, 22:00 UTC): on PostgreSQL the queue cost the
            // server more instructions than the shared statements saved.
            self.execute(INSERT_EVENT, &event_args(e)).await?;
            return Ok(());
        }
        let queue = self
            .log_queue()
            .get_or_init(|| start_writer(self.pool_handle()));
        let (done, committed) = tokio::sync::oneshot::channel();
        if queue.send((e.clone(), done)).is_err() {
            // The writer's runtime has ended (a runtime that opened the store is gone):
            // written here instead.
            self.execute(INSERT_EVENT, &event_args(e)).await?;
            return Ok(());
        }
        committed.await.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "the System Log writer stopped".into(),
            ))
        })
    }

    async fn query_events(&self, page: &Page) -> StoreResult<Vec<LogEvent>> {
        let mut page = page.clone();
        if let Some(since) = page.filter.as_ref().and_then(since_of) {
            let Some(first) = first_seq_since(self, since).await? else {
                return Ok(Vec::new());
            };
            let bound = Expr::cond("seq", Op::Ge, SqlValue::Int(first));
            page.filter = page.filter.take().map(|filter| filter.and(bound));
        }
        let (clause, values) = Where::new(LOG_PAGE_COLUMNS, B::DIALECT)
            .with_text_index(LOG_TEXT)
            .page(&page, "seq")?;
        let args: Vec<Arg<'_>> = values.iter().map(Arg::from).collect();
        let rows = self
            .fetch_all(&format!("SELECT * FROM system_log {clause}"), &args)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn recent_events_of_actor(
        &self,
        actor_id: &str,
        event_types: &[&str],
        limit: i64,
    ) -> StoreResult<Vec<LogEvent>> {
        if event_types.is_empty() {
            return Ok(Vec::new());
        }
        let types: Vec<String> = (0..event_types.len())
            .map(|i| format!("${}", i + 3))
            .collect();
        let sql = format!(
            "SELECT * FROM system_log WHERE actor_id = $1 AND event_type IN ({})
             ORDER BY seq DESC LIMIT $2",
            types.join(", ")
        );
        let mut args: Vec<Arg<'_>> = vec![actor_id.into(), limit.into()];
        args.extend(event_types.iter().map(|t| Arg::from(*t)));
        let rows = self.fetch_all(&sql, &args).await?;
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
