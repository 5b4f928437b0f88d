//! The publish stage: SBOM documents, signatures and the release directory itself.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cordon_release::crates::CrateRecord;
use cordon_release::manifest::{
    FileKind, MANIFEST_FILE, MANIFEST_SCHEMA, Manifest, ManifestFile, ManifestSource,
};
use cordon_release::output::StagedDir;
use cordon_release::provenance::Statement;
use cordon_release::sign::Signer;
use cordon_sbom::{Binary, Build, CrateSource, Format};

use super::Workspace;
use super::pipeline::{Built, Checked, Options, PRODUCT};
use super::source::hex;

/// What the publish stage writes besides the binaries.
pub(super) struct Content<'a> {
    pub(super) crate_set: &'a [CrateRecord],
    pub(super) sboms: &'a [(String, Vec<u8>)],
    pub(super) statement: &'a Statement,
    pub(super) notes: &'a str,
    pub(super) signer: &'a Signer,
    pub(super) trust_dir: &'a Path,
}

/// The release directory, in a staging directory renamed into place at the end. Order:
/// the binaries, SBOMs, DSSE provenance bundle, notes and trusted root; a Sigstore
/// bundle for each of those (the provenance is a bundle already); `manifest.json`
/// indexing all of it, and its bundle; `SHA256SUMS` over everything, and its bundle.
pub(super) fn publish(
    options: &Options,
    checked: &Checked,
    built: &Built,
    content: &Content<'_>,
) -> Result<PathBuf> {
    let version = &checked.workspace.version;
    let mut staged = StagedDir::create(&options.dist, version)
        .with_context(|| format!("cannot stage a release in {}", options.dist.display()))?;
    let mut index = Index::default();
    let mut to_sign: Vec<(String, Vec<u8>)> = Vec::new();
    let shipped_names: Vec<String> = built.files.iter().map(|file| file.name.clone()).collect();
    for file in &built.files {
        staged
            .copy_file(&file.name, &file.path, true)
            .with_context(|| format!("cannot copy the built {}", file.name))?;
        index.add(&staged, &file.name, FileKind::Binary, Vec::new())?;
        let bytes =
            fs::read(&file.path).with_context(|| format!("cannot read {}", file.path.display()))?;
        to_sign.push((file.name.clone(), bytes));
    }
    for (name, bytes) in content.sboms {
        staged.write_file(name, bytes)?;
        index.add(&staged, name, FileKind::Sbom, shipped_names.clone())?;
        to_sign.push((name.clone(), bytes.clone()));
    }

    let statement_json = serde_json::to_vec(content.statement)?;
    let bundle = content
        .signer
        .sign_in_toto(&statement_json)
        .context("cannot sign the provenance")?;
    let provenance_name = format!("{PRODUCT}-{version}.intoto.jsonl");
    staged.write_file(&provenance_name, &json_line(&bundle)?)?;
    index.add(
        &staged,
        &provenance_name,
        FileKind::Provenance,
        shipped_names,
    )?;

    let notes_name = "RELEASE-NOTES.md";
    staged.write_file(notes_name, content.notes.as_bytes())?;
    index.add(&staged, notes_name, FileKind::Notes, Vec::new())?;
    to_sign.push((notes_name.to_owned(), content.notes.as_bytes().to_vec()));

    let root_path = content.trust_dir.join("trusted_root.json");
    let trusted_root =
        fs::read(&root_path).with_context(|| format!("cannot read {}", root_path.display()))?;
    staged.write_file("trusted_root.json", &trusted_root)?;
    index.add(
        &staged,
        "trusted_root.json",
        FileKind::TrustedRoot,
        Vec::new(),
    )?;
    to_sign.push(("trusted_root.json".to_owned(), trusted_root));

    // The root-signed copy: what a distributor who pinned only the root fingerprint
    // checks (`cordon-verify release DIR --pinned-root ...`). It carries its own
    // signature (the root key's), so it gets no Sigstore bundle.
    let signed_root_name = "trusted_root.dsse.json";
    let signed_root_path = content.trust_dir.join(signed_root_name);
    let signed_root = fs::read(&signed_root_path)
        .with_context(|| format!("cannot read {}", signed_root_path.display()))?;
    staged.write_file(signed_root_name, &signed_root)?;
    index.add(&staged, signed_root_name, FileKind::TrustedRoot, Vec::new())?;

    for (name, bytes) in &to_sign {
        sign_into(&mut staged, &mut index, content.signer, name, bytes)?;
    }

    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        name: PRODUCT.to_owned(),
        version: version.clone(),
        source: ManifestSource {
            repository: checked.source.repository.clone(),
            git_ref: checked.source.git_ref.clone(),
            commit: checked.source.commit.clone(),
            dirty: !checked.source.dirty_files.is_empty(),
            source_date_epoch: checked.source.commit_time,
        },
        files: index.files.clone(),
        crates: content.crate_set.to_vec(),
    };
    let manifest_json = manifest.to_json();
    staged.write_file(MANIFEST_FILE, &manifest_json)?;
    sign_into(
        &mut staged,
        &mut index,
        content.signer,
        MANIFEST_FILE,
        &manifest_json,
    )?;
    let sums = staged.checksums().render();
    staged.write_file("SHA256SUMS", sums.as_bytes())?;
    sign_into(
        &mut staged,
        &mut index,
        content.signer,
        "SHA256SUMS",
        sums.as_bytes(),
    )?;
    Ok(staged.publish(options.force)?)
}

