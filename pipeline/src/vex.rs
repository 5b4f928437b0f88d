//! The VEX document a release carries: the `vex` key of `[workspace.metadata.cordon]`
//! (a path in the repository) or [`crate::Config::vex`], checked in the `check` stage
//! before anything is built — it parses as OpenVEX or CycloneDX VEX, every statement's
//! products name crates of the release (`pkg:cargo/NAME[@VERSION]`) and every
//! vulnerability id is well-formed (`cordon_audit::Vex::problems`) — then shipped
//! unchanged as `<product>-<version>.vex.json` (kind `vex` in `manifest.json`), listed in
//! `SHA256SUMS` and signed like the SBOMs.

use std::path::{Component, Path, PathBuf};

use cordon_audit::{CrateVersion, Vex};
use cordon_format::CrateRecord;
use serde_json::Value;

use crate::error::{ErrorKind, io};
use crate::model::ShippedVex;

/// The largest VEX document shipped (the verifier reads at most this much JSON too).
const MAX_VEX_BYTES: u64 = 16 * 1024 * 1024;

/// Reads the table's `vex` value: a file inside the workspace, relative to `root`.
pub(crate) fn setting(
    manifest: &Path,
    root: &Path,
    value: Option<&Value>,
) -> Result<Option<PathBuf>, ErrorKind> {
    let config_error = |problem: String| ErrorKind::Config {
        file: manifest.to_owned(),
        key: "vex".to_owned(),
        problem,
    };
    let relative = match value {
        None => return Ok(None),
        Some(Value::String(text)) if !text.trim().is_empty() => PathBuf::from(text),
        Some(_) => {
            return Err(config_error(
                "must be a non-empty string: the path of an OpenVEX or CycloneDX VEX JSON \
                 document in the repository"
                    .to_owned(),
            ));
        }
    };
    if relative.is_absolute()
        || relative
            .components()
            .any(|part| matches!(part, Component::ParentDir))
    {
        return Err(config_error(format!(
            "{:?} must be a path inside the workspace, relative to it (the VEX document is \
             part of the source the release is built from)",
            relative.display().to_string()
        )));
    }
    if !root.join(&relative).is_file() {
        return Err(config_error(format!(
            "{} is not a file",
            root.join(&relative).display()
        )));
    }
    Ok(Some(relative))
}

/// Reads and checks the VEX document at `path` against the release's `crates`; the
/// document ships as `file_name`.
pub(crate) fn check(
    path: &Path,
    file_name: String,
    crates: &[CrateRecord],
) -> Result<ShippedVex, ErrorKind> {
    let unfit = |problems: Vec<String>| ErrorKind::Vex {
        file: path.to_owned(),
        problems,
    };
    let size = std::fs::metadata(path).map_err(io("read", path))?.len();
    if size > MAX_VEX_BYTES {
        return Err(unfit(vec![format!(
            "{size} bytes; a VEX document may have at most {MAX_VEX_BYTES}"
        )]));
    }
    let bytes = std::fs::read(path).map_err(io("read", path))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| unfit(vec!["not UTF-8 text (JSON is UTF-8)".to_owned()]))?;
    let document = Vex::parse(path, text).map_err(|error| unfit(vec![error.to_string()]))?;
    let versions: Vec<CrateVersion> = crates
        .iter()
        .map(|record| CrateVersion::new(&record.name, &record.version))
        .collect();
    let problems = document.problems(&versions);
    if !problems.is_empty() {
        return Err(unfit(problems.iter().map(ToString::to_string).collect()));
    }
    Ok(ShippedVex {
        file_name,
        source: path.to_owned(),
        bytes,
        document,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(name: &str, version: &str) -> CrateRecord {
        CrateRecord {
            name: name.into(),
            version: version.into(),
            source: None,
            binaries: vec!["app".into()],
        }
    }

    #[test]
    fn the_key_is_a_file_in_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(dir.path().join("vex.json"), "{}").unwrap();
        assert_eq!(
            setting(&manifest, dir.path(), Some(&json!("vex.json"))).unwrap(),
            Some(PathBuf::from("vex.json"))
        );
        assert_eq!(setting(&manifest, dir.path(), None).unwrap(), None);
        for (value, expected) in [
            (
                json!("../vex.json"),
                "vex: \"../vex.json\" must be a path inside",
            ),
            (
                json!("/etc/vex.json"),
                "must be a path inside the workspace",
            ),
            (json!("missing.json"), "missing.json is not a file"),
            (json!(3), "vex: must be a non-empty string"),
        ] {
            let message = setting(&manifest, dir.path(), Some(&value))
                .unwrap_err()
                .to_string();
            assert!(
                message.contains(expected) && message.contains("Cargo.toml"),
                "{value}: {message}"
            );
        }
    }

    #[test]
    fn every_problem_names_the_file_and_the_statement() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("security/app.openvex.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let crates = [record("app", "1.0.0"), record("dep", "0.3.0")];
        let statement = |id: &str, product: &str| {
            json!({"vulnerability": {"name": id}, "products": [{"@id": product}],
                "status": "not_affected", "justification": "component_not_present"})
        };
        let write = |statements: Vec<Value>| {
            std::fs::write(
                &path,
                json!({"@context": "https://openvex.dev/ns/v0.2.0", "statements": statements})
                    .to_string(),
            )
            .unwrap();
        };
        write(vec![
            statement("RUSTSEC-2099-0001", "pkg:cargo/dep"),
            statement("GHSA-xq3w-v528-46rv", "pkg:cargo/app@1.0.0?bin=app"),
        ]);
        let shipped = check(&path, "p-1.0.0.vex.json".into(), &crates).unwrap();
        assert_eq!(shipped.document.statements.len(), 2);
        assert_eq!(shipped.bytes, std::fs::read(&path).unwrap());

        write(vec![
            statement("RUSTSEC-2099-0001", "pkg:cargo/dep"),
            statement("CVE-1", "pkg:cargo/other@1.0.0"),
        ]);
        let message = check(&path, "x".into(), &crates).unwrap_err().to_string();
        assert!(
            message.contains("security/app.openvex.json")
                && message.contains("statements[1]: vulnerability id \"CVE-1\" is not well-formed")
                && message.contains("statements[1]: product \"pkg:cargo/other@1.0.0\" names crate `other`, which is not in the release"),
            "{message}"
        );
        std::fs::write(&path, "{\"statements\": [").unwrap();
        let message = check(&path, "x".into(), &crates).unwrap_err().to_string();
        assert!(message.contains("not JSON"), "{message}");
    }
}
