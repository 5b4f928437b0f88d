//! Two of slsa-verifier's `verify-artifact` flags that are not about identity:
//! `--source-versioned-tag` (the build's tag must be semver-compatible with the one
//! given) and `--build-workflow-input KEY=VALUE` (the `workflow_dispatch` inputs the
//! build ran with).
//!
//! The versioned tag follows slsa-verifier's `VerifyVersionedTag`: both tags must be
//! valid Go-style semantic versions (`v` prefix; `vMAJOR`, `vMAJOR.MINOR` and full
//! versions with pre-release and build parts), the major versions must be equal, and the
//! minor and patch versions too when the expected tag gives them (`v1` accepts any
//! `v1.x.y`, `v1.2` any `v1.2.y`, `v1.2.3` only `v1.2.3`; build metadata is ignored).
//!
//! The workflow inputs are read where the builders write the triggering event's
//! payload: `invocation.environment.github_event_payload.inputs` (SLSA v0.2) or
//! `buildDefinition.internalParameters.GITHUB_EVENT_PAYLOAD.inputs` (SLSA v1, the
//! BYOB builders). A value must equal the expected text; a boolean or number input is
//! compared as its JSON text (`true`, `17`).

use serde_json::Value;

use crate::exit::{Failure, FailureClass};

fn policy(reason: impl Into<String>) -> Failure {
    Failure::new(FailureClass::ProvenancePolicy, reason)
}

/// A valid Go-style semantic version, split as slsa-verifier splits it.
struct SemVer<'a> {
    major: &'a str,
    minor: Option<&'a str>,
    /// The patch version with any pre-release suffix, as the text after the second `.`
    /// up to the next `.` (slsa-verifier's split).
    patch: Option<&'a str>,
}

/// A decimal number without leading zeros.
fn is_number(text: &str) -> bool {
    !text.is_empty()
        && text.bytes().all(|byte| byte.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'))
}

/// Dot-separated identifiers of `[0-9A-Za-z-]`; numeric ones without leading zeros when
/// `numeric_strict` (pre-release), any when not (build metadata).
fn are_identifiers(text: &str, numeric_strict: bool) -> bool {
    text.split('.').all(|part| {
        !part.is_empty()
            && part
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
            && (!numeric_strict
                || !part.bytes().all(|byte| byte.is_ascii_digit())
                || is_number(part))
    })
}

/// Parses `text` as Go's `golang.org/x/mod/semver` accepts it.
fn parse_semver(text: &str) -> Option<SemVer<'_>> {
    let rest = text.strip_prefix('v')?;
    let (core_and_pre, build) = match rest.split_once('+') {
        Some((head, build)) => (head, Some(build)),
        None => (rest, None),
    };
    if build.is_some_and(|build| !are_identifiers(build, false)) {
        return None;
    }
    let (core, pre) = match core_and_pre.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (core_and_pre, None),
    };
    if pre.is_some_and(|pre| !are_identifiers(pre, true)) {
        return None;
    }
    let numbers: Vec<&str> = core.split('.').collect();
    if numbers.len() > 3 || !numbers.iter().all(|number| is_number(number)) {
        return None;
    }
    // Shorthands (v1, v1.2) take neither a pre-release nor build metadata.
    if numbers.len() < 3 && (pre.is_some() || build.is_some()) {
        return None;
    }
    let given = &text[..1 + core_and_pre.len()];
    let parts: Vec<&str> = given.split('.').collect();
    Some(SemVer {
        major: numbers[0],
        minor: numbers.get(1).copied(),
        patch: parts.get(2).copied(),
    })
}

