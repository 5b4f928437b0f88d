//! Reading untrusted inputs: JSON documents with a size cap, artifacts as streams, and
//! the `sha256:<hex>` digest form of an artifact argument.
//!
//! Every error names the file and says what to do; nothing here panics on input.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub(crate) use cordon_format::sha256_reader;

use crate::exit::{Failure, FailureClass};

/// The largest JSON document (bundle, trusted root, provenance) cordon-verify reads.
/// Real bundles are a few kilobytes and trusted roots tens of kilobytes; anything this
/// big is not a Sigstore document, so it is refused before it is parsed.
pub(crate) const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;

/// What an artifact argument names: a file, or the SHA-256 digest of one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArtifactInput {
    /// A file to hash.
    File(PathBuf),
    /// A precomputed SHA-256 digest.
    Sha256([u8; 32]),
}

impl ArtifactInput {
    /// Interprets an argument as the sigstore-conformance protocol says: `sha256:` plus 64
    /// hex digits that is not a path on disk is a digest; anything else is a path.
    pub fn parse(argument: &str) -> Self {
        Self::parse_with(argument, |path| path.exists())
    }

    /// [`ArtifactInput::parse`], asking `exists` whether a path is on disk.
    fn parse_with(argument: &str, exists: impl Fn(&Path) -> bool) -> Self {
        if let Some(hex_digest) = argument.strip_prefix("sha256:")
            && hex_digest.len() == 64
            && !exists(Path::new(argument))
        {
            let mut digest = [0u8; 32];
            if hex::decode_to_slice(hex_digest, &mut digest).is_ok() {
                return ArtifactInput::Sha256(digest);
            }
        }
        ArtifactInput::File(PathBuf::from(argument))
    }
}

/// Opens a file that must exist and be a regular file (after following symlinks: the
/// caller named it), with a clear one-line error otherwise.
pub(crate) fn open_regular(path: &Path, what: &str) -> Result<(File, u64), Failure> {
    let file = File::open(path).map_err(|error| {
        let reason = match error.kind() {
            io::ErrorKind::NotFound => "does not exist".to_owned(),
            io::ErrorKind::PermissionDenied => "is not readable (permission denied)".to_owned(),
            _ => format!("cannot be opened: {error}"),
        };
        Failure::new(
            FailureClass::BadInput,
            format!("{what} {}: {reason}", path.display()),
        )
    })?;
    let metadata = file.metadata().map_err(|error| {
        Failure::new(
            FailureClass::BadInput,
            format!("{what} {}: cannot be inspected: {error}", path.display()),
        )
    })?;
    if !metadata.is_file() {
        return Err(Failure::new(
            FailureClass::BadInput,
            format!(
                "{what} {}: not a regular file (a directory, device or pipe); pass the file itself",
                path.display()
            ),
        ));
    }
    Ok((file, metadata.len()))
}

/// Reads a text document (JSON, a checksum list, a PEM key) of at most `cap` bytes as
/// UTF-8. The cap is enforced while
/// reading too, so a file that grows after it was inspected is still refused.
pub(crate) fn read_text(path: &Path, what: &str, cap: u64) -> Result<String, Failure> {
    let (file, size) = open_regular(path, what)?;
    let too_large = |size: u64| {
        Failure::new(
            FailureClass::BadInput,
            format!(
                "{what} {}: {size} bytes is larger than the {cap}-byte limit for this kind of file; is this the right file?",
                path.display()
            ),
        )
    };
    if size > cap {
        return Err(too_large(size));
    }
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| {
            Failure::new(
                FailureClass::BadInput,
                format!("{what} {}: cannot be read: {error}", path.display()),
            )
        })?;
    if bytes.len() as u64 > cap {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|error| {
        Failure::new(
            FailureClass::BadInput,
            format!(
                "{what} {}: not UTF-8 text (invalid byte at offset {}); is this the right file?",
                path.display(),
                error.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Parses `text` (read from `path`) as JSON, naming the line and column of a syntax
/// error and whether the document is cut short.
pub(crate) fn parse_json(
    text: &str,
    path: &Path,
    what: &str,
) -> Result<serde_json::Value, Failure> {
    parse_json_named(text, &format!("{what} {}", path.display()))
}

/// Parses JSON text; `origin` names it in the one-line error, which says whether the text
/// is truncated or malformed and where.
pub(crate) fn parse_json_named(text: &str, origin: &str) -> Result<serde_json::Value, Failure> {
    serde_json::from_str(text).map_err(|error| {
        let kind = if error.is_eof() {
            "truncated JSON"
        } else {
            "malformed JSON"
        };
        Failure::new(
            FailureClass::BadInput,
            format!(
                "{origin}: {kind} at line {} column {}: {error}",
                error.line(),
                error.column()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digests_and_paths_are_told_apart() {
        let ArtifactInput::Sha256(digest) = ArtifactInput::parse(&format!("sha256:{HEX}")) else {
            panic!("a digest was taken for a path");
        };
        assert_eq!(hex::encode(digest), HEX);
        // Wrong length, wrong alphabet, wrong prefix: all paths.
        for argument in [
            format!("sha256:{}", &HEX[..63]),
            format!("sha256:{}", "zz".repeat(32)),
            format!("sha512:{HEX}"),
            "a.txt".to_owned(),
        ] {
            assert_eq!(
                ArtifactInput::parse(&argument),
                ArtifactInput::File(PathBuf::from(&argument))
            );
        }
    }

    #[test]
    fn a_digest_shaped_path_that_exists_is_a_path() {
        let argument = format!("sha256:{HEX}");
        assert_eq!(
            ArtifactInput::parse_with(&argument, |path| path == Path::new(&argument)),
            ArtifactInput::File(PathBuf::from(&argument))
        );
        assert!(matches!(
            ArtifactInput::parse_with(&argument, |_| false),
            ArtifactInput::Sha256(_)
        ));
    }

    #[test]
    fn oversized_missing_and_non_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; 100]).unwrap();
        let error = read_text(&big, "bundle", 99).unwrap_err();
        assert_eq!(error.class, FailureClass::BadInput);
        assert!(
            error.reason.contains("larger than the 99-byte limit"),
            "{error}"
        );
        let error = read_text(&dir.path().join("gone"), "bundle", 99).unwrap_err();
        assert!(error.reason.ends_with("does not exist"), "{error}");
        let error = read_text(dir.path(), "bundle", 99).unwrap_err();
        assert!(error.reason.contains("not a regular file"), "{error}");
        let binary = dir.path().join("binary");
        std::fs::write(&binary, [b'{', 0xff, b'}']).unwrap();
        let error = read_text(&binary, "bundle", 99).unwrap_err();
        assert!(error.reason.contains("not UTF-8"), "{error}");
    }

    #[test]
    fn json_errors_say_truncated_or_malformed_and_where() {
        let path = Path::new("b.json");
        let error = parse_json("{\"a\": [1,", path, "bundle").unwrap_err();
        assert!(error.reason.contains("truncated JSON at line 1"), "{error}");
        let error = parse_json("{\n\"a\" 1}", path, "bundle").unwrap_err();
        assert!(error.reason.contains("malformed JSON at line 2"), "{error}");
    }
}
