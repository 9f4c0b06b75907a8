//! Server-rendered pages (askama: checked at compile time, escaped by default).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub app_name: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// "Forgot password?" (`/signin/forgot-password?tx=…`) when e-mail is on.
    pub forgot_password: Option<&'a str>,
    /// The password field; false for the username step of IdP discovery.
    pub ask_password: bool,
    /// "Sign in with …", one per active identity provider.
    pub providers: &'a [IdpButton],
}

/// After a sign-in at an identity provider: the way on to the app, as a page that
/// goes there at once (`<meta http-equiv="refresh">`) rather than a redirect. A redirect
/// would still belong to the provider's sign-in form submission, and a browser applies
/// the provider's `form-action` policy to every redirect after it (Chromium does), which
/// need not name the app.
#[derive(Template)]
#[template(path = "federation_continue.html")]
pub struct ContinuePage<'a> {
    pub location: &'a str,
}

/// A sign-in page button to an identity provider (`/sso/idps/{id}?tx=…`); its colour
/// comes from `/sso/idps/buttons.css` (`.idp-{id}`), so the page needs no inline style.
pub struct IdpButton {
    pub id: String,
    pub href: String,
    pub label: String,
}

/// The second-factor step (`/signin/verify`): one form per method the person has
/// (`flows::mfa::Method::name`), each posting its `method`.
#[derive(Template)]
#[template(path = "signin_verify.html")]
pub struct VerifyPage<'a> {
    pub app_name: &'a str,
    pub login: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub methods: &'a [&'a str],
    pub error: Option<&'a str>,
    /// Where e-mail codes go, masked (`a***@example.com`), when `email` is a method.
    pub email_to: &'a str,
    /// "We sent a code to …": the e-mail form is the one to fill in next.
    pub notice: Option<&'a str>,
}

/// The code sent to a new e-mail factor's address, to turn it on: in sign-in
/// (`/signin/enroll`, with `tx`) and on the account page (`/account/factors/email`).
#[derive(Template)]
#[template(path = "email_code.html")]
pub struct EmailCodePage<'a> {
    pub app_name: &'a str,
    pub action: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub factor_id: &'a str,
    pub to: &'a str,
    pub error: Option<&'a str>,
    pub notice: Option<&'a str>,
}

/// Setting up a TOTP factor: the QR code (inline SVG made by Gatehouse), the key for
/// typing in, and the form for the first code. In sign-in (`/signin/enroll`) and in
/// the self-service pages (`/account/factors/totp`).
#[derive(Template)]
#[template(path = "signin_enroll.html")]
pub struct EnrollPage<'a> {
    pub app_name: &'a str,
    pub action: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub factor_id: &'a str,
    pub qr_svg: &'a str,
    pub secret: &'a str,
    pub error: Option<&'a str>,
    /// In sign-in: offer a passkey too (`/signin/enroll/passkey/options`).
    pub passkey: bool,
    /// In sign-in, when the request asks for a phishing-resistant factor: only the
    /// passkey is offered.
    pub passkey_only: bool,
    /// In sign-in: offer codes by e-mail to this (masked) address.
    pub email_to: Option<&'a str>,
}

/// `/account/factors`: the person's factors (id, label, status), each with Remove;
/// new recovery codes; setting up an authenticator app when they have none.
#[derive(Template)]
#[template(path = "account_factors.html")]
pub struct AccountFactorsPage<'a> {
    pub login: &'a str,
    pub csrf: &'a str,
    pub factors: &'a [(String, String, String)],
    pub has_active: bool,
    pub has_totp: bool,
    /// Offer "Get codes by e-mail" (to this masked address): e-mail is on, the person
    /// has a primary address and no e-mail factor yet.
    pub email_offer: Option<&'a str>,
    pub recovery_left: i64,
    pub notice: Option<&'a str>,
}

/// New recovery codes, shown once; the form goes on to `action` (a POST carrying
/// `tx` in sign-in, a plain GET link back without one).
#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    pub codes: &'a [String],
    pub action: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
}

/// The consent page: the scopes that need the user's agreement, with their
/// descriptions; Allow and Don't allow post back with the double-submit CSRF token.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage<'a> {
    pub app_name: &'a str,
    pub tx: &'a str,
    pub csrf: &'a str,
    pub scopes: &'a [(String, String)],
    /// "Signed in as …": the session's user, whom the answer is for.
    pub signed_in_as: Option<&'a str>,
    /// "Not you?": where this user signs out (the server's logout confirmation).
    pub not_you: &'a str,
}

/// RP-Initiated Logout §4: asks before ending the session; the form carries the
/// double-submit CSRF token.
#[derive(Template)]
#[template(path = "logout_confirm.html")]
pub struct LogoutConfirmPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub app_name: Option<&'a str>,
    /// The session's user, if the browser has a session.
    pub signed_in_as: Option<&'a str>,
    /// The app that asked, carried through the form so the signed-out page can offer
    /// the way back to it.
    pub client_id: Option<&'a str>,
    /// Cancel: back to the app, or to this server's home page.
    pub cancel: &'a str,
}

/// "You have signed out", with a link back to the app when it is known (its name
/// and `app_home`), since no post-logout redirect took the user there. With
/// Front-Channel Logout, the page loads each app's `frontchannel_logout_uri` in an
/// iframe (`frontchannel`), and when the sign-out was to end at a post-logout redirect
/// URI (`next`), goes there once the frames have loaded (`frontchannel.js`), or when
/// the user follows the link.
#[derive(Template)]
#[template(path = "signed_out.html")]
pub struct SignedOutPage<'a> {
    pub back: Option<(&'a str, &'a str)>,
    pub frontchannel: &'a [String],
    pub next: Option<&'a str>,
}