/// Writes `<name>.sigstore.json`, the Sigstore bundle of `bytes`.
fn sign_into(
    staged: &mut StagedDir,
    index: &mut Index,
    signer: &Signer,
    name: &str,
    bytes: &[u8],
) -> Result<()> {
    let bundle = signer
        .sign_blob_bytes(bytes)
        .with_context(|| format!("cannot sign {name}"))?;
    let bundle_name = format!("{name}.sigstore.json");
    staged.write_file(&bundle_name, bundle.as_bytes())?;
    index.add(
        staged,
        &bundle_name,
        FileKind::Signature,
        vec![name.to_owned()],
    )
}

/// A JSON document as one line (JSON Lines), newline-terminated.
fn json_line(text: &str) -> Result<Vec<u8>> {
    let value: serde_json::Value =
        serde_json::from_str(text).context("the signer returned invalid JSON")?;
    let mut line = serde_json::to_vec(&value)?;
    line.push(b'\n');
    Ok(line)
}

/// The `cordon-sbom` description of the release build: every shipped binary, built
/// together, for the host, default features.
pub(crate) fn sbom_build(root: &Path, workspace: &Workspace) -> Build {
    Build {
        manifest_path: root.join("Cargo.toml"),
        binaries: workspace
            .shipped
            .iter()
            .map(|binary| Binary {
                package: binary.package.clone(),
                bin: binary.bin.clone(),
            })
            .collect(),
        target: None,
        features: Vec::new(),
        no_default_features: false,
    }
}

/// The exact crates of every shipped binary (`cordon-sbom`), as the manifest records them.
pub(super) fn crate_set(build: &Build) -> Result<Vec<CrateRecord>> {
    let resolution = cordon_sbom::resolve(build)?;
    let mut records: Vec<CrateRecord> = resolution
        .crates
        .iter()
        .enumerate()
        .map(|(index, krate)| CrateRecord {
            name: krate.name.clone(),
            version: krate.version.clone(),
            source: match &krate.source {
                CrateSource::CratesIo => Some("crates.io".to_owned()),
                CrateSource::Registry { url } => Some(url.clone()),
                CrateSource::Git { url, rev } => Some(format!("git+{url}#{rev}")),
                CrateSource::Path => None,
            },
            binaries: resolution
                .binaries
                .iter()
                .filter(|binary| binary.crates.contains(&index))
                .map(|binary| binary.bin.clone())
                .collect(),
        })
        .collect();
    records.sort();
    Ok(records)
}

/// `cordon-<version>.cdx.json` (CycloneDX 1.5), `cordon-<version>.v1_6.cdx.json` (1.6) and
/// `cordon-<version>.spdx.json` (SPDX 2.3) of the final binaries.
pub(super) fn sboms(
    build: &Build,
    checked: &Checked,
    built: &Built,
) -> Result<Vec<(String, Vec<u8>)>> {
    let version = &checked.workspace.version;
    let paths: Vec<PathBuf> = checked
        .workspace
        .shipped
        .iter()
        .map(|binary| {
            built
                .files
                .iter()
                .find(|file| file.name == binary.bin)
                .map(|file| file.path.clone())
                .with_context(|| format!("{} was not built", binary.bin))
        })
        .collect::<Result<_>>()?;
    let options = cordon_sbom::Options {
        release_name: Some(PRODUCT.to_owned()),
        release_version: Some(version.clone()),
        timestamp: Some(checked.source.commit_time),
    };
    [
        (format!("{PRODUCT}-{version}.cdx.json"), Format::CycloneDx15),
        (
            format!("{PRODUCT}-{version}.v1_6.cdx.json"),
            Format::CycloneDx16,
        ),
        (format!("{PRODUCT}-{version}.spdx.json"), Format::Spdx23),
    ]
    .into_iter()
    .map(|(name, format)| {
        let bytes = cordon_sbom::document(build, &paths, format, &options)
            .with_context(|| format!("cannot write the {} SBOM", format.name()))?;
        Ok((name, bytes))
    })
    .collect()
}

/// The files written so far, for `manifest.json`.
#[derive(Debug, Default, Clone)]
struct Index {
    files: Vec<ManifestFile>,
}

impl Index {
    fn add(
        &mut self,
        staged: &StagedDir,
        name: &str,
        kind: FileKind,
        describes: Vec<String>,
    ) -> Result<()> {
        let digest = staged
            .checksums()
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, digest)| hex(digest))
            .with_context(|| format!("{name} was not written"))?;
        let size = staged.file_size(name)?;
        self.files.push(ManifestFile {
            name: name.to_owned(),
            sha256: digest,
            size,
            kind,
            describes,
        });
        Ok(())
    }
}
