//! Rekor v2 served from cordon's own log (`cordon_release::FileLog`, the C2SP
//! tiles log of the embedded trust path) behind `POST <base>/api/v2/log/entries`: the
//! second, independent implementation every Rekor v2 check runs against (the first is
//! the stand-in's). Plain HTTP/1.1 on 127.0.0.1, one request per connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cordon_release::{FileLog, ProposedEntry, SigningKey, TransparencyLog};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::StandIn;

/// The façade's files for clients: signing config, trusted root and trust config.
pub struct TilesFacade {
    pub signing_config: PathBuf,
    pub trusted_root: PathBuf,
    pub trust_config: PathBuf,
}

/// Starts the façade (a thread serving until the test process ends) and writes the
/// stand-in's trust material extended with cordon's log into `dir`.
pub fn start(stand_in: &StandIn, dir: &Path) -> TilesFacade {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let name = format!("127.0.0.1:{port}/cordon");
    let base = format!("http://{name}");
    let (key, _) = SigningKey::generate().unwrap();
    let spki = key.spki_der().to_vec();
    let log = FileLog::open(&dir.join("cordon-log"), key, &name, &name).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let answer = serve(&log, &mut stream);
            let _ = stream.write_all(answer.as_bytes());
        }
    });

    let tlog = json!({
        "baseUrl": base,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {"rawBytes": STANDARD.encode(&spki), "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                      "validFor": {"start": "2020-01-01T00:00:00Z"}},
        "logId": {"keyId": STANDARD.encode(Sha256::digest(&spki))},
    });
    let read = |file: &str| -> Value {
        serde_json::from_slice(&std::fs::read(stand_in.path(file)).unwrap()).unwrap()
    };
    let mut root = read("trusted_root.json");
    root["tlogs"].as_array_mut().unwrap().push(tlog);
    let mut config = read("signing_config_v2.json");
    config["rekorTlogUrls"][0]["url"] = json!(base);
    let mut trust_config = read("trust_config_v2.json");
    trust_config["trustedRoot"] = root.clone();
    trust_config["signingConfig"] = config.clone();
    let write = |file: &str, value: &Value| {
        let path = dir.join(file);
        std::fs::write(&path, value.to_string()).unwrap();
        path
    };
    TilesFacade {
        signing_config: write("signing_config_cordon_v2.json", &config),
        trusted_root: write("trusted_root_cordon_v2.json", &root),
        trust_config: write("trust_config_cordon_v2.json", &trust_config),
    }
}

fn serve(log: &FileLog, stream: &mut std::net::TcpStream) -> String {
    let mut reader = BufReader::new(stream);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return reply(400, &json!({"code": 3, "message": "unreadable request"}));
    }
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return reply(400, &json!({"code": 3, "message": "short body"}));
    }
    if !request_line.starts_with("POST /cordon/api/v2/log/entries ") {
        return reply(
            404,
            &json!({"code": 5, "message": format!("no route {}", request_line.trim())}),
        );
    }
    match entry(&body) {
        Ok(entry) => match log.append(&[entry], SystemTime::now()) {
            Ok(logged) => reply(201, &logged[0].to_bundle_json()),
            Err(error) => reply(500, &json!({"code": 13, "message": error.to_string()})),
        },
        Err(message) => reply(400, &json!({"code": 3, "message": message})),
    }
}

/// A `CreateEntryRequest` with `hashedRekordRequestV002` (the only kind Rekor v2 takes).
fn entry(body: &[u8]) -> Result<ProposedEntry, String> {
    let request: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let request = request
        .get("hashedRekordRequestV002")
        .ok_or("invalid type, must be hashedrekord")?;
    let b64 = |pointer: &str| {
        request
            .pointer(pointer)
            .and_then(Value::as_str)
            .and_then(|text| STANDARD.decode(text).ok())
            .ok_or_else(|| format!("missing or invalid {pointer}"))
    };
    if request
        .pointer("/signature/verifier/keyDetails")
        .and_then(Value::as_str)
        != Some("PKIX_ECDSA_P256_SHA_256")
    {
        return Err("unsupported keyDetails".into());
    }
    let digest: [u8; 32] = b64("/digest")?
        .try_into()
        .map_err(|_| "the digest is not SHA-256")?;
    let signature = b64("/signature/content")?;
    let certificate_der = b64("/signature/verifier/x509Certificate/rawBytes")?;
    // Rekor v2 verifies the signature over the digest before logging it.
    let spki = cordon_release::certificate_spki(&certificate_der).map_err(|e| e.to_string())?;
    if !verify_prehashed(&spki, &digest, &signature) {
        return Err("the signature does not verify over the digest".into());
    }
    Ok(ProposedEntry::HashedRekordV002 {
        digest,
        signature,
        certificate_der,
    })
}

fn verify_prehashed(spki: &[u8], digest: &[u8; 32], signature: &[u8]) -> bool {
    use aws_lc_rs::{digest, signature};
    // A P-256 SubjectPublicKeyInfo ends with the 65-byte uncompressed point.
    let Some(point) = spki.len().checked_sub(65).map(|start| &spki[start..]) else {
        return false;
    };
    let Ok(digest) = digest::Digest::import_less_safe(digest, &digest::SHA256) else {
        return false;
    };
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
        .verify_digest(&digest, signature)
        .is_ok()
}

fn reply(status: u16, body: &Value) -> String {
    let body = body.to_string();
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}
