//! The System Log: events in Okta's shape (`uuid`, `published`, `eventType`, `actor`,
//! `client.ipAddress`, `outcome`, `target[]`, `displayMessage`, `severity`), written to
//! the store for sign-ins, token requests and every administrative change, and read
//! back through `/api/v1/logs`.
//!
//! Writing an event never fails the work it records: a store error is logged and
//! dropped. Events carry what the caller puts in them, and callers build targets and
//! change details from the same `to_json` functions the API answers with, which never
//! include a password hash or a client secret.

use serde::Serialize;
use serde_json::Value;

use super::AdminError;
use super::filter::{self, Attr, Kind};
use crate::clock::{UnixMillis, UnixTime, millis_at, parse_rfc3339_millis, rfc3339_of_millis};
use crate::crypto::{hex, random_bytes};
use crate::store::{
    ApiToken, Client, DynStore, Expr, Group, InitialAccessToken, LogEvent, Op, Page, SqlValue, User,
};

/// Who did something: a user, an app, an API token, or the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    /// Okta's actor types: `User`, `PublicClientApp`, `ApiToken`, `SystemPrincipal`.
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
    /// The client's address: the TCP peer, or what a trusted proxy says (see
    /// `http::client_ip`); none for the CLI.
    pub ip: Option<String>,
}

impl Actor {
    /// The command line on the server's machine.
    pub fn cli() -> Actor {
        Actor {
            id: "cli".into(),
            kind: "SystemPrincipal",
            alternate_id: "cli".into(),
            display_name: "Gatehouse command line".into(),
            ip: None,
        }
    }

    pub fn api_token(token: &ApiToken, ip: Option<String>) -> Actor {
        Actor {
            id: token.id.clone(),
            kind: "ApiToken",
            alternate_id: token.name.clone(),
            display_name: token.name.clone(),
            ip,
        }
    }

    pub fn user(user: &User, ip: Option<String>) -> Actor {
        Actor {
            id: user.id.clone(),
            kind: "User",
            alternate_id: user.login.clone(),
            display_name: display_name(user),
            ip,
        }
    }

    /// Someone who gave a username that matches no user (kept short).
    pub fn unknown_user(username: &str, ip: Option<String>) -> Actor {
        let name: String = username
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        Actor {
            id: "unknown".into(),
            kind: "User",
            alternate_id: name.clone(),
            display_name: name,
            ip,
        }
    }

    /// The holder of an initial access token, registering a client (RFC 7591 §3).
    pub fn initial_token(token: &InitialAccessToken, ip: Option<String>) -> Actor {
        Actor {
            id: token.id.clone(),
            kind: "InitialAccessToken",
            alternate_id: token.name.clone(),
            display_name: token.name.clone(),
            ip,
        }
    }

    pub fn client(client_id: &str, name: &str, ip: Option<String>) -> Actor {
        Actor {
            id: client_id.into(),
            kind: "PublicClientApp",
            alternate_id: client_id.into(),
            display_name: name.into(),
            ip,
        }
    }
}

pub fn display_name(user: &User) -> String {
    match (&user.first_name, &user.last_name) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => user.login.clone(),
    }
}

/// What an event is about, with the change made to it when there is one.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    /// Okta's target types: `User`, `AppInstance`, `UserGroup`, `AuthorizationServer`, ...
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
    /// Okta's `changeDetails`: the object before and after (`null` when created/deleted).
    pub change: Option<(Value, Value)>,
}

impl Target {
    pub fn new(id: &str, kind: &'static str, name: &str) -> Target {
        Target {
            id: id.into(),
            kind,
            alternate_id: name.into(),
            display_name: name.into(),
            change: None,
        }
    }

    pub fn user(user: &User) -> Target {
        Target {
            alternate_id: user.login.clone(),
            ..Target::new(&user.id, "User", &display_name(user))
        }
    }

    pub fn app(client: &Client) -> Target {
        Target {
            alternate_id: client.client_id.clone(),
            ..Target::new(&client.client_id, "AppInstance", &client.name)
        }
    }

    pub fn group(group: &Group) -> Target {
        Target::new(&group.id, "UserGroup", &group.name)
    }

    pub fn changed(mut self, before: Option<Value>, after: Option<Value>) -> Target {
        self.change = Some((before.unwrap_or(Value::Null), after.unwrap_or(Value::Null)));
        self
    }
}

