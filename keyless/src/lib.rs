//! cordon's keyless Sigstore signer: the public-good trust path beside the embedded CA
//! and log of `cordon-release`.
//!
//! A run takes an OIDC identity token (GitHub Actions' ambient token, `SIGSTORE_ID_TOKEN`
//! or a file), gets a short-lived Fulcio certificate for an ephemeral key, and for every
//! file logs the signature in Rekor v1 or v2 and timestamps it (RFC 3161; mandatory with
//! Rekor v2), then assembles a Sigstore bundle v0.3 and verifies it with `cordon-verify`
//! against the trusted root before handing it out. Which services it uses comes from a
//! Sigstore `signing_config.json` v0.2 ([`config`]).
//!
//! This crate holds the only HTTP client of the signing side (blocking `ureq` over
//! rustls); `cordon-verify` stays free of it.
//!
//! ```no_run
//! use cordon_keyless::{KeylessOptions, KeylessSigner};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let options = KeylessOptions::new(
//!     "signing_config.json".as_ref(),
//!     "trusted_root.json".as_ref(),
//!     None, // the ambient GitHub Actions token
//! );
//! let signer = KeylessSigner::open(&options)?;
//! let bundle_json = signer.sign_blob_bytes(b"hello\n")?;
//! # let _ = bundle_json; Ok(()) }
//! ```

pub mod config;
mod error;
pub mod fulcio;
pub mod http;
pub mod oidc;
pub mod rekor;
mod signer;
pub mod tsa;

pub use config::{Service, Services};
pub use error::KeylessError;
pub use http::HttpOptions;
pub use oidc::IdentityToken;
pub use signer::{KeylessOptions, KeylessSigner};
