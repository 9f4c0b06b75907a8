//! What goes in tokens: Okta's claim set for access tokens (`ver`, `jti`, `iss`, `aud`,
//! `iat`, `exp`, `cid`, `uid`, `scp`, `sub`) with RFC 9068's (`client_id`, `scope`),
//! OpenID Connect Core §2's ID token, and the standard claims per scope (§5.4).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::clock::UnixTime;
use crate::crypto::{b64url, random_token, sha256};
use crate::store::User;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub ver: u32,
    pub jti: String,
    pub iss: String,
    pub aud: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub cid: String,
    pub client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    pub scp: Vec<String>,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
    pub sub: String,
    /// RFC 9449 §6.1: the DPoP key the token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// RFC 8693 §4.1: the party acting for `sub` (a token from a token exchange):
    /// `{"sub": client_id}`, with the subject token's own `act` nested inside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<Value>,
    /// The server's custom `RESOURCE` claims.
    #[serde(flatten, default)]
    pub extra: Map<String, Value>,
}

/// RFC 7800 §3.1 `cnf`, with RFC 9449 §6.1's `jkt`: the SHA-256 JWK thumbprint
/// (RFC 7638) of the key a DPoP-bound token is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

/// A new access token id: Okta's `AT.` prefix and 256 random bits.
pub fn new_access_jti() -> String {
    format!("AT.{}", random_token())
}

/// A new ID token id.
pub fn new_id_jti() -> String {
    format!("ID.{}", random_token())
}

/// The inputs common to the tokens of one grant.
pub struct Grant<'a> {
    pub issuer: &'a str,
    pub audience: &'a str,
    pub client_id: &'a str,
    /// `None` for client_credentials: the token's subject is the client.
    pub user: Option<&'a User>,
    /// The granted scopes (validated by the protocol layer).
    pub scope: &'a [String],
    /// When the user last signed in (a user grant).
    pub auth_time: Option<UnixTime>,
    pub nonce: Option<&'a str>,
    pub now: UnixTime,
    /// RFC 8176 `amr` of the sign-in (`None`: the password alone, `["pwd"]`).
    pub amr: Option<&'a [String]>,
    /// The `acr` the sign-in met (an `acr_values` value it satisfied); `None`: the
    /// level of `amr` (`factors::acr_of`).
    pub acr: Option<&'a str>,
}

impl Grant<'_> {
    /// Okta's access token claims and RFC 9068's. `sub` is Okta's default,
    /// `(appuser != null) ? appuser.userName : app.clientId`: the user's login (their
    /// user name in every app), or the client's id for client_credentials (RFC 9068
    /// §2.2); `uid` is the user's id. A server's custom `RESOURCE` claim named `sub` in
    /// `extra` (a string) replaces it, as Okta lets an admin change the `sub` claim.
    pub fn access_token(
        &self,
        jti: String,
        ttl: i64,
        mut extra: Map<String, Value>,
    ) -> AccessTokenClaims {
        let sub = match extra.remove("sub") {
            Some(Value::String(custom)) => custom,
            _ => self
                .user
                .map_or(self.client_id, |u| u.login.as_str())
                .to_string(),
        };
        AccessTokenClaims {
            ver: 1,
            jti,
            iss: self.issuer.to_string(),
            aud: self.audience.to_string(),
            iat: self.now,
            exp: self.now + ttl,
            cid: self.client_id.to_string(),
            client_id: self.client_id.to_string(),
            uid: self.user.map(|u| u.id.clone()),
            scp: self.scope.to_vec(),
            scope: self.scope.join(" "),
            auth_time: self.auth_time,
            sub,
            cnf: None,
            act: None,
            extra,
        }
    }

    /// OpenID Connect Core §2 and §3.1.3.6. The ID token from the token endpoint
    /// carries the user's claims for the granted scopes, as Okta's does, and the
    /// server's custom `IDENTITY` claims (`extra`). `None` without a user. `at_hash`
    /// (§3.1.3.6) is that of `access_token`; without one (a preview of the claims,
    /// nothing signed) it is left out.
    pub fn id_token(
        &self,
        jti: String,
        ttl: i64,
        access_token: Option<&str>,
        extra: Map<String, Value>,
    ) -> Option<Value> {
        let user = self.user?;
        let mut claims = Map::new();
        claims.insert("ver".into(), json!(1));
        claims.insert("jti".into(), json!(jti));
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("sub".into(), json!(user.id));
        claims.insert("aud".into(), json!(self.client_id));
        claims.insert("iat".into(), json!(self.now));
        claims.insert("exp".into(), json!(self.now + ttl));
        if let Some(auth_time) = self.auth_time {
            claims.insert("auth_time".into(), json!(auth_time));
        }
        // RFC 8176 methods and Okta's level of assurance for them (OpenID Connect Core
        // §2 `acr`): what the sign-in proved, as recorded in its session.
        let password = [crate::factors::amr::PWD.to_string()];
        let amr = self.amr.filter(|a| !a.is_empty()).unwrap_or(&password);
        claims.insert("amr".into(), json!(amr));
        let acr = self.acr.unwrap_or_else(|| crate::factors::acr_of(amr));
        claims.insert("acr".into(), json!(acr));
        if let Some(access_token) = access_token {
            claims.insert("at_hash".into(), json!(at_hash(access_token)));
        }
        if let Some(nonce) = self.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        claims.extend(user_claims(user, self.scope));
        for (name, value) in extra {
            claims.entry(name).or_insert(value);
        }
        Some(Value::Object(claims))
    }
}

