//! The hand-over between a release workflow's two jobs: the build job
//! ([`crate::Release::build_only`]) writes the binaries, their `SHA256SUMS` and
//! `build.json`; the signing job ([`crate::Config::prebuilt`]) takes them back only if
//! they match the checksums the build job reported through a channel it cannot rewrite
//! later, and only for the commit checked out.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use cordon_release::checksums::sha256_file;
use cordon_release::time::{now_unix, rfc3339_utc};
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
    let mut sums = String::new();
    for file in &built.files {
        let destination = out.join(&file.name);
        fs::copy(&file.path, &destination).map_err(io("copy into", &destination))?;
        sums.push_str(&format!("{}  {}\n", file.sha256, file.name));
    }
    let record = json!({
        "commit": checked.source.commit,
        "startedOn": rfc3339_utc(built.started_on),
        "finishedOn": rfc3339_utc(built.finished_on),
    });
    write_atomically(&out.join(BUILD_RECORD), format!("{record:#}\n").as_bytes())?;
    write_atomically(&out.join("SHA256SUMS"), sums.as_bytes())?;
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
    let mut expected_sums = BTreeMap::new();
    for (index, line) in expected_text.lines().enumerate() {
        let Some((digest, name)) = line.split_once("  ") else {
            return Err(refuse(
                expected,
                format!("line {}: not a `<sha256>  <name>` line", index + 1),
            ));
        };
        expected_sums.insert(name.to_owned(), digest.to_owned());
    }
    let wanted: Vec<&str> = checked
        .workspace
        .product
        .binaries
        .iter()
        .map(|binary| binary.bin.as_str())
        .collect();
    let listed: Vec<&str> = expected_sums.keys().map(String::as_str).collect();
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
        let sha256 = hex(&sha256_file(&path).map_err(io("read", &path))?);
        if expected_sums.get(name) != Some(&sha256) {
            return Err(refuse(
                &path,
                format!(
                    "has sha256 {sha256}, but the build job reported {}: the hand-over was \
                     tampered with or mixed up",
                    expected_sums.get(name).map_or("nothing", String::as_str)
                ),
            ));
        }
        files.push(ShippedFile {
            name: name.to_owned(),
            path,
            sha256,
        });
    }
    Ok(Built {
        files,
        started_on: parse_time_field(&record, "startedOn"),
        finished_on: parse_time_field(&record, "finishedOn"),
    })
}

/// The build record holds RFC 3339 strings; keep them as given by re-parsing only the
/// shape `YYYY-MM-DDThh:mm:ssZ`, falling back to now.
fn parse_time_field(record: &serde_json::Value, field: &str) -> i64 {
    record[field]
        .as_str()
        .and_then(parse_rfc3339)
        .unwrap_or_else(now_unix)
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() != 20 || bytes[19] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    // Days from civil (Howard Hinnant), the inverse of cordon_release::time.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Writes `path` through a temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ErrorKind> {
    let temporary = path.with_extension("partial");
    fs::write(&temporary, bytes)
        .and_then(|()| fs::rename(&temporary, path))
        .map_err(io("write", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parsing_inverts_formatting() {
        for seconds in [0, 951_782_400, 1_700_000_000, 4_107_542_399] {
            assert_eq!(parse_rfc3339(&rfc3339_utc(seconds)), Some(seconds));
        }
        assert_eq!(parse_rfc3339("2023-11-14 22:13:20"), None);
    }
}