#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: &'static str,
    pub display_message: String,
    pub success: bool,
    /// Why it failed (or a note on success).
    pub reason: Option<String>,
    pub severity: &'static str,
    pub targets: Vec<Target>,
    /// Okta's `debugContext.debugData` (e.g. `grantType`); never a secret.
    pub debug: serde_json::Map<String, Value>,
}

impl Event {
    pub fn success(
        event_type: &'static str,
        display_message: impl Into<String>,
        targets: Vec<Target>,
    ) -> Event {
        Event {
            event_type,
            display_message: display_message.into(),
            success: true,
            reason: None,
            severity: "INFO",
            targets,
            debug: serde_json::Map::new(),
        }
    }

    pub fn with_debug(mut self, name: &str, value: impl Into<Value>) -> Event {
        self.debug.insert(name.into(), value.into());
        self
    }

    pub fn failure(
        event_type: &'static str,
        display_message: impl Into<String>,
        reason: impl Into<String>,
        targets: Vec<Target>,
    ) -> Event {
        Event {
            event_type,
            display_message: display_message.into(),
            success: false,
            reason: Some(reason.into()),
            severity: "WARN",
            targets,
            debug: serde_json::Map::new(),
        }
    }
}

/// An event's UUID: version 7 (RFC 9562 §5.7), the event's time in milliseconds then
/// 74 random bits. Time first, so each new event's entry in the log's `uuid` index
/// goes at the end of it, on the page the previous event's went to, instead of on a
/// random page of an index as large as the log (a version 4 UUID's).
fn uuid(published: UnixMillis) -> String {
    let mut b = random_bytes::<16>();
    // Milliseconds since 1970 fit 48 bits until the year 10889; a negative (test)
    // clock counts as 0.
    let millis = u64::try_from(published).unwrap_or(0);
    b[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The event as Okta's System Log API returns it, as JSON text. Serialised from the
/// borrowed fields below, with no `serde_json::Value` tree in between (building one
/// was 1.5 % of a client_credentials token's CPU, bench/RESULTS.md, 2026-12-07 09:10). Each
/// object's members are declared in the order of their names, the order a `Value`
/// writes them in, so the stored text is what it was (tested).
pub fn to_json(uuid: &str, published: UnixMillis, actor: &Actor, event: &Event) -> String {
    let published = rfc3339_of_millis(published);
    let target: Vec<ObjectJson<'_>> = event
        .targets
        .iter()
        .map(|t| ObjectJson {
            alternate_id: &t.alternate_id,
            change_details: t.change.as_ref().map(|(from, to)| Change { from, to }),
            detail_entry: (),
            display_name: &t.display_name,
            id: &t.id,
            kind: t.kind,
        })
        .collect();
    let json = EventJson {
        actor: ObjectJson {
            alternate_id: &actor.alternate_id,
            change_details: None,
            detail_entry: (),
            display_name: &actor.display_name,
            id: &actor.id,
            kind: actor.kind,
        },
        authentication_context: AuthenticationContext {
            authentication_step: 0,
            external_session_id: (),
        },
        client: ClientJson {
            device: (),
            geographical_context: (),
            id: (),
            ip_address: actor.ip.as_deref(),
            user_agent: (),
            zone: "null",
        },
        debug_context: DebugContext {
            debug_data: &event.debug,
        },
        display_message: &event.display_message,
        event_type: event.event_type,
        legacy_event_type: (),
        outcome: Outcome {
            reason: event.reason.as_deref(),
            result: if event.success { "SUCCESS" } else { "FAILURE" },
        },
        published: &published,
        security_context: Empty {},
        severity: event.severity,
        target,
        transaction: Transaction {
            detail: Empty {},
            id: (),
            kind: "WEB",
        },
        uuid,
        version: "0",
    };
    serde_json::to_string(&json).expect("an event serialises")
}

// The shapes `to_json` writes. `()` is a member that is always `null`.

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventJson<'a> {
    actor: ObjectJson<'a>,
    authentication_context: AuthenticationContext,
    client: ClientJson<'a>,
    debug_context: DebugContext<'a>,
    display_message: &'a str,
    event_type: &'a str,
    legacy_event_type: (),
    outcome: Outcome<'a>,
    published: &'a str,
    security_context: Empty,
    severity: &'a str,
    target: Vec<ObjectJson<'a>>,
    transaction: Transaction,
    uuid: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticationContext {
    authentication_step: u8,
    external_session_id: (),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientJson<'a> {
    device: (),
    geographical_context: (),
    id: (),
    ip_address: Option<&'a str>,
    user_agent: (),
    zone: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DebugContext<'a> {
    debug_data: &'a serde_json::Map<String, Value>,
}

#[derive(Serialize)]
struct Outcome<'a> {
    reason: Option<&'a str>,
    result: &'a str,
}

/// The actor or a target: the same shape, and only a target has `changeDetails`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectJson<'a> {
    alternate_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    change_details: Option<Change<'a>>,
    detail_entry: (),
    display_name: &'a str,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
}

