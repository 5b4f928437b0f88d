//! The keyless signer against the loopback stand-in: {blob, DSSE provenance} ×
//! {Rekor v1, Rekor v2} with a TSA, each bundle accepted offline by cordon-verify,
//! sigstore-python 4.5.1 and sigstore-js (@sigstore/verify 3.1.1 and 4.1.3); then tampered
//! bundles rejected by all of them.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{Case, StandIn};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn statement(artifact: &[u8]) -> Vec<u8> {
    serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "artifact.bin", "digest": {"sha256": hex::encode(Sha256::digest(artifact))}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://example.com/build", "externalParameters": {}},
                      "runDetails": {"builder": {"id": "https://example.com/builder"}}},
    })
    .to_string()
    .into_bytes()
}

fn case(
    stand_in: &StandIn,
    dir: &Path,
    name: &str,
    bundle: &str,
    artifact: &Path,
    log: &str,
) -> Case {
    let path = dir.join(format!("{name}.sigstore.json"));
    std::fs::write(&path, bundle).unwrap();
    Case {
        name: name.to_owned(),
        bundle: path,
        artifact: artifact.to_owned(),
        trusted_root: stand_in.path("trusted_root.json"),
        trust_config: stand_in.path(&format!("trust_config_{log}.json")),
        identity: stand_in.identity.clone(),
        issuer: stand_in.issuer.clone(),
    }
}

fn edit(bundle: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut value: Value = serde_json::from_str(bundle).unwrap();
    change(&mut value);
    value.to_string()
}

fn flip_b64(value: &mut Value) {
    let mut bytes = STANDARD.decode(value.as_str().unwrap()).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    *value = Value::String(STANDARD.encode(bytes));
}

/// The stand-in's trusted root (or sigstore-python trust config) without the log
/// `log` signed into: the bundle names a log the verifier does not trust.
fn without_log(stand_in: &StandIn, dir: &Path, log: &str, file: &str) -> std::path::PathBuf {
    let source = stand_in.path(&format!(
        "{}.json",
        if file == "trust_config" {
            format!("trust_config_{log}")
        } else {
            file.to_owned()
        }
    ));
    let mut value: Value = serde_json::from_slice(&std::fs::read(source).unwrap()).unwrap();
    let root = if file == "trust_config" {
        &mut value["trustedRoot"]
    } else {
        &mut value
    };
    let signed_into_v2 = log == "v2";
    root["tlogs"]
        .as_array_mut()
        .unwrap()
        .retain(|tlog| tlog["baseUrl"].as_str().unwrap().ends_with("/v2") != signed_into_v2);
    assert_eq!(root["tlogs"].as_array().unwrap().len(), 1);
    let path = dir.join(format!("{file}-without-{log}.json"));
    std::fs::write(&path, value.to_string()).unwrap();
    path
}

