//! The client's address behind a reverse proxy: `X-Forwarded-For` is believed only
//! from a peer in `trusted_proxies`, and only up to the rightmost hop that is not a
//! trusted proxy. Observed where it is recorded: the System Log's `client.ipAddress`.

use gatehouse::config::IpNet;

use crate::support::*;

/// Sends a refused token request with these `X-Forwarded-For` headers and returns the
/// address the System Log recorded for it.
async fn recorded_ip(t: &TestApp, api: &Api, forwarded: &[&str]) -> String {
    let mut request = t.http.post(t.endpoint("default", "token")).form(&[
        ("grant_type", "client_credentials"),
        ("client_id", "0oaNOBODY"),
    ]);
    for value in forwarded {
        request = request.header("x-forwarded-for", *value);
    }
    assert_eq!(request.send().await.unwrap().status(), 401);
    let (status, events) = api
        .get("/api/v1/logs?filter=eventType%20eq%20%22app.oauth2.token.grant%22&limit=1000")
        .await;
    assert_eq!(status, 200);
    let last = events.as_array().unwrap().last().unwrap().clone();
    last["client"]["ipAddress"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_proxies_the_peer_is_the_client() {
    let t = TestApp::spawn().await;
    let api = t.api().await;
    assert_eq!(recorded_ip(&t, &api, &[]).await, "127.0.0.1");
    assert_eq!(
        recorded_ip(&t, &api, &["203.0.113.7"]).await,
        "127.0.0.1",
        "a client cannot name itself"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_names_the_client() {
    let t = TestApp::spawn_configured(|c| {
        c.trusted_proxies = vec![
            IpNet::parse("127.0.0.0/8").unwrap(),
            IpNet::parse("10.0.0.0/8").unwrap(),
        ]
    })
    .await;
    let api = t.api().await;
    assert_eq!(recorded_ip(&t, &api, &["203.0.113.7"]).await, "203.0.113.7");
    // The client prepended a lie; our proxies appended what they saw.
    assert_eq!(
        recorded_ip(&t, &api, &["198.51.100.99, 203.0.113.7, 10.1.2.3"]).await,
        "203.0.113.7"
    );
    assert_eq!(
        recorded_ip(&t, &api, &["198.51.100.99", "203.0.113.7"]).await,
        "203.0.113.7",
        "several headers are one list"
    );
    assert_eq!(recorded_ip(&t, &api, &["2001:db8::5"]).await, "2001:db8::5");
    // Garbage stops the walk at the last trusted hop.
    assert_eq!(
        recorded_ip(&t, &api, &["203.0.113.7, <script>"]).await,
        "127.0.0.1"
    );
    assert_eq!(recorded_ip(&t, &api, &[]).await, "127.0.0.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_not_listed_is_not_believed() {
    let t = TestApp::spawn_configured(|c| {
        c.trusted_proxies = vec![IpNet::parse("10.0.0.0/8").unwrap()]
    })
    .await;
    let api = t.api().await;
    assert_eq!(recorded_ip(&t, &api, &["203.0.113.7"]).await, "127.0.0.1");
}
