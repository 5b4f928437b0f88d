//! The stages that write documents: the crate set, the archives, the SBOMs, and
//! `publish` (signatures and the release directory itself).

use std::fs;
use std::path::{Path, PathBuf};

use cordon_format::names::{self, MANIFEST_FILE};
use cordon_format::{
    CrateRecord, FileKind, MANIFEST_SCHEMA, Manifest, ManifestFile, ManifestSource,
};
use cordon_release::{BundleSigner, Signer, StagedDir, Statement};
use cordon_sbom::{Binary, Build, CrateSource, Format};

use crate::Features;
use crate::archive::{self, Entry};
use crate::error::{ErrorKind, io};
use crate::model::{ArchiveFormat, Built, Checked, Shipped, ShippedFile, Workspace};
use crate::source::hex;

/// What the publish stage writes besides the binaries.
pub(crate) struct Content<'a> {
    pub(crate) archives: &'a [ShippedFile],
    pub(crate) crate_set: &'a [CrateRecord],
    pub(crate) sboms: &'a [(String, Vec<u8>)],
    pub(crate) statement: &'a Statement,
    pub(crate) notes: &'a str,
    pub(crate) signer: &'a Signer,
    /// The second, keyless signer: every bundle gets a `.keyless.sigstore.json` twin.
    pub(crate) keyless: Option<&'a dyn BundleSigner>,
    pub(crate) trust_dir: &'a Path,
}

/// The release directory, in a staging directory renamed into place at the end. Order:
/// the binaries, archives, SBOMs, the VEX document (when the release ships one), DSSE
/// provenance bundle, notes and trusted root; a
/// Sigstore bundle for each of those (the provenance is a bundle already);
/// `manifest.json` indexing all of it, and its bundle; `SHA256SUMS` over everything, and
/// its bundle. With a keyless signer, each bundle `<file>.sigstore.json` gets a twin
/// `<file>.keyless.sigstore.json` (the provenance: a keyless DSSE bundle of the same
/// statement), written right after it and indexed the same way.
pub(crate) fn publish(
    dist: &Path,
    force: bool,
    checked: &Checked,
    built: &Built,
    content: &Content<'_>,
) -> Result<PathBuf, ErrorKind> {
    let version = &checked.workspace.version;
    let product = &checked.workspace.product.name;
    let mut staged = StagedDir::create(dist, version)?;
    let mut index = Index::default();
    let mut to_sign: Vec<(String, Vec<u8>)> = Vec::new();
    let shipped_names: Vec<String> = built.files.iter().map(|file| file.name.clone()).collect();
    for (file, kind, describes) in built
        .files
        .iter()
        .map(|file| (file, FileKind::Binary, Vec::new()))
        .chain(
            content
                .archives
                .iter()
                .map(|file| (file, FileKind::Archive, shipped_names.clone())),
        )
    {
        staged.copy_file(&file.name, &file.path, kind == FileKind::Binary)?;
        index.add(&staged, &file.name, kind, describes)?;
        let bytes = fs::read(&file.path).map_err(io("read", &file.path))?;
        to_sign.push((file.name.clone(), bytes));
    }
    let mut described = shipped_names.clone();
    described.extend(content.archives.iter().map(|file| file.name.clone()));
    for (name, bytes) in content.sboms {
        staged.write_file(name, bytes)?;
        index.add(&staged, name, FileKind::Sbom, described.clone())?;
        to_sign.push((name.clone(), bytes.clone()));
    }
    if let Some(vex) = &checked.vex {
        staged.write_file(&vex.file_name, &vex.bytes)?;
        index.add(&staged, &vex.file_name, FileKind::Vex, described.clone())?;
        to_sign.push((vex.file_name.clone(), vex.bytes.clone()));
    }

    let statement_json =
        serde_json::to_vec(content.statement).map_err(|source| ErrorKind::Json {
            what: "the provenance statement",
            source,
        })?;
    let bundle = content.signer.sign_in_toto(&statement_json)?;
    let provenance_name = names::provenance_name(product, version);
    staged.write_file(&provenance_name, &json_line(&bundle)?)?;
    index.add(&staged, &provenance_name, FileKind::Provenance, described)?;
    if let Some(keyless) = content.keyless {
        let bundle = keyless.sign_in_toto(&statement_json)?;
        let bundle_name = names::keyless_bundle_name(&provenance_name);
        staged.write_file(&bundle_name, bundle.as_bytes())?;
        index.add(
            &staged,
            &bundle_name,
            FileKind::KeylessSignature,
            vec![provenance_name.clone()],
        )?;
    }

    let notes_name = names::RELEASE_NOTES_FILE;
    staged.write_file(notes_name, content.notes.as_bytes())?;
    index.add(&staged, notes_name, FileKind::Notes, Vec::new())?;
    to_sign.push((notes_name.to_owned(), content.notes.as_bytes().to_vec()));

    let root_path = content.trust_dir.join(names::TRUSTED_ROOT_FILE);
    let trusted_root = fs::read(&root_path).map_err(io("read", &root_path))?;
    staged.write_file(names::TRUSTED_ROOT_FILE, &trusted_root)?;
    index.add(
        &staged,
        names::TRUSTED_ROOT_FILE,
        FileKind::TrustedRoot,
        Vec::new(),
    )?;
    to_sign.push((names::TRUSTED_ROOT_FILE.to_owned(), trusted_root));

    // The root-signed copy: what a distributor who pinned only the root fingerprint
    // checks (`cordon-verify release DIR --pinned-root ...`). It carries its own
    // signature (the root key's), so it gets no Sigstore bundle.
    let signed_root_name = names::SIGNED_TRUSTED_ROOT_FILE;
    let signed_root_path = content.trust_dir.join(signed_root_name);
    let signed_root = fs::read(&signed_root_path).map_err(io("read", &signed_root_path))?;
    staged.write_file(signed_root_name, &signed_root)?;
    index.add(&staged, signed_root_name, FileKind::TrustedRoot, Vec::new())?;

    for (name, bytes) in &to_sign {
        sign_into(&mut staged, &mut index, content, name, bytes)?;
    }

    let manifest = Manifest {
        schema: MANIFEST_SCHEMA.to_owned(),
        name: product.clone(),
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
        content,
        MANIFEST_FILE,
        &manifest_json,
    )?;
    let sums = staged.checksums().render();
    staged.write_file(names::SHA256SUMS_FILE, sums.as_bytes())?;
    sign_into(
        &mut staged,
        &mut index,
        content,
        names::SHA256SUMS_FILE,
        sums.as_bytes(),
    )?;
    Ok(staged.publish(force)?)
}

