//! The dependency list a release binary carries: cargo-auditable's `.dep-v0` ELF section
//! (zlib-compressed JSON, `https://rustsec.org/schemas/cargo-auditable.json`), read
//! without running or mapping the binary, with every size capped so a hostile file cannot
//! make the verifier allocate without bound.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::ZlibDecoder;
use serde_json::Value;

/// The section's name.
pub(crate) const SECTION: &str = ".dep-v0";
/// The largest compressed section accepted.
const MAX_SECTION_BYTES: u64 = 8 << 20;
/// The largest inflated JSON accepted.
const MAX_JSON_BYTES: u64 = 64 << 20;
/// The largest section-name table accepted.
const MAX_NAMES_BYTES: u64 = 1 << 20;

/// A crate as the embedded list names it.
pub(crate) type Crate = (String, String);

/// The crates embedded in `binary`'s `.dep-v0` section, except the binary's own package
/// (the one marked `root`), as (name, version). `Ok(None)` when the file is an ELF
/// binary without the section; `Err` with a one-line reason when it cannot be read.
pub(crate) fn embedded_crates(binary: &Path) -> Result<Option<BTreeSet<Crate>>, String> {
    let mut file = File::open(binary).map_err(|error| format!("cannot open: {error}"))?;
    let Some(section) = read_section(&mut file, SECTION)? else {
        return Ok(None);
    };
    let mut json = Vec::new();
    ZlibDecoder::new(&section[..])
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|error| format!("{SECTION} is not zlib data: {error}"))?;
    if json.len() as u64 > MAX_JSON_BYTES {
        return Err(format!(
            "{SECTION} inflates to more than {MAX_JSON_BYTES} bytes"
        ));
    }
    let info: Value = serde_json::from_slice(&json)
        .map_err(|error| format!("{SECTION} is not cargo-auditable JSON: {error}"))?;
    let packages = info
        .get("packages")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{SECTION} has no \"packages\" list"))?;
    let mut crates = BTreeSet::new();
    for package in packages {
        if package.get("root").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        // Build-time entries (cargo-auditable `kind: build`) are not linked in.
        if package.get("kind").and_then(Value::as_str) == Some("build") {
            continue;
        }
        let field = |key: &str| {
            package
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{SECTION} has a package without a {key:?}"))
        };
        crates.insert((field("name")?, field("version")?));
    }
    Ok(Some(crates))
}

/// Little-endian integer of `N` bytes at `offset` in `bytes`.
fn le(bytes: &[u8], offset: usize, width: usize) -> Option<u64> {
    let slice = bytes.get(offset..offset + width)?;
    Some(
        slice
            .iter()
            .rev()
            .fold(0u64, |value, byte| (value << 8) | u64::from(*byte)),
    )
}

fn read_at(
    file: &mut File,
    offset: u64,
    length: u64,
    cap: u64,
    what: &str,
) -> Result<Vec<u8>, String> {
    if length > cap {
        return Err(format!(
            "its {what} claims {length} bytes, more than the {cap} accepted"
        ));
    }
    let size = file
        .metadata()
        .map_err(|error| format!("cannot stat: {error}"))?
        .len();
    if offset.checked_add(length).is_none_or(|end| end > size) {
        return Err(format!(
            "its {what} lies outside the file (a truncated binary?)"
        ));
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|error| format!("cannot seek: {error}"))?;
    let mut bytes = vec![0u8; usize::try_from(length).map_err(|_| "too large".to_owned())?];
    file.read_exact(&mut bytes)
        .map_err(|error| format!("cannot read its {what}: {error}"))?;
    Ok(bytes)
}

/// The contents of section `name` of a 64-bit little-endian ELF file.
fn read_section(file: &mut File, name: &str) -> Result<Option<Vec<u8>>, String> {
    let header = read_at(file, 0, 64, 64, "ELF header")
        .map_err(|_| "not an ELF binary (too short)".to_owned())?;
    if header[..4] != *b"\x7fELF" {
        return Err("not an ELF binary: cannot read an embedded dependency list".to_owned());
    }
    if header[4] != 2 || header[5] != 1 {
        return Err("only 64-bit little-endian ELF binaries are supported".to_owned());
    }
    let bad = || "malformed ELF header".to_owned();
    let section_table = le(&header, 0x28, 8).ok_or_else(bad)?;
    let entry_size = le(&header, 0x3A, 2).ok_or_else(bad)?;
    let count = le(&header, 0x3C, 2).ok_or_else(bad)?;
    let names_index = le(&header, 0x3E, 2).ok_or_else(bad)?;
    if entry_size != 64 || names_index >= count {
        return Err(bad());
    }
    let table = read_at(
        file,
        section_table,
        count * 64,
        65_535 * 64,
        "section table",
    )?;
    let entry = |index: u64| -> Result<(u64, u64, u64), String> {
        let base = usize::try_from(index * 64).map_err(|_| bad())?;
        Ok((
            le(&table, base, 4).ok_or_else(bad)?,
            le(&table, base + 0x18, 8).ok_or_else(bad)?,
            le(&table, base + 0x20, 8).ok_or_else(bad)?,
        ))
    };
    let (_, names_offset, names_size) = entry(names_index)?;
    let names = read_at(
        file,
        names_offset,
        names_size,
        MAX_NAMES_BYTES,
        "section names",
    )?;
    for index in 0..count {
        let (name_offset, offset, size) = entry(index)?;
        let start = usize::try_from(name_offset).map_err(|_| bad())?;
        let Some(rest) = names.get(start..) else {
            continue;
        };
        let end = rest
            .iter()
            .position(|byte| *byte == 0)
            .unwrap_or(rest.len());
        if &rest[..end] == name.as_bytes() {
            return read_at(file, offset, size, MAX_SECTION_BYTES, "dependency section").map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_elf_and_truncated_files_are_reasons_not_panics() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text");
        std::fs::write(&text, b"#!/bin/sh\necho hi\n").unwrap();
        assert!(embedded_crates(&text).unwrap_err().contains("not an ELF"));
        let truncated = dir.path().join("truncated");
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"\x7fELF");
        header[4] = 2;
        header[5] = 1;
        header[0x28] = 0xff; // section table far past the end
        header[0x3A] = 64;
        header[0x3C] = 3;
        header[0x3E] = 1;
        std::fs::write(&truncated, &header).unwrap();
        assert!(
            embedded_crates(&truncated)
                .unwrap_err()
                .contains("outside the file")
        );
    }

    #[test]
    fn a_binary_without_the_section_has_none() {
        // The test executable itself is an ELF file without `.dep-v0`.
        let me = std::env::current_exe().unwrap();
        assert_eq!(embedded_crates(&me).unwrap(), None);
    }
}
