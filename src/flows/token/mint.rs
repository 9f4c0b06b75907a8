//! Minting the signed tokens of one token response: what every grant ends with. The
//! claims are built by `claims` alone, which the token preview
//! (`flows::token::preview`) shows without signing anything.

use serde_json::Value;

use crate::clock::UnixTime;
use crate::flows::{Services, Settings, Subject};
use crate::oauth::OAuthError;
use crate::oauth::scope::Scope;
use crate::protocol::TokenResponse;
use crate::store::AuthServer;
use crate::tokens::claims::{AccessTokenClaims, Confirmation, Grant, at_hash};
use crate::tokens::{custom_claims, jwt};

/// Everything that goes into one token response. The ids and `now` are inputs so that
/// a retried refresh can mint the same tokens again.
pub struct Mint<'a> {
    pub server: &'a AuthServer,
    pub client_id: &'a str,
    pub subject: Option<&'a Subject>,
    pub scope: &'a Scope,
    pub auth_time: Option<UnixTime>,
    pub nonce: Option<&'a str>,
    pub now: UnixTime,
    pub access_ttl: i64,
    pub access_jti: String,
    pub id_jti: String,
    /// RFC 9449 §5: the thumbprint of the DPoP key the access token is bound to.
    pub dpop_jkt: Option<&'a str>,
    /// RFC 8693 §4.1: a token exchange's `sub` (the subject token's, kept as it was)
    /// and `act` claim.
    pub delegation: Option<Delegation>,
    /// RFC 8176 `amr` of the sign-in the tokens come from (`None`: the password alone).
    pub amr: Option<&'a [String]>,
    /// The `acr` the sign-in met (`None`: the level of `amr`).
    pub acr: Option<&'a str>,
    /// The ID token's `sid` (Back-Channel Logout 1.0 §2.1, Front-Channel Logout 1.0
    /// §3): the public id of the session the grant was made in.
    pub sid: Option<&'a str>,
}

/// What a token exchange puts in the access token in place of the usual `sub`.
pub struct Delegation {
    pub sub: String,
    pub act: serde_json::Value,
}

/// The claims of one token response before signing.
#[derive(Debug, Clone)]
pub struct Claims {
    pub access: AccessTokenClaims,
    /// When `openid` was granted to a user; without `at_hash`, which is that of the
    /// signed access token (`mint` adds it).
    pub id: Option<Value>,
}

/// The access token's claims (Okta's, RFC 9068's, the server's `RESOURCE` claims) and,
/// when `openid` was granted to a user, the ID token's (the user's claims for the
/// scopes, the server's `IDENTITY` claims).
pub fn claims(services: &Services, settings: &Settings, m: &Mint<'_>) -> Claims {
    let issuer = services.issuer(m.server);
    let audience = services.audience(m.server);
    let user = m.subject.map(|s| &s.user);
    let group_names = m.subject.map(Subject::group_names).unwrap_or_default();
    let grant = Grant {
        issuer: &issuer,
        audience: &audience,
        client_id: m.client_id,
        user,
        scope: m.scope.as_slice(),
        auth_time: m.auth_time,
        nonce: m.nonce,
        now: m.now,
        amr: m.amr,
        acr: m.acr,
    };
    let resource = custom_claims::evaluate(
        &settings.claims,
        "RESOURCE",
        m.scope.as_slice(),
        user,
        &group_names,
    );
    let mut access = grant.access_token(m.access_jti.clone(), m.access_ttl, resource);
    access.cnf = m.dpop_jkt.map(|jkt| Confirmation {
        jkt: jkt.to_string(),
    });
    if let Some(delegation) = &m.delegation {
        access.sub = delegation.sub.clone();
        access.act = Some(delegation.act.clone());
    }
    let id = if m.scope.contains("openid") {
        let identity = custom_claims::evaluate(
            &settings.claims,
            "IDENTITY",
            m.scope.as_slice(),
            user,
            &group_names,
        );
        let mut id = grant.id_token(m.id_jti.clone(), m.server.id_token_ttl, None, identity);
        if let (Some(Value::Object(claims)), Some(sid)) = (id.as_mut(), m.sid) {
            claims.insert("sid".into(), Value::String(sid.to_string()));
        }
        id
    } else {
        None
    };
    Claims { access, id }
}

/// Signs the access token and, when `openid` was granted to a user, the ID token.
pub async fn mint(
    services: &Services,
    settings: &Settings,
    m: Mint<'_>,
) -> Result<TokenResponse, OAuthError> {
    let ring = services.keys.get(&m.server.id, m.now).await?;
    let Claims { access, id } = claims(services, settings, &m);
    let typ = m.server.access_token_typ_at_jwt.then_some("at+jwt");
    let access_token = jwt::sign(&ring.signing, typ, &access);
    let id_token = id.map(|mut claims| {
        claims["at_hash"] = Value::String(at_hash(&access_token));
        jwt::sign(&ring.signing, Some("JWT"), &claims)
    });
    Ok(TokenResponse {
        // RFC 9449 §5: a bound token's type is DPoP.
        token_type: if m.dpop_jkt.is_some() {
            "DPoP"
        } else {
            "Bearer"
        },
        expires_in: m.access_ttl,
        access_token,
        scope: m.scope.to_string(),
        refresh_token: None,
        id_token,
        issued_token_type: None,
    })
}