/// Writes `<name>.sigstore.json`, the Sigstore bundle of `bytes`, and with a keyless
/// signer `<name>.keyless.sigstore.json` too.
fn sign_into(
    staged: &mut StagedDir,
    index: &mut Index,
    content: &Content<'_>,
    name: &str,
    bytes: &[u8],
) -> Result<(), ErrorKind> {
    let bundle = content.signer.sign_blob_bytes(bytes)?;
    let bundle_name = names::bundle_name(name);
    staged.write_file(&bundle_name, bundle.as_bytes())?;
    index.add(
        staged,
        &bundle_name,
        FileKind::Signature,
        vec![name.to_owned()],
    )?;
    if let Some(keyless) = content.keyless {
        let bundle = keyless.sign_blob_bytes(bytes)?;
        let bundle_name = names::keyless_bundle_name(name);
        staged.write_file(&bundle_name, bundle.as_bytes())?;
        index.add(
            staged,
            &bundle_name,
            FileKind::KeylessSignature,
            vec![name.to_owned()],
        )?;
    }
    Ok(())
}

/// A JSON document as one line (JSON Lines), newline-terminated.
fn json_line(text: &str) -> Result<Vec<u8>, ErrorKind> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| ErrorKind::Json {
            what: "the provenance bundle",
            source,
        })?;
    let mut line = value.to_string().into_bytes();
    line.push(b'\n');
    Ok(line)
}

/// The `cordon-sbom` description of the release build: every shipped binary, built
/// together, for the host, with the table's features.
pub(crate) fn sbom_build(workspace: &Workspace) -> Build {
    described_build(
        &workspace.root,
        &workspace.product.binaries,
        &workspace.product.features,
    )
}

/// The release build of the workspace at `root` as `cordon-sbom` describes it; the build
/// stage takes its feature arguments from it too, so the two cannot disagree.
pub(crate) fn described_build(root: &Path, shipped: &[Shipped], features: &Features) -> Build {
    Build {
        manifest_path: root.join("Cargo.toml"),
        binaries: shipped
            .iter()
            .map(|binary| Binary {
                package: binary.package.clone(),
                bin: binary.bin.clone(),
            })
            .collect(),
        target: None,
        features: features.features.clone(),
        no_default_features: !features.default_features,
    }
}