/// Checks that the build's source ref is a tag semver-compatible with `expected`.
pub(crate) fn check_versioned_tag(source_ref: Option<&str>, expected: &str) -> Result<(), Failure> {
    let wanted = parse_semver(expected).ok_or_else(|| {
        Failure::new(
            FailureClass::BadInput,
            format!(
                "--source-versioned-tag {expected:?} is not a semantic version (vMAJOR, vMAJOR.MINOR or vMAJOR.MINOR.PATCH)"
            ),
        )
    })?;
    let reference = source_ref.ok_or_else(|| {
        policy(format!(
            "the provenance does not state its source ref, so the versioned tag {expected:?} cannot be checked"
        ))
    })?;
    let tag = reference.strip_prefix("refs/tags/").ok_or_else(|| {
        policy(format!(
            "built from {reference:?}, not from a tag, so it cannot match the versioned tag {expected:?}"
        ))
    })?;
    let built = parse_semver(tag).ok_or_else(|| {
        policy(format!(
            "built from tag {tag:?}, which is not a semantic version, so it cannot match {expected:?}"
        ))
    })?;
    // Canonical form of the built tag: shorthands filled with zeros.
    let minor = built.minor.unwrap_or("0");
    let patch = built.patch.unwrap_or("0");
    let mismatch = |what: &str, wanted: &str, found: &str| {
        policy(format!(
            "built from tag {tag:?}: {what} version {found}, not the {wanted} of the expected versioned tag {expected:?}",
        ))
    };
    if built.major != wanted.major {
        return Err(mismatch("major", wanted.major, built.major));
    }
    if let Some(wanted_minor) = wanted.minor
        && minor != wanted_minor
    {
        return Err(mismatch("minor", wanted_minor, minor));
    }
    if let Some(wanted_patch) = wanted.patch
        && patch != wanted_patch
    {
        return Err(mismatch("patch", wanted_patch, patch));
    }
    Ok(())
}

/// Splits a `--build-workflow-input` argument at its first `=`.
pub fn parse_workflow_input(argument: &str) -> Result<(String, String), String> {
    match argument.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!(
            "{argument:?} is not KEY=VALUE (the name of a workflow_dispatch input, then its value)"
        )),
    }
}

