//! The hand-over between a release workflow's two jobs: the build job
//! ([`crate::Release::build_only`]) writes the binaries, their `SHA256SUMS` and
//! `build.json`; the signing job ([`crate::Config::prebuilt`]) takes them back only if
//! they match the checksums the build job reported through a channel it cannot rewrite
//! later, and only for the commit checked out.

use std::fs;
use std::path::Path;

use cordon_format::{Sha256Sums, names, parse_rfc3339, rfc3339};
use cordon_release::{now_unix, sha256_file};
use serde_json::json;

use crate::error::{ErrorKind, io};
use crate::model::{Built, Checked, Prebuilt, ShippedFile};
use crate::source::hex;

/// The record the build job writes beside the binaries.
const BUILD_RECORD: &str = "build.json";

/// Writes the binaries of `built`, `SHA256SUMS` and `build.json` to `out`; returns the
/// `SHA256SUMS` text (what the build job reports through its outputs).
pub(crate) fn write(out: &Path, checked: &Checked, built: &Built) -> Result<String, ErrorKind> {
    fs::create_dir_all(out).map_err(io("create", out))?;
    let mut sums = Sha256Sums::new();
    for file in &built.files {
        let destination = out.join(&file.name);
        fs::copy(&file.path, &destination).map_err(io("copy into", &destination))?;
        sums.insert(
            &file.name,
            sha256_file(&destination).map_err(io("read", &destination))?,
        );
    }
    let record = json!({
        "commit": checked.source.commit,
        "startedOn": rfc3339(built.started_on),
        "finishedOn": rfc3339(built.finished_on),
    });
    let sums = sums.render();
    for (name, bytes) in [
        (BUILD_RECORD, format!("{record:#}\n")),
        (names::SHA256SUMS_FILE, sums.clone()),
    ] {
        cordon_release::write_atomic(&out.join(name), bytes.as_bytes(), 0o644).map_err(
            |error| ErrorKind::Io {
                action: error.action,
                path: error.path,
                source: error.source,
            },
        )?;
    }
    Ok(sums)
}

/// Takes the binaries of a build job, checking them against the checksums the
/// build job handed over.
pub(crate) fn take(prebuilt: &Prebuilt, checked: &Checked) -> Result<Built, ErrorKind> {
    let (dir, expected) = (&prebuilt.dir, &prebuilt.expected_sha256sums);
    let refuse = |path: &Path, problem: String| ErrorKind::HandOver {
        path: path.to_owned(),
        problem,
    };
    let expected_text = fs::read_to_string(expected).map_err(io("read", expected))?;
    let expected_sums = Sha256Sums::parse(&expected_text)
        .map_err(|error| refuse(expected, format!("not a SHA256SUMS list: {error}")))?;
    let wanted: Vec<&str> = checked
        .workspace
        .product
        .binaries
        .iter()
        .map(|binary| binary.bin.as_str())
        .collect();
    let listed: Vec<&str> = expected_sums.iter().map(|(name, _)| name).collect();
    let mut wanted_sorted = wanted.clone();
    wanted_sorted.sort_unstable();
    if listed != wanted_sorted {
        return Err(refuse(
            expected,
            format!("lists {listed:?} but this workspace ships {wanted_sorted:?}"),
        ));
    }
    let record_path = dir.join(BUILD_RECORD);
    let record: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&record_path).map_err(io("read", &record_path))?)
            .map_err(|error| refuse(&record_path, format!("not JSON: {error}")))?;
    if record["commit"] != checked.source.commit.as_str() {
        return Err(refuse(
            dir,
            format!(
                "was built from commit {} but this checkout is {}",
                record["commit"], checked.source.commit
            ),
        ));
    }
    let mut files = Vec::new();
    for name in wanted {
        let path = dir.join(name);
        let digest = sha256_file(&path).map_err(io("read", &path))?;
        let reported = expected_sums.get(name);
        if reported != Some(&digest) {
            return Err(refuse(
                &path,
                format!(
                    "has sha256 {}, but the build job reported {}: the hand-over was \
                     tampered with or mixed up",
                    hex(&digest),
                    reported.map_or_else(|| "nothing".to_owned(), |digest| hex(digest))
                ),
            ));
        }
        files.push(ShippedFile {
            name: name.to_owned(),
            path,
            sha256: hex(&digest),
        });
    }
    Ok(Built {
        files,
        started_on: parse_time_field(&record, "startedOn"),
        finished_on: parse_time_field(&record, "finishedOn"),
    })
}

/// The build record's RFC 3339 time `field`, or now when it is missing or malformed
/// (it is informational: the provenance's `startedOn`/`finishedOn`).
fn parse_time_field(record: &serde_json::Value, field: &str) -> i64 {
    record[field]
        .as_str()
        .and_then(|text| parse_rfc3339(text).ok())
        .unwrap_or_else(now_unix)
}
