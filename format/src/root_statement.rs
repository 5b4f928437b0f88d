//! The versioned form of `trusted_root.dsse.json`'s payload: a small cordon statement
//! that carries the trusted root's **version** and **expiry** as signed fields, around
//! the exact bytes of `trusted_root.json`.
//!
//! Sigstore clients (sigstore-python first) refuse unknown fields in
//! `trusted_root.json`, so the version and expiry cannot live inside it; the root key
//! signs this statement instead (payload type [`VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE`]),
//! and the bare `trusted_root.json` keeps being shipped, byte for byte the statement's
//! `trustedRoot`. The format (docs/trust.md):
//!
//! ```json
//! {"version": 3, "expires": "2027-03-01T00:00:00Z", "trustedRoot": "<base64 of trusted_root.json>"}
//! ```
//!
//! `version` is a positive integer the publisher raises on every re-signing (a verifier
//! refuses a lower one than it has seen); `expires` is RFC 3339 UTC (a verifier refuses
//! the statement after it).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::time::{parse_rfc3339, rfc3339};

/// The DSSE payload type of a versioned root-signed trusted root.
pub const VERSIONED_TRUSTED_ROOT_PAYLOAD_TYPE: &str =
    "application/vnd.cordon.versioned-trusted-root+json;version=1";

/// Why a payload is not a versioned trusted-root statement.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RootStatementError {
    /// Not the JSON object described above (missing, extra or mistyped fields).
    #[error(
        "the versioned trusted-root statement is not {{\"version\", \"expires\", \"trustedRoot\"}}: {0}"
    )]
    Shape(String),
    /// `version` is 0.
    #[error("the versioned trusted-root statement has version 0; versions start at 1")]
    ZeroVersion,
    /// `expires` is not RFC 3339.
    #[error("the versioned trusted-root statement's \"expires\" {0:?} is not an RFC 3339 time")]
    Expires(String),
    /// `trustedRoot` is not base64.
    #[error("the versioned trusted-root statement's \"trustedRoot\" is not base64")]
    TrustedRoot,
}

/// The signed fields of a versioned trusted root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootStatement {
    /// Raised by the publisher on every re-signing; starts at 1.
    pub version: u64,
    /// Unix seconds after which the statement must be refused.
    pub expires: i64,
    /// The exact bytes of `trusted_root.json`.
    pub trusted_root: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Wire {
    version: u64,
    expires: String,
    trusted_root: String,
}

impl RootStatement {
    /// The statement as compact JSON: the envelope's payload.
    pub fn to_json(&self) -> Vec<u8> {
        let wire = Wire {
            version: self.version,
            expires: rfc3339(self.expires),
            trusted_root: STANDARD.encode(&self.trusted_root),
        };
        serde_json::to_vec(&wire).unwrap_or_default()
    }

    /// Parses a statement strictly: exactly the three fields, a positive version, an
    /// RFC 3339 expiry and standard base64.
    pub fn parse(payload: &[u8]) -> Result<Self, RootStatementError> {
        let wire: Wire = serde_json::from_slice(payload)
            .map_err(|error| RootStatementError::Shape(error.to_string()))?;
        if wire.version == 0 {
            return Err(RootStatementError::ZeroVersion);
        }
        let expires = parse_rfc3339(&wire.expires)
            .map_err(|_| RootStatementError::Expires(wire.expires.clone()))?;
        let trusted_root = STANDARD
            .decode(&wire.trusted_root)
            .map_err(|_| RootStatementError::TrustedRoot)?;
        Ok(RootStatement {
            version: wire.version,
            expires,
            trusted_root,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_round_trip() {
        let statement = RootStatement {
            version: 3,
            expires: parse_rfc3339("2027-03-01T00:00:00Z").unwrap(),
            trusted_root: b"{\"mediaType\": \"x\"}\n".to_vec(),
        };
        let json = statement.to_json();
        assert!(
            String::from_utf8_lossy(&json)
                .starts_with(r#"{"version":3,"expires":"2027-03-01T00:00:00Z","trustedRoot":""#)
        );
        assert_eq!(RootStatement::parse(&json).unwrap(), statement);
    }

    #[test]
    fn malformed_statements_say_what_is_wrong() {
        for (text, expected) in [
            ("[]", "is not {"),
            (
                r#"{"version": 1, "expires": "2027-01-01T00:00:00Z"}"#,
                "trustedRoot",
            ),
            (
                r#"{"version": 1, "expires": "2027-01-01T00:00:00Z", "trustedRoot": "e30=", "extra": 1}"#,
                "extra",
            ),
            (
                r#"{"version": -1, "expires": "2027-01-01T00:00:00Z", "trustedRoot": "e30="}"#,
                "is not {",
            ),
            (
                r#"{"version": 0, "expires": "2027-01-01T00:00:00Z", "trustedRoot": "e30="}"#,
                "version 0",
            ),
            (
                r#"{"version": 1, "expires": "next year", "trustedRoot": "e30="}"#,
                "\"next year\"",
            ),
            (
                r#"{"version": 1, "expires": "2027-01-01T00:00:00Z", "trustedRoot": "!"}"#,
                "not base64",
            ),
        ] {
            let error = RootStatement::parse(text.as_bytes()).unwrap_err();
            assert!(error.to_string().contains(expected), "{text}: {error}");
        }
    }
}
