//! The back-channel half toward an upstream: the browser's return (`Callback`) is
//! checked against the transaction, the code exchanged at the token endpoint, the ID
//! token verified (OpenID Connect Core §3.1.3.7) and userinfo read, giving one
//! `UpstreamIdentity`.
//!
//! The upstream's access and refresh tokens stay here: they are used for userinfo
//! and dropped. The caller gets the person's claims and the raw ID token only, which
//! serves as the `id_token_hint` of an upstream logout (`end_session_url`); nothing
//! of the upstream's is ever handed to a downstream app.

use std::fmt;

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::authorize::Transaction;
use super::config::{Kind, MAX_BODY, ProviderConfig, TokenAuth};
use super::error::{Endpoint, IdTokenProblem, UpstreamError, error_code};
use crate::clock::UnixTime;
use crate::crypto::{b64url, constant_time_eq, random_token};
use crate::outbound::{self, FetchError, Limits, Request, Response};
use crate::tokens::jose::{self, ASYMMETRIC_ALGS, JoseError, Jws, Rules};
use crate::tokens::jwt;
use crate::tokens::remote_jwks::RemoteJwks;

/// The query (or `form_post` body) of the browser's return from the provider
/// (RFC 6749 §4.1.2 and §4.1.2.1, RFC 9207 §2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
}

impl Callback {
    /// Reads the parameters; one given twice is refused (RFC 6749 §3.1), unknown ones
    /// (`session_state`, `error_description`, `error_uri`) are ignored. The upstream's
    /// `error_description` is its own text and is never shown or kept.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Callback, UpstreamError> {
        let mut c = Callback::default();
        for (k, v) in pairs {
            let slot = match k.as_ref() {
                "code" => &mut c.code,
                "state" => &mut c.state,
                "iss" => &mut c.iss,
                "error" => &mut c.error,
                _ => continue,
            };
            if slot.is_some() {
                return Err(UpstreamError::Callback("a parameter is repeated"));
            }
            *slot = Some(v.as_ref().to_string());
        }
        Ok(c)
    }

    /// `from_pairs` of a URL query (`a=b&c=d`).
    pub fn from_query(query: &str) -> Result<Callback, UpstreamError> {
        Callback::from_pairs(url::form_urlencoded::parse(query.as_bytes()))
    }
}

/// The person as the provider vouches for them.
#[derive(Clone, PartialEq)]
pub struct UpstreamIdentity {
    /// The provider's stable identifier of the person: the ID token's `sub` (OpenID
    /// Connect), or the userinfo member `subject_claim` names (OAuth 2.0).
    pub subject: String,
    /// The ID token's claims with userinfo's merged in (userinfo adds and updates
    /// profile claims; the ID token's protocol claims — `iss`, `aud`, `exp`, `nonce`,
    /// `sub` … — are never replaced). What profile mappings read as `idpuser.*`.
    pub claims: Map<String, Value>,
    pub email: Option<String>,
    /// The provider says the e-mail is verified (`email_verified` true, or the string
    /// `"true"` some providers send). False when it says nothing.
    pub email_verified: bool,
    /// The raw ID token, for an upstream logout's `id_token_hint`; `None` for OAuth 2.0.
    pub id_token: Option<String>,
}

impl fmt::Debug for UpstreamIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamIdentity")
            .field("subject", &self.subject)
            .field("claims", &self.claims)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The ID token claims userinfo may not replace.
const PROTOCOL_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "azp",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "auth_time",
    "acr",
    "amr",
    "at_hash",
    "c_hash",
    "sid",
    "jti",
];

/// How long a client assertion toward the provider lives (RFC 7523 §3: short).
const ASSERTION_LIFETIME: i64 = 60;

/// The relying-party client: the upstream providers' key sets, cached by
/// `tokens::remote_jwks` (per `jwks_uri`, five minutes, refetched for an unknown
/// `kid` at most every ten seconds). Those documents are the providers' own, outside
/// the database, so no version stamp covers them; what they grant is only that a
/// provider's own signature is checked with a key it published at most five minutes
/// ago. One cache for providers on public addresses and one for those allowed
/// private ones, so a URL is never served from a fetch made under other rules.
pub struct Upstream {
    public: RemoteJwks,
    private: RemoteJwks,
}