/// The server's RP-Initiated Logout endpoint, as a path, naming `client_id`: the
/// "Not you?" link (it asks before signing out, and then offers the way back).
pub fn logout_path(server_id: &str, client_id: &str) -> String {
    let client: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    if server_id == crate::store::ORG_SERVER_ID {
        format!("/oauth2/v1/logout?client_id={client}")
    } else {
        format!("/oauth2/{server_id}/v1/logout?client_id={client}")
    }
}

/// Where "Return to the app" leads after signing out: the app's first registered
/// post-logout redirect URI, else its home (`app_origin`). From the app's
/// registration, never from the request, and only a link the user may follow.
pub fn app_home(client: &crate::store::Client) -> Option<String> {
    client
        .post_logout_redirect_uris
        .first()
        .cloned()
        .or_else(|| app_origin(client))
}

/// The app itself, where Cancel leads (the user stays signed in): the origin of its
/// first http(s) redirect URI.
pub fn app_origin(client: &crate::store::Client) -> Option<String> {
    client.redirect_uris.iter().find_map(|uri| {
        let url = url::Url::parse(uri).ok()?;
        matches!(url.scheme(), "http" | "https")
            .then(|| format!("{}/", url.origin().ascii_serialization()))
    })
}

/// `/activate`: the form for the code a device shows (RFC 8628 §3.3).
#[derive(Template)]
#[template(path = "activate.html")]
pub struct ActivatePage<'a> {
    pub csrf: &'a str,
    /// What the user typed, or the code from `verification_uri_complete`.
    pub user_code: &'a str,
    pub error: Option<&'a str>,
}

/// `/activate` for a browser without a session: sign in, the code carried through.
#[derive(Template)]
#[template(path = "activate_sign_in.html")]
pub struct ActivateSignInPage<'a> {
    pub app_name: &'a str,
    pub user_code: &'a str,
    pub csrf: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

/// `/activate`, signed in: which app asks for which scopes; Allow or Deny.
#[derive(Template)]
#[template(path = "activate_confirm.html")]
pub struct ActivateConfirmPage<'a> {
    pub app_name: &'a str,
    pub user_code: &'a str,
    pub csrf: &'a str,
    pub scopes: &'a [(String, String)],
    pub signed_in_as: &'a str,
    pub not_you: &'a str,
}

/// `/activate`'s last page: the device is connected, or not.
#[derive(Template)]
#[template(path = "activate_done.html")]
pub struct ActivateDonePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// "Forgot password?": the username to send a reset link for.
#[derive(Template)]
#[template(path = "forgot_password.html")]
pub struct ForgotPasswordPage<'a> {
    pub csrf: &'a str,
    /// The sign-in the person came from, carried into the link.
    pub tx: Option<&'a str>,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// Back to that sign-in.
    pub back: Option<&'a str>,
}

/// A reset or activation link: the new password.
#[derive(Template)]
#[template(path = "set_password.html")]
pub struct SetPasswordPage<'a> {
    pub title: &'a str,
    pub button: &'a str,
    pub action: &'a str,
    pub csrf: &'a str,
    pub login: &'a str,
    pub min_length: usize,
    pub error: Option<&'a str>,
}

/// An e-mail link's outcome, with where to go next.
#[derive(Template)]
#[template(path = "email_link_done.html")]
pub struct EmailLinkDonePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub next: Option<&'a str>,
    pub next_label: &'a str,
}

/// An address confirmation link: the button that confirms it.
#[derive(Template)]
#[template(path = "verify_email.html")]
pub struct VerifyEmailPage<'a> {
    pub action: &'a str,
    pub csrf: &'a str,
    pub email: &'a str,
    pub login: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    description: &'a str,
    error_code: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: &'a [(String, String)],
}

pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub fn error(
    status: StatusCode,
    title: &str,
    description: &str,
    error_code: Option<&str>,
) -> Response {
    render(
        status,
        &ErrorPage {
            title,
            description,
            error_code,
        },
    )
}

/// The form_post response mode page. Its CSP lets the form go to the client's
/// redirect URI's origin and nowhere else; the auto-submit script is a file from this
/// server, not inline.
pub fn form_post(action: &str, fields: &[(String, String)]) -> Response {
    let mut response = render(StatusCode::OK, &FormPostPage { action, fields });
    let form_action = crate::http::middleware::form_source(action).unwrap_or("'none'".into());
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// The store did not answer: a page that says so (the cause goes to the log).
pub fn unavailable(e: &crate::store::StoreError) -> Response {
    tracing::warn!(error = %e, "a page could not read the store");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "The server cannot answer right now. Try again in a moment.",
        None,
    )
}

/// A passkey as `/account/passkeys` lists it.
pub struct PasskeyRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: Option<String>,
    /// A synced passkey (backed up by its provider), rather than one kept on one device.
    pub synced: bool,
}

/// `/account/passkeys`: the person's passkeys; rename, remove, add (the add button works
/// through `passkey.js`). `recent`: the sign-in is recent enough to change them.
#[derive(Template)]
#[template(path = "account_passkeys.html")]
pub struct AccountPasskeysPage<'a> {
    pub login: &'a str,
    pub csrf: &'a str,
    pub passkeys: &'a [PasskeyRow],
    pub recent: bool,
    pub error: Option<&'a str>,
}

/// A date as a page shows it (UTC, `2026-12-06`).
pub fn date(t: crate::clock::UnixTime) -> String {
    crate::clock::rfc3339(t).chars().take(10).collect()
}
