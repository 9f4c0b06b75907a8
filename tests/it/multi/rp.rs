//! A relying party talking to one instance at a time, and `Load`: tasks that each own a
//! refresh-token chain, with a load balancer's failover.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use reqwest::header::COOKIE;
use serde_json::Value;
use tokio::sync::Barrier;
use url::Url;

use super::cluster::Cluster;
use crate::support::*;

pub fn endpoint(base: &str, name: &str) -> String {
    format!("{base}/oauth2/default/v1/{name}")
}

pub fn authorize_url(base: &str, client_id: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut url = Url::parse(&endpoint(base, "authorize")).unwrap();
    url.query_pairs_mut().extend_pairs([
        ("client_id", client_id),
        ("response_type", "code"),
        ("scope", scope),
        ("redirect_uri", REDIRECT),
        ("state", "st4te"),
        ("nonce", "n0nce"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    url.query_pairs_mut().extend_pairs(extra);
    url.to_string()
}

/// An authorize request with the session cookie `session`: the code it redirects with,
/// or the `error`.
pub async fn authorize(
    http: &reqwest::Client,
    base: &str,
    session: &str,
    app: &App,
    scope: &str,
    extra: &[(&str, &str)],
) -> reqwest::Result<Result<String, String>> {
    let r = http
        .get(authorize_url(base, &app.client_id, scope, extra))
        .header(COOKIE, format!("gh_session={session}"))
        .send()
        .await?;
    let loc = location(&r).unwrap_or_else(|| {
        panic!(
            "{base}: authorize answered {} without a redirect",
            r.status()
        )
    });
    assert!(
        loc.starts_with(REDIRECT),
        "{base}: authorize went to {loc}, not to the client"
    );
    Ok(match param(&loc, "code") {
        Some(code) => Ok(code),
        None => Err(param(&loc, "error").unwrap_or_else(|| panic!("{loc}"))),
    })
}

pub async fn post_as(
    http: &reqwest::Client,
    base: &str,
    name: &str,
    app: &App,
    form: &[(&str, &str)],
) -> reqwest::Result<reqwest::Response> {
    http.post(endpoint(base, name))
        .basic_auth(&app.client_id, app.secret.as_deref())
        .form(form)
        .send()
        .await
}

/// The token endpoint's status and JSON body.
pub async fn token(
    http: &reqwest::Client,
    base: &str,
    app: &App,
    form: &[(&str, &str)],
) -> reqwest::Result<(u16, Value, bool)> {
    let r = post_as(http, base, "token", app, form).await?;
    let status = r.status().as_u16();
    let retry_after = r.headers().contains_key("retry-after");
    let body = r.json::<Value>().await?;
    Ok((status, body, retry_after))
}

pub async fn redeem(
    http: &reqwest::Client,
    base: &str,
    app: &App,
    code: &str,
) -> reqwest::Result<(u16, Value, bool)> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    token(http, base, app, &form).await
}

pub async fn refresh(
    http: &reqwest::Client,
    base: &str,
    app: &App,
    refresh_token: &str,
) -> reqwest::Result<(u16, Value, bool)> {
    token(
        http,
        base,
        app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Signs alice in through `browser`'s instance (an authorize request there, then its
/// sign-in page) and returns the code.
pub async fn sign_in(browser: &Browser, app: &App, scope: &str) -> String {
    let r = browser
        .get(&authorize_url(&browser.base, &app.client_id, scope, &[]))
        .await;
    let login = location(&r).expect("a redirect to the sign-in page");
    assert!(login.starts_with("/login"), "{login}");
    let r = browser.sign_in(&login, "alice@example.com", PASSWORD).await;
    let loc = location(&r).expect("a redirect to the client");
    param(&loc, "code").unwrap_or_else(|| panic!("a code in {loc}"))
}

pub fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

/// 30 requests from 30 tasks, 10 to each instance, released together.
pub async fn race<F, Fut>(bases: &[String], request: F) -> Vec<(u16, Value)>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = (u16, Value)> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(30));
    let racers: Vec<_> = (0..30)
        .map(|i| {
            let barrier = barrier.clone();
            let request = request(bases[i % bases.len()].clone());
            tokio::spawn(async move {
                barrier.wait().await;
                request.await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.unwrap());
    }
    answers
}

/// 200s and `invalid_grant`s among `answers`; anything else fails the test.
pub fn winners_and_losers(answers: &[(u16, Value)]) -> (Vec<&Value>, usize) {
    let mut wins = Vec::new();
    let mut invalid_grant = 0;
    for (status, body) in answers {
        match (status, error_of(body)) {
            (200, _) => wins.push(body),
            (400, "invalid_grant") => invalid_grant += 1,
            _ => panic!("unexpected answer {status}: {body}"),
        }
    }
    (wins, invalid_grant)
}

/// A relying party's load on the cluster, with the failover of a load balancer: a node
/// whose connection fails is marked down and the request goes to the next one. The app
/// has a grace period, so retrying a refresh whose answer was lost is safe: it gets the
/// same answer if the lost request had rotated the token, a rotation if not.
pub struct Load {
    pub http: reqwest::Client,
    pub bases: Vec<String>,
    pub app: Arc<App>,
    session: String,
    down: Vec<AtomicBool>,
    /// Per node: connections that failed, and 200s answered after `after` was set.
    pub failed: Vec<AtomicUsize>,
    pub ok_after: Vec<AtomicUsize>,
    pub ok_before: Vec<AtomicUsize>,
    pub after: AtomicBool,
}

impl Load {
    pub fn new(c: &Cluster, app: Arc<App>, session: String) -> Arc<Load> {
        let counters = || c.nodes.iter().map(|_| AtomicUsize::new(0)).collect();
        Arc::new(Load {
            http: c.http.clone(),
            bases: c.bases(),
            app,
            session,
            down: c.nodes.iter().map(|_| AtomicBool::new(false)).collect(),
            failed: counters(),
            ok_after: counters(),
            ok_before: counters(),
            after: AtomicBool::new(false),
        })
    }

    /// The next node after `node` that is not marked down.
    pub fn next(&self, node: usize) -> usize {
        (1..=self.bases.len())
            .map(|step| (node + step) % self.bases.len())
            .find(|&n| !self.down[n].load(Ordering::SeqCst))
            .expect("a node up")
    }

    pub fn connection_failed(&self, node: usize, _: reqwest::Error) -> usize {
        self.failed[node].fetch_add(1, Ordering::SeqCst);
        self.down[node].store(true, Ordering::SeqCst);
        self.next(node)
    }

    pub fn ok(&self, node: usize) {
        let count = if self.after.load(Ordering::SeqCst) {
            &self.ok_after
        } else {
            &self.ok_before
        };
        count[node].fetch_add(1, Ordering::SeqCst);
    }

    /// A code for `scope` (the shared session) redeemed; on `node` and the next ones if
    /// it fails. A code whose redemption was lost may have been spent: then a new one.
    pub async fn code_exchange(&self, node: &mut usize, scope: &str) -> Value {
        loop {
            let code = match authorize(
                &self.http,
                &self.bases[*node],
                &self.session,
                &self.app,
                scope,
                &[],
            )
            .await
            {
                Ok(answer) => {
                    answer.unwrap_or_else(|e| panic!("{}: authorize: {e}", self.bases[*node]))
                }
                Err(e) => {
                    *node = self.connection_failed(*node, e);
                    continue;
                }
            };
            self.ok(*node);
            *node = self.next(*node);
            let mut retried = false;
            loop {
                match redeem(&self.http, &self.bases[*node], &self.app, &code).await {
                    Ok((200, body, _)) => {
                        self.ok(*node);
                        return body;
                    }
                    Ok((400, body, _)) if retried && error_of(&body) == "invalid_grant" => break,
                    Ok((status, body, _)) => panic!(
                        "{}: code exchange answered {status}: {body}",
                        self.bases[*node]
                    ),
                    Err(e) => {
                        *node = self.connection_failed(*node, e);
                        retried = true;
                    }
                }
            }
        }
    }

    /// Rotates `refresh_token` (on `node`, else the next ones); the new token response.
    pub async fn rotate(&self, node: &mut usize, refresh_token: &str) -> Value {
        loop {
            match refresh(&self.http, &self.bases[*node], &self.app, refresh_token).await {
                Ok((200, body, _)) => {
                    self.ok(*node);
                    return body;
                }
                Ok((status, body, _)) => {
                    panic!("{}: refresh answered {status}: {body}", self.bases[*node])
                }
                Err(e) => *node = self.connection_failed(*node, e),
            }
        }
    }
}

/// A refresh token from a new code (the shared session), redeemed at some node.
pub async fn new_chain(load: &Load, node: &mut usize) -> String {
    let body = load.code_exchange(node, "openid offline_access").await;
    body["refresh_token"].as_str().unwrap().to_string()
}
