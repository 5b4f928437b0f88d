//! Checks on the SBOMs: accuracy against the build's own unit list, the official
//! validators, and determinism. Used by the `sbom` stage of `cargo xtask test` and by
//! `cargo xtask sbom-accuracy`, which also scores other generators' documents.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use cargo_metadata::MetadataCommand;
use cordon_format::toolchain;
use cordon_sbom::{Binary, Build, Format, Options};
use serde_json::Value;

use crate::sbom::{Artifact, artifact_row, build_binary, checked_units, write_atomically};
use crate::{conformance, run, sbom_fixtures, tools};

/// `(name, version)` of a crate.
type Key = (String, String);

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The workspace manifest (default: this workspace's).
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// The package whose binary to measure.
    #[arg(long, short = 'p')]
    package: String,
    /// The binary (default: the package's only one).
    #[arg(long)]
    bin: Option<String>,
    /// Target triple (default: the host). The truth build always passes `--target`, so
    /// that host-only units (build scripts and their dependencies) are told apart.
    #[arg(long)]
    target: Option<String>,
    /// Features, as for cargo.
    #[arg(long, short = 'F')]
    features: Vec<String>,
    /// Do not enable the default features.
    #[arg(long)]
    no_default_features: bool,
    /// Read the unit list from this saved `cargo build --message-format=json --target T`
    /// output instead of building.
    #[arg(long, value_name = "FILE")]
    units: Option<PathBuf>,
    /// With --units: the binary that build produced, so that cordon's document (not only
    /// its resolution) is scored.
    #[arg(long, value_name = "PATH", requires = "units")]
    binary: Option<PathBuf>,
    /// Also score these SBOM files (CycloneDX or SPDX JSON) from other generators.
    #[arg(long, value_name = "FILE")]
    compare: Vec<PathBuf>,
}

/// Precision and recall of `found` against `truth`, with what differs.
#[derive(Debug)]
pub(crate) struct Score {
    pub(crate) precision: f64,
    pub(crate) recall: f64,
    pub(crate) extra: Vec<Key>,
    pub(crate) missing: Vec<Key>,
    pub(crate) found: usize,
    pub(crate) truth: usize,
}

pub(crate) fn score(found: &BTreeSet<Key>, truth: &BTreeSet<Key>) -> Score {
    let right = found.intersection(truth).count();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Score {
        precision: ratio(right, found.len()),
        recall: ratio(right, truth.len()),
        extra: found.difference(truth).cloned().collect(),
        missing: truth.difference(found).cloned().collect(),
        found: found.len(),
        truth: truth.len(),
    }
}

/// The crates a build really compiles and links for `target`: every compiler artifact of
/// its `cargo build` (or `cargo check`: the same units) written under
/// `<target dir>/<target>/` except build scripts and proc-macros (which run on the host).
pub(crate) fn unit_set(
    artifacts: &[Artifact],
    manifest: &Path,
    target: &str,
) -> Result<BTreeSet<Key>> {
    let metadata = MetadataCommand::new()
        .manifest_path(manifest)
        // Every feature: `packages` lists only the dependencies enabled by the features
        // asked for, and the build may have enabled optional ones (`-F pcre2`).
        .features(cargo_metadata::CargoOpt::AllFeatures)
        .other_options(vec!["--locked".to_owned()])
        .exec()
        .with_context(|| format!("cargo metadata failed for {}", manifest.display()))?;
    let target_dir = metadata.target_directory.as_std_path().join(target);
    let packages: BTreeMap<&str, Key> = metadata
        .packages
        .iter()
        .map(|p| {
            (
                p.id.repr.as_str(),
                (p.name.to_string(), p.version.to_string()),
            )
        })
        .collect();
    let mut set = BTreeSet::new();
    for (id, kinds, files) in artifacts {
        if kinds
            .iter()
            .any(|k| k == "custom-build" || k == "proc-macro")
        {
            continue;
        }
        if files.is_empty() || !files.iter().all(|f| f.starts_with(&target_dir)) {
            continue;
        }
        let key = packages.get(id.as_str()).with_context(|| {
            format!("the build reported package {id}, unknown to cargo metadata")
        })?;
        set.insert(key.clone());
    }
    Ok(set)
}

