//! Counters for `/metrics`, rendered in Prometheus' text exposition format (version
//! 0.0.4). A few counters and one histogram do not need an exporter crate: atomics for
//! the fixed series, a mutex around a small map for the labelled ones.
//!
//! Label values are bounded: `endpoint` is the matched route template
//! (`/oauth2/{server_id}/v1/token`, never the raw path), `method` one of the standard
//! methods or `other`, `grant` one of the grants this server implements.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::store::PoolStats;

/// Histogram bucket upper bounds in seconds (the Prometheus clients' defaults).
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The grants counted by `gatehouse_tokens_issued_total`.
pub const GRANTS: [&str; 3] = crate::oauth::grants::GrantType::NAMES;

/// The `endpoint` label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

#[derive(Default)]
struct Histogram {
    /// Cumulative: `buckets[i]` counts observations `<= BUCKETS[i]`.
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// What a throttled (refused) request was: `gatehouse_throttled_requests_total{kind}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttled {
    /// A sign-in at the hosted page.
    SignIn = 0,
    /// A client authentication (token, revoke, introspect, PAR).
    ClientAuth = 1,
}

const THROTTLED_KINDS: [&str; 2] = ["sign_in", "client_auth"];

type RequestKey = (String, &'static str, u16);

pub struct Metrics {
    /// Unix time the process started, in seconds.
    started_at: f64,
    requests: Mutex<BTreeMap<RequestKey, u64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
    tokens: [AtomicU64; GRANTS.len()],
    logins_success: AtomicU64,
    logins_failure: AtomicU64,
    throttled: [AtomicU64; THROTTLED_KINDS.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// The standard methods keep their name; anything else is `other`, so a client
/// inventing methods cannot add series.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 8] = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("other")
}

/// Prometheus label-value escaping: backslash, double quote and newline.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

impl Metrics {
    pub fn new() -> Self {
        let started_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Metrics {
            started_at,
            requests: Mutex::new(BTreeMap::new()),
            durations: Mutex::new(BTreeMap::new()),
            tokens: Default::default(),
            logins_success: AtomicU64::new(0),
            logins_failure: AtomicU64::new(0),
            throttled: Default::default(),
        }
    }

    /// One HTTP request answered: `endpoint` is the route template.
    pub fn request(&self, endpoint: &str, method: &str, status: u16, took: Duration) {
        let key = (endpoint.to_string(), method_label(method), status);
        *self
            .requests
            .lock()
            .expect("metrics lock")
            .entry(key)
            .or_default() += 1;
        let seconds = took.as_secs_f64();
        let mut durations = self.durations.lock().expect("metrics lock");
        let h = durations.entry(endpoint.to_string()).or_default();
        for (count, bound) in h.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *count += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Tokens issued by a grant (one token response, whatever it holds).
    pub fn token_issued(&self, grant: &str) {
        if let Some(i) = GRANTS.iter().position(|g| *g == grant) {
            self.tokens[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A sign-in at the hosted page: the password was right, or not.
    pub fn login(&self, success: bool) {
        let counter = if success {
            &self.logins_success
        } else {
            &self.logins_failure
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A request refused by brute-force throttling (every one; the System Log records
    /// only when a block starts).
    pub fn throttled(&self, kind: Throttled) {
        self.throttled[kind as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Requests refused by throttling since this process started, of every kind: the
    /// sum of what `gatehouse_throttled_requests_total` shows.
    pub fn throttled_total(&self) -> u64 {
        self.throttled
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .sum()
    }

    /// Every metric in the text format, with the pool's state read now.
    pub fn render(&self, pool: PoolStats) -> String {
        let mut out = String::new();
        let requests = "gatehouse_http_requests_total";
        let _ = writeln!(
            out,
            "# HELP {requests} HTTP requests answered, by route, method and status.\n# TYPE {requests} counter"
        );
        for ((endpoint, method, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "{requests}{{endpoint=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                escape(endpoint)
            );
        }

        let duration = "gatehouse_http_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {duration} Time to answer an HTTP request, by route.\n# TYPE {duration} histogram"
        );
        for (endpoint, h) in self.durations.lock().expect("metrics lock").iter() {
            let endpoint = escape(endpoint);
            for (count, bound) in h.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "{duration}_bucket{{endpoint=\"{endpoint}\",le=\"{bound}\"}} {count}"
                );
            }
            let _ = writeln!(
                out,
                "{duration}_bucket{{endpoint=\"{endpoint}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "{duration}_sum{{endpoint=\"{endpoint}\"}} {}", h.sum);
            let _ = writeln!(
                out,
                "{duration}_count{{endpoint=\"{endpoint}\"}} {}",
                h.count
            );
        }

        let tokens = "gatehouse_tokens_issued_total";
        let _ = writeln!(
            out,
            "# HELP {tokens} Token responses issued, by grant type.\n# TYPE {tokens} counter"
        );
        for (grant, n) in GRANTS.iter().zip(&self.tokens) {
            let _ = writeln!(
                out,
                "{tokens}{{grant=\"{grant}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }

        let logins = "gatehouse_logins_total";
        let _ = writeln!(
            out,
            "# HELP {logins} Sign-ins at the hosted page, by result.\n# TYPE {logins} counter"
        );
        let _ = writeln!(
            out,
            "{logins}{{result=\"success\"}} {}",
            self.logins_success.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "{logins}{{result=\"failure\"}} {}",
            self.logins_failure.load(Ordering::Relaxed)
        );

        let throttled = "gatehouse_throttled_requests_total";
        let _ = writeln!(
            out,
            "# HELP {throttled} Requests refused by brute-force throttling, by kind.\n# TYPE {throttled} counter"
        );
        for (kind, n) in THROTTLED_KINDS.iter().zip(&self.throttled) {
            let _ = writeln!(
                out,
                "{throttled}{{kind=\"{kind}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }

        let pool_now = "gatehouse_db_pool_connections";
        let _ = writeln!(
            out,
            "# HELP {pool_now} Open database connections, by state.\n# TYPE {pool_now} gauge"
        );
        let _ = writeln!(out, "{pool_now}{{state=\"idle\"}} {}", pool.idle);
        let _ = writeln!(out, "{pool_now}{{state=\"in_use\"}} {}", pool.in_use);
        let pool_max = "gatehouse_db_pool_max_connections";
        let _ = writeln!(
            out,
            "# HELP {pool_max} The most database connections this process opens.\n# TYPE {pool_max} gauge"
        );
        let _ = writeln!(out, "{pool_max} {}", pool.max);

        let start = "process_start_time_seconds";
        let _ = writeln!(
            out,
            "# HELP {start} Start time of the process since the Unix epoch, in seconds.\n# TYPE {start} gauge"
        );
        let _ = writeln!(out, "{start} {}", self.started_at);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges() {
        let m = Metrics::new();
        m.request(
            "/oauth2/{server_id}/v1/token",
            "POST",
            200,
            Duration::from_millis(30),
        );
        m.request(
            "/oauth2/{server_id}/v1/token",
            "POST",
            200,
            Duration::from_secs(20),
        );
        m.request(UNMATCHED, "BREW", 404, Duration::from_millis(1));
        m.token_issued("authorization_code");
        m.token_issued("made_up");
        m.login(true);
        m.login(false);
        m.login(false);
        m.throttled(Throttled::ClientAuth);
        let text = m.render(PoolStats {
            idle: 2,
            in_use: 1,
            max: 8,
        });
        for expected in [
            "gatehouse_http_requests_total{endpoint=\"/oauth2/{server_id}/v1/token\",method=\"POST\",status=\"200\"} 2",
            "gatehouse_http_requests_total{endpoint=\"unmatched\",method=\"other\",status=\"404\"} 1",
            "gatehouse_http_request_duration_seconds_bucket{endpoint=\"/oauth2/{server_id}/v1/token\",le=\"0.025\"} 0",
            "gatehouse_http_request_duration_seconds_bucket{endpoint=\"/oauth2/{server_id}/v1/token\",le=\"0.05\"} 1",
            "gatehouse_http_request_duration_seconds_bucket{endpoint=\"/oauth2/{server_id}/v1/token\",le=\"10\"} 1",
            "gatehouse_http_request_duration_seconds_bucket{endpoint=\"/oauth2/{server_id}/v1/token\",le=\"+Inf\"} 2",
            "gatehouse_http_request_duration_seconds_count{endpoint=\"/oauth2/{server_id}/v1/token\"} 2",
            "gatehouse_tokens_issued_total{grant=\"authorization_code\"} 1",
            "gatehouse_tokens_issued_total{grant=\"client_credentials\"} 0",
            "gatehouse_logins_total{result=\"failure\"} 2",
            "gatehouse_throttled_requests_total{kind=\"sign_in\"} 0",
            "gatehouse_throttled_requests_total{kind=\"client_auth\"} 1",
            "gatehouse_db_pool_connections{state=\"in_use\"} 1",
            "gatehouse_db_pool_max_connections 8",
        ] {
            assert!(
                text.lines().any(|l| l == expected),
                "{expected} missing from\n{text}"
            );
        }
        assert!(!text.contains("made_up"));
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