/// The exact crates of every shipped binary (`cordon-sbom`), as the manifest records them.
pub(crate) fn crate_set(build: &Build) -> Result<Vec<CrateRecord>, ErrorKind> {
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

/// `<product>-<version>.cdx.json` (CycloneDX 1.5), `<product>-<version>.v1_6.cdx.json`
/// (1.6), `<product>-<version>.spdx.json` (SPDX 2.3) and `<product>-<version>.spdx3.json`
/// (SPDX 3.0.1) of the final binaries and the archives holding them.
pub(crate) fn sboms(
    build: &Build,
    checked: &Checked,
    built: &Built,
    archives: &[ShippedFile],
) -> Result<Vec<(String, Vec<u8>)>, ErrorKind> {
    let version = &checked.workspace.version;
    let product = &checked.workspace.product.name;
    let paths: Vec<PathBuf> = built.files.iter().map(|file| file.path.clone()).collect();
    let options = cordon_sbom::Options {
        release_name: Some(product.clone()),
        release_version: Some(version.clone()),
        timestamp: Some(checked.source.commit_time),
        archives: archives
            .iter()
            .map(|archive| {
                Ok(cordon_sbom::Archive {
                    file_name: archive.name.clone(),
                    sha256: archive.sha256.clone(),
                    sha512: sha512_file(&archive.path)?,
                    binaries: built.files.iter().map(|file| file.name.clone()).collect(),
                })
            })
            .collect::<Result<_, ErrorKind>>()?,
        contact: checked.workspace.product.sbom_contact.clone(),
    };
    [
        (
            names::cyclonedx_1_5_name(product, version),
            Format::CycloneDx15,
        ),
        (
            names::cyclonedx_1_6_name(product, version),
            Format::CycloneDx16,
        ),
        (names::spdx_2_3_name(product, version), Format::Spdx23),
        (names::spdx_3_0_1_name(product, version), Format::Spdx301),
    ]
    .into_iter()
    .map(|(name, format)| {
        Ok((
            name,
            cordon_sbom::document(build, &paths, format, &options)?,
        ))
    })
    .collect()
}

/// The SHA-512 of a file, lower-case hex (the SBOMs give it for deployable files).
fn sha512_file(path: &Path) -> Result<String, ErrorKind> {
    use sha2::Digest as _;
    let mut file = fs::File::open(path).map_err(io("read", path))?;
    let mut hasher = sha2::Sha512::new();
    std::io::copy(&mut file, &mut hasher).map_err(io("read", path))?;
    Ok(hex(&hasher.finalize()))
}

/// The archives of the release: each [`ArchiveFormat`] of the product, holding the
/// shipped binaries and the included files, written into `out`.
pub(crate) fn archives(
    checked: &Checked,
    built: &Built,
    out: &Path,
) -> Result<Vec<ShippedFile>, ErrorKind> {
    let workspace = &checked.workspace;
    let product = &workspace.product;
    if product.archives.is_empty() {
        return Ok(Vec::new());
    }
    fs::create_dir_all(out).map_err(io("create", out))?;
    let mut entries: Vec<Entry> = built
        .files
        .iter()
        .map(|file| Entry {
            name: file.name.clone(),
            path: file.path.clone(),
            executable: true,
        })
        .collect();
    for relative in &product.include {
        entries.push(Entry {
            name: relative
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: workspace.root.join(relative),
            executable: false,
        });
    }
    let base = archive::base_name(&product.name, &workspace.version, &checked.toolchain.host);
    product
        .archives
        .iter()
        .map(|format| {
            let name = format!("{base}.{}", format.suffix());
            let path = out.join(&name);
            match format {
                ArchiveFormat::TarGz => {
                    archive::write_tar_gz(&path, &base, &entries, checked.source.commit_time)?;
                }
            }
            let sha256 = hex(&cordon_release::sha256_file(&path).map_err(io("read", &path))?);
            Ok(ShippedFile { name, path, sha256 })
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
    ) -> Result<(), ErrorKind> {
        let digest = staged
            .checksums()
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, digest)| hex(digest))
            .ok_or_else(|| ErrorKind::HandOver {
                path: staged.final_path().join(name),
                problem: "was not written (a bug in cordon-dist)".to_owned(),
            })?;
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
