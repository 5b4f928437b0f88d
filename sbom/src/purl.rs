//! Package URLs (purl) of type `cargo`, per the purl specification: the name and version
//! percent-encoded, qualifiers sorted by key, `repository_url` for crates from a registry
//! other than crates.io and `vcs_url` for git sources.

/// Where a crate's source came from, as far as its purl is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrateSource {
    /// The crates.io registry: the purl default, no qualifier.
    CratesIo,
    /// Another registry, by its index URL.
    Registry {
        /// The registry's index URL (`sparse+https://...` or a git URL).
        url: String,
    },
    /// A git repository at a commit.
    Git {
        /// The repository URL, without the `git+` prefix.
        url: String,
        /// The resolved commit.
        rev: String,
    },
    /// A local path: the purl carries no location (a path is not an identity).
    Path,
}

/// The purl of crate `name` at `version` from `source`.
pub fn cargo_purl(name: &str, version: &str, source: &CrateSource) -> String {
    let mut purl = format!("pkg:cargo/{}@{}", encode(name), encode(version));
    let qualifier = match source {
        CrateSource::CratesIo | CrateSource::Path => None,
        CrateSource::Registry { url } => Some(("repository_url", url.clone())),
        CrateSource::Git { url, rev } => Some(("vcs_url", format!("git+{url}@{rev}"))),
    };
    if let Some((key, value)) = qualifier {
        purl.push('?');
        purl.push_str(key);
        purl.push('=');
        purl.push_str(&encode(&value));
    }
    purl
}

/// Percent-encodes everything but the purl specification's unreserved characters.
fn encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_io_has_no_qualifier() {
        assert_eq!(
            cargo_purl("serde_json", "1.0.145", &CrateSource::CratesIo),
            "pkg:cargo/serde_json@1.0.145"
        );
    }

    #[test]
    fn prerelease_and_build_metadata_are_encoded() {
        assert_eq!(
            cargo_purl("a", "1.0.0-rc.1+build.5", &CrateSource::CratesIo),
            "pkg:cargo/a@1.0.0-rc.1%2Bbuild.5"
        );
    }

    #[test]
    fn other_registries_carry_repository_url() {
        let source = CrateSource::Registry {
            url: "sparse+https://r.example/index/".into(),
        };
        assert_eq!(
            cargo_purl("a", "1.0.0", &source),
            "pkg:cargo/a@1.0.0?repository_url=sparse%2Bhttps%3A%2F%2Fr.example%2Findex%2F"
        );
    }

    #[test]
    fn path_sources_carry_no_location() {
        assert_eq!(
            cargo_purl("local", "0.1.0", &CrateSource::Path),
            "pkg:cargo/local@0.1.0"
        );
    }
}
