//! PEM as Go's `encoding/pem` writes it (LF line ends, 64 columns, trailing newline):
//! the exact bytes Rekor v1 canonicalises keys and certificates to, which sigstore-python
//! compares byte for byte.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Encodes `der` as a PEM block labelled `label`.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

/// Decodes the first PEM block labelled `label`, ignoring line-end style.
pub(crate) fn decode(label: &str, text: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips_with_64_columns_and_lf() {
        let der: Vec<u8> = (0..=200).collect();
        let text = super::encode("CERTIFICATE", &der);
        assert!(text.lines().all(|line| line.len() <= 64));
        assert!(!text.contains('\r') && text.ends_with("-----\n"));
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(super::decode("CERTIFICATE", &crlf).unwrap(), der);
    }
}