impl Default for Upstream {
    fn default() -> Self {
        Upstream::new()
    }
}

/// A token response (RFC 6749 §5.1); unknown members ignored.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    id_token: Option<String>,
}

impl Upstream {
    pub fn new() -> Self {
        Upstream {
            public: RemoteJwks::new(false),
            private: RemoteJwks::new(true),
        }
    }

    /// Completes a sign-in: `callback` checked against `transaction` (`state` in
    /// constant time, RFC 9207 `iss`, the provider's `error`), the code exchanged with
    /// the configured client authentication and the PKCE verifier, the ID token
    /// verified (OpenID Connect), userinfo read when configured (required for OAuth
    /// 2.0), within `config.timeout` per exchange. `redirect_uri` must be the one
    /// `begin` was given. Nothing is written anywhere: the caller decides.
    pub async fn finish(
        &self,
        config: &ProviderConfig,
        callback: &Callback,
        transaction: &Transaction,
        redirect_uri: &str,
        now: UnixTime,
    ) -> Result<UpstreamIdentity, UpstreamError> {
        let state = callback.state.as_deref().ok_or(UpstreamError::State)?;
        if !constant_time_eq(state.as_bytes(), transaction.state.as_bytes()) {
            return Err(UpstreamError::State);
        }
        // RFC 9207 §2.4: error responses carry `iss` too, so it is checked first.
        match &callback.iss {
            Some(iss) if config.issuer.is_empty() || *iss != config.issuer => {
                return Err(UpstreamError::Issuer);
            }
            None if config.iss_parameter_supported => return Err(UpstreamError::Issuer),
            _ => {}
        }
        if let Some(error) = &callback.error {
            return Err(UpstreamError::Denied {
                error: error_code(error),
            });
        }
        let code = callback
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or(UpstreamError::Callback("it has neither code nor error"))?;
        let tokens = self
            .exchange(config, code, transaction, redirect_uri, now)
            .await?;
        let id_claims = match config.kind {
            Kind::Oidc => {
                let id_token = tokens
                    .id_token
                    .as_deref()
                    .ok_or(UpstreamError::IdToken(IdTokenProblem::Missing))?;
                Some(
                    self.verify_id_token(
                        config,
                        id_token,
                        &transaction.nonce,
                        &tokens.access_token,
                        now,
                    )
                    .await?,
                )
            }
            Kind::OAuth2 => None,
        };
        let userinfo = match &config.userinfo_endpoint {
            Some(endpoint) => Some(userinfo(config, endpoint, &tokens.access_token).await?),
            None if config.kind == Kind::OAuth2 => {
                return Err(UpstreamError::Config(
                    "an OAuth 2.0 provider needs a userinfo endpoint",
                ));
            }
            None => None,
        };
        identity(config, id_claims, userinfo, tokens.id_token)
    }

