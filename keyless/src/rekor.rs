//! Rekor entries: v1 `POST /api/v1/log/entries` (hashedrekord or dsse 0.0.1; the answer
//! carries a signed entry timestamp, an inclusion proof and a checkpoint) and v2
//! `POST /api/v2/log/entries` (hashedrekord 0.0.2 only, DSSE logged as a hashedrekord over
//! its PAE; the answer is the bundle's `TransparencyLogEntry` itself). Both are returned
//! as bundle JSON with `logIndex` and `hashes` written even when 0 or empty, which
//! sigstore-python requires.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::error::KeylessError;
use crate::http::{Body, Http};

/// What is logged.
#[derive(Debug, Clone, Copy)]
pub enum Entry<'a> {
    /// A signature over a blob's SHA-256.
    HashedRekord {
        /// SHA-256 of the artifact.
        digest: &'a [u8; 32],
        /// DER ECDSA signature.
        signature: &'a [u8],
    },
    /// A DSSE envelope.
    Dsse {
        /// The envelope JSON, exactly as the bundle carries it.
        envelope_json: &'a str,
        /// SHA-256 of the PAE the signature is over (Rekor v2 logs this).
        pae_digest: &'a [u8; 32],
        /// DER ECDSA signature.
        signature: &'a [u8],
    },
}

/// Logs `entry` signed by `certificate` (DER) in the log at `base_url`, speaking API
/// `version` (1 or 2); returns the bundle's transparency-log entry.
pub fn log_entry(
    http: &Http,
    base_url: &str,
    version: u32,
    entry: Entry<'_>,
    certificate: &[u8],
) -> Result<Value, KeylessError> {
    match version {
        1 => log_v1(http, base_url, entry, certificate),
        _ => log_v2(http, base_url, entry, certificate),
    }
}

fn log_v1(
    http: &Http,
    base_url: &str,
    entry: Entry<'_>,
    certificate: &[u8],
) -> Result<Value, KeylessError> {
    let service = "Rekor v1";
    let url = format!("{base_url}/api/v1/log/entries");
    let certificate_pem = cordon_release::pem_encode("CERTIFICATE", certificate);
    let request = match entry {
        Entry::HashedRekord { digest, signature } => json!({
            "kind": "hashedrekord",
            "apiVersion": "0.0.1",
            "spec": {
                "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
                "signature": {
                    "content": STANDARD.encode(signature),
                    "publicKey": {"content": STANDARD.encode(&certificate_pem)},
                },
            },
        }),
        Entry::Dsse { envelope_json, .. } => json!({
            "kind": "dsse",
            "apiVersion": "0.0.1",
            "spec": {"proposedContent": {
                "envelope": envelope_json,
                "verifiers": [STANDARD.encode(&certificate_pem)],
            }},
        }),
    };
    let body = request.to_string();
    let mut answer = http.send(service, "POST", &url, &[], Body::Json(body.as_bytes()))?;
    let mut answered_url = url.clone();
    if answer.status == 409 {
        // Already logged (a retry whose first answer was lost): fetch the existing entry.
        let location = answer
            .location
            .clone()
            .ok_or_else(|| KeylessError::Protocol {
                service: service.into(),
                url: url.clone(),
                reason: "HTTP 409 (entry already exists) without a Location header".into(),
            })?;
        answered_url = if location.starts_with("http://") || location.starts_with("https://") {
            location
        } else {
            format!("{base_url}{location}")
        };
        answer = http.send(service, "GET", &answered_url, &[], Body::None)?;
    }
    v1_entry(&answer.body, service, &answered_url)
}

