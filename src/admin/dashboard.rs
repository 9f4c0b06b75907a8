//! The console's dashboard: sign-ins, failed sign-ins and tokens issued since a time,
//! in total and by hour, counted from the System Log (`user.session.start` by outcome,
//! `app.oauth2.token.grant` that succeeded); the sessions live now, from the store;
//! and the requests refused by throttling, which the caller reads from the same
//! counter `/metrics` shows (`gatehouse_throttled_requests_total`) and passes in.

use serde_json::{Value, json};

use super::AdminError;
use crate::clock::{UnixTime, parse_rfc3339_millis, rfc3339, rfc3339_of_millis};
use crate::store::{DynStore, HourCount};

/// `since` when the request gives none: the last 24 hours.
pub const DEFAULT_WINDOW_SECONDS: i64 = 86_400;
/// The longest window served: 31 days, 744 hourly buckets.
pub const MAX_WINDOW_SECONDS: i64 = 31 * 86_400;

const SIGN_IN: &str = "user.session.start";
const TOKEN: &str = "app.oauth2.token.grant";
const HOUR_MS: i64 = 3_600_000;

/// One hour of the series.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    /// Hours since the epoch.
    pub hour: i64,
    pub sign_ins: i64,
    pub sign_in_failures: i64,
    pub tokens_issued: i64,
}

/// The dashboard's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub since_ms: i64,
    pub until: UnixTime,
    pub active_sessions: i64,
    pub throttled_requests: u64,
    /// Every hour from `since`'s to `until`'s, oldest first, empty ones included.
    pub series: Vec<Bucket>,
}

/// The window `[since, now]`: `since` is RFC 3339, at most 31 days back, not after now.
pub fn window(since: Option<&str>, now: UnixTime) -> Result<i64, AdminError> {
    let since_ms = match since {
        None => (now - DEFAULT_WINDOW_SECONDS) * 1000,
        Some(text) => parse_rfc3339_millis(text).ok_or_else(|| {
            AdminError::invalid(
                "since",
                "must be an RFC 3339 date-time, e.g. 2026-01-31T08:00:00.000Z",
            )
        })?,
    };
    if since_ms > now * 1000 {
        return Err(AdminError::invalid("since", "must not be in the future"));
    }
    if since_ms < (now - MAX_WINDOW_SECONDS) * 1000 {
        return Err(AdminError::invalid(
            "since",
            "must be at most 31 days before now",
        ));
    }
    Ok(since_ms)
}

/// The figures from `since` (see `window`) through the second `now`.
pub async fn summary(
    store: &DynStore,
    since: Option<&str>,
    throttled_requests: u64,
    now: UnixTime,
) -> Result<Summary, AdminError> {
    let since_ms = window(since, now)?;
    let until_ms = (now + 1) * 1000;
    let counts = store
        .count_events_by_hour(&[SIGN_IN, TOKEN], since_ms, until_ms)
        .await?;
    let active_sessions = store.count_live_sessions(now).await?;
    Ok(Summary {
        since_ms,
        until: now,
        active_sessions,
        throttled_requests,
        series: buckets(&counts, since_ms, until_ms),
    })
}

/// Every hour of `[since_ms, until_ms)` with what `counts` says of it.
fn buckets(counts: &[HourCount], since_ms: i64, until_ms: i64) -> Vec<Bucket> {
    let first = since_ms.div_euclid(HOUR_MS);
    let last = (until_ms - 1).div_euclid(HOUR_MS);
    let mut series: Vec<Bucket> = (first..=last)
        .map(|hour| Bucket {
            hour,
            ..Bucket::default()
        })
        .collect();
    for c in counts {
        let Some(bucket) = usize::try_from(c.hour - first)
            .ok()
            .and_then(|i| series.get_mut(i))
        else {
            continue;
        };
        match (c.event_type.as_str(), c.outcome_result.as_str()) {
            (SIGN_IN, "SUCCESS") => bucket.sign_ins += c.count,
            (SIGN_IN, "FAILURE") => bucket.sign_in_failures += c.count,
            (TOKEN, "SUCCESS") => bucket.tokens_issued += c.count,
            _ => {}
        }
    }
    series
}

/// The dashboard's JSON: `since`, `until`, the totals, `series` by hour.
pub fn to_json(s: &Summary) -> Value {
    let total = |f: fn(&Bucket) -> i64| s.series.iter().map(f).sum::<i64>();
    json!({
        "since": rfc3339_of_millis(s.since_ms),
        "until": rfc3339(s.until),
        "signIns": total(|b| b.sign_ins),
        "signInFailures": total(|b| b.sign_in_failures),
        "tokensIssued": total(|b| b.tokens_issued),
        "activeSessions": s.active_sessions,
        "throttledRequests": s.throttled_requests,
        "series": s.series.iter().map(|b| json!({
            "start": rfc3339(b.hour * 3600),
            "signIns": b.sign_ins,
            "signInFailures": b.sign_in_failures,
            "tokensIssued": b.tokens_issued,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_checked() {
        let now = 1_800_000_000;
        assert_eq!(window(None, now).unwrap(), (now - 86_400) * 1000);
        assert!(window(Some("yesterday"), now).is_err());
        assert!(window(Some(&rfc3339(now + 60)), now).is_err());
        assert!(window(Some(&rfc3339(now - 32 * 86_400)), now).is_err());
        assert_eq!(
            window(Some(&rfc3339(now - 3600)), now).unwrap(),
            (now - 3600) * 1000
        );
    }

    #[test]
    fn buckets_cover_every_hour_and_sort_the_counts() {
        let count = |hour, event_type: &str, outcome: &str, count| HourCount {
            hour,
            event_type: event_type.into(),
            outcome_result: outcome.into(),
            count,
        };
        let since = 10 * HOUR_MS + 5;
        let until = 13 * HOUR_MS;
        let series = buckets(
            &[
                count(10, SIGN_IN, "SUCCESS", 3),
                count(10, SIGN_IN, "FAILURE", 1),
                count(12, TOKEN, "SUCCESS", 7),
                count(12, TOKEN, "FAILURE", 9),
                count(99, SIGN_IN, "SUCCESS", 1),
            ],
            since,
            until,
        );
        assert_eq!(
            series.iter().map(|b| b.hour).collect::<Vec<_>>(),
            [10, 11, 12]
        );
        assert_eq!((series[0].sign_ins, series[0].sign_in_failures), (3, 1));
        assert_eq!(
            series[2].tokens_issued, 7,
            "failed token requests are not issued"
        );
    }
}