    /// The code for tokens at the token endpoint (RFC 6749 §4.1.3).
    async fn exchange(
        &self,
        config: &ProviderConfig,
        code: &str,
        transaction: &Transaction,
        redirect_uri: &str,
        now: UnixTime,
    ) -> Result<TokenResponse, UpstreamError> {
        // The form serializer is not `Send`: it lives only inside this closure, never
        // across the await below (the future of an HTTP handler must be `Send`).
        let build = || -> Result<(String, Option<String>), UpstreamError> {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", redirect_uri);
            if let Some(verifier) = &transaction.code_verifier {
                form.append_pair("code_verifier", verifier);
            }
            let secret = || {
                config
                    .client_secret
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .ok_or(UpstreamError::Config("the client secret is missing"))
            };
            let mut basic = None;
            match &config.token_auth {
                TokenAuth::ClientSecretBasic => {
                    // RFC 6749 §2.3.1: each form-urlencoded, then joined and base64.
                    let enc = |s: &str| {
                        url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                    };
                    let pair = format!("{}:{}", enc(&config.client_id), enc(secret()?));
                    basic = Some(format!("Basic {}", STANDARD.encode(pair)));
                }
                TokenAuth::ClientSecretPost => {
                    form.append_pair("client_id", &config.client_id)
                        .append_pair("client_secret", secret()?);
                }
                TokenAuth::PrivateKeyJwt(ring) => {
                    let claims = json!({
                        "iss": config.client_id,
                        "sub": config.client_id,
                        "aud": config.token_endpoint,
                        "iat": now,
                        "exp": now + ASSERTION_LIFETIME,
                        "jti": random_token(),
                    });
                    let assertion = jwt::sign(&ring.signing, None, &claims);
                    form.append_pair("client_id", &config.client_id)
                        .append_pair(
                            "client_assertion_type",
                            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        )
                        .append_pair("client_assertion", &assertion);
                }
            }
            Ok((form.finish(), basic))
        };
        let (body, basic) = build()?;
        let mut headers = vec![
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ];
        if let Some(basic) = &basic {
            headers.push(("Authorization", basic.as_str()));
        }
        let request = Request {
            method: "POST",
            url: &config.token_endpoint,
            headers: &headers,
            body: body.as_bytes(),
        };
        let response = fetch(config, Endpoint::Token, request).await?;
        let unusable = |problem| UpstreamError::Response {
            endpoint: Endpoint::Token,
            problem,
        };
        match response.status {
            200 => {}
            // RFC 6749 §5.2: 400, or 401 for a refused client authentication.
            400 | 401 => {
                let error = serde_json::from_slice::<Value>(&response.body)
                    .ok()
                    .and_then(|v| v.get("error").and_then(Value::as_str).map(error_code))
                    .ok_or(unusable("an error answer without an OAuth error"))?;
                return Err(UpstreamError::Token { error });
            }
            other => {
                return Err(UpstreamError::Fetch {
                    endpoint: Endpoint::Token,
                    error: FetchError::Status(other),
                });
            }
        }
        let tokens: TokenResponse =
            serde_json::from_slice(&response.body).map_err(|_| unusable("not a token response"))?;
        if !tokens.token_type.eq_ignore_ascii_case("bearer") {
            return Err(unusable("the token type is not Bearer"));
        }
        if tokens.access_token.is_empty() {
            return Err(unusable("the access token is empty"));
        }
        Ok(tokens)
    }

