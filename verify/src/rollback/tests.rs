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

const ORIGIN: &str = "mirror/trusted_root.dsse.json";

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
    let row =
        check_and_record(&state, &pinned, ORIGIN, &root(&[FIRST, SECOND]), None, now).unwrap();
    assert!(row.contains("version 2 (first seen"), "{row}");
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(recorded["roots"][hex::encode(pinned)]["version"], 2);
    // Version 1 replayed (valid for another week): a rollback.
    let error = check_and_record(&state, &pinned, ORIGIN, &root(&[FIRST]), None, now).unwrap_err();
    assert_eq!(error.class, FailureClass::Signature);
    assert!(
        error
            .reason
            .contains("rollback: this trusted root is version 1, older than version 2"),
        "{error}"
    );
    // Another pinned root has its own record.
    check_and_record(&state, &[1; 32], ORIGIN, &root(&[FIRST]), None, now).unwrap();
    // The same version again passes; a newer one is recorded.
    check_and_record(&state, &pinned, ORIGIN, &root(&[FIRST, SECOND]), None, now).unwrap();
    let third = ("2026-06-10T00:00:00Z", Some("2026-09-08T00:00:00Z"));
    let row = check_and_record(
        &state,
        &pinned,
        ORIGIN,
        &root(&[FIRST, SECOND, third]),
        None,
        now,
    )
    .unwrap();
    assert!(row.contains("newer than 2"), "{row}");
    // Expired: after the newest release CA's end, whatever the state says.
    let error = check_and_record(
        &state,
        &pinned,
        ORIGIN,
        &root(&[FIRST, SECOND, third]),
        None,
        at("2026-10-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(
        error.reason.contains("expired at 2026-09-08T00:00:00Z"),
        "{error}"
    );
    assert!(error.reason.contains("cargo xtask trust rotate"), "{error}");
    assert!(error.reason.contains(ORIGIN), "{error}");
}

fn signed(version: u64, expires: &str) -> Option<RootVersion> {
    Some(RootVersion {
        version,
        expires: Some(at(expires)),
        signed: true,
    })
}

#[test]
fn signed_versions_are_upgraded_to_recorded_and_never_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("roots.json");
    let pinned = [7u8; 32];
    let now = at("2026-03-25T00:00:00Z");
    let legacy = root(&[FIRST, SECOND]);
    // A release made before versions were signed: derived version 2, recorded.
    let row = check_and_record(&state, &pinned, ORIGIN, &legacy, None, now).unwrap();
    assert!(row.contains("derived version 2 (first seen"), "{row}");
    // The publisher re-signs the same CAs as signed version 2: an upgrade, recorded.
    let later = "2026-12-31T00:00:00Z";
    let row = check_and_record(&state, &pinned, ORIGIN, &legacy, signed(2, later), now).unwrap();
    assert!(
        row.contains("signed version 2 (now signed; recorded)"),
        "{row}"
    );
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let record = &recorded["roots"][hex::encode(pinned)];
    assert_eq!(record["version"], 2);
    assert_eq!(record["signed"], true);
    assert_eq!(record["expires"], later);
    // Signed version 3: newer, recorded.
    let row = check_and_record(&state, &pinned, ORIGIN, &legacy, signed(3, later), now).unwrap();
    assert!(
        row.contains("signed version 3 (newer than 2; recorded)"),
        "{row}"
    );
    // Signed version 2 replayed: a rollback naming the file and both versions.
    let error =
        check_and_record(&state, &pinned, ORIGIN, &legacy, signed(2, later), now).unwrap_err();
    assert_eq!(error.class, FailureClass::Signature);
    for expected in [
        "rollback",
        "version 2, older than version 3",
        ORIGIN,
        "--signed-root",
    ] {
        assert!(error.reason.contains(expected), "{expected}: {error}");
    }
    // The legacy envelope of the same CA count, or of more CAs, is now a downgrade.
    let third = ("2026-03-24T00:00:00Z", Some("2026-06-22T00:00:00Z"));
    let error = check_and_record(
        &state,
        &pinned,
        ORIGIN,
        &root(&[FIRST, SECOND, third]),
        None,
        now,
    )
    .unwrap_err();
    assert!(
        error.reason.contains("downgrade")
            && error.reason.contains("signed version 3 was accepted"),
        "{error}"
    );
    // The signed expiry is what counts, not the CAs' windows: an expired statement over
    // CAs still valid is refused, a current one over an ended CA accepted.
    let error = check_and_record(
        &state,
        &pinned,
        ORIGIN,
        &legacy,
        signed(4, "2026-03-01T00:00:00Z"),
        now,
    )
    .unwrap_err();
    assert!(
        error
            .reason
            .contains("(signed version 4) expired at 2026-03-01T00:00:00Z"),
        "{error}"
    );
    let ended = root(&[FIRST]);
    check_and_record(
        &state,
        &pinned,
        ORIGIN,
        &ended,
        signed(4, later),
        at("2026-05-01T00:00:00Z"),
    )
    .unwrap();
}

#[test]
fn a_damaged_state_file_is_bad_input_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("roots.json");
    std::fs::write(&state, "{not json").unwrap();
    let error = check_and_record(
        &state,
        &[0; 32],
        ORIGIN,
        &root(&[FIRST]),
        None,
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
        ORIGIN,
        &root(&[FIRST]),
        None,
        at("2026-02-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(error.reason.contains("is not a number"), "{error}");
    std::fs::write(&state, r#"{"roots": {"0000000000000000000000000000000000000000000000000000000000000000": {"version": 1, "signed": "yes"}}}"#).unwrap();
    let error = check_and_record(
        &state,
        &[0; 32],
        ORIGIN,
        &root(&[FIRST]),
        None,
        at("2026-02-01T00:00:00Z"),
    )
    .unwrap_err();
    assert_eq!(error.class, FailureClass::BadInput);
    assert!(
        error.reason.contains("signed is not true or false"),
        "{error}"
    );
    assert!(error.reason.contains("roots.json"), "{error}");
    std::fs::write(&state, r#"{"roots": []}"#).unwrap();
    let error = check_and_record(
        &state,
        &[0; 32],
        ORIGIN,
        &root(&[FIRST]),
        None,
        at("2026-02-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(error.reason.contains("no \"roots\" object"), "{error}");
}