/// Turns a Rekor v1 answer body (`{uuid: LogEntry}`) into a bundle
/// `TransparencyLogEntry`; `url` names it in errors. Public for the fuzz target.
pub fn v1_entry(body: &[u8], service: &str, url: &str) -> Result<Value, KeylessError> {
    let invalid = |reason: &str| KeylessError::Protocol {
        service: service.into(),
        url: url.into(),
        reason: reason.to_owned(),
    };
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("the body is not JSON"))?;
    let (_uuid, entry) = value
        .as_object()
        .filter(|map| map.len() == 1)
        .and_then(|map| map.iter().next())
        .ok_or_else(|| invalid("the body is not an object with exactly one entry"))?;
    let text = |pointer: &str| {
        entry
            .pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(&format!("no string at {pointer}")))
    };
    let number = |pointer: &str| {
        entry
            .pointer(pointer)
            .and_then(Value::as_u64)
            .ok_or_else(|| invalid(&format!("no number at {pointer}")))
    };
    let hex_to_b64 = |hex_text: &str, what: &str| {
        hex::decode(hex_text)
            .map(|bytes| STANDARD.encode(bytes))
            .map_err(|_| invalid(&format!("{what} is not hex")))
    };
    let body = text("/body")?;
    let decoded: Value = STANDARD
        .decode(body)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| invalid("the entry body is not base64 JSON"))?;
    let kind = decoded["kind"].as_str().unwrap_or_default();
    let version = decoded["apiVersion"].as_str().unwrap_or_default();
    let hashes = entry
        .pointer("/verification/inclusionProof/hashes")
        .and_then(Value::as_array)
        .map_or(Ok(Vec::new()), |hashes| {
            hashes
                .iter()
                .map(|hash| hex_to_b64(hash.as_str().unwrap_or("?"), "a proof hash"))
                .collect::<Result<Vec<_>, _>>()
        })?;
    Ok(json!({
        "logIndex": number("/logIndex")?.to_string(),
        "logId": {"keyId": hex_to_b64(text("/logID")?, "logID")?},
        "kindVersion": {"kind": kind, "version": version},
        "integratedTime": number("/integratedTime")?.to_string(),
        "inclusionPromise": {"signedEntryTimestamp": text("/verification/signedEntryTimestamp")?},
        "inclusionProof": {
            "logIndex": number("/verification/inclusionProof/logIndex")?.to_string(),
            "rootHash": hex_to_b64(text("/verification/inclusionProof/rootHash")?, "rootHash")?,
            "treeSize": number("/verification/inclusionProof/treeSize")?.to_string(),
            "hashes": hashes,
            "checkpoint": {"envelope": text("/verification/inclusionProof/checkpoint")?},
        },
        "canonicalizedBody": body,
    }))
}

fn log_v2(
    http: &Http,
    base_url: &str,
    entry: Entry<'_>,
    certificate: &[u8],
) -> Result<Value, KeylessError> {
    let service = "Rekor v2";
    let url = format!("{base_url}/api/v2/log/entries");
    let (digest, signature) = match entry {
        Entry::HashedRekord { digest, signature } => (digest, signature),
        Entry::Dsse {
            pae_digest,
            signature,
            ..
        } => (pae_digest, signature),
    };
    let request = json!({"hashedRekordRequestV002": {
        "digest": STANDARD.encode(digest),
        "signature": {
            "content": STANDARD.encode(signature),
            "verifier": {
                "x509Certificate": {"rawBytes": STANDARD.encode(certificate)},
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            },
        },
    }});
    let body = request.to_string();
    let answer = http.send(service, "POST", &url, &[], Body::Json(body.as_bytes()))?;
    let invalid = |reason: String| KeylessError::Protocol {
        service: service.into(),
        url: url.clone(),
        reason,
    };
    if answer.status == 409 {
        return Err(invalid(format!(
            "HTTP 409: the entry already exists at index {}, and a v2 log does not hand back an \
             existing entry; sign again (a new run has a new key, so a new entry)",
            answer.log_index.as_deref().unwrap_or("(not given)")
        )));
    }
    let mut value: Value =
        serde_json::from_slice(&answer.body).map_err(|_| invalid("the body is not JSON".into()))?;
    for required in [
        "/logId/keyId",
        "/canonicalizedBody",
        "/inclusionProof/checkpoint/envelope",
    ] {
        if value.pointer(required).is_none() {
            return Err(invalid(format!("the entry has no {required}")));
        }
    }
    // proto3 JSON writers drop zero and empty fields; sigstore-python needs them.
    if value.get("logIndex").is_none() {
        value["logIndex"] = json!("0");
    }
    let proof = &mut value["inclusionProof"];
    if proof.get("logIndex").is_none() {
        proof["logIndex"] = json!("0");
    }
    if proof.get("hashes").is_none() {
        proof["hashes"] = json!([]);
    }
    Ok(value)
}