/// OpenID Connect Core §3.1.3.6: the left half of SHA-256 of the access token.
pub fn at_hash(access_token: &str) -> String {
    let digest = sha256(access_token.as_bytes());
    b64url(&digest[..digest.len() / 2])
}

/// OpenID Connect Core §5.4: the standard claims each scope asks for, from what the
/// user record has. A claim whose attribute is missing is left out.
pub fn user_claims(user: &User, scope: &[String]) -> Map<String, Value> {
    let mut claims = Map::new();
    let mut put = |name: &str, value: Option<&str>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            claims.insert(name.to_string(), json!(v));
        }
    };
    let has = |name: &str| scope.iter().any(|s| s == name);
    if has("profile") {
        let name = match (user.first_name.as_deref(), user.last_name.as_deref()) {
            (Some(f), Some(l)) => Some(format!("{f} {l}")),
            (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
            (None, None) => None,
        };
        put("name", name.as_deref());
        put("given_name", user.first_name.as_deref());
        put("family_name", user.last_name.as_deref());
        put("preferred_username", Some(&user.login));
        claims.insert("updated_at".into(), json!(user.updated_at));
    }
    if has("email")
        && let Some(email) = user.email.as_deref().filter(|e| !e.is_empty())
    {
        claims.insert("email".into(), json!(email));
        // True once the person followed a link e-mailed to this very address.
        claims.insert("email_verified".into(), json!(user.email_verified()));
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::UserStatus;

    fn scopes(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
    }

    fn user() -> User {
        User {
            id: "00uA".into(),
            login: "alice@example.com".into(),
            email: Some("alice@example.com".into()),
            first_name: Some("Alice".into()),
            last_name: None,
            password_hash: None,
            status: UserStatus::Active,
            created_at: 0,
            updated_at: 5,
            profile_extra: Default::default(),
            activated_at: None,
            status_changed_at: None,
            password_changed_at: None,
            last_login_at: None,
            verified_email: None,
        }
    }

    #[test]
    fn claims_follow_scopes() {
        let u = user();
        let only_openid = user_claims(&u, &scopes("openid"));
        assert!(only_openid.is_empty());
        let all = user_claims(&u, &scopes("openid profile email"));
        assert_eq!(all["name"], "Alice");
        assert_eq!(all["preferred_username"], "alice@example.com");
        assert_eq!(all["email"], "alice@example.com");
        assert!(
            !all.contains_key("family_name"),
            "missing attribute: claim omitted"
        );
    }

    #[test]
    fn at_hash_matches_oidc_example() {
        // OpenID Connect Core, Appendix A.3 (the access token of the example).
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn access_token_has_okta_and_rfc9068_claims() {
        let u = user();
        let scope = scopes("openid email");
        let g = Grant {
            amr: None,
            acr: None,
            issuer: "https://i",
            audience: "api://default",
            client_id: "0oa1",
            user: Some(&u),
            scope: &scope,
            auth_time: Some(1),
            nonce: None,
            now: 10,
        };
        let at = g.access_token("AT.x".into(), 3600, Map::new());
        let v = serde_json::to_value(&at).unwrap();
        for claim in [
            "ver",
            "jti",
            "iss",
            "aud",
            "iat",
            "exp",
            "cid",
            "uid",
            "scp",
            "sub",
            "client_id",
            "scope",
        ] {
            assert!(v.get(claim).is_some(), "{claim}");
        }
        assert_eq!(v["scp"], json!(["openid", "email"]));
        assert_eq!(v["exp"], 3610);
        assert_eq!(
            (v["sub"].as_str(), v["uid"].as_str()),
            (Some("alice@example.com"), Some("00uA")),
            "Okta's default: the login in sub, the id in uid"
        );
        let id_token = g
            .id_token("ID.x".into(), 3600, Some("at"), Map::new())
            .unwrap();
        assert_eq!(id_token["sub"], "00uA", "the ID token keeps the id");

        let mut custom = Map::new();
        custom.insert("sub".into(), json!("alice"));
        let at = g.access_token("AT.y".into(), 3600, custom);
        let text = serde_json::to_string(&at).unwrap();
        assert_eq!(text.matches("\"sub\"").count(), 1, "{text}");
        assert_eq!(at.sub, "alice", "a custom sub claim replaces the default");

        let service = Grant { user: None, ..g };
        let at = service.access_token("AT.z".into(), 3600, Map::new());
        assert_eq!((at.sub.as_str(), at.uid), ("0oa1", None));
    }
}