    /// OpenID Connect Core §3.1.3.7, in its order; the claims.
    async fn verify_id_token(
        &self,
        config: &ProviderConfig,
        token: &str,
        nonce: &str,
        access_token: &str,
        now: UnixTime,
    ) -> Result<Map<String, Value>, UpstreamError> {
        let bad = UpstreamError::IdToken;
        let one;
        let algs: &[&str] = match &config.id_token_alg {
            Some(alg) if ASYMMETRIC_ALGS.contains(&alg.as_str()) => {
                one = [alg.as_str()];
                &one
            }
            Some(_) => {
                return Err(UpstreamError::Config(
                    "the ID token algorithm is not supported",
                ));
            }
            None => ASYMMETRIC_ALGS,
        };
        let rules = Rules {
            algs,
            embedded_key: false,
        };
        let jws = Jws::read(token, &rules).map_err(|e| match e {
            JoseError::Header(_) => bad(IdTokenProblem::Alg),
            _ => bad(IdTokenProblem::Malformed),
        })?;
        let jwks_uri = config
            .jwks_uri
            .as_deref()
            .ok_or(UpstreamError::Config("the provider has no jwks_uri"))?;
        let cache = if config.allow_private {
            &self.private
        } else {
            &self.public
        };
        let kid = jws.header.kid.as_deref();
        let keys = cache
            .keys(jwks_uri, kid)
            .await
            .map_err(|error| UpstreamError::Fetch {
                endpoint: Endpoint::Jwks,
                error,
            })?;
        let key = jose::select(&keys, kid, jws.alg()).ok_or(bad(IdTokenProblem::UnknownKey))?;
        jws.verify_with(key).map_err(|e| match e {
            JoseError::Signature => bad(IdTokenProblem::Signature),
            _ => bad(IdTokenProblem::Alg),
        })?;
        let claims = &jws.claims;
        if jws.claim_str("iss") != Some(config.issuer.as_str()) || config.issuer.is_empty() {
            return Err(bad(IdTokenProblem::Issuer));
        }
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audiences.contains(&config.client_id.as_str()) {
            return Err(bad(IdTokenProblem::Audience));
        }
        match claims.get("azp") {
            Some(azp) if azp.as_str() != Some(config.client_id.as_str()) => {
                return Err(bad(IdTokenProblem::AuthorizedParty));
            }
            None if audiences.len() > 1 => return Err(bad(IdTokenProblem::AuthorizedParty)),
            _ => {}
        }
        let skew = config.max_clock_skew.max(0);
        match jws.times.exp {
            Some(exp) if now < exp.saturating_add(skew) => {}
            _ => return Err(bad(IdTokenProblem::Expired)),
        }
        match jws.times.iat {
            Some(iat) if iat <= now.saturating_add(skew) => {}
            _ => return Err(bad(IdTokenProblem::IssuedAt)),
        }
        if jws
            .times
            .nbf
            .is_some_and(|nbf| nbf > now.saturating_add(skew))
        {
            return Err(bad(IdTokenProblem::NotYetValid));
        }
        let sent = jws.claim_str("nonce").unwrap_or("");
        if sent.is_empty() || !constant_time_eq(sent.as_bytes(), nonce.as_bytes()) {
            return Err(bad(IdTokenProblem::Nonce));
        }
        match jws.claim_str("sub") {
            Some(sub) if !sub.is_empty() && sub.len() <= 255 => {}
            _ => return Err(bad(IdTokenProblem::Subject)),
        }
        // §3.1.3.8: at_hash is optional in the code flow; when present it must match.
        if let Some(at_hash) = claims.get("at_hash") {
            let expected = half_hash(jws.alg(), access_token);
            if at_hash.as_str() != expected.as_deref() {
                return Err(bad(IdTokenProblem::AccessTokenHash));
            }
        }
        Ok(jws.claims)
    }
}

/// OpenID Connect Core §3.1.3.6: the left half of the hash of `value` under the
/// hash of `alg` (SHA-512 for EdDSA with Ed25519), base64url.
fn half_hash(alg: &str, value: &str) -> Option<String> {
    let algorithm = match alg {
        "RS256" | "PS256" | "ES256" => &digest::SHA256,
        "RS384" | "PS384" | "ES384" => &digest::SHA384,
        "RS512" | "PS512" | "EdDSA" => &digest::SHA512,
        _ => return None,
    };
    let hash = digest::digest(algorithm, value.as_bytes());
    let bytes = hash.as_ref();
    Some(b64url(&bytes[..bytes.len() / 2]))
}

/// One exchange with the provider under `config`'s limits.
async fn fetch(
    config: &ProviderConfig,
    endpoint: Endpoint,
    request: Request<'_>,
) -> Result<Response, UpstreamError> {
    let limits = Limits {
        timeout: config.timeout,
        max_body: MAX_BODY,
    };
    outbound::fetch(request, config.allow_private, limits)
        .await
        .map_err(|error| UpstreamError::Fetch { endpoint, error })
}

/// The userinfo endpoint with the access token (OpenID Connect Core §5.3): a JSON
/// object. A signed or encrypted answer (`application/jwt`) is not read.
async fn userinfo(
    config: &ProviderConfig,
    endpoint: &str,
    access_token: &str,
) -> Result<Map<String, Value>, UpstreamError> {
    let bearer = format!("Bearer {access_token}");
    let headers = [
        ("Authorization", bearer.as_str()),
        ("Accept", "application/json"),
    ];
    let response = fetch(config, Endpoint::Userinfo, Request::get(endpoint, &headers)).await?;
    let unusable = |problem| UpstreamError::Response {
        endpoint: Endpoint::Userinfo,
        problem,
    };
    if response.is("application/jwt") {
        return Err(unusable("a signed userinfo answer is not supported"));
    }
    let body = response.ok().map_err(|error| UpstreamError::Fetch {
        endpoint: Endpoint::Userinfo,
        error,
    })?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(unusable("not a JSON object")),
    }
}

