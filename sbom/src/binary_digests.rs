//! The digests of the shipped binaries themselves (SHA-256 and SHA-512, read once each
//! on two threads: release binaries are tens of megabytes), which every document lists
//! as the described component's hashes.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256, Sha512};

use crate::Error;

/// SHA-256 and SHA-512 (lower-case hex) of a file, and its path. The two digests are
/// computed on two threads (release binaries are tens of megabytes).
pub(crate) fn hash_file(path: &Path) -> Result<(String, String, PathBuf), Error> {
    let (sha256, sha512) = std::thread::scope(|scope| {
        let sha256 = scope.spawn(|| digest::<Sha256>(path));
        let sha512 = digest::<Sha512>(path);
        let sha256 = sha256.join().unwrap_or_else(|_| {
            Err(Error::Io {
                path: path.to_path_buf(),
                source: std::io::Error::other("the hashing thread panicked"),
            })
        });
        (sha256, sha512)
    });
    Ok((sha256?, sha512?, path.to_path_buf()))
}

fn digest<D: Digest>(path: &Path) -> Result<String, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = D::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer).map_err(io)?;
        if read == 0 {
            break;
        }
        hasher.update(buffer.get(..read).unwrap_or_default());
    }
    Ok(hex::encode(hasher.finalize()))
}
