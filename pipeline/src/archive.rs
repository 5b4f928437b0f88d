//! Deterministic release archives: `<product>-<version>-<target>.tar.gz`, one top-level
//! directory of the same name holding the binaries (with their `.dep-v0` sections, the
//! very bytes the release ships loose) and the included files (licence, README).
//!
//! The same inputs give the same bytes: entries sorted by name, ustar headers with the
//! commit time as every mtime, uid and gid 0 and no user or group names, modes 0755
//! (directory, binaries) and 0644 (other files); gzip with no file name, mtime 0 and a
//! fixed OS byte, compressed at a fixed level by the pure-Rust deflate backend.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};

use crate::error::{ErrorKind, io};

/// One file to pack: its name inside the archive's directory, where it is, and whether
/// it is executable.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) path: PathBuf,
    pub(crate) executable: bool,
}

/// The archive's base name (also its top-level directory).
pub(crate) fn base_name(product: &str, version: &str, target: &str) -> String {
    format!("{product}-{version}-{target}")
}

/// Writes `out` (a `.tar.gz`) holding `entries` under the directory `base`, every mtime
/// `mtime` (Unix seconds).
pub(crate) fn write_tar_gz(
    out: &Path,
    base: &str,
    entries: &[Entry],
    mtime: i64,
) -> Result<(), ErrorKind> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let file = File::create(out).map_err(io("create", out))?;
    let gzip = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(BufWriter::new(file), Compression::best());
    let mut tar = tar::Builder::new(gzip);
    let mtime = u64::try_from(mtime).unwrap_or(0);
    let written = |result: std::io::Result<()>| result.map_err(io("write", out));

    let mut directory = header(tar::EntryType::Directory, 0o755, 0, mtime);
    written(tar.append_data(&mut directory, format!("{base}/"), std::io::empty()))?;
    for entry in sorted {
        let bytes = fs::read(&entry.path).map_err(io("read", &entry.path))?;
        let mode = if entry.executable { 0o755 } else { 0o644 };
        let mut file_header = header(tar::EntryType::Regular, mode, bytes.len() as u64, mtime);
        written(tar.append_data(
            &mut file_header,
            format!("{base}/{}", entry.name),
            &bytes[..],
        ))?;
    }
    let gzip = tar.into_inner().map_err(io("write", out))?;
    let mut writer = gzip.finish().map_err(io("write", out))?;
    written(writer.flush())?;
    let file = writer
        .into_inner()
        .map_err(|error| io("write", out)(error.into_error()))?;
    file.sync_all().map_err(io("flush", out))
}

fn header(kind: tar::EntryType, mode: u32, size: u64, mtime: u64) -> tar::Header {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(mtime);
    header.set_uid(0);
    header.set_gid(0);
    header
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    fn entries(dir: &Path) -> Vec<Entry> {
        fs::write(dir.join("app"), b"\x7fELF pretend").unwrap();
        fs::write(dir.join("LICENSE"), b"licence text\n").unwrap();
        vec![
            Entry {
                name: "app".into(),
                path: dir.join("app"),
                executable: true,
            },
            Entry {
                name: "LICENSE".into(),
                path: dir.join("LICENSE"),
                executable: false,
            },
        ]
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes_and_gnu_tar_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let files = entries(dir.path());
        let first = dir.path().join("a.tar.gz");
        let second = dir.path().join("b.tar.gz");
        write_tar_gz(
            &first,
            "p-1.0.0-x86_64-unknown-linux-gnu",
            &files,
            1_700_000_000,
        )
        .unwrap();
        // Different order and a different file mode on disk: same archive.
        fs::set_permissions(
            dir.path().join("LICENSE"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let reversed: Vec<Entry> = files.iter().rev().cloned().collect();
        write_tar_gz(
            &second,
            "p-1.0.0-x86_64-unknown-linux-gnu",
            &reversed,
            1_700_000_000,
        )
        .unwrap();
        assert_eq!(fs::read(&first).unwrap(), fs::read(&second).unwrap());

        let listing = Command::new("tar")
            .args(["--numeric-owner", "--full-time", "-tvzf"])
            .arg(&first)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(listing.status.success());
        let text = String::from_utf8(listing.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("drwxr-xr-x 0/0"), "{text}");
        assert!(
            lines[0].ends_with("2023-11-14 22:13:20 p-1.0.0-x86_64-unknown-linux-gnu/"),
            "{text}"
        );
        assert!(lines[1].starts_with("-rw-r--r-- 0/0"), "{text}");
        assert!(lines[1].ends_with("/LICENSE"), "{text}");
        assert!(lines[2].starts_with("-rwxr-xr-x 0/0"), "{text}");
        assert!(lines[2].ends_with("/app"), "{text}");

        let unpacked = dir.path().join("unpacked");
        fs::create_dir(&unpacked).unwrap();
        assert!(
            Command::new("tar")
                .arg("-xzf")
                .arg(&first)
                .current_dir(&unpacked)
                .status()
                .unwrap()
                .success()
        );
        assert_eq!(
            fs::read(unpacked.join("p-1.0.0-x86_64-unknown-linux-gnu/app")).unwrap(),
            b"\x7fELF pretend"
        );
        // gzip's header: no name flag, mtime 0.
        let bytes = fs::read(&first).unwrap();
        assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
    }
}