#[derive(Serialize)]
struct Change<'a> {
    from: &'a Value,
    to: &'a Value,
}

#[derive(Serialize)]
struct Transaction {
    detail: Empty,
    id: (),
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Empty {}

/// Writes an event. Never fails: a store error is logged and the event dropped.
pub async fn record(store: &DynStore, actor: &Actor, event: Event, now: UnixTime) {
    let row = row(actor, &event, now);
    if let Err(e) = store.insert_event(&row).await {
        tracing::warn!(error = %e, event = event.event_type, "could not write a System Log event");
    }
}

/// The row `record` writes, for a caller that writes it in the transaction of what it
/// records (a code's redemption).
pub fn row(actor: &Actor, event: &Event, now: UnixTime) -> LogEvent {
    let published = millis_at(now);
    let uuid = uuid(published);
    LogEvent {
        seq: 0,
        published,
        event_type: event.event_type.into(),
        outcome_result: if event.success { "SUCCESS" } else { "FAILURE" }.into(),
        actor_id: actor.id.clone(),
        target_ids: event
            .targets
            .iter()
            .map(|t| t.id.replace(char::is_whitespace, ""))
            .collect(),
        event: to_json(&uuid, published, actor, event),
        uuid,
    }
}

/// What `/api/v1/logs` takes.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub since: Option<String>,
    pub until: Option<String>,
    pub filter: Option<String>,
    pub q: Option<String>,
    pub after: Option<String>,
    pub limit: Option<i64>,
    /// `ASCENDING` (Okta's default, the only order served).
    pub sort_order: Option<String>,
}

/// The attributes `filter` may name, as Okta's System Log API calls them.
pub const LOG_ATTRS: &[Attr] = &[
    Attr {
        name: "eventType",
        column: "event_type",
        kind: Kind::Text,
    },
    Attr {
        name: "outcome.result",
        column: "outcome_result",
        kind: Kind::Text,
    },
    Attr {
        name: "actor.id",
        column: "actor_id",
        kind: Kind::Text,
    },
    Attr {
        name: "target.id",
        column: "target_ids",
        kind: Kind::Word,
    },
    Attr {
        name: "published",
        column: "published",
        kind: Kind::TimeMillis,
    },
];

pub const DEFAULT_LOG_LIMIT: i64 = 100;
pub const MAX_LOG_LIMIT: i64 = 1000;

