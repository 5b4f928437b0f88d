//! The keyless signer's answers to a misbehaving world, against the loopback stand-in:
//! the ambient GitHub Actions token, a token from another issuer, server faults (400,
//! 409, 429, 503, a slow answer) and a certificate outside its validity window. Every
//! failure is an error naming the service, the URL and the status; none yields a bundle.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, SystemTime};

use common::StandIn;
use cordon_keyless::http::Http;
use cordon_keyless::{HttpOptions, IdentityToken, KeylessError, KeylessSigner};
use serde_json::json;

#[test]
fn the_ambient_actions_token_is_fetched_with_the_bearer_and_audience() {
    let stand_in = StandIn::start();
    let bearer = std::fs::read_to_string(stand_in.path("actions_bearer")).unwrap();
    let url = stand_in.url("/actions/token?api-version=2.0");
    let http = Http::new(HttpOptions::default());
    let env = |bearer: String| {
        let url = url.clone();
        move |name: &str| match name {
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some(url.clone()),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some(bearer.clone()),
            _ => None,
        }
    };
    let token = IdentityToken::ambient_with(&http, SystemTime::now(), env(bearer)).unwrap();
    assert_eq!(token.issuer, stand_in.issuer);
    let signer = KeylessSigner::with_token(&stand_in.options("v1"), &token).unwrap();
    signer.sign_blob_bytes(b"ambient\n").unwrap();

    let error = IdentityToken::ambient_with(&http, SystemTime::now(), env("wrong".into()))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("GitHub Actions OIDC token endpoint") && error.contains("HTTP 401"),
        "{error}"
    );
    let error = IdentityToken::ambient_with(&http, SystemTime::now(), |_| None).unwrap_err();
    assert!(matches!(error, KeylessError::NoIdentityToken));
    assert!(error.to_string().contains("--identity-token"), "{error}");
}

#[test]
fn fulcio_refuses_a_token_from_another_issuer() {
    let stand_in = StandIn::start();
    let mut options = stand_in.options("v1");
    options.identity_token = Some(stand_in.path("token_foreign.jwt"));
    let error = KeylessSigner::open(&options).unwrap_err();
    match &error {
        KeylessError::Status {
            service, status, ..
        } => assert_eq!((service.as_str(), *status), ("Fulcio", 401), "{error}"),
        other => panic!("not a Fulcio refusal: {other}"),
    }
    assert!(error.to_string().contains("/api/v2/signingCert"), "{error}");
}

#[test]
fn server_faults_are_retried_or_named() {
    let stand_in = StandIn::start();
    let signer = stand_in.signer("v1");
    let v1 = "/api/v1/log/entries";

    // 429 and 503 once: retried with back-off, then signed.
    stand_in.fault(&json!({"path": v1, "status": 429}));
    stand_in.fault(&json!({"path": "/api/v1/timestamp", "status": 503}));
    signer.sign_blob_bytes(b"after a retry\n").unwrap();

    // 503 on every attempt: an error naming the service, URL, status and attempts.
    stand_in.fault(&json!({"path": v1, "status": 503, "times": 3}));
    let error = signer
        .sign_blob_bytes(b"unavailable\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(&format!(
            "Rekor v1 at {} answered HTTP 503 after 3 attempt(s)",
            stand_in.url(v1)
        )),
        "{error}"
    );

    // 400 is not retried.
    stand_in.fault(&json!({"path": "/api/v1/timestamp", "status": 400}));
    let error = signer
        .sign_blob_bytes(b"bad request\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("the timestamp authority at")
            && error.contains("HTTP 400 after 1 attempt(s): injected fault"),
        "{error}"
    );

    // 409 from Rekor v1 (the first answer lost): the existing entry is fetched.
    stand_in.fault(&json!({"path": v1, "conflict": true}));
    let bundle = signer.sign_blob_bytes(b"conflict\n").unwrap();
    assert!(bundle.contains("inclusionPromise"));

    // 409 from Rekor v2: named, with the existing index.
    let signer_v2 = stand_in.signer("v2");
    stand_in.fault(&json!({"path": "/v2/api/v2/log/entries", "conflict": true}));
    let error = signer_v2
        .sign_blob_bytes(b"conflict v2\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Rekor v2 at") && error.contains("already exists at index"),
        "{error}"
    );
}

#[test]
fn a_slow_log_times_out_with_the_service_named() {
    let stand_in = StandIn::start();
    let mut options = stand_in.options("v2");
    options.http.timeout = Duration::from_millis(800);
    options.http.attempts = 2;
    let signer = KeylessSigner::open(&options).unwrap();
    let v2 = "/v2/api/v2/log/entries";
    stand_in.fault(&json!({"path": v2, "delayMs": 3000, "times": 2}));
    let error = signer.sign_blob_bytes(b"slow\n").unwrap_err();
    assert!(matches!(error, KeylessError::Transport { .. }), "{error}");
    let error = error.to_string();
    assert!(
        error.starts_with(&format!(
            "Rekor v2 at {} could not be reached after 2 attempt(s)",
            stand_in.url(v2)
        )),
        "{error}"
    );
}

#[test]
fn a_certificate_outside_its_window_never_becomes_a_bundle() {
    let stand_in = StandIn::start();
    stand_in.fault(&json!({"path": "/api/v2/signingCert", "pastCertMinutes": 60}));
    for config in ["v1", "v2"] {
        let signer = KeylessSigner::open(&stand_in.options(config)).unwrap();
        let error = signer.sign_blob_bytes(b"late\n").unwrap_err();
        assert!(
            matches!(error, KeylessError::SelfCheck { .. }),
            "{config}: {error}"
        );
        stand_in.fault(&json!({"path": "/api/v2/signingCert", "pastCertMinutes": 60}));
    }
}

#[test]
fn rekor_v2_without_a_timestamp_authority_is_refused_before_signing() {
    let stand_in = StandIn::start();
    let error = KeylessSigner::open(&stand_in.options("v2_notsa")).unwrap_err();
    assert!(
        matches!(error, KeylessError::SigningConfig { .. }),
        "{error}"
    );
    // Rekor v1 alone is a complete bundle: the SET carries the time.
    let signer = stand_in.signer("v1_notsa");
    signer.sign_blob_bytes(b"v1 only\n").unwrap();
}

#[test]
fn a_certificate_whose_sct_no_trusted_ct_log_signed_never_becomes_a_bundle() {
    let stand_in = StandIn::start();
    let work = tempfile::tempdir().unwrap();
    let mut root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(stand_in.path("trusted_root.json")).unwrap())
            .unwrap();
    // The CT log entry names another key (the Rekor v1 log's): the SCT in Fulcio's
    // certificate is by no CT log the root trusts.
    root["ctlogs"][0]["publicKey"] = root["tlogs"][0]["publicKey"].clone();
    root["ctlogs"][0]["logId"] = root["tlogs"][0]["logId"].clone();
    let without_ct = work.path().join("trusted_root_without_ct.json");
    std::fs::write(&without_ct, root.to_string()).unwrap();
    let mut options = stand_in.options("v1");
    options.trusted_root = without_ct;
    let signer = KeylessSigner::open(&options).unwrap();
    let error = signer.sign_blob_bytes(b"sct\n").unwrap_err();
    assert!(matches!(error, KeylessError::SelfCheck { .. }), "{error}");
    assert!(error.to_string().to_lowercase().contains("sct"), "{error}");
}