/// `(name, version)` of every component or package an SBOM lists as part of the product
/// (CycloneDX `scope: excluded` components and the toolchain's components of
/// [`cordon_format::toolchain`] are skipped), from its purl when it has one
/// (percent-decoded), else its name and version fields.
pub(crate) fn document_set(path: &Path) -> Result<BTreeSet<Key>> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let mut set = BTreeSet::new();
    if json.get("bomFormat").is_some() {
        let mut stack: Vec<&Value> = Vec::new();
        if let Some(component) = json.pointer("/metadata/component") {
            stack.push(component);
        }
        if let Some(components) = json.get("components").and_then(Value::as_array) {
            stack.extend(components);
        }
        while let Some(component) = stack.pop() {
            if let Some(children) = component.get("components").and_then(Value::as_array) {
                stack.extend(children);
            }
            // A component the document itself marks as not part of the product (cargo-
            // cyclonedx's build dependencies) does not count against its precision, nor
            // does the toolchain cordon-sbom describes (exactly its marked components).
            if component.get("scope").and_then(Value::as_str) == Some("excluded")
                || toolchain::in_cyclonedx(component).is_some()
            {
                continue;
            }
            if let Some(key) = key_of(component.get("purl"), component, "name", "version") {
                set.insert(key);
            }
        }
    } else if json.get("spdxVersion").is_some() {
        for package in json
            .get("packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if toolchain::in_spdx2(package).is_some() {
                continue;
            }
            let purl = package
                .get("externalRefs")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|r| r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                .and_then(|r| r.get("referenceLocator"));
            if let Some(key) = key_of(purl, package, "name", "versionInfo") {
                set.insert(key);
            }
        }
    } else {
        bail!("{} is neither CycloneDX nor SPDX JSON", path.display());
    }
    Ok(set)
}

