//! The cargo-auditable `.dep-v0` section, with the exact crate set `cordon-sbom`
//! computes rather than cargo-auditable's own (which over-reports optional dependencies
//! enabled only through weak features).
//!
//! The section holds zlib-compressed JSON in cargo-auditable's `VersionInfo` schema
//! (`https://rustsec.org/schemas/cargo-auditable.json`): one package per crate linked into
//! the binary, sorted, each with its dependencies as indices, the binary's own package
//! marked `root`, and `format: 1` (proc-macros and build dependencies are not listed:
//! they are not linked in). It is added to the finished binary with `objcopy
//! --add-section`, before the binary is hashed, SBOM'd and signed, so every digest is of
//! the final file. The JSON has no timestamps or paths and compression is deterministic,
//! so the build stays reproducible.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use cordon_sbom::{CrateSource, Resolution};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use serde_json::{Value, json};

/// The section's JSON for binary `bin` of `resolution`.
pub(crate) fn version_info(resolution: &Resolution, bin: &str) -> Result<Value> {
    let binary = resolution
        .binaries
        .iter()
        .find(|binary| binary.bin == bin)
        .with_context(|| format!("the crate resolution has no binary {bin}"))?;
    // Global crate index -> index in this binary's package list.
    let local: BTreeMap<usize, usize> = binary
        .crates
        .iter()
        .enumerate()
        .map(|(position, global)| (*global, position))
        .collect();
    let mut packages = Vec::with_capacity(binary.crates.len());
    for global in &binary.crates {
        let krate = resolution
            .crates
            .get(*global)
            .with_context(|| format!("crate index {global} is out of range"))?;
        let source = match &krate.source {
            CrateSource::CratesIo => "crates.io",
            CrateSource::Registry { .. } => "registry",
            CrateSource::Git { .. } => "git",
            CrateSource::Path => "local",
        };
        let dependencies: Vec<usize> = krate
            .dependencies
            .iter()
            .filter_map(|dependency| local.get(dependency).copied())
            .collect();
        let mut package = json!({
            "name": krate.name,
            "version": krate.version,
            "source": source,
        });
        if !dependencies.is_empty() {
            package["dependencies"] = json!(dependencies);
        }
        if *global == binary.root {
            package["root"] = json!(true);
        }
        packages.push(package);
    }
    Ok(json!({ "format": 1, "packages": packages }))
}

/// zlib-compressed JSON, the section's bytes.
pub(crate) fn section_bytes(info: &Value) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(info)?;
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&json)?;
    Ok(encoder.finish()?)
}

/// Adds (or replaces) the `.dep-v0` section of `binary` in place.
pub(crate) fn embed(binary: &Path, section: &[u8], scratch: &Path) -> Result<()> {
    let file = scratch.join(format!(
        "{}.dep-v0",
        binary
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    std::fs::write(&file, section).with_context(|| format!("cannot write {}", file.display()))?;
    let output = Command::new("objcopy")
        .arg("--remove-section=.dep-v0")
        .arg(format!("--add-section=.dep-v0={}", file.display()))
        .args(["--set-section-flags", ".dep-v0=noload,readonly"])
        .arg(binary)
        .output()
        .context("cannot run objcopy (on Debian: apt-get install binutils)")?;
    if !output.status.success() {
        bail!(
            "objcopy could not add the .dep-v0 section to {}: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cordon_sbom::{BinaryCrates, Crate};
    use flate2::read::ZlibDecoder;
    use std::io::Read;

    fn resolution() -> Resolution {
        let krate = |name: &str, source, dependencies| Crate {
            name: name.into(),
            version: "1.0.0".into(),
            source,
            dependencies,
        };
        Resolution {
            target: "x86_64-unknown-linux-gnu".into(),
            crates: vec![
                krate("app", CrateSource::Path, vec![1, 2]),
                krate("dep", CrateSource::CratesIo, vec![2]),
                krate("leaf", CrateSource::CratesIo, vec![]),
                krate("other-bin-only", CrateSource::CratesIo, vec![]),
            ],
            binaries: vec![BinaryCrates {
                package: "app".into(),
                bin: "app".into(),
                root: 0,
                crates: vec![0, 1, 2],
            }],
        }
    }

    #[test]
    fn lists_the_binary_crates_with_local_indices() {
        let info = version_info(&resolution(), "app").unwrap();
        assert_eq!(
            info,
            json!({"format": 1, "packages": [
                {"name": "app", "version": "1.0.0", "source": "local", "dependencies": [1, 2], "root": true},
                {"name": "dep", "version": "1.0.0", "source": "crates.io", "dependencies": [2]},
                {"name": "leaf", "version": "1.0.0", "source": "crates.io"},
            ]})
        );
        assert!(version_info(&resolution(), "nope").is_err());
    }

    #[test]
    fn the_section_is_deterministic_zlib() {
        let info = version_info(&resolution(), "app").unwrap();
        let bytes = section_bytes(&info).unwrap();
        assert_eq!(bytes, section_bytes(&info).unwrap());
        let mut text = String::new();
        ZlibDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), info);
    }
}
