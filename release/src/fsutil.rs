//! Small filesystem helpers shared by the trust store, the transparency log and the
//! release pipeline: [`write_atomic`] writes every file to a temporary sibling, flushes
//! it, renames it into place and flushes the rename through the parent directory, so a
//! reader (or a crash) sees the old file or the new one, never half of one. Secrets are
//! created 0600 from the start.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A filesystem operation that failed, with the path it was done to.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct FsError {
    /// What was being done ("write", "read", ...).
    pub action: &'static str,
    /// The path it was done to.
    pub path: PathBuf,
    /// The operating system's error.
    #[source]
    pub source: io::Error,
}

/// Wraps an `io::Error` with what was being done and where.
pub(crate) fn fs_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FsError {
    let path = path.to_owned();
    move |source| FsError {
        action,
        path,
        source,
    }
}

/// Writes `bytes` to `path` atomically and durably, with the permission bits `mode`
/// (before the umask): a temporary file in the same directory, created exclusively,
/// written and fsynced, then renamed over `path`, and the directory fsynced so that the
/// rename survives a crash. On error the temporary file is removed and `path` is as it
/// was.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "file".into(), |name| name.to_string_lossy().into_owned());
    // Unique per process and per call: two threads writing the same file never share a
    // temporary file.
    let temporary = parent.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        sync_dir(parent)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result.map_err(fs_error("write", path))
}

/// Flushes a directory so that renames and creations inside it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads a whole file, naming it in the error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, FsError> {
    fs::read(path).map_err(fs_error("read", path))
}

/// Creates a directory and its parents with the given mode for the last component.
pub(crate) fn create_dir(path: &Path, mode: u32) -> Result<(), FsError> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(path)
        .map_err(fs_error("create", path))
}

/// PEM-encodes DER bytes under `label` (64-column base64, RFC 7468), as Go's
/// `encoding/pem` writes it (LF line ends, trailing newline): the exact bytes Rekor v1
/// canonicalises keys and certificates to, which sigstore-python compares byte for byte.
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Decodes the first PEM block labelled `label`; `None` when there is none or it is
/// not valid base64.
pub fn pem_decode(label: &str, text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    let body: String = text[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn pem_has_64_columns_and_lf_and_reads_crlf() {
        let der: Vec<u8> = (0..=200).collect();
        let text = pem_encode("CERTIFICATE", &der);
        assert!(text.lines().all(|line| line.len() <= 64));
        assert!(!text.contains('\r') && text.ends_with("-----\n"));
        let crlf = text.replace('\n', "\r\n");
        assert_eq!(pem_decode("CERTIFICATE", &crlf).unwrap(), der);
    }

    #[test]
    fn atomic_write_sets_mode_and_round_trips_pem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.pem");
        let pem = pem_encode("PRIVATE KEY", &[1, 2, 3, 250]);
        write_atomic(&path, pem.as_bytes(), 0o600).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(
            pem_decode("PRIVATE KEY", &text).unwrap(),
            vec![1, 2, 3, 250]
        );
        assert!(pem_decode("CERTIFICATE", &text).is_none());
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn atomic_write_replaces_and_fails_without_leaving_anything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("build.json");
        write_atomic(&path, b"old", 0o644).unwrap();
        write_atomic(&path, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        // A directory in the way: the rename fails, the temporary file is removed.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("inside"), b"").unwrap();
        let error = write_atomic(&blocked, b"x", 0o644).unwrap_err();
        assert!(error.to_string().contains("cannot write"), "{error}");
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        // A relative path in the current directory has a parent to sync too.
        assert_eq!(Path::new("x").parent(), Some(Path::new("")));
    }
}
