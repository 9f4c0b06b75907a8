//! The hosted pages in a real browser: headless Chromium over WebDriver (`chromium`),
//! with a relying party of the test's own on another loopback port (`rp`) receiving
//! the redirects. These tests see what the HTTP-client tests cannot: the pages' CSP
//! as Chromium enforces it (including `form-action` on the redirect after a form),
//! scripts, layout, keyboard use and an axe-core accessibility audit.

pub mod chromium;
pub mod rp;

mod account;
mod console;
mod console_apps;
mod device;
mod email;
mod factor_choice;
mod factors;
mod federation;
mod flows;
mod lockout;
mod pages;
mod passkeys;
mod sign_on;

pub use chromium::{Chromium, Key};
pub use rp::RelyingParty;

use crate::support::{App, PASSWORD, TestApp};

pub const LOGIN: &str = "alice@example.com";

/// A server with the user `LOGIN`, the app `rp` (a public client whose redirect URI is
/// the app's `/callback` and post-logout URI its `/signed-out`), and a browser.
pub struct Setup {
    pub t: TestApp,
    pub rp: RelyingParty,
    pub app: App,
    pub chrome: Chromium,
}

impl Setup {
    pub async fn new() -> Setup {
        let t = TestApp::spawn().await;
        t.user(LOGIN).await;
        let rp = RelyingParty::start().await;
        let app = t
            .app_with_logout("none", &[&rp.callback()], &[&rp.signed_out()])
            .await;
        let chrome = Chromium::start().await;
        Setup { t, rp, app, chrome }
    }

    /// The default server's authorize URL for the app, with `extra` parameters.
    pub fn authorize(&self, extra: &[(&str, &str)]) -> String {
        let callback = self.rp.callback();
        let mut all = vec![("redirect_uri", callback.as_str())];
        all.extend_from_slice(extra);
        self.t.authorize_url("default", &self.app.client_id, &all)
    }

    /// Fills the sign-in form and submits it with the button.
    pub async fn sign_in(&self, password: &str) {
        self.chrome.fill("#username", LOGIN).await;
        self.chrome.fill("#password", password).await;
        self.chrome.click("button[type=submit]").await;
    }

    /// Opens the authorize URL, signs in with the right password and waits for the app.
    pub async fn signed_in(&self) {
        self.chrome.open(&self.authorize(&[])).await;
        self.sign_in(PASSWORD).await;
        self.chrome.wait_for_url(&self.rp.callback()).await;
    }

    /// A scope on the default server whose consent is required.
    pub async fn consent_scope(&self, name: &str) {
        use gatehouse::clock::Clock;
        let new = gatehouse::admin::servers::NewScope {
            name: name.into(),
            description: "Read your orders".into(),
            consent_required: true,
            is_default: false,
        };
        gatehouse::admin::servers::create_scope(
            &self.t.backend.store,
            &gatehouse::admin::syslog::Actor::cli(),
            "default",
            new,
            self.t.clock.now(),
        )
        .await
        .unwrap();
    }

    /// The default server's logout endpoint with these parameters.
    pub fn logout_url(&self, pairs: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&self.t.endpoint("default", "logout")).unwrap();
        url.query_pairs_mut().extend_pairs(pairs);
        url.to_string()
    }
}
