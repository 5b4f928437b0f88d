//! SBOMs for Rust binaries: exactly the crates compiled into a binary, as CycloneDX and
//! SPDX documents.
//!
//! Every component needs an identifier a vulnerability scanner understands; for crates
//! that is a Package URL of type `cargo` ([`purl::cargo_purl`]). Document generation
//! builds on it as the SBOM work lands.
//!
//! ```
//! use cordon_sbom::purl::{cargo_purl, CrateSource};
//!
//! assert_eq!(cargo_purl("serde", "1.0.228", &CrateSource::CratesIo), "pkg:cargo/serde@1.0.228");
//! assert_eq!(
//!     cargo_purl("x", "0.1.0", &CrateSource::Git {
//!         url: "https://github.com/o/x".into(),
//!         rev: "0a1b2c".into(),
//!     }),
//!     "pkg:cargo/x@0.1.0?vcs_url=git%2Bhttps%3A%2F%2Fgithub.com%2Fo%2Fx%400a1b2c",
//! );
//! ```

pub mod purl;