/// A claim as text: a string, or a number (GitHub's `id`).
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The identity from the verified ID token's claims and userinfo.
fn identity(
    config: &ProviderConfig,
    id_claims: Option<Map<String, Value>>,
    userinfo: Option<Map<String, Value>>,
    id_token: Option<String>,
) -> Result<UpstreamIdentity, UpstreamError> {
    let unusable = |problem| UpstreamError::Response {
        endpoint: Endpoint::Userinfo,
        problem,
    };
    let (subject, claims) = match (id_claims, userinfo) {
        (Some(mut claims), info) => {
            let subject = text(claims.get("sub")).unwrap_or_default();
            if let Some(info) = info {
                // OpenID Connect Core §5.3.2: userinfo's sub must be the ID token's.
                if text(info.get("sub")).as_deref() != Some(subject.as_str()) {
                    return Err(unusable("its sub is not the ID token's"));
                }
                for (k, v) in info {
                    if !PROTOCOL_CLAIMS.contains(&k.as_str()) {
                        claims.insert(k, v);
                    }
                }
            }
            (subject, claims)
        }
        (None, Some(info)) => {
            let subject = text(info.get(&config.subject_claim))
                .filter(|s| !s.is_empty() && s.len() <= 255)
                .ok_or(unusable("it names no usable subject"))?;
            (subject, info)
        }
        (None, None) => {
            return Err(UpstreamError::Config(
                "there is nothing to identify the person by",
            ));
        }
    };
    let email = claims
        .get("email")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty())
        .map(str::to_string);
    let said_verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    let email_verified = email.is_some() && said_verified;
    Ok(UpstreamIdentity {
        subject,
        claims,
        email,
        email_verified,
        id_token: id_token.filter(|_| config.kind == Kind::Oidc),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callbacks_refuse_a_repeated_parameter() {
        let c = Callback::from_query("code=a&state=b&session_state=x&iss=https%3A%2F%2Fi").unwrap();
        assert_eq!(c.code.as_deref(), Some("a"));
        assert_eq!(c.iss.as_deref(), Some("https://i"));
        assert!(Callback::from_query("code=a&code=b&state=s").is_err());
    }

    #[test]
    fn at_hash_is_the_left_half() {
        // The left 128 bits of SHA-256, as Python's hashlib and base64 compute them.
        assert_eq!(
            half_hash("RS256", "jHkWEdUXMU1BwAsC4vtUsZwnNKaSxXeF").as_deref(),
            Some("idTiF58FwLjVa0ndPi82CQ")
        );
        assert_eq!(half_hash("HS256", "x"), None);
    }

    #[test]
    fn identity_merges_userinfo_without_replacing_protocol_claims() {
        let config = ProviderConfig::new(Kind::Oidc, "https://i", "c", None);
        let id = json!({"iss": "https://i", "sub": "u1", "email": "a@x", "email_verified": true})
            .as_object()
            .cloned();
        let info = json!({"sub": "u1", "iss": "https://evil", "given_name": "Ann"})
            .as_object()
            .cloned();
        let who = identity(&config, id.clone(), info, Some("t".into())).unwrap();
        assert_eq!(who.subject, "u1");
        assert_eq!(who.claims["iss"], "https://i");
        assert_eq!(who.claims["given_name"], "Ann");
        assert!(who.email_verified);
        assert!(!format!("{who:?}").contains("\"t\""));
        let other = json!({"sub": "u2"}).as_object().cloned();
        assert!(identity(&config, id, other, None).is_err());
        let gh = ProviderConfig::new(Kind::OAuth2, "", "c", None);
        let info = json!({"id": 4242, "login": "octo", "email": "o@x"})
            .as_object()
            .cloned();
        let who = identity(&gh, None, info, None).unwrap();
        assert_eq!(who.subject, "4242");
        assert!(!who.email_verified, "saying nothing is not verified");
    }
}
