//! The hand-over between the release workflow's two jobs: `--build-only DIR` writes the
//! binaries, their `SHA256SUMS` and `build.json`; `--from-build DIR --expect-sha256sums
//! FILE` takes them back only if they match the checksums the build job reported through
//! its job outputs, and only for the commit checked out.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use cordon_release::checksums::sha256_file;
use cordon_release::time::{now_unix, rfc3339_utc};
use serde_json::json;

use super::pipeline::{Built, Checked, Options, ShippedFile, build_stage, check};
use super::progress::Progress;
use super::source::hex;

/// The record `--build-only` writes beside the binaries.
const BUILD_RECORD: &str = "build.json";

/// `cargo xtask release --build-only OUT`: check and build, then write the binaries,
/// `SHA256SUMS` and `build.json` to `out` and print the checksums on stdout.
pub(crate) fn build_only(root: &Path, options: &Options, out: &Path) -> Result<()> {
    let mut progress = Progress::new("release", options.quiet);
    let checked = progress.stage("check", "see the message above", |stage| {
        check(root, options, stage)
    })?;
    let built = progress.stage(
        "build",
        "fix what cargo reports above, then run again",
        |stage| build_stage(root, &checked, stage),
    )?;
    progress.stage(
        "hand-over",
        "check that the output directory is writable",
        |_| {
            fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
            let mut sums = String::new();
            for file in &built.files {
                fs::copy(&file.path, out.join(&file.name))
                    .with_context(|| format!("cannot copy {} into {}", file.name, out.display()))?;
                sums.push_str(&format!("{}  {}\n", file.sha256, file.name));
            }
            let record = json!({
                "commit": checked.source.commit,
                "startedOn": rfc3339_utc(built.started_on),
                "finishedOn": rfc3339_utc(built.finished_on),
            });
            write_atomically(&out.join(BUILD_RECORD), format!("{record:#}\n").as_bytes())?;
            write_atomically(&out.join("SHA256SUMS"), sums.as_bytes())?;
            print!("{sums}");
            Ok(())
        },
    )?;
    Ok(())
}

/// Takes the binaries of a `--build-only` run, checking them against the checksums the
/// build job handed over.
pub(super) fn take_prebuilt(dir: &Path, expected: &Path, checked: &Checked) -> Result<Built> {
    let expected_text = fs::read_to_string(expected)
        .with_context(|| format!("cannot read {}", expected.display()))?;
    let mut expected_sums = BTreeMap::new();
    for (index, line) in expected_text.lines().enumerate() {
        let Some((digest, name)) = line.split_once("  ") else {
            bail!(
                "{}:{}: not a `<sha256>  <name>` line",
                expected.display(),
                index + 1
            );
        };
        expected_sums.insert(name.to_owned(), digest.to_owned());
    }
    let wanted: Vec<&str> = checked
        .workspace
        .shipped
        .iter()
        .map(|binary| binary.bin.as_str())
        .collect();
    let listed: Vec<&str> = expected_sums.keys().map(String::as_str).collect();
    let mut wanted_sorted = wanted.clone();
    wanted_sorted.sort_unstable();
    if listed != wanted_sorted {
        bail!(
            "{} lists {listed:?} but this workspace ships {wanted_sorted:?}",
            expected.display()
        );
    }
    let record_path = dir.join(BUILD_RECORD);
    let record: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(&record_path)
            .with_context(|| format!("cannot read {}", record_path.display()))?,
    )
    .with_context(|| format!("{} is not JSON", record_path.display()))?;
    if record["commit"] != checked.source.commit.as_str() {
        bail!(
            "{} was built from commit {} but this checkout is {}",
            dir.display(),
            record["commit"],
            checked.source.commit
        );
    }
    let mut files = Vec::new();
    for name in wanted {
        let path = dir.join(name);
        let sha256 =
            hex(&sha256_file(&path).with_context(|| format!("cannot read {}", path.display()))?);
        if expected_sums.get(name) != Some(&sha256) {
            bail!(
                "{} has sha256 {sha256}, but the build job reported {}: the hand-over was \
                 tampered with or mixed up",
                path.display(),
                expected_sums.get(name).map_or("nothing", String::as_str)
            );
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
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = path.with_extension("partial");
    fs::write(&temporary, bytes)
        .and_then(|()| fs::rename(&temporary, path))
        .with_context(|| format!("cannot write {}", path.display()))
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