/// Checks the workflow inputs the statement `payload` records against `expected`.
pub(crate) fn check_workflow_inputs(
    payload: &[u8],
    expected: &[(String, String)],
) -> Result<(), Failure> {
    if expected.is_empty() {
        return Ok(());
    }
    let statement: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let predicate = statement.get("predicate").unwrap_or(&Value::Null);
    let (event, inputs) = if let Some(environment) = predicate.pointer("/invocation/environment") {
        (
            environment.get("github_event_name"),
            environment.pointer("/github_event_payload/inputs"),
        )
    } else {
        let internal = predicate
            .pointer("/buildDefinition/internalParameters")
            .unwrap_or(&Value::Null);
        (
            internal.get("GITHUB_EVENT_NAME"),
            internal.pointer("/GITHUB_EVENT_PAYLOAD/inputs"),
        )
    };
    let Some(inputs) = inputs.and_then(Value::as_object) else {
        return Err(policy(format!(
            "the provenance records no workflow inputs (the build was triggered by {}; only workflow_dispatch builds have them), so --build-workflow-input {}={} cannot be checked",
            event
                .and_then(Value::as_str)
                .map_or("an unstated event".to_owned(), |event| format!("{event:?}")),
            expected[0].0,
            expected[0].1
        )));
    };
    for (key, wanted) in expected {
        let found = match inputs.get(key) {
            None => {
                return Err(policy(format!(
                    "the provenance records no workflow input {key:?} (it has {})",
                    if inputs.is_empty() {
                        "none".to_owned()
                    } else {
                        inputs.keys().cloned().collect::<Vec<_>>().join(", ")
                    }
                )));
            }
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        };
        if &found != wanted {
            return Err(policy(format!(
                "workflow input {key}={found:?}, not the expected {key}={wanted:?}"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versioned_tags_match_as_slsa_verifier_matches_them() {
        for (built, expected) in [
            ("v14", "v14"),
            ("v14", "v14.0"),
            ("v14", "v14.0.0"),
            ("v1.2.3", "v1"),
            ("v1.2.3", "v1.2"),
            ("v1.2.3", "v1.2.3"),
            ("v1.2.3+build.5", "v1.2.3"),
            ("v1.2.3", "v1.2.3+other"),
            ("v1.2.3-rc.1", "v1.2"),
        ] {
            let reference = format!("refs/tags/{built}");
            check_versioned_tag(Some(&reference), expected)
                .unwrap_or_else(|error| panic!("{built} ~ {expected}: {error}"));
        }
        for (built, expected, reason) in [
            ("v2.0.0", "v1", "major version 2, not the 1"),
            ("v1.3.0", "v1.2", "minor version 3, not the 2"),
            ("v1.2.4", "v1.2.3", "patch version 4, not the 3"),
            // slsa-verifier splits at dots, so a pre-release is part of the patch.
            ("v1.2.3-rc.1", "v1.2.3", "patch version 3-rc, not the 3"),
            ("1.2.3", "v1", "not a semantic version"),
            ("v01.2.3", "v1", "not a semantic version"),
            ("v1.2-rc", "v1", "not a semantic version"),
        ] {
            let reference = format!("refs/tags/{built}");
            let error = check_versioned_tag(Some(&reference), expected).unwrap_err();
            assert_eq!(error.class, FailureClass::ProvenancePolicy);
            assert!(
                error.reason.contains(reason),
                "{built} ~ {expected}: {error}"
            );
        }
        let error = check_versioned_tag(Some("refs/heads/main"), "v1").unwrap_err();
        assert!(error.reason.contains("not from a tag"), "{error}");
        let error = check_versioned_tag(None, "v1").unwrap_err();
        assert!(
            error.reason.contains("does not state its source ref"),
            "{error}"
        );
        for bad in ["1.2.3", "v", "v1.2.3.4", "v1.02", "latest"] {
            let error = check_versioned_tag(Some("refs/tags/v1.2.3"), bad).unwrap_err();
            assert_eq!(error.class, FailureClass::BadInput, "{bad}: {error}");
        }
    }

    #[test]
    fn workflow_inputs_are_read_from_either_predicate_version() {
        let v0_2 = json!({"predicate": {"invocation": {"environment": {
            "github_event_name": "workflow_dispatch",
            "github_event_payload": {"inputs": {"release": "true", "level": 3}}
        }}}});
        let v1 = json!({"predicate": {"buildDefinition": {"internalParameters": {
            "GITHUB_EVENT_NAME": "workflow_dispatch",
            "GITHUB_EVENT_PAYLOAD": {"inputs": {"release": "true", "level": 3}}
        }}}});
        let wanted = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect()
        };
        for statement in [&v0_2, &v1] {
            let payload = statement.to_string().into_bytes();
            check_workflow_inputs(&payload, &wanted(&[("release", "true"), ("level", "3")]))
                .unwrap();
            let error =
                check_workflow_inputs(&payload, &wanted(&[("release", "false")])).unwrap_err();
            assert!(
                error
                    .reason
                    .contains("release=\"true\", not the expected release=\"false\""),
                "{error}"
            );
            let error = check_workflow_inputs(&payload, &wanted(&[("other", "x")])).unwrap_err();
            assert!(
                error
                    .reason
                    .contains("no workflow input \"other\" (it has level, release)"),
                "{error}"
            );
        }
        let push =
            json!({"predicate": {"invocation": {"environment": {"github_event_name": "push"}}}});
        let error =
            check_workflow_inputs(push.to_string().as_bytes(), &wanted(&[("a", "b")])).unwrap_err();
        assert!(error.reason.contains("triggered by \"push\""), "{error}");
        assert_eq!(
            parse_workflow_input("a=b=c").unwrap(),
            ("a".to_owned(), "b=c".to_owned())
        );
        assert!(parse_workflow_input("=x").is_err());
        assert!(parse_workflow_input("novalue").is_err());
    }
}
