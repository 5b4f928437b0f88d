//! The OIDC identity token Fulcio exchanges for a certificate: from a file, from
//! `SIGSTORE_ID_TOKEN`, or GitHub Actions' ambient token endpoint
//! (`ACTIONS_ID_TOKEN_REQUEST_URL` + `&audience=sigstore`, bearer
//! `ACTIONS_ID_TOKEN_REQUEST_TOKEN`). The token's signature is Fulcio's to check; here its
//! claims are read so that the proof of possession signs the right one and an expired or
//! wrong-audience token fails before any service is asked.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::KeylessError;
use crate::http::{Body, Http};

/// The audience Sigstore's Fulcio accepts.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";
/// Clock leeway for `exp`/`iat`, as sigstore-python allows.
const LEEWAY_SECONDS: u64 = 5;

/// An OIDC identity token and the claims the signer needs.
#[derive(Clone)]
pub struct IdentityToken {
    jwt: String,
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `email`, when the issuer is an email issuer.
    pub email: Option<String>,
    /// `exp`, seconds since the epoch.
    pub expires: u64,
}

impl std::fmt::Debug for IdentityToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The JWT is a bearer credential: never printed.
        f.debug_struct("IdentityToken")
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("email", &self.email)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

impl IdentityToken {
    /// Parses a compact JWT; `origin` names it in errors; `now` checks `exp`.
    pub fn parse(jwt: &str, origin: &str, now: SystemTime) -> Result<Self, KeylessError> {
        let bad = |reason: String| KeylessError::IdentityToken {
            origin: origin.to_owned(),
            reason,
        };
        let jwt = jwt.trim();
        let mut parts = jwt.split('.');
        let (Some(_header), Some(claims), Some(_signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("not a compact JWT (three base64url parts)".into()));
        };
        let claims = URL_SAFE_NO_PAD
            .decode(claims.trim_end_matches('='))
            .map_err(|error| bad(format!("the claims are not base64url: {error}")))?;
        let claims: serde_json::Value = serde_json::from_slice(&claims)
            .map_err(|error| bad(format!("the claims are not JSON: {error}")))?;
        let text = |name: &str| claims.get(name).and_then(serde_json::Value::as_str);
        let issuer = text("iss").ok_or_else(|| bad("no \"iss\" claim".into()))?;
        let subject = text("sub").ok_or_else(|| bad("no \"sub\" claim".into()))?;
        let audience_ok = match claims.get("aud") {
            Some(serde_json::Value::String(audience)) => audience == SIGSTORE_AUDIENCE,
            Some(serde_json::Value::Array(audiences)) => audiences
                .iter()
                .any(|audience| audience.as_str() == Some(SIGSTORE_AUDIENCE)),
            _ => false,
        };
        if !audience_ok {
            return Err(bad(format!(
                "the audience (\"aud\") is not {SIGSTORE_AUDIENCE:?}: request the token with audience {SIGSTORE_AUDIENCE}"
            )));
        }
        let expires = claims
            .get("exp")
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| bad("no numeric \"exp\" claim".into()))?;
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if expires + LEEWAY_SECONDS < now {
            return Err(bad(format!(
                "expired {} s ago: get a fresh token (they live minutes)",
                now - expires
            )));
        }
        Ok(Self {
            jwt: jwt.to_owned(),
            issuer: issuer.to_owned(),
            subject: subject.to_owned(),
            email: text("email").map(str::to_owned),
            expires,
        })
    }

    /// Reads a token from a file (`-` is not special).
    pub fn from_file(path: &Path, now: SystemTime) -> Result<Self, KeylessError> {
        let text = std::fs::read_to_string(path).map_err(|error| KeylessError::Read {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string(), now)
    }

    /// The ambient token: GitHub Actions' token endpoint, else `SIGSTORE_ID_TOKEN`.
    pub fn ambient(http: &Http, now: SystemTime) -> Result<Self, KeylessError> {
        Self::ambient_with(http, now, |name| std::env::var(name).ok())
    }

    /// [`IdentityToken::ambient`] with the environment read through `env`.
    pub fn ambient_with(
        http: &Http,
        now: SystemTime,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, KeylessError> {
        let var = |name: &str| env(name).filter(|value| !value.is_empty());
        if let (Some(url), Some(bearer)) = (
            var("ACTIONS_ID_TOKEN_REQUEST_URL"),
            var("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ) {
            let separator = if url.contains('?') { '&' } else { '?' };
            let url = format!("{url}{separator}audience={SIGSTORE_AUDIENCE}");
            let authorization = format!("Bearer {bearer}");
            let answer = http.send(
                "the GitHub Actions OIDC token endpoint",
                "GET",
                &url,
                &[("Authorization", &authorization)],
                Body::None,
            )?;
            let invalid = |reason: &str| KeylessError::Protocol {
                service: "the GitHub Actions OIDC token endpoint".into(),
                url: url.clone(),
                reason: reason.to_owned(),
            };
            if answer.status != 200 {
                return Err(invalid(&format!("HTTP {} instead of 200", answer.status)));
            }
            let value: serde_json::Value = serde_json::from_slice(&answer.body)
                .map_err(|_| invalid("the body is not JSON"))?;
            let jwt = value
                .get("value")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| invalid("no \"value\" string in the body"))?;
            return Self::parse(jwt, "from the GitHub Actions token endpoint", now);
        }
        if let Some(jwt) = var("SIGSTORE_ID_TOKEN") {
            return Self::parse(&jwt, "in SIGSTORE_ID_TOKEN", now);
        }
        Err(KeylessError::NoIdentityToken)
    }

    /// The compact JWT (a bearer credential: send it only to the CA).
    pub(crate) fn jwt(&self) -> &str {
        &self.jwt
    }

    /// What Fulcio's proof of possession is over: the email for email issuers, else `sub`.
    pub fn challenge(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &serde_json::Value) -> String {
        format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    }

    #[test]
    fn reads_the_claims_and_checks_audience_and_expiry() {
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        let good = serde_json::json!({"iss":"https://token.actions.githubusercontent.com","sub":"repo:a/b:ref:refs/tags/v1","aud":"sigstore","exp":1_000_100});
        let token = IdentityToken::parse(&jwt(&good), "t", now).unwrap();
        assert_eq!(token.challenge(), "repo:a/b:ref:refs/tags/v1");
        assert!(!format!("{token:?}").contains(&jwt(&good)));

        let mut wrong_audience = good.clone();
        wrong_audience["aud"] = "other".into();
        let error = IdentityToken::parse(&jwt(&wrong_audience), "t", now).unwrap_err();
        assert!(error.to_string().contains("audience"), "{error}");

        let mut expired = good.clone();
        expired["exp"] = 999_000.into();
        let error = IdentityToken::parse(&jwt(&expired), "t", now).unwrap_err();
        assert!(error.to_string().contains("expired 1000 s ago"), "{error}");

        let mut email = good;
        email["email"] = "a@example.com".into();
        assert_eq!(
            IdentityToken::parse(&jwt(&email), "t", now)
                .unwrap()
                .challenge(),
            "a@example.com"
        );
        assert!(IdentityToken::parse("abc", "t", now).is_err());
    }
}