#[test]
fn every_signed_bundle_verifies_everywhere_and_every_tampered_one_nowhere() {
    let stand_in = StandIn::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let artifact = dir.join("artifact.bin");
    std::fs::write(&artifact, b"cordon keyless test artifact\n").unwrap();
    let other = dir.join("other.bin");
    std::fs::write(&other, b"something else\n").unwrap();
    let bytes = std::fs::read(&artifact).unwrap();

    let mut good = Vec::new();
    let mut bad: Vec<(Case, &str)> = Vec::new();
    for log in ["v1", "v2"] {
        let signer = stand_in.signer(log);
        let version = signer.services().tlogs[0].major_api_version;
        assert_eq!(version, if log == "v1" { 1 } else { 2 });
        let blob = signer.sign_blob_bytes(&bytes).unwrap();
        let dsse = signer.sign_in_toto(&statement(&bytes)).unwrap();
        for (kind, bundle) in [("blob", &blob), ("dsse", &dsse)] {
            let value: Value = serde_json::from_str(bundle).unwrap();
            let material = &value["verificationMaterial"];
            let proof = &material["tlogEntries"][0]["inclusionProof"];
            assert!(proof["hashes"].is_array(), "hashes written explicitly");
            assert!(proof["logIndex"].is_string(), "logIndex written explicitly");
            let timestamps = &material["timestampVerificationData"]["rfc3161Timestamps"];
            assert_eq!(timestamps.as_array().map(Vec::len), Some(1));
            let name = format!("{log}-{kind}");
            let make = |suffix: &str, bundle: &str, artifact: &Path| {
                case(
                    &stand_in,
                    dir,
                    &format!("{name}{suffix}"),
                    bundle,
                    artifact,
                    log,
                )
            };
            good.push(make("", bundle, &artifact));

            let mut wrong_identity = make("-wrong-san", bundle, &artifact);
            wrong_identity.identity =
                "https://github.com/evil/fork/.github/workflows/release.yml@refs/tags/v1.2.3"
                    .into();
            bad.push((wrong_identity, "identity"));
            let mut wrong_issuer = make("-wrong-issuer", bundle, &artifact);
            wrong_issuer.issuer = "https://accounts.example.com".into();
            bad.push((wrong_issuer, "identity"));
            bad.push((make("-other-artifact", bundle, &other), "integrity"));
            let mut no_log = make("-log-not-in-root", bundle, &artifact);
            no_log.trusted_root = without_log(&stand_in, dir, log, "trusted_root");
            no_log.trust_config = without_log(&stand_in, dir, log, "trust_config");
            bad.push((no_log, "signature"));
            let entry = "/verificationMaterial/tlogEntries/0";
            let body = edit(bundle, |v| {
                flip_b64(
                    v.pointer_mut(&format!("{entry}/canonicalizedBody"))
                        .unwrap(),
                );
            });
            bad.push((make("-body", &body, &artifact), "signature"));
            let checkpoint = edit(bundle, |v| {
                let envelope = v
                    .pointer_mut(&format!("{entry}/inclusionProof/checkpoint/envelope"))
                    .unwrap();
                let text = envelope.as_str().unwrap().to_owned();
                let (note, signature) = text.split_once("\n\n").unwrap();
                let mut lines: Vec<String> = note.lines().map(str::to_owned).collect();
                lines[1] = format!("{}", lines[1].parse::<u64>().unwrap() + 1);
                *envelope = Value::String(format!("{}\n\n{signature}", lines.join("\n")));
            });
            bad.push((make("-checkpoint", &checkpoint, &artifact), "signature"));
            let proof_hash = edit(bundle, |v| {
                let hashes = v
                    .pointer_mut(&format!("{entry}/inclusionProof/hashes"))
                    .unwrap();
                match hashes.as_array_mut().unwrap().first_mut() {
                    Some(first) => flip_b64(first),
                    // The stand-in's v1 tree has one leaf: give it a made-up sibling.
                    None => *hashes = serde_json::json!([STANDARD.encode([7u8; 32])]),
                }
            });
            bad.push((make("-proof-hash", &proof_hash, &artifact), "signature"));
            if version == 1 {
                let set = edit(bundle, |v| {
                    let pointer = format!("{entry}/inclusionPromise/signedEntryTimestamp");
                    flip_b64(v.pointer_mut(&pointer).unwrap());
                });
                bad.push((make("-set", &set, &artifact), "signature"));
            } else {
                let no_tsa = edit(bundle, |v| {
                    v["verificationMaterial"]["timestampVerificationData"] = serde_json::json!({});
                });
                bad.push((make("-no-tsa", &no_tsa, &artifact), "signature"));
            }
        }
    }

    let mut problems = Vec::new();
    for case in &good {
        if let Err(failure) = common::cordon_verify(case) {
            problems.push(format!("cordon-verify rejected {}: {failure}", case.name));
        }
        if let Err(reason) = common::sigstore_python(case) {
            problems.push(format!("sigstore-python rejected {}: {reason}", case.name));
        }
    }
    for module in common::SIGSTORE_JS {
        for (name, verdict) in common::sigstore_js(module, &good, dir) {
            // @sigstore/verify 3.1.1 cannot verify DSSE logged as a hashedrekord 0.0.2
            // (research keyless.md §0.5); 4.x can.
            let known_gap = module == "@sigstore/verify" && name == "v2-dsse";
            match (verdict, known_gap) {
                (Ok(()), false) | (Err(_), true) => {}
                (Ok(()), true) => {
                    problems.push(format!("{module} now accepts {name}: drop the known gap"));
                }
                (Err(reason), false) => {
                    problems.push(format!("{module} rejected {name}: {reason}"));
                }
            }
        }
    }
    for (case, class) in &bad {
        match common::cordon_verify(case) {
            Ok(()) => problems.push(format!("cordon-verify accepted {}", case.name)),
            Err(failure) => {
                let got = format!("{:?}", failure.class).to_lowercase();
                if got != *class {
                    problems.push(format!(
                        "cordon-verify rejected {} as {got}, not {class}: {failure}",
                        case.name
                    ));
                }
            }
        }
        if common::sigstore_python(case).is_ok() {
            problems.push(format!("sigstore-python accepted {}", case.name));
        }
    }
    let bad_cases: Vec<Case> = bad.into_iter().map(|(case, _)| case).collect();
    for module in common::SIGSTORE_JS {
        for (name, verdict) in common::sigstore_js(module, &bad_cases, dir) {
            if verdict.is_ok() {
                problems.push(format!("{module} accepted {name}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Rekor v2 from the second implementation: cordon's own tiles log behind a façade;
/// a bundle without its timestamp or with a changed checkpoint is rejected there too.
#[test]
fn rekor_v2_from_cordons_own_log_verifies_everywhere() {
    let stand_in = StandIn::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let facade = common::tiles_facade::start(&stand_in, dir);
    let artifact = dir.join("artifact.bin");
    std::fs::write(&artifact, b"logged in cordon's own log\n").unwrap();
    let bytes = std::fs::read(&artifact).unwrap();
    let mut options = stand_in.options("v2");
    options.signing_config.clone_from(&facade.signing_config);
    options.trusted_root.clone_from(&facade.trusted_root);
    let signer = cordon_keyless::KeylessSigner::open(&options).unwrap();
    let mut cases = Vec::new();
    let mut bad = Vec::new();
    for (kind, bundle) in [
        ("blob", signer.sign_blob_bytes(&bytes).unwrap()),
        ("dsse", signer.sign_in_toto(&statement(&bytes)).unwrap()),
    ] {
        let no_tsa = edit(&bundle, |v| {
            v["verificationMaterial"]["timestampVerificationData"] = serde_json::json!({});
        });
        let checkpoint = edit(&bundle, |v| {
            let pointer = "/verificationMaterial/tlogEntries/0/inclusionProof/checkpoint/envelope";
            let envelope = v.pointer_mut(pointer).unwrap();
            *envelope = Value::String(envelope.as_str().unwrap().replacen('\n', "\n\n", 1));
        });
        for (suffix, bundle) in [
            ("", &bundle),
            ("-no-tsa", &no_tsa),
            ("-checkpoint", &checkpoint),
        ] {
            let name = format!("cordon-v2-{kind}{suffix}");
            let mut case = case(&stand_in, dir, &name, bundle, &artifact, "v2");
            case.trusted_root.clone_from(&facade.trusted_root);
            case.trust_config.clone_from(&facade.trust_config);
            if suffix.is_empty() {
                cases.push(case);
            } else {
                bad.push(case);
            }
        }
    }
    let mut problems = Vec::new();
    for case in &bad {
        if common::cordon_verify(case).is_ok() {
            problems.push(format!("cordon-verify accepted {}", case.name));
        }
        if common::sigstore_python(case).is_ok() {
            problems.push(format!("sigstore-python accepted {}", case.name));
        }
    }
    for (name, verdict) in common::sigstore_js("@sigstore/verify-4", &bad, dir) {
        if verdict.is_ok() {
            problems.push(format!("@sigstore/verify 4 accepted {name}"));
        }
    }
    for case in &cases {
        if let Err(failure) = common::cordon_verify(case) {
            problems.push(format!("cordon-verify rejected {}: {failure}", case.name));
        }
        if let Err(reason) = common::sigstore_python(case) {
            problems.push(format!("sigstore-python rejected {}: {reason}", case.name));
        }
    }
    for (name, verdict) in common::sigstore_js("@sigstore/verify-4", &cases, dir) {
        if let Err(reason) = verdict {
            problems.push(format!("@sigstore/verify 4 rejected {name}: {reason}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The public-good production root (sigstore-python's copy) merged with the stand-in's
/// entries: keyless bundles from Rekor v1 and v2 verify against the mixed root in every
/// verifier, and against the production root alone in none.
#[test]
fn a_root_mixing_public_good_and_local_entries_verifies_both_logs() {
    let lib = common::root().join("target/tools/venv/lib");
    let python = std::fs::read_dir(&lib)
        .unwrap_or_else(|error| panic!("{}: {error}: run `cargo xtask test` once", lib.display()))
        .filter_map(Result::ok)
        .find(|entry| entry.file_name().to_string_lossy().starts_with("python3"))
        .expect("a python3.* directory in the venv")
        .path();
    let production = python.join(
        "site-packages/sigstore/_store/https%3A%2F%2Ftuf-repo-cdn.sigstore.dev/trusted_root.json",
    );
    let production: Value = serde_json::from_slice(&std::fs::read(&production).unwrap()).unwrap();
    let stand_in = StandIn::start();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let local: Value =
        serde_json::from_slice(&std::fs::read(stand_in.path("trusted_root.json")).unwrap())
            .unwrap();
    let mut mixed = production.clone();
    for list in [
        "tlogs",
        "ctlogs",
        "certificateAuthorities",
        "timestampAuthorities",
    ] {
        let extra = local[list].as_array().unwrap().clone();
        mixed[list].as_array_mut().unwrap().extend(extra);
    }
    let artifact = dir.join("artifact.bin");
    std::fs::write(&artifact, b"mixed root\n").unwrap();
    let bytes = std::fs::read(&artifact).unwrap();
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for log in ["v1", "v2"] {
        let bundle = stand_in.signer(log).sign_blob_bytes(&bytes).unwrap();
        for (root_name, root) in [("mixed", &mixed), ("production", &production)] {
            let name = format!("{log}-{root_name}");
            let mut case = case(&stand_in, dir, &name, &bundle, &artifact, log);
            case.trusted_root = dir.join(format!("{name}-root.json"));
            std::fs::write(&case.trusted_root, root.to_string()).unwrap();
            let mut trust_config: Value =
                serde_json::from_slice(&std::fs::read(&case.trust_config).unwrap()).unwrap();
            trust_config["trustedRoot"] = root.clone();
            case.trust_config = dir.join(format!("{name}-trust-config.json"));
            std::fs::write(&case.trust_config, trust_config.to_string()).unwrap();
            if root_name == "mixed" {
                good.push(case);
            } else {
                bad.push(case);
            }
        }
    }
    let mut problems = Vec::new();
    for (cases, accept) in [(&good, true), (&bad, false)] {
        for case in cases {
            if common::cordon_verify(case).is_ok() != accept {
                problems.push(format!("cordon-verify: {} accepted={}", case.name, !accept));
            }
            if common::sigstore_python(case).is_ok() != accept {
                problems.push(format!(
                    "sigstore-python: {} accepted={}",
                    case.name, !accept
                ));
            }
        }
        for (name, verdict) in common::sigstore_js("@sigstore/verify-4", cases, dir) {
            if verdict.is_ok() != accept {
                problems.push(format!("@sigstore/verify 4: {name}: {verdict:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
