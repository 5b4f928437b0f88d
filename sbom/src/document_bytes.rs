//! A document's final bytes, the same for every format: pretty JSON with a final newline,
//! and the serial number (a UUID) derived from the content, so that the same inputs
//! always give the same file.

use sha2::{Digest, Sha256};

use crate::Error;

/// A document as pretty JSON with a final newline: the bytes both writers emit.
pub(crate) fn to_json_bytes<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|error| Error::Tree {
        message: format!("cannot serialise the document: {error}"),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// A name-based UUID (version 5 layout, SHA-256 truncated) from `content`: the same
/// document content always gets the same serial number.
pub(crate) fn content_uuid(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_5_layout() {
        let uuid = content_uuid(b"x");
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "5");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(uuid, content_uuid(b"x"));
        assert_ne!(uuid, content_uuid(b"y"));
    }
}
