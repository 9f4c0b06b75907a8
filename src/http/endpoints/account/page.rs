//! `GET /account`: the page, for the person this browser is signed in to it as; a
//! browser that is not is sent to sign in (`sign_in::begin`). `?done=` names a change
//! just made, said at the top of the page (a fixed sentence per change, never text
//! from the request).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{current, sign_in};
use crate::clock::{UnixTime, rfc3339};
use crate::flows::account::{self, Account, AppView};
use crate::http::extract::query_params;
use crate::http::{AppState, SharedState, cookies, error, pages};
use crate::identity::session;

/// One session, for the page.
pub struct SessionRow {
    pub id: String,
    /// "Chrome 126 on Windows" (`identity::session::describe_user_agent`).
    pub device: String,
    pub address: String,
    pub last_seen: Option<Time>,
    pub started: Time,
    pub password_verified: Time,
    pub expires: Time,
    pub current: bool,
}

/// One event of the activity, for the page.
pub struct ActivityRow {
    pub at: Time,
    pub what: &'static str,
    pub success: bool,
    pub address: String,
    pub app: Option<String>,
}

/// One passkey, for the page.
pub struct PasskeyRow {
    pub name: String,
    pub created: Time,
    pub last_used: Option<Time>,
}

/// A time as a person reads it, and as `<time datetime>` holds it.
pub struct Time {
    pub text: String,
    pub machine: String,
}

impl Time {
    fn of(t: UnixTime) -> Time {
        let machine = rfc3339(t);
        // "2026-12-06T18:50:37Z" → "2026-12-06 18:50 UTC".
        let text = match machine.get(..16) {
            Some(minutes) => format!("{} UTC", minutes.replace('T', " ")),
            None => machine.clone(),
        };
        Time { text, machine }
    }
}

/// A form's refusal, shown in its section.
pub struct Refusal<'a> {
    pub section: &'static str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    name: &'a str,
    login: &'a str,
    email: &'a str,
    first_name: &'a str,
    last_name: &'a str,
    mobile_phone: &'a str,
    /// The password was entered recently enough for the sensitive forms.
    recent: bool,
    /// Minutes a sign-in stays recent.
    recent_minutes: i64,
    password_changed: Option<Time>,
    csrf: &'a str,
    notice: Option<&'static str>,
    refusal: Option<Refusal<'a>>,
    apps: &'a [AppView],
    passkeys: &'a [PasskeyRow],
    sessions: &'a [SessionRow],
    activity: &'a [ActivityRow],
    /// Where "Sign out" posts: the org server's RP-Initiated Logout endpoint.
    sign_out: &'static str,
}

/// What `?done=` may name, and what the page says for it.
fn notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "profile" => Some("Your profile was saved."),
        "password" => Some(
            "Your password was changed. Every other session and every app that stayed signed in have been signed out.",
        ),
        "sessions" => Some("You were signed out everywhere else."),
        "session" => Some("That session was signed out."),
        _ => None,
    }
}

pub async fn show(
    State(state): State<SharedState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let now = state.clock.now();
    let done = query_params(query.as_deref())
        .ok()
        .and_then(|p| p.one("done").ok().flatten().map(str::to_string));
    match current(&state, &headers, now).await {
        Ok(Some(account)) => {
            render(
                &state,
                &headers,
                &account,
                notice(done.as_deref()),
                None,
                StatusCode::OK,
            )
            .await
        }
        Ok(None) => sign_in::begin(&state, false, None),
        Err(e) => error::page(&e),
    }
}

/// The page for `account`, with a notice or a form's refusal.
pub async fn render(
    state: &AppState,
    headers: &HeaderMap,
    account: &Account,
    notice: Option<&'static str>,
    refusal: Option<Refusal<'_>>,
    status: StatusCode,
) -> Response {
    let now = state.clock.now();
    let overview = match account::overview(state, account, now).await {
        Ok(overview) => overview,
        Err(e) => return error::page(&e),
    };
    let user = &account.user;
    let sessions: Vec<SessionRow> = overview
        .sessions
        .iter()
        .map(|s| SessionRow {
            id: s.id.clone(),
            device: s
                .user_agent
                .as_deref()
                .map_or_else(|| "Unknown browser".into(), session::describe_user_agent),
            address: s.ip.clone().unwrap_or_else(|| "unknown".into()),
            last_seen: s.last_seen.map(Time::of),
            started: Time::of(s.started),
            password_verified: Time::of(s.password_verified),
            expires: Time::of(s.expires),
            current: s.current,
        })
        .collect();
    let activity: Vec<ActivityRow> = overview
        .activity
        .iter()
        .map(|a| ActivityRow {
            at: Time::of(a.at / 1000),
            what: a.what,
            success: a.success,
            address: a.address.clone().unwrap_or_else(|| "unknown".into()),
            app: a.app.clone(),
        })
        .collect();
    let passkeys: Vec<PasskeyRow> = overview
        .passkeys
        .iter()
        .map(|p| PasskeyRow {
            name: p.name.clone(),
            created: Time::of(p.created),
            last_used: p.last_used.map(Time::of),
        })
        .collect();
    let first = user.first_name.as_deref().unwrap_or("");
    let last = user.last_name.as_deref().unwrap_or("");
    let full = format!("{first} {last}");
    let name = match full.trim() {
        "" => user.login.as_str(),
        name => name,
    };
    let csrf = cookies::csrf_token(headers);
    let page = AccountPage {
        name,
        login: &user.login,
        email: user.email.as_deref().unwrap_or(""),
        first_name: first,
        last_name: last,
        mobile_phone: user
            .profile_extra
            .get("mobilePhone")
            .and_then(|v| v.as_str())
            .unwrap_or(""),
        recent: account.recent(now),
        recent_minutes: account::RECENT_SIGN_IN_SECONDS / 60,
        password_changed: user.password_changed_at.map(Time::of),
        csrf: &csrf,
        notice,
        refusal,
        apps: &overview.apps,
        passkeys: &passkeys,
        sessions: &sessions,
        activity: &activity,
        sign_out: "/oauth2/v1/logout",
    };
    let mut response = pages::render(status, &page);
    cookies::append(
        &mut response,
        cookies::set(cookies::CSRF, &csrf, state.config.secure_cookies(), None),
    );
    response
}
