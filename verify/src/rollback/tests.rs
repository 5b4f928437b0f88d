//! Rollback protection over hand-made trusted roots and a real state file.

use super::*;
use cordon_format::parse_rfc3339;

/// A trusted root with one release CA per `(start, end)`.
fn root(windows: &[(&str, Option<&str>)]) -> TrustedRoot {
    let authorities: Vec<Value> = windows
        .iter()
        .map(|(start, end)| {
            let mut valid_for = json!({"start": start});
            if let Some(end) = end {
                valid_for["end"] = json!(end);
            }
            json!({"subject": {}, "uri": "https://ca.example.test",
                "certChain": {"certificates": [{"rawBytes": "AA=="}]}, "validFor": valid_for})
        })
        .collect();
    serde_json::from_value(json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [], "certificateAuthorities": authorities, "ctlogs": [], "timestampAuthorities": []
    }))
    .unwrap()
}

fn at(text: &str) -> i64 {
    parse_rfc3339(text).unwrap()
}

const FIRST: (&str, Option<&str>) = ("2026-01-01T00:00:00Z", Some("2026-04-01T00:00:00Z"));
const SECOND: (&str, Option<&str>) = ("2026-03-20T00:00:00Z", Some("2026-06-18T00:00:00Z"));

#[test]
fn the_version_is_the_release_ca_count_and_the_expiry_the_newest_end() {
    let version = root_version(&root(&[FIRST, SECOND]));
    assert_eq!(version.version, 2);
    assert_eq!(version.expires, Some(at("2026-06-18T00:00:00Z")));
    assert_eq!(
        root_version(&root(&[FIRST, ("2026-03-20T00:00:00Z", None)])).expires,
        None
    );
}

#[test]
fn older_and_expired_roots_are_refused_newer_ones_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state/roots.json");
    let pinned = [9u8; 32];
    let now = at("2026-03-25T00:00:00Z");
    // First sight of version 2: recorded.
    let row = check_and_record(&state, &pinned, &root(&[FIRST, SECOND]), now).unwrap();
    assert!(row.contains("version 2 (first seen"), "{row}");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(recorded["roots"][hex::encode(pinned)]["version"], 2);
    // Version 1 replayed (valid for another week): a rollback.
    let error = check_and_record(&state, &pinned, &root(&[FIRST]), now).unwrap_err();
    assert_eq!(error.class, FailureClass::Signature);
    assert!(
        error
            .reason
            .contains("rollback: this trusted root is version 1, older than version 2"),
        "{error}"
    );
    // Another pinned root has its own record.
    check_and_record(&state, &[1; 32], &root(&[FIRST]), now).unwrap();
    // The same version again passes; a newer one is recorded.
    check_and_record(&state, &pinned, &root(&[FIRST, SECOND]), now).unwrap();
    let third = ("2026-06-10T00:00:00Z", Some("2026-09-08T00:00:00Z"));
    let row = check_and_record(&state, &pinned, &root(&[FIRST, SECOND, third]), now).unwrap();
    assert!(row.contains("newer than 2"), "{row}");
    // Expired: after the newest release CA's end, whatever the state says.
    let error = check_and_record(
        &state,
        &pinned,
        &root(&[FIRST, SECOND, third]),
        at("2026-10-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(
        error.reason.contains("expired at 2026-09-08T00:00:00Z"),
        "{error}"
    );
    assert!(error.reason.contains("cargo xtask trust rotate"), "{error}");
}

#[test]
fn a_damaged_state_file_is_bad_input_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("roots.json");
    std::fs::write(&state, "{not json").unwrap();
    let error = check_and_record(
        &state,
        &[0; 32],
        &root(&[FIRST]),
        at("2026-02-01T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(error.class, FailureClass::BadInput);
    assert!(error.reason.contains("root state"), "{error}");
    assert_eq!(std::fs::read_to_string(&state).unwrap(), "{not json");
    std::fs::write(&state, r#"{"roots": {"0000000000000000000000000000000000000000000000000000000000000000": {"version": "x"}}}"#).unwrap();
    let error = check_and_record(
        &state,
        &[0; 32],
        &root(&[FIRST]),
        at("2026-02-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(error.reason.contains("is not a number"), "{error}");
}
