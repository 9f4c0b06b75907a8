//! A person's recent sign-in activity, from the System Log: the events they were the
//! actor of that a person recognises (or does not, which is the point: a failed
//! sign-in they did not make is worth seeing). Read from the events' own JSON, as the
//! System Log API returns them; nothing from the event is trusted as markup (the page
//! escapes it).

use serde_json::Value;

use crate::clock::UnixMillis;
use crate::flows::Services;
use crate::oauth::OAuthError;

/// The event types the page shows, and how it names each.
const KINDS: &[(&str, &str)] = &[
    ("user.session.start", "Signed in"),
    ("user.authentication.sso", "Signed in to an app"),
    ("user.session.end", "Signed out"),
    ("user.session.clear", "Signed out everywhere"),
    ("user.account.update_password", "Password changed"),
    ("user.account.update_profile", "Profile changed"),
];

/// One event, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub at: UnixMillis,
    pub what: &'static str,
    pub success: bool,
    /// The client's address, when the event has one.
    pub address: Option<String>,
    /// The app signed in to, for a single sign-on.
    pub app: Option<String>,
}

/// The newest `limit` events of the person, newest first.
pub async fn recent(
    services: &Services,
    user_id: &str,
    limit: i64,
) -> Result<Vec<Activity>, OAuthError> {
    let types: Vec<&str> = KINDS.iter().map(|(t, _)| *t).collect();
    let rows = services
        .store
        .recent_events_of_actor(user_id, &types, limit)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let what = KINDS.iter().find(|(t, _)| *t == row.event_type)?.1;
            let event: Value = serde_json::from_str(&row.event).unwrap_or(Value::Null);
            Some(of_event(row.published, what, &row.outcome_result, &event))
        })
        .collect())
}

fn of_event(at: UnixMillis, what: &'static str, outcome: &str, event: &Value) -> Activity {
    let app = event["target"].as_array().and_then(|targets| {
        targets
            .iter()
            .find(|t| t["type"] == "AppInstance")
            .and_then(|t| t["displayName"].as_str())
            .map(str::to_string)
    });
    Activity {
        at,
        what,
        success: outcome == "SUCCESS",
        address: event["client"]["ipAddress"].as_str().map(str::to_string),
        app,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_event_gives_its_address_and_app() {
        let event = json!({
            "client": { "ipAddress": "192.0.2.7" },
            "target": [
                { "type": "User", "displayName": "Alice" },
                { "type": "AppInstance", "displayName": "Orders" }
            ]
        });
        let a = of_event(5, "Signed in to an app", "SUCCESS", &event);
        assert_eq!(a.address.as_deref(), Some("192.0.2.7"));
        assert_eq!(a.app.as_deref(), Some("Orders"));
        assert!(a.success);
        let bare = of_event(5, "Signed in", "FAILURE", &json!({ "client": {} }));
        assert_eq!((bare.address, bare.app, bare.success), (None, None, false));
    }
}