fn key_of(purl: Option<&Value>, item: &Value, name: &str, version: &str) -> Option<Key> {
    if let Some(purl) = purl
        .and_then(Value::as_str)
        .and_then(|p| p.strip_prefix("pkg:cargo/"))
    {
        let purl = purl.split(['?', '#']).next().unwrap_or(purl);
        if let Some((name, version)) = purl.rsplit_once('@') {
            return Some((decode(name), decode(version)));
        }
    }
    Some((
        item.get(name)?.as_str()?.to_owned(),
        item.get(version)?.as_str()?.to_owned(),
    ))
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(value) = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(value);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn print_score(label: &str, score: &Score) {
    eprintln!(
        "  {label:<28} precision {:.3} recall {:.3} ({} listed, {} in the build)",
        score.precision, score.recall, score.found, score.truth
    );
    for (name, version) in score.extra.iter().take(40) {
        eprintln!("      not in the binary: {name} {version}");
    }
    for (name, version) in score.missing.iter().take(40) {
        eprintln!("      missing:           {name} {version}");
    }
}

/// `cargo xtask sbom-accuracy`.
pub(crate) fn accuracy(root: &Path, args: &Args) -> Result<()> {
    let manifest = args
        .manifest_path
        .clone()
        .unwrap_or_else(|| root.join("Cargo.toml"));
    let mut build = Build {
        manifest_path: manifest.clone(),
        binaries: vec![Binary {
            package: args.package.clone(),
            bin: args.bin.clone().unwrap_or_default(),
        }],
        target: args.target.clone(),
        features: args.features.clone(),
        no_default_features: args.no_default_features,
    };
    let resolution = cordon_sbom::resolve(&build)?;
    build.target = Some(resolution.target.clone());
    let (artifacts, executable) = match &args.units {
        Some(file) => (read_units(file)?, args.binary.clone()),
        None => {
            let built = build_binary(&build, &[])?;
            (built.artifacts, Some(built.executable))
        }
    };
    let truth = unit_set(&artifacts, &manifest, &resolution.target)?;
    eprintln!(
        "sbom-accuracy: {} (target {}): {} crates in the build's unit list",
        args.package,
        resolution.target,
        truth.len()
    );
    if let Some(executable) = executable {
        let out = std::env::temp_dir().join(format!(
            "cordon-sbom-accuracy-{}.cdx.json",
            std::process::id()
        ));
        let bytes = cordon_sbom::document(
            &build,
            &[executable],
            Format::CycloneDx16,
            &Options::default(),
        )?;
        write_atomically(&out, &bytes)?;
        print_score("cordon-sbom", &score(&document_set(&out)?, &truth));
        let _ = fs::remove_file(&out);
    } else {
        let binary = &resolution.binaries[0];
        let found: BTreeSet<Key> = binary
            .crates
            .iter()
            .map(|&i| {
                (
                    resolution.crates[i].name.clone(),
                    resolution.crates[i].version.clone(),
                )
            })
            .collect();
        print_score("cordon-sbom (resolution)", &score(&found, &truth));
    }
    for file in &args.compare {
        print_score(
            &file.display().to_string(),
            &score(&document_set(file)?, &truth),
        );
    }
    Ok(())
}

fn read_units(path: &Path) -> Result<Vec<Artifact>> {
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut artifacts = Vec::new();
    for message in cargo_metadata::Message::parse_stream(std::io::BufReader::new(file)) {
        if let cargo_metadata::Message::CompilerArtifact(artifact) =
            message.with_context(|| format!("cannot read {}", path.display()))?
        {
            artifacts.push(artifact_row(&artifact));
        }
    }
    Ok(artifacts)
}

/// The `sbom` stage of `cargo xtask test`.
pub(crate) fn stage(root: &Path) -> Result<()> {
    let manifest = root.join("Cargo.toml");
    let out = root.join("target/xtask/sbom-check");
    fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let shipped = [("cordon-cli", "cordon"), ("cordon-verify", "cordon-verify")];

    // 1. Accuracy: precision and recall 1.0 against the build's own unit list.
    let mut executables = Vec::new();
    let mut failures = Vec::new();
    let mut target = String::new();
    for (package, bin) in shipped {
        let mut build = single(&manifest, package, bin);
        let resolution = cordon_sbom::resolve(&build)?;
        target.clone_from(&resolution.target);
        // The documents describe the debug binary the end-to-end tests build (no
        // `--target`: current after the `tests` stage); the truth is `cargo check
        // --target`, whose unit list tells host-only units apart.
        let executable = build_binary(&build, &[])?.executable;
        build.target = Some(resolution.target.clone());
        let truth = unit_set(&checked_units(&build, &[])?, &manifest, &resolution.target)?;
        let file = out.join(format!("{bin}.cdx.json"));
        let bytes = cordon_sbom::document(
            &build,
            std::slice::from_ref(&executable),
            Format::CycloneDx16,
            &Options::default(),
        )?;
        write_atomically(&file, &bytes)?;
        let result = score(&document_set(&file)?, &truth);
        print_score(bin, &result);
        if result.precision < 1.0 || result.recall < 1.0 {
            failures.push(bin);
        }
        executables.push(executable);
    }
    if !failures.is_empty() {
        bail!(
            "the SBOM of {} does not match the build's unit list",
            failures.join(", ")
        );
    }

    // 2. Every format, single and multi-binary, through the official validators; each
    //    written twice by separate `cargo xtask sbom`-equivalent runs and compared.
    let release = Build {
        manifest_path: manifest,
        binaries: shipped
            .iter()
            .map(|(package, bin)| Binary {
                package: (*package).to_owned(),
                bin: (*bin).to_owned(),
            })
            .collect(),
        target: Some(target),
        features: Vec::new(),
        no_default_features: false,
    };
    let xtask = std::env::current_exe().context("cannot find the xtask executable")?;
    let mut by_format: BTreeMap<Format, Vec<PathBuf>> = BTreeMap::new();
    for format in Format::ALL {
        let release_file = out.join(format!("release.{}.json", format.name()));
        let options = Options {
            release_name: Some("cordon".to_owned()),
            // An archive beside the binaries, as the release describes its .tar.gz.
            archives: vec![cordon_sbom::Archive {
                file_name: "cordon-0.0.0-target.tar.gz".to_owned(),
                sha256: "ab".repeat(32),
                sha512: "cd".repeat(64),
                binaries: vec!["cordon".to_owned(), "cordon-verify".to_owned()],
            }],
            ..Options::default()
        };
        let bytes = cordon_sbom::document(&release, &executables, format, &options)?;
        write_atomically(&release_file, &bytes)?;
        let single_file = out.join(format!("cordon.{}.json", format.name()));
        let again = out.join(format!("cordon.again.{}.json", format.name()));
        for file in [&single_file, &again] {
            run::status(
                run::command(&xtask, root)
                    .args(["sbom", "--package", "cordon-cli", "--bin", "cordon"])
                    .args(["--format", format.name(), "--binary"])
                    .arg(&executables[0])
                    .arg("--out")
                    .arg(file),
            )?;
        }
        run::status(run::command("cmp", root).arg(&single_file).arg(&again))
            .with_context(|| format!("two runs wrote different {} documents", format.name()))?;
        by_format
            .entry(format)
            .or_default()
            .extend([release_file, single_file]);
    }

    // 3. The same validators on a workspace with awkward metadata (authors with URLs,
    //    LicenseRef and free-text licences, build metadata in versions, underscores,
    //    malformed URLs, a git dependency).
    let fixture = sbom_fixtures::awkward_workspace(&out.join("awkward"))?;
    let awkward = Build {
        manifest_path: fixture.join("Cargo.toml"),
        binaries: vec![Binary {
            package: "awk_app".to_owned(),
            bin: String::new(),
        }],
        target: None,
        features: Vec::new(),
        no_default_features: false,
    };
    let fake_binary = fixture.join("awk_app/src/main.rs");
    for format in Format::ALL {
        let file = out.join(format!("awkward.{}.json", format.name()));
        let bytes = cordon_sbom::document(
            &awkward,
            std::slice::from_ref(&fake_binary),
            format,
            &Options {
                timestamp: Some(0),
                ..Options::default()
            },
        )?;
        write_atomically(&file, &bytes)?;
        by_format.entry(format).or_default().push(file);
    }

    let python = tools::python_bin(root)?;
    let script = root.join("xtask/tools/validate-cyclonedx.py");
    for (format, files) in &by_format {
        match format {
            Format::CycloneDx15 | Format::CycloneDx16 => {
                let version = if *format == Format::CycloneDx15 {
                    "1.5"
                } else {
                    "1.6"
                };
                run::status(
                    run::command(python.join("python"), root)
                        .arg(&script)
                        .arg(version)
                        .args(files),
                )
                .with_context(|| format!("{} documents fail the official schema", format.name()))?;
            }
            Format::Spdx301 => {
                run::status(
                    run::command(python.join("python"), root)
                        .arg(root.join("xtask/tools/validate-spdx3.py"))
                        .args(files),
                )
                .context("spdx-python-model rejects an SPDX 3.0.1 document")?;
            }
            Format::Spdx23 => {
                for file in files {
                    run::status(
                        run::command(python.join("pyspdxtools"), root)
                            .args(["--version", "SPDX-2.3", "-i"])
                            .arg(file),
                    )
                    .with_context(|| format!("pyspdxtools rejects {}", file.display()))?;
                    eprintln!("{}: valid SPDX 2.3", file.display());
                }
            }
        }
    }

    // 4. Conformance (NTIA, CISA FSCT3, BSI TR-03183-2) of the SPDX documents: the
    //    release documents (with an archive), the single-binary ones, and a third-party
    //    workspace's made of registry crates.
    let third_party = sbom_fixtures::third_party_workspace(&out.join("third-party"))?;
    let mut spdx_files: Vec<PathBuf> = Vec::new();
    for format in [Format::Spdx23, Format::Spdx301] {
        let file = out.join(format!("third-party.{}.json", format.name()));
        let bytes = cordon_sbom::document(
            &single(&third_party.join("Cargo.toml"), "thirdparty-app", ""),
            &[third_party.join("src/main.rs")],
            format,
            &Options {
                timestamp: Some(0),
                ..Options::default()
            },
        )?;
        write_atomically(&file, &bytes)?;
        spdx_files.push(file);
    }
    run::status(
        run::command(python.join("python"), root)
            .arg(root.join("xtask/tools/validate-spdx3.py"))
            .arg(&spdx_files[1]),
    )?;
    let (release_docs, others): (Vec<PathBuf>, Vec<PathBuf>) = [Format::Spdx23, Format::Spdx301]
        .iter()
        .flat_map(|format| by_format.get(format).cloned().unwrap_or_default())
        .partition(|file| {
            file.file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with("release."))
        });
    conformance::check(root, "release documents of cordon", &release_docs, true)?;
    // The awkward workspace's crates lack authors and repositories on purpose (no
    // supplier rule applies to its local git dependency): it is checked for validity
    // above, not for conformance.
    spdx_files.extend(others.into_iter().filter(|file| {
        !file
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with("awkward."))
    }));
    conformance::check(
        root,
        "single binaries and a third-party workspace",
        &spdx_files,
        false,
    )?;

    // Last: a real crates.io crate released through cordon-dist (src/third_party.rs);
    // its sources are fetched here, the release and its check run offline.
    crate::third_party::fetch(root)?;
    crate::third_party::check(root)
}

