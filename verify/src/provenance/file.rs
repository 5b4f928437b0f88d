//! The provenance files distributors meet, read into Sigstore bundles: a bundle v0.1 to
//! v0.3 (`.sigstore.json`, slsa-github-generator's `.build.slsa` and v2.1.0
//! `.intoto.jsonl`, `gh attestation download` JSON lines), npm's attestations document
//! (`{"attestations":[{"predicateType", "bundle"}]}`, the registry's
//! `/-/npm/v1/attestations/NAME@VERSION`), and the legacy bare DSSE envelopes of
//! slsa-github-generator before v2.1.0, which are recognised and refused with the
//! reason: they carry no transparency-log entry, which slsa-verifier fetches from
//! Rekor online.

use std::path::Path;

use serde_json::Value;
use sigstore_verify::types::Bundle;

use crate::exit::{Failure, FailureClass};
use crate::input::{self, MAX_JSON_BYTES};
use crate::signature;

/// npm's publish attestation: signed by the registry's own key, which only the
/// registry serves (`/-/npm/v1/keys`), so it is not checked offline.
pub(crate) const NPM_PUBLISH_PREDICATE: &str =
    "https://github.com/npm/attestation/tree/main/specs/publish/v0.1";

/// The provenance bundles a file holds, in order, and notes on what was left out.
#[derive(Debug)]
pub struct Provenance {
    /// The bundles to try (a JSON-lines file may hold several).
    pub bundles: Vec<Bundle>,
    /// What the file held that is not checked, and why (one sentence each).
    pub notes: Vec<String>,
}

fn bad(path: &Path, reason: impl std::fmt::Display) -> Failure {
    Failure::new(
        FailureClass::BadInput,
        format!("provenance {}: {reason}", path.display()),
    )
}

/// Reads the provenance file at `path` in any of the formats above.
pub(crate) fn load(path: &Path) -> Result<Provenance, Failure> {
    let text = input::read_text(path, "provenance", MAX_JSON_BYTES)?;
    parse(&text, path)
}

/// Parses provenance `text` in any of the formats above; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Provenance, Failure> {
    let text = text.to_owned();
    // One JSON document, or JSON lines (one document per line).
    let documents: Vec<(String, Value)> = match serde_json::from_str::<Value>(&text) {
        Ok(value) => vec![(text.clone(), value)],
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(index, line)| {
                serde_json::from_str::<Value>(line)
                    .map(|value| (line.to_owned(), value))
                    .map_err(|error| {
                        bad(
                            path,
                            format!(
                                "line {}: not JSON ({error}); expected a Sigstore bundle, npm attestations or JSON lines of bundles",
                                index + 1
                            ),
                        )
                    })
            })
            .collect::<Result<_, _>>()?,
    };
    let mut provenance = Provenance {
        bundles: Vec::new(),
        notes: Vec::new(),
    };
    for (index, (text, value)) in documents.iter().enumerate() {
        let origin = if documents.len() == 1 {
            format!("provenance {}", path.display())
        } else {
            format!("provenance {} line {}", path.display(), index + 1)
        };
        if value.get("mediaType").is_some() {
            provenance
                .bundles
                .push(signature::parse_bundle(text, &origin)?);
        } else if let Some(attestations) = value.get("attestations").and_then(Value::as_array) {
            read_npm(path, attestations, &mut provenance)?;
        } else if value.get("payloadType").is_some() && value.get("signatures").is_some() {
            return Err(Failure::new(
                FailureClass::BadInput,
                format!(
                    "{origin}: a bare DSSE envelope (slsa-github-generator before v2.1.0 wrote these as .intoto.jsonl): it carries no transparency-log entry, and its certificate was valid for ten minutes only, so only the Rekor entry slsa-verifier fetches online can show it was signed while valid; cordon-verify is offline: verify it with slsa-verifier, or use a release whose provenance is a Sigstore bundle"
                ),
            ));
        } else {
            return Err(bad(
                path,
                "neither a Sigstore bundle (mediaType), npm attestations (attestations) nor a DSSE envelope (payloadType)",
            ));
        }
    }
    if provenance.bundles.is_empty() {
        return Err(bad(path, "holds no provenance bundle"));
    }
    Ok(provenance)
}

/// npm's attestations document: the SLSA provenance bundle is checked, the publish
/// attestation noted.
fn read_npm(
    path: &Path,
    attestations: &[Value],
    provenance: &mut Provenance,
) -> Result<(), Failure> {
    for (index, attestation) in attestations.iter().enumerate() {
        let predicate_type = attestation
            .get("predicateType")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(bundle) = attestation.get("bundle") else {
            return Err(bad(path, format!("attestations[{index}] has no bundle")));
        };
        if predicate_type.starts_with("https://slsa.dev/provenance/") {
            let origin = format!("provenance {} attestations[{index}]", path.display());
            provenance
                .bundles
                .push(signature::parse_bundle(&bundle.to_string(), &origin)?);
        } else if predicate_type == NPM_PUBLISH_PREDICATE {
            provenance.notes.push(
                "npm's publish attestation is signed by the registry's key, which only the registry serves: not checked offline".to_owned(),
            );
        } else {
            provenance.notes.push(format!(
                "attestations[{index}] of type {predicate_type:?} is not provenance: not checked"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/third_party/slsa-verifier")
                .join(name),
        )
        .unwrap()
    }

    #[test]
    fn json_lines_npm_documents_and_bare_envelopes() {
        let here = Path::new("p.json");
        let bundle = fixture("bcr/MODULE.bazel.intoto.jsonl");
        let other = fixture("bcr/MODULE-wrong-signer.bazel.intoto.jsonl");
        // Two bundles on two lines (as `gh attestation download` writes them).
        let lines = format!("{}\n\n{}\n", bundle.trim(), other.trim());
        assert_eq!(parse(&lines, here).unwrap().bundles.len(), 2);
        // npm: the provenance bundle is read, the publish attestation noted.
        let npm = parse(
            &fixture("npm/gha/provenance-npm-test-cli-v1-prega.tgz.json"),
            here,
        )
        .unwrap();
        assert_eq!(npm.bundles.len(), 1);
        assert!(npm.notes[0].contains("registry's key"), "{:?}", npm.notes);
        // A bare DSSE envelope: refused, with the reason.
        let error = parse(
            &fixture("binary-linux-amd64-multi-subject-first.intoto.jsonl"),
            here,
        )
        .unwrap_err();
        assert_eq!(error.class, FailureClass::BadInput);
        assert!(
            error.reason.contains("no transparency-log entry"),
            "{error}"
        );
        // A broken line is named by its number; unknown documents and empty files fail.
        let error = parse(&format!("{}\n{{oops\n", bundle.trim()), here).unwrap_err();
        assert!(error.reason.contains("line 2"), "{error}");
        for text in [
            "{}",
            "",
            "[]",
            r#"{"attestations":[]}"#,
            r#"{"attestations":[{}]}"#,
        ] {
            assert_eq!(
                parse(text, here).unwrap_err().class,
                FailureClass::BadInput,
                "{text}"
            );
        }
    }
}
