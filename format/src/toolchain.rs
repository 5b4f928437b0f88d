//! The Rust toolchain as SBOM components, written once for the writer (`cordon-sbom`) and
//! every reader (the verifier's crate-set check, xtask's accuracy check, the audit reader
//! and the procurement report).
//!
//! cordon's SBOMs describe two toolchain components beside the crates: `rustc`, the
//! compiler that built the binaries (a build tool, not linked into them), and `std`, the
//! Rust standard library (with `core`, `alloc` and the crates the toolchain builds them
//! from), precompiled for the target and linked into every binary. Neither is a crate of
//! the binary's `.dep-v0` list, so the readers that compare crate sets must leave them
//! out, and **only** them: a component is a toolchain component when
//!
//! - it carries the marker [`MARKER`] naming its part (CycloneDX: a property
//!   `cordon:toolchain` = `rustc` | `std`; SPDX 2.3: an `OTHER` external reference of type
//!   `cordon:toolchain` with the part as locator; SPDX 3: an `other` external identifier
//!   issued by `cordon:toolchain`), **and**
//! - its name is the part's name, **and**
//! - its purl is exactly [`ToolchainPart::purl`] for its version (`pkg:generic/rustc@1.95.0`,
//!   `pkg:generic/std@1.95.0`), the version being a Rust release (`1.95.0`,
//!   `1.96.0-beta.3`, `1.97.0-nightly`).
//!
//! Anything else, a `pkg:generic` component without the marker or a marked component
//! with another purl among them, is read as a crate and so still fails an equality check.
//!
//! ```
//! use cordon_format::toolchain::{ToolchainPart, recognise};
//!
//! let purl = ToolchainPart::Std.purl("1.95.0");
//! assert_eq!(purl, "pkg:generic/std@1.95.0");
//! assert_eq!(recognise("std", "1.95.0", Some(&purl), Some("std")), Some(ToolchainPart::Std));
//! // No marker, or a purl that is not the exact one: not the toolchain.
//! assert_eq!(recognise("std", "1.95.0", Some(&purl), None), None);
//! assert_eq!(recognise("std", "1.95.0", Some("pkg:generic/std@1.95.0?x=y"), Some("std")), None);
//! ```

use serde_json::Value;

/// The marker's name: CycloneDX property name, SPDX 2.3 external reference type and SPDX
/// 3 external identifier's issuing authority.
pub const MARKER: &str = "cordon:toolchain";

/// One part of the toolchain described in an SBOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ToolchainPart {
    /// The compiler that built the binaries (a build tool, not linked into them).
    Rustc,
    /// The Rust standard library linked into every binary.
    Std,
}

impl ToolchainPart {
    /// Both parts.
    pub const ALL: [Self; 2] = [Self::Rustc, Self::Std];

    /// The component's name, and the marker's value: `rustc` or `std`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rustc => "rustc",
            Self::Std => "std",
        }
    }

    /// The component's exact purl for a toolchain `version`: `pkg:generic/rustc@1.95.0`.
    pub fn purl(self, version: &str) -> String {
        format!("pkg:generic/{}@{version}", self.name())
    }

    /// What the part is, for a reader.
    pub fn role(self) -> &'static str {
        match self {
            Self::Rustc => {
                "the compiler that built the binaries (a build tool, not linked into them)"
            }
            Self::Std => "the Rust standard library (std, core, alloc), linked into every binary",
        }
    }

    fn from_marker(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|part| part.name() == value)
    }
}

/// A Rust release version as `rustc -vV` prints it (`1.95.0`, `1.96.0-beta.3`,
/// `1.97.0-nightly`): three dot-separated numbers, then an optional pre-release of ASCII
/// letters, digits and dots.
pub fn is_rust_version(version: &str) -> bool {
    let (release, pre) = match version.split_once('-') {
        Some((release, pre)) => (release, Some(pre)),
        None => (version, None),
    };
    let numbers: Vec<&str> = release.split('.').collect();
    numbers.len() == 3
        && numbers
            .iter()
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && pre.is_none_or(|pre| {
            !pre.is_empty() && pre.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        })
}

