//! Okta's sign-on policies over HTTP: the Policy API (`OKTA_SIGN_ON`, `ACCESS_POLICY`),
//! the Network Zones API, an app's policy, and what they decide at /authorize.

use gatehouse::clock::Clock;
use serde_json::{Value, json};

use crate::support::*;

/// Signs `login` in at the page for `app` with `extra` authorize parameters; the
/// redirect the browser gets after the password.
pub async fn after_password(
    t: &TestApp,
    browser: &Browser,
    app: &App,
    login: &str,
    extra: &[(&str, &str)],
) -> String {
    let response = browser
        .get(&t.authorize_url("default", &app.client_id, extra))
        .await;
    let loc = location(&response).expect("a redirect");
    assert!(loc.starts_with("/login"), "{loc}");
    let response = browser.sign_in(&loc, login, PASSWORD).await;
    location(&response).expect("a redirect after the password")
}

async fn group_with(api: &Api, name: &str, user_id: &str) -> String {
    let (status, group) = api
        .post("/api/v1/groups", json!({ "profile": { "name": name } }))
        .await;
    assert_eq!(status, 200, "{group}");
    let id = group["id"].as_str().unwrap().to_string();
    let status = api
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/groups/{id}/users/{user_id}"),
            None,
        )
        .await
        .status();
    assert_eq!(status, 204);
    id
}

fn cause(body: &Value) -> String {
    let (_, causes) = okta_error(body);
    causes.first().cloned().unwrap_or_default()
}

