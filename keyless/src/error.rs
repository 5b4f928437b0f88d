//! The keyless signer's one error type: every variant names the service or file it is
//! about and, where the user can act, what to do.

/// Why keyless signing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeylessError {
    /// A service answered with a status the protocol does not allow here.
    #[error("{service} at {url} answered HTTP {status} after {attempts} attempt(s): {message}")]
    Status {
        /// The service (Fulcio, Rekor, TSA, the OIDC token endpoint).
        service: String,
        /// The URL asked.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A service could not be reached or did not answer in time.
    #[error("{service} at {url} could not be reached after {attempts} attempt(s): {reason}")]
    Transport {
        /// The service.
        service: String,
        /// The URL asked.
        url: String,
        /// The transport error (connection refused, timeout, TLS...).
        reason: String,
        /// How many attempts were made.
        attempts: u32,
    },
    /// A service answered, but not with what the protocol promises.
    #[error("{service} at {url} sent an invalid answer: {reason}")]
    Protocol {
        /// The service.
        service: String,
        /// The URL asked.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },
    /// No OIDC identity token is available.
    #[error(
        "no OIDC identity token: not running in GitHub Actions with `permissions: id-token: write` \
         (ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are unset) and \
         SIGSTORE_ID_TOKEN is unset; pass --identity-token FILE"
    )]
    NoIdentityToken,
    /// The identity token is malformed or unusable.
    #[error("identity token {origin}: {reason}")]
    IdentityToken {
        /// Where the token came from.
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// The signing configuration is malformed or names no usable service.
    #[error("signing config {path}: {reason}")]
    SigningConfig {
        /// The file.
        path: String,
        /// What is wrong, and the fix.
        reason: String,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The finished bundle does not verify against the trusted root: nothing is written.
    #[error("the keyless bundle does not verify against {root}, so it was not written: {reason}")]
    SelfCheck {
        /// The trusted root.
        root: String,
        /// cordon-verify's reason.
        reason: String,
    },
    /// Local signing or encoding failed.
    #[error("{0}")]
    Local(String),
}

impl From<cordon_release::KeyError> for KeylessError {
    fn from(error: cordon_release::KeyError) -> Self {
        Self::Local(error.to_string())
    }
}
