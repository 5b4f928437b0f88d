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

use cordon_sbom::{CrateSource, Resolution};
use flate2::Compression;
use flate2::write::ZlibEncoder;
use serde_json::{Value, json};

use crate::error::{ErrorKind, Fix, io};

/// The section's JSON for binary `bin` of `resolution`.
pub(crate) fn version_info(resolution: &Resolution, bin: &str) -> Result<Value, ErrorKind> {
    let internal = |problem: String| ErrorKind::Command {
        command: "cordon_sbom::resolve".to_owned(),
        problem,
        fix: None,
    };
    let binary = resolution
        .binaries
        .iter()
        .find(|binary| binary.bin == bin)
        .ok_or_else(|| internal(format!("the crate resolution has no binary {bin}")))?;
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
            .ok_or_else(|| internal(format!("crate index {global} is out of range")))?;
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
pub(crate) fn section_bytes(info: &Value) -> Vec<u8> {
    let json = info.to_string().into_bytes();
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    // Compressing into a Vec cannot fail.
    let _ = encoder.write_all(&json);
    encoder.finish().unwrap_or_default()
}

/// Adds (or replaces) the `.dep-v0` section of `binary` in place.
pub(crate) fn embed(binary: &Path, section: &[u8], scratch: &Path) -> Result<(), ErrorKind> {
    let file = scratch.join(format!(
        "{}.dep-v0",
        binary
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    std::fs::write(&file, section).map_err(io("write", &file))?;
    let failed = |problem: String, fix| ErrorKind::Command {
        command: format!("objcopy --add-section=.dep-v0 {}", binary.display()),
        problem,
        fix,
    };
    let output = Command::new("objcopy")
        .arg("--remove-section=.dep-v0")
        .arg(format!("--add-section=.dep-v0={}", file.display()))
        .args(["--set-section-flags", ".dep-v0=noload,readonly"])
        .arg(binary)
        .output()
        .map_err(|error| {
            failed(
                format!("cannot start objcopy: {error}"),
                Some(Fix::InstallObjcopy),
            )
        })?;
    if !output.status.success() {
        return Err(failed(
            format!(
                "could not add the section: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            None,
        ));
    }
    std::fs::remove_file(&file).map_err(io("remove", &file))
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
        let bytes = section_bytes(&info);
        assert_eq!(bytes, section_bytes(&info));
        let mut text = String::new();
        ZlibDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), info);
    }
}
