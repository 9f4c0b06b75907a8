//! How an authorization response reaches the client once its redirect URI is trusted:
//! RFC 6749 §4.1.2 (query), OAuth 2.0 Multiple Response Types (fragment) and Form Post
//! Response Mode. Every reply carries `iss` (RFC 9207) and the request's `state`.

use serde::{Deserialize, Serialize};
use url::Url;

use super::OAuthError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "query" => Some(ResponseMode::Query),
            "fragment" => Some(ResponseMode::Fragment),
            "form_post" => Some(ResponseMode::FormPost),
            _ => None,
        }
    }
}

/// Where and how to answer a trusted client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTarget {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
    pub issuer: String,
}

/// A reply ready for the HTTP layer to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A 302 (or 303 after a POST) to this URL.
    Redirect(String),
    /// An HTML page that POSTs `fields` to `action`.
    FormPost {
        action: String,
        fields: Vec<(String, String)>,
    },
}

impl ReplyTarget {
    pub fn success(&self, code: &str) -> Reply {
        self.reply(vec![("code".into(), code.to_string())])
    }

    pub fn error(&self, error: &OAuthError) -> Reply {
        self.reply(vec![
            ("error".into(), error.code().to_string()),
            ("error_description".into(), error.description.to_string()),
        ])
    }

    fn reply(&self, mut fields: Vec<(String, String)>) -> Reply {
        if let Some(state) = &self.state {
            fields.push(("state".into(), state.clone()));
        }
        fields.push(("iss".into(), self.issuer.clone()));
        match self.mode {
            ResponseMode::FormPost => Reply::FormPost {
                action: self.redirect_uri.clone(),
                fields,
            },
            ResponseMode::Query => {
                // The registered URI parsed when it was registered; it still does.
                let mut url =
                    Url::parse(&self.redirect_uri).expect("registered redirect URIs parse");
                url.query_pairs_mut().extend_pairs(fields.iter());
                Reply::Redirect(url.into())
            }
            ResponseMode::Fragment => {
                let mut url =
                    Url::parse(&self.redirect_uri).expect("registered redirect URIs parse");
                let fragment = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(fields.iter())
                    .finish();
                url.set_fragment(Some(&fragment));
                Reply::Redirect(url.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(mode: ResponseMode) -> ReplyTarget {
        ReplyTarget {
            redirect_uri: "https://app.example.com/cb?tenant=1".into(),
            mode,
            state: Some("a b&c".into()),
            issuer: "https://id.example.com".into(),
        }
    }

    #[test]
    fn query_keeps_the_registered_query_and_adds_state_and_iss() {
        let Reply::Redirect(url) = target(ResponseMode::Query).success("xyz") else {
            panic!()
        };
        assert_eq!(
            url,
            "https://app.example.com/cb?tenant=1&code=xyz&state=a+b%26c&iss=https%3A%2F%2Fid.example.com"
        );
    }

    #[test]
    fn fragment_and_form_post() {
        let Reply::Redirect(url) = target(ResponseMode::Fragment).error(&OAuthError::new(
            super::super::ErrorCode::LoginRequired,
            "Sign in",
        )) else {
            panic!()
        };
        assert!(url.starts_with("https://app.example.com/cb?tenant=1#error=login_required"));
        let Reply::FormPost { action, fields } = target(ResponseMode::FormPost).success("c") else {
            panic!()
        };
        assert_eq!(action, "https://app.example.com/cb?tenant=1");
        assert_eq!(fields[0], ("code".into(), "c".into()));
        assert_eq!(fields[1], ("state".into(), "a b&c".into()));
    }
}