/// The whole API on PostgreSQL (its store, migration 35 and triggers): the defaults,
/// zones, policies and rules with every validation error, the default's protections,
/// an app's policy; then a session policy that denies a group, at /authorize.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_zones_and_a_denying_rule_over_http() {
    let t = TestApp::spawn_postgres().await;
    let api = t.api().await;

    // The defaults: one system policy of each type, password only.
    let (status, error) = api.get("/api/v1/policies").await;
    assert_eq!((status, cause(&error).starts_with("type: ")), (400, true));
    let (status, list) = api.get("/api/v1/policies?type=OKTA_SIGN_ON").await;
    assert_eq!(status, 200);
    let default_signon = list[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        (
            list.as_array().unwrap().len(),
            &list[0]["system"],
            &list[0]["type"]
        ),
        (1, &json!(true), &json!("OKTA_SIGN_ON"))
    );
    let (_, list) = api.get("/api/v1/policies?type=ACCESS_POLICY").await;
    let default_access = list[0]["id"].as_str().unwrap().to_string();
    let (_, rules) = api
        .get(&format!("/api/v1/policies/{default_access}/rules"))
        .await;
    let catch_all = rules[0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        rules[0]["actions"]["appSignOn"]["verificationMethod"]["factorMode"],
        "1FA"
    );

    // Zones.
    for (body, field) in [
        (
            json!({ "type": "IP", "name": "Office", "gateways": [{ "type": "CIDR", "value": "10.0.0.0/33" }] }),
            "gateways: ",
        ),
        (
            json!({ "type": "IP", "name": "Office", "gateways": [] }),
            "gateways: ",
        ),
        (
            json!({ "type": "IP", "name": "Office", "gateways": [{ "type": "CIDR", "value": "10.0.0.1-10.0.0.9" }] }),
            "gateways: ",
        ),
        (
            json!({ "type": "DYNAMIC", "name": "Office", "gateways": [{ "value": "10.0.0.0/8" }] }),
            "type: ",
        ),
        (
            json!({ "type": "IP", "name": " ", "gateways": [{ "value": "10.0.0.0/8" }] }),
            "name: ",
        ),
    ] {
        let (status, error) = api.post("/api/v1/zones", body.clone()).await;
        assert_eq!(
            (status, cause(&error).starts_with(field)),
            (400, true),
            "{body} {error}"
        );
    }
    let (status, office) = api
        .post(
            "/api/v1/zones",
            json!({ "type": "IP", "name": "Office", "gateways": [
                { "type": "CIDR", "value": "198.51.100.0/24" },
                { "type": "RANGE", "value": "2001:db8::1-2001:db8::ff" }] }),
        )
        .await;
    assert_eq!(
        (status, &office["gateways"][1]["type"]),
        (200, &json!("RANGE"))
    );
    let office_id = office["id"].as_str().unwrap().to_string();
    assert!(office_id.starts_with("nzo"));
    let (status, error) = api
        .post(
            "/api/v1/zones",
            json!({ "name": "Office", "gateways": [{ "value": "192.0.2.1" }] }),
        )
        .await;
    assert_eq!((status, cause(&error).starts_with("name: ")), (400, true));

    // A policy for staff, with its rules.
    let alice = t.user("alice@example.com").await;
    let staff = group_with(&api, "Staff", &alice.id).await;
    let (status, error) = api
        .post(
            "/api/v1/policies",
            json!({ "type": "PASSWORD", "name": "x" }),
        )
        .await;
    assert_eq!((status, cause(&error).starts_with("type: ")), (400, true));
    let (status, error) = api
        .post(
            "/api/v1/policies",
            json!({ "type": "ACCESS_POLICY", "name": "x",
                    "conditions": { "people": { "groups": { "include": [staff] } } } }),
        )
        .await;
    assert_eq!(
        (status, cause(&error).starts_with("conditions: ")),
        (400, true)
    );
    let (status, policy) = api
        .post(
            "/api/v1/policies",
            json!({ "type": "ACCESS_POLICY", "name": "Staff apps" }),
        )
        .await;
    assert_eq!((status, &policy["system"]), (200, &json!(false)));
    let policy_id = policy["id"].as_str().unwrap().to_string();
    let rules_path = format!("/api/v1/policies/{policy_id}/rules");
    let (_, rules) = api.get(&rules_path).await;
    assert_eq!(
        (rules.as_array().unwrap().len(), &rules[0]["name"]),
        (1, &json!("Catch-all Rule")),
        "a new app policy comes with its catch-all"
    );
    let rule = |conditions: Value, method: Value| {
        json!({ "name": "Staff away", "conditions": conditions,
                "actions": { "appSignOn": { "access": "ALLOW", "verificationMethod": method } } })
    };
    let staff_away = json!({ "people": { "groups": { "include": [staff] } },
                             "network": { "connection": "ZONE", "exclude": [office_id] } });
    for (body, field) in [
        (
            rule(staff_away.clone(), json!({ "factorMode": "3FA" })),
            "actions.appSignOn.verificationMethod.factorMode: ",
        ),
        (
            rule(staff_away.clone(), json!({ "reauthenticateIn": "2 hours" })),
            "actions.appSignOn.verificationMethod.reauthenticateIn: ",
        ),
        (
            rule(
                json!({ "people": { "groups": { "include": ["nobody"] } } }),
                json!({}),
            ),
            "conditions.people.groups.include: ",
        ),
        (
            rule(
                json!({ "network": { "connection": "ZONE", "include": ["nzoMissing"] } }),
                json!({}),
            ),
            "conditions.network.include: ",
        ),
        (
            rule(json!({ "network": { "connection": "ZONE" } }), json!({})),
            "conditions.network: ",
        ),
        (
            rule(json!({ "network": { "connection": "MOON" } }), json!({})),
            "conditions.network.connection: ",
        ),
    ] {
        let (status, error) = api.post(&rules_path, body.clone()).await;
        assert_eq!(
            (status, cause(&error).starts_with(field)),
            (400, true),
            "{body} {error}"
        );
    }
    let (status, created) = api
        .post(
            &rules_path,
            rule(
                staff_away,
                json!({ "factorMode": "2FA", "reauthenticateIn": "PT1H",
                        "constraints": [{ "possession": { "phishingResistant": "REQUIRED" } }] }),
            ),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let method = &created["actions"]["appSignOn"]["verificationMethod"];
    assert_eq!(
        (
            &method["factorMode"],
            &method["reauthenticateIn"],
            &method["constraints"][0]["possession"]["phishingResistant"]
        ),
        (&json!("2FA"), &json!("PT1H"), &json!("REQUIRED"))
    );
    assert_eq!(
        created["conditions"]["network"]["exclude"],
        json!([office_id])
    );
    let (_, rules) = api.get(&rules_path).await;
    assert_eq!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["system"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [false, true],
        "the catch-all stays last"
    );

    // What the defaults and rules in use refuse.
    for path in [
        format!("/api/v1/policies/{default_access}"),
        format!("/api/v1/policies/{default_access}/rules/{catch_all}"),
        format!("/api/v1/zones/{office_id}"),
    ] {
        assert_eq!(api.delete(&path).await, 403, "{path}");
    }
    let (status, _) = api
        .post(
            &format!("/api/v1/policies/{default_signon}/lifecycle/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 403);
    let (status, error) = api
        .put(
            &format!("/api/v1/policies/{default_access}/rules/{catch_all}"),
            json!({ "name": "Catch-all Rule",
                    "conditions": { "people": { "groups": { "include": [staff] } } } }),
        )
        .await;
    assert_eq!(
        (status, cause(&error).starts_with("conditions: ")),
        (400, true)
    );

    // An app's policy.
    let app = t.web_app().await;
    let assign = |app_id: &str, policy: &str| format!("/api/v1/apps/{app_id}/policies/{policy}");
    let (status, _) = api.put(&assign("0oaMissing", &policy_id), json!({})).await;
    assert_eq!(status, 404);
    let (status, error) = api
        .put(&assign(&app.client_id, &default_signon), json!({}))
        .await;
    assert_eq!(
        (status, cause(&error).starts_with("policyId: ")),
        (400, true)
    );
    let status = api
        .send(
            reqwest::Method::PUT,
            &assign(&app.client_id, &policy_id),
            None,
        )
        .await
        .status();
    assert_eq!(status, 204);

    // A session policy that denies contractors: they get access_denied at the app, with
    // the state; staff still reach it.
    let bob = t.user("bob@example.com").await;
    let contractors = group_with(&api, "Contractors", &bob.id).await;
    let (status, deny) = api
        .post(
            "/api/v1/policies",
            json!({ "type": "OKTA_SIGN_ON", "name": "Contractors",
                    "conditions": { "people": { "groups": { "include": [contractors] } } } }),
        )
        .await;
    assert_eq!(status, 200, "{deny}");
    let deny_id = deny["id"].as_str().unwrap();
    let (status, _) = api
        .post(
            &format!("/api/v1/policies/{deny_id}/rules"),
            json!({ "name": "No", "actions": { "signon": { "access": "DENY" } } }),
        )
        .await;
    assert_eq!(status, 200);
    let loc = after_password(&t, &t.browser(), &app, &bob.login, &[]).await;
    assert_eq!(
        (
            param(&loc, "error").as_deref(),
            param(&loc, "state").as_deref()
        ),
        (Some("access_denied"), Some("st4te")),
        "{loc}"
    );
    // The policy deactivated: its rule no longer applies.
    let (status, _) = api
        .post(
            &format!("/api/v1/policies/{deny_id}/lifecycle/deactivate"),
            json!({}),
        )
        .await;
    assert_eq!(status, 204);
    let loc = after_password(&t, &t.browser(), &app, &bob.login, &[]).await;
    assert!(param(&loc, "code").is_some(), "{loc}");

    // Every change is in the System Log.
    let (_, events) = api
        .get("/api/v1/logs?filter=eventType+eq+%22policy.rule.add%22")
        .await;
    assert_eq!(events.as_array().unwrap().len(), 2, "{events}");
    assert_eq!(
        api.delete(&format!("/api/v1/policies/{policy_id}")).await,
        204
    );
    assert_eq!(
        api.delete(&format!("/api/v1/zones/{office_id}")).await,
        204,
        "no rule names it now"
    );
}

/// A browser whose requests say, through a trusted proxy (the TCP peer, 127.0.0.1),
/// that they come from `ip`.
fn browser_from(t: &TestApp, ip: &str) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", ip.parse().unwrap());
    Browser {
        base: t.base.clone(),
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(headers)
            .build()
            .unwrap(),
        cookies: Default::default(),
    }
}

/// Gives `login` an active TOTP factor; its secret.
pub(crate) async fn totp_for(t: &TestApp, login: &str) -> Vec<u8> {
    use gatehouse::factors::totp;
    use gatehouse::flows::factors;
    let user = t
        .backend
        .store
        .find_user_by_login(login)
        .await
        .unwrap()
        .unwrap();
    let now = t.clock.now();
    let enrollment = factors::enroll_totp(&t.state, &user, now)
        .await
        .unwrap()
        .unwrap();
    let secret = totp::base32_decode(&enrollment.secret).unwrap();
    let code = totp::code_at_step(&secret, totp::step_at(now));
    let check = factors::activate_totp(&t.state, &user, &enrollment.factor.id, &code, None, now)
        .await
        .unwrap();
    assert!(matches!(check, factors::Check::Verified));
    secret
}

/// Posts a TOTP code on the verify page at `location`; where the browser goes next.
async fn verify_totp(t: &TestApp, browser: &Browser, location: &str, secret: &[u8]) -> String {
    use gatehouse::factors::totp;
    // A code is accepted once: each verification uses the next time step.
    t.clock.advance(totp::STEP);
    let code = totp::code_at_step(secret, totp::step_at(t.clock.now()));
    let html = browser.get(location).await.text().await.unwrap();
    let tx = input_value(&html, "tx").unwrap();
    let csrf = input_value(&html, "csrf").unwrap();
    let response = browser
        .post_form(
            "/signin/verify",
            &[
                ("tx", &tx),
                ("csrf", &csrf),
                ("method", "totp"),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    location_of(&response)
}

fn location_of(response: &reqwest::Response) -> String {
    location(response).expect("a redirect")
}

/// The ID token's `amr` and `acr` for the code in `loc`.
async fn amr_acr(t: &TestApp, app: &App, loc: &str) -> (Value, Value) {
    let code = param(loc, "code").unwrap_or_else(|| panic!("a code: {loc}"));
    let tokens = expect_no_store_json(t.redeem("default", app, &code).await).await;
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    (claims["amr"].clone(), claims["acr"].clone())
}

/// The policy matrix over HTTP, on SQLite behind a trusted proxy: an app policy asks
/// staff for two factors outside the office zone (again after an hour) and everyone
/// else for the password (again after half an hour); `acr_values` steps up on top of it;
/// `max_age` and the policy's frequency ask again; `prompt=none` gets
/// `interaction_required` or `login_required` instead of a page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_matrix_at_sign_in() {
    let t = TestApp::spawn_configured(|c| {
        c.trusted_proxies = vec![gatehouse::config::IpNet::parse("127.0.0.0/8").unwrap()];
    })
    .await;
    let api = t.api().await;
    let ada = t.user("ada@example.com").await;
    let bob = t.user("bob@example.com").await;
    let secret = totp_for(&t, &ada.login).await;
    let staff = group_with(&api, "Staff", &ada.id).await;
    let (_, office) = api
        .post(
            "/api/v1/zones",
            json!({ "name": "Office", "gateways": [{ "type": "CIDR", "value": "203.0.113.0/24" }] }),
        )
        .await;
    let (_, policy) = api
        .post(
            "/api/v1/policies",
            json!({ "type": "ACCESS_POLICY", "name": "Staff apps" }),
        )
        .await;
    let policy_id = policy["id"].as_str().unwrap();
    let (status, _) = api
        .post(
            &format!("/api/v1/policies/{policy_id}/rules"),
            json!({ "name": "Staff away",
                    "conditions": { "people": { "groups": { "include": [staff] } },
                                    "network": { "connection": "ZONE", "exclude": [office["id"]] } },
                    "actions": { "appSignOn": { "access": "ALLOW", "verificationMethod": {
                        "factorMode": "2FA", "reauthenticateIn": "PT1H" } } } }),
        )
        .await;
    assert_eq!(status, 200);
    let (_, rules) = api
        .get(&format!("/api/v1/policies/{policy_id}/rules"))
        .await;
    let catch_all = rules[1]["id"].as_str().unwrap();
    let (status, _) = api
        .put(
            &format!("/api/v1/policies/{policy_id}/rules/{catch_all}"),
            json!({ "name": "Catch-all Rule", "actions": { "appSignOn": { "access": "ALLOW",
                    "verificationMethod": { "factorMode": "1FA", "reauthenticateIn": "PT30M" } } } }),
        )
        .await;
    assert_eq!(status, 200);
    let app = t.web_app().await;
    let status = api
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/apps/{}/policies/{policy_id}", app.client_id),
            None,
        )
        .await
        .status();
    assert_eq!(status, 204);
    let pwd_only = (json!(["pwd"]), json!("urn:okta:loa:1fa:pwd"));
    let two = (json!(["pwd", "otp", "mfa"]), json!("urn:okta:loa:2fa:any"));

    // Staff away from the office: the password, then the second factor.
    let away = browser_from(&t, "198.51.100.7");
    let next = after_password(&t, &away, &app, &ada.login, &[]).await;
    assert!(next.starts_with("/signin/verify?tx="), "{next}");
    let loc = verify_totp(&t, &away, &next, &secret).await;
    assert_eq!(amr_acr(&t, &app, &loc).await, two);
    // In the office the password is enough; so it is for someone not in staff.
    let office_browser = browser_from(&t, "203.0.113.5");
    let loc = after_password(&t, &office_browser, &app, &ada.login, &[]).await;
    assert_eq!(amr_acr(&t, &app, &loc).await, pwd_only);
    let bobs = browser_from(&t, "198.51.100.8");
    let loc = after_password(&t, &bobs, &app, &bob.login, &[]).await;
    assert_eq!(amr_acr(&t, &app, &loc).await, pwd_only);

    // acr_values steps up on top of the policy: the office session has one factor.
    let authorize = |extra: &[(&str, &str)]| t.authorize_url("default", &app.client_id, extra);
    let step_up = ("acr_values", "urn:okta:loa:2fa:any");
    // A value the session meets is answered, and the ID token's `acr` is that value
    // (as Okta's): the class the sign-in satisfied.
    for asked in ["urn:okta:loa:1fa:any", "urn:okta:loa:1fa:pwd"] {
        let loc = location_of(
            &office_browser
                .get(&authorize(&[("acr_values", asked)]))
                .await,
        );
        assert_eq!(
            amr_acr(&t, &app, &loc).await,
            (json!(["pwd"]), json!(asked))
        );
    }
    let loc = location_of(
        &office_browser
            .get(&authorize(&[step_up, ("prompt", "none")]))
            .await,
    );
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("interaction_required"),
        "{loc}"
    );
    let loc = location_of(&office_browser.get(&authorize(&[step_up])).await);
    assert!(loc.starts_with("/signin/verify?tx="), "{loc}");
    let loc = verify_totp(&t, &office_browser, &loc, &secret).await;
    assert_eq!(amr_acr(&t, &app, &loc).await, two);
    let if_possible = ("acr_values", "urn:okta:loa:2fa:any:ifpossible");
    let loc = location_of(&office_browser.get(&authorize(&[if_possible])).await);
    assert_eq!(
        amr_acr(&t, &app, &loc).await,
        (two.0.clone(), json!("urn:okta:loa:2fa:any:ifpossible"))
    );
    // Bob has no second factor: `…:ifpossible` lets the password do (and is the class
    // the ID token reports), `…:2fa:any` asks him to set one up.
    let loc = location_of(&bobs.get(&authorize(&[if_possible])).await);
    assert_eq!(
        amr_acr(&t, &app, &loc).await,
        (json!(["pwd"]), json!("urn:okta:loa:2fa:any:ifpossible"))
    );
    let loc = location_of(&bobs.get(&authorize(&[step_up])).await);
    assert!(loc.starts_with("/signin/enroll?tx="), "{loc}");

    // Within the hour the away session is answered; after it, the second factor again.
    let loc = location_of(&away.get(&authorize(&[])).await);
    assert_eq!(amr_acr(&t, &app, &loc).await, two);
    t.clock.advance(3600);
    let loc = location_of(&away.get(&authorize(&[("prompt", "none")])).await);
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("interaction_required"),
        "{loc}"
    );
    let loc = location_of(&away.get(&authorize(&[])).await);
    assert!(loc.starts_with("/signin/verify?tx="), "{loc}");
    let loc = verify_totp(&t, &away, &loc, &secret).await;
    assert_eq!(amr_acr(&t, &app, &loc).await, two);

    // max_age: the password again, and then what the policy needs from here.
    let loc = location_of(&away.get(&authorize(&[("max_age", "60")])).await);
    assert!(loc.starts_with("/login?tx="), "{loc}");
    let response = away.sign_in(&loc, &ada.login, PASSWORD).await;
    let next = location_of(&response);
    assert!(next.starts_with("/signin/verify?tx="), "{next}");

    // The catch-all's half hour has passed for Bob's session: the password again.
    let loc = location_of(&bobs.get(&authorize(&[("prompt", "none")])).await);
    assert_eq!(
        param(&loc, "error").as_deref(),
        Some("login_required"),
        "{loc}"
    );
    let loc = location_of(&bobs.get(&authorize(&[])).await);
    assert!(loc.starts_with("/login?tx="), "{loc}");
}