/// A page of events, oldest first (Okta's defaults: 100, at most 1000), and the cursor
/// of the next page. `since` and `until` are exact to the millisecond (`published` is
/// kept so). With `until` the request is bounded: the cursor comes only while more
/// events follow. Without it the request polls, as Okta documents for
/// `sortOrder=ASCENDING`: the cursor always comes, at the end of the data too (the last
/// event's, or the one the request came with), so a poller asks again from there and
/// gets only what was written since.
pub async fn query(
    store: &DynStore,
    query: &LogQuery,
) -> Result<(Vec<Value>, Option<String>), AdminError> {
    let limit = filter::limit(query.limit, DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT)?;
    match query.sort_order.as_deref() {
        None | Some("ASCENDING") => {}
        Some("DESCENDING") => {
            return Err(AdminError::invalid(
                "sortOrder",
                "only ASCENDING is served: page forward with the next link",
            ));
        }
        Some(_) => return Err(AdminError::invalid("sortOrder", "must be ASCENDING")),
    }
    let mut conditions = Vec::new();
    for (field, value, op) in [
        ("since", &query.since, Op::Ge),
        ("until", &query.until, Op::Lt),
    ] {
        if let Some(text) = value {
            let t = parse_rfc3339_millis(text).ok_or_else(|| {
                AdminError::invalid(
                    field,
                    "must be an RFC 3339 date-time, e.g. 2026-01-31T08:00:00.000Z",
                )
            })?;
            conditions.push(Expr::cond("published", op, SqlValue::Int(t)));
        }
    }
    if let Some(text) = query.filter.as_deref().filter(|t| !t.trim().is_empty()) {
        conditions.push(filter::parse("filter", text, LOG_ATTRS)?);
    }
    if let Some(q) = query.q.as_deref().filter(|t| !t.trim().is_empty()) {
        filter::check_no_controls("q", q)?;
        if q.len() > 200 {
            return Err(AdminError::invalid("q", "must be at most 200 characters"));
        }
        for word in q.split_whitespace() {
            conditions.push(Expr::cond(
                "event",
                Op::Contains,
                SqlValue::Text(word.into()),
            ));
        }
    }
    let after = match &query.after {
        Some(cursor) => Some(
            cursor
                .parse::<i64>()
                .map_err(|_| AdminError::invalid("after", "is not a cursor this server gave"))?,
        ),
        None => None,
    };
    let page = Page {
        filter: (!conditions.is_empty()).then_some(Expr::And(conditions)),
        after: after.map(SqlValue::Int),
        limit: limit + 1,
    };
    let mut rows = store.query_events(&page).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let polling = query.until.is_none();
    let next = (more || polling).then(|| {
        rows.last()
            .map(|r| r.seq)
            .or(after)
            .unwrap_or(0)
            .to_string()
    });
    let events = rows
        .iter()
        .map(|r| serde_json::from_str(&r.event).unwrap_or(Value::Null))
        .collect();
    Ok((events, next))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The event's text is what the `serde_json::Value` it replaced wrote: the same
    /// members and values, in the same order (a `Value` writes members sorted by name).
    #[test]
    fn an_events_json_is_okta_shaped_and_its_members_sorted() {
        let actor = Actor {
            id: "0oa1".into(),
            kind: "PublicClientApp",
            alternate_id: "bench".into(),
            display_name: "Bench \"app\"".into(),
            ip: Some("127.0.0.1".into()),
        };
        let mut event = Event::failure(
            "user.lifecycle.update",
            "Update user",
            "a reason",
            vec![
                Target::new("00u1", "User", "ann@example.com")
                    .changed(Some(json!({"b": 1, "a": [true]})), None),
                Target::new("0oa1", "AppInstance", "bench"),
            ],
        )
        .with_debug("grantType", "client_credentials");
        let text = to_json("a-uuid", 1_765_000_000_123, &actor, &event);
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(text, parsed.to_string());
        assert_eq!(
            parsed,
            json!({
                "uuid": "a-uuid",
                "published": rfc3339_of_millis(1_765_000_000_123),
                "eventType": "user.lifecycle.update",
                "version": "0",
                "severity": "WARN",
                "legacyEventType": null,
                "displayMessage": "Update user",
                "actor": {
                    "id": "0oa1",
                    "type": "PublicClientApp",
                    "alternateId": "bench",
                    "displayName": "Bench \"app\"",
                    "detailEntry": null,
                },
                "client": {
                    "ipAddress": "127.0.0.1",
                    "userAgent": null,
                    "zone": "null",
                    "device": null,
                    "id": null,
                    "geographicalContext": null,
                },
                "outcome": { "result": "FAILURE", "reason": "a reason" },
                "target": [
                    {
                        "id": "00u1",
                        "type": "User",
                        "alternateId": "ann@example.com",
                        "displayName": "ann@example.com",
                        "detailEntry": null,
                        "changeDetails": { "from": {"a": [true], "b": 1}, "to": null },
                    },
                    {
                        "id": "0oa1",
                        "type": "AppInstance",
                        "alternateId": "bench",
                        "displayName": "bench",
                        "detailEntry": null,
                    },
                ],
                "transaction": { "type": "WEB", "id": null, "detail": {} },
                "debugContext": { "debugData": { "grantType": "client_credentials" } },
                "authenticationContext": { "authenticationStep": 0, "externalSessionId": null },
                "securityContext": {},
            })
        );
        // Without an address or a reason, those members are null.
        event.reason = None;
        let anonymous = Actor { ip: None, ..actor };
        let parsed: Value = serde_json::from_str(&to_json("u", 0, &anonymous, &event)).unwrap();
        assert_eq!(parsed["client"]["ipAddress"], Value::Null);
        assert_eq!(parsed["outcome"]["reason"], Value::Null);
    }

    /// Version 7: the time in milliseconds first, so later events sort after earlier
    /// ones; the rest random.
    #[test]
    fn an_events_uuid_is_version_7_and_sorts_by_time() {
        let at = 1_765_000_000_123;
        let a = uuid(at);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[..13], "019af232-b27b");
        assert_eq!(&a[14..15], "7");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(uuid(at), a);
        assert!(uuid(at + 1) > uuid(at));
        assert!(uuid(at + 1_000) > a);
        assert!(uuid(-5).starts_with("00000000-0000-7"));
    }
}