fn single(manifest: &Path, package: &str, bin: &str) -> Build {
    Build {
        manifest_path: manifest.to_path_buf(),
        binaries: vec![Binary {
            package: package.to_owned(),
            bin: bin.to_owned(),
        }],
        target: None,
        features: Vec::new(),
        no_default_features: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[(&str, &str)]) -> BTreeSet<Key> {
        items
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn scores_precision_and_recall() {
        let truth = set(&[("a", "1"), ("b", "1"), ("c", "1"), ("d", "1")]);
        let found = set(&[("a", "1"), ("b", "1"), ("x", "1")]);
        let result = score(&found, &truth);
        assert!((result.precision - 2.0 / 3.0).abs() < 1e-9);
        assert!((result.recall - 0.5).abs() < 1e-9);
        assert_eq!(result.extra, vec![("x".to_owned(), "1".to_owned())]);
        assert_eq!(result.missing.len(), 2);
    }

    #[test]
    fn decodes_purls() {
        assert_eq!(decode("1.0.0-rc.1%2Bbuild"), "1.0.0-rc.1+build");
        let purl = Value::String("pkg:cargo/a-b@1.0.0?repository_url=x".into());
        assert_eq!(
            key_of(Some(&purl), &Value::Null, "name", "version"),
            Some(("a-b".to_owned(), "1.0.0".to_owned()))
        );
    }

    #[test]
    fn only_the_marked_toolchain_is_left_out_of_the_score() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.spdx.json");
        let package = |name: &str, marker: bool| {
            let mut references = vec![serde_json::json!({"referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl", "referenceLocator": format!("pkg:generic/{name}@1.95.0")})];
            if marker {
                references.push(serde_json::json!({"referenceCategory": "OTHER",
                    "referenceType": "cordon:toolchain", "referenceLocator": name}));
            }
            serde_json::json!({"name": name, "versionInfo": "1.95.0", "externalRefs": references})
        };
        let document = serde_json::json!({"spdxVersion": "SPDX-2.3",
            "packages": [package("std", true), package("rustc", true), package("rustc", false)]});
        fs::write(&path, document.to_string()).unwrap();
        // The unmarked `pkg:generic/rustc` counts (against precision); the marked two do not.
        assert_eq!(document_set(&path).unwrap(), set(&[("rustc", "1.95.0")]));
    }
}