/// The toolchain part a component is, by the rule of this module: the marker names the
/// part, the name is the part's, and the purl is exactly the part's purl for `version`.
pub fn recognise(
    name: &str,
    version: &str,
    purl: Option<&str>,
    marker: Option<&str>,
) -> Option<ToolchainPart> {
    let part = ToolchainPart::from_marker(marker?)?;
    (name == part.name() && is_rust_version(version) && purl? == part.purl(version)).then_some(part)
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

fn array<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// [`recognise`] over a CycloneDX component (`name`, `version`, `purl`, and the
/// `properties` entry named [`MARKER`]).
pub fn in_cyclonedx(component: &Value) -> Option<ToolchainPart> {
    let marker = array(component, "properties")
        .find(|property| text(property, "name") == Some(MARKER))
        .and_then(|property| text(property, "value"));
    recognise(
        text(component, "name")?,
        text(component, "version")?,
        text(component, "purl"),
        marker,
    )
}

/// [`recognise`] over an SPDX 2.3 package (`name`, `versionInfo`, the `purl` external
/// reference, and the `OTHER` external reference of type [`MARKER`]).
pub fn in_spdx2(package: &Value) -> Option<ToolchainPart> {
    let locator = |kind: &str| {
        array(package, "externalRefs")
            .find(|reference| text(reference, "referenceType") == Some(kind))
            .and_then(|reference| text(reference, "referenceLocator"))
    };
    recognise(
        text(package, "name")?,
        text(package, "versionInfo")?,
        locator("purl"),
        locator(MARKER),
    )
}

/// [`recognise`] over an SPDX 3 `software_Package` (`name`, `software_packageVersion`,
/// `software_packageUrl`, and the `other` external identifier issued by [`MARKER`]).
pub fn in_spdx3(package: &Value) -> Option<ToolchainPart> {
    let marker = array(package, "externalIdentifier")
        .find(|identifier| {
            text(identifier, "externalIdentifierType") == Some("other")
                && text(identifier, "issuingAuthority") == Some(MARKER)
        })
        .and_then(|identifier| text(identifier, "identifier"));
    recognise(
        text(package, "name")?,
        text(package, "software_packageVersion")?,
        text(package, "software_packageUrl"),
        marker,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_exact_marked_shape_is_the_toolchain() {
        let purl = "pkg:generic/rustc@1.95.0";
        let yes = |name, version, purl, marker| recognise(name, version, purl, marker).is_some();
        assert!(yes("rustc", "1.95.0", Some(purl), Some("rustc")));
        assert!(yes(
            "std",
            "1.97.0-nightly",
            Some("pkg:generic/std@1.97.0-nightly"),
            Some("std")
        ));
        // Each condition alone is not enough.
        assert!(!yes("rustc", "1.95.0", Some(purl), None));
        assert!(!yes("rustc", "1.95.0", Some(purl), Some("std")));
        assert!(!yes("rustc", "1.95.0", Some(purl), Some("cargo")));
        assert!(!yes("serde", "1.95.0", Some(purl), Some("rustc")));
        assert!(!yes("rustc", "1.95.1", Some(purl), Some("rustc")));
        assert!(!yes("rustc", "1.95.0", None, Some("rustc")));
        assert!(!yes(
            "rustc",
            "1.95.0",
            Some("pkg:cargo/rustc@1.95.0"),
            Some("rustc")
        ));
        assert!(!yes(
            "rustc",
            "1.95.0",
            Some("pkg:generic/rustc@1.95.0#x"),
            Some("rustc")
        ));
        assert!(!yes(
            "rustc",
            "1.95",
            Some("pkg:generic/rustc@1.95"),
            Some("rustc")
        ));
    }

    #[test]
    fn rust_versions() {
        for good in ["1.95.0", "1.96.0-beta.3", "1.97.0-nightly", "0.0.0"] {
            assert!(is_rust_version(good), "{good}");
        }
        for bad in [
            "",
            "1.95",
            "1.95.0.1",
            "1.95.x",
            "1.95.0-",
            "1.95.0-a b",
            "1.95.0?x",
        ] {
            assert!(!is_rust_version(bad), "{bad}");
        }
    }

    #[test]
    fn reads_each_format_s_marker() {
        let cyclonedx = json!({"name": "std", "version": "1.95.0", "purl": "pkg:generic/std@1.95.0",
            "properties": [{"name": "cordon:toolchain", "value": "std"}]});
        assert_eq!(in_cyclonedx(&cyclonedx), Some(ToolchainPart::Std));
        let spdx2 = json!({"name": "rustc", "versionInfo": "1.95.0", "externalRefs": [
            {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:generic/rustc@1.95.0"},
            {"referenceCategory": "OTHER", "referenceType": "cordon:toolchain", "referenceLocator": "rustc"}]});
        assert_eq!(in_spdx2(&spdx2), Some(ToolchainPart::Rustc));
        let spdx3 = json!({"name": "std", "software_packageVersion": "1.95.0",
            "software_packageUrl": "pkg:generic/std@1.95.0",
            "externalIdentifier": [{"type": "ExternalIdentifier", "externalIdentifierType": "other",
                "identifier": "std", "issuingAuthority": "cordon:toolchain"}]});
        assert_eq!(in_spdx3(&spdx3), Some(ToolchainPart::Std));
        // The same components without their markers are crates.
        let mut bare = cyclonedx;
        bare["properties"] = json!([]);
        assert_eq!(in_cyclonedx(&bare), None);
        let mut bare = spdx3;
        bare["externalIdentifier"][0]["issuingAuthority"] = json!("someone");
        assert_eq!(in_spdx3(&bare), None);
    }
}
