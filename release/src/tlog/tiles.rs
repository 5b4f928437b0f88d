//! The log published as static files in the C2SP tlog-tiles layout
//! (<https://c2sp.org/tlog-tiles>): `checkpoint`, hash tiles `tile/<L>/<N>[.p/<W>]` and
//! entry bundles `tile/entries/<N>[.p/<W>]`, so anyone can mirror and audit the log with
//! a plain file server. Full tiles are immutable and written once; partial tiles are
//! written beside them as the log grows.

use std::path::{Path, PathBuf};

use crate::fsutil::{self, FsError};
use crate::tlog::merkle::{self, Hash};

/// Entries (and hashes) per full tile.
pub(crate) const TILE_WIDTH: usize = 256;

/// `N` encoded as in tlog-tiles: groups of three digits, all but the last prefixed `x`.
pub(crate) fn encode_index(mut n: u64) -> String {
    let mut groups = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        groups.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

/// The path of a tile below the log directory: `level` is `None` for entry bundles.
pub(crate) fn tile_path(level: Option<u8>, index: u64, width: usize) -> PathBuf {
    let level = level.map_or_else(|| "entries".to_owned(), |level| level.to_string());
    let mut path = format!("tile/{level}/{}", encode_index(index));
    if width < TILE_WIDTH {
        path.push_str(&format!(".p/{width}"));
    }
    PathBuf::from(path)
}

/// An entry bundle: each entry as a big-endian u16 length and its bytes.
pub(crate) fn entry_bundle<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut bundle = Vec::new();
    for entry in entries {
        let length = u16::try_from(entry.len()).unwrap_or(u16::MAX);
        bundle.extend_from_slice(&length.to_be_bytes());
        bundle.extend_from_slice(&entry[..usize::from(length)]);
    }
    bundle
}

/// Writes every tile that changed when the log grew from `old_size` to `leaves.len()`.
/// `bodies` are the canonicalized bodies of entries `first..`, where `first` is at most
/// the start of the entry tile holding `old_size`.
pub(crate) fn publish(
    dir: &Path,
    leaves: &[Hash],
    first: usize,
    bodies: &[Vec<u8>],
    old_size: usize,
) -> Result<(), FsError> {
    let new_size = leaves.len();
    // Entry bundles.
    for tile in old_size / TILE_WIDTH..new_size.div_ceil(TILE_WIDTH) {
        let start = tile * TILE_WIDTH;
        let end = new_size.min(start + TILE_WIDTH);
        let slice = bodies.get(start - first..end - first).unwrap_or_default();
        let bundle = entry_bundle(slice.iter().map(Vec::as_slice));
        write_tile(dir, &tile_path(None, tile as u64, end - start), &bundle)?;
    }
    // Hash tiles, level by level: level L holds the roots of 256^L-leaf subtrees.
    let mut level_hashes = leaves.to_vec();
    let mut old_count = old_size;
    let mut level: u8 = 0;
    while !level_hashes.is_empty() {
        let count = level_hashes.len();
        for tile in old_count / TILE_WIDTH..count.div_ceil(TILE_WIDTH) {
            let start = tile * TILE_WIDTH;
            let end = count.min(start + TILE_WIDTH);
            let bytes: Vec<u8> = level_hashes[start..end].concat();
            write_tile(
                dir,
                &tile_path(Some(level), tile as u64, end - start),
                &bytes,
            )?;
        }
        level_hashes = level_hashes
            .chunks_exact(TILE_WIDTH)
            .map(merkle::root)
            .collect();
        old_count /= TILE_WIDTH;
        level = level.saturating_add(1);
    }
    Ok(())
}

fn write_tile(dir: &Path, relative: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let path = dir.join(relative);
    if let Some(parent) = path.parent() {
        fsutil::create_dir(parent, 0o755)?;
    }
    fsutil::write_atomic(&path, bytes, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding_matches_the_spec_examples() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(67), "067");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(
            tile_path(Some(0), 1234067, 256),
            PathBuf::from("tile/0/x001/x234/067")
        );
        assert_eq!(tile_path(None, 2, 7), PathBuf::from("tile/entries/002.p/7"));
    }

    #[test]
    fn tiles_reconstruct_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let bodies: Vec<Vec<u8>> = (0..600).map(|i| format!("e{i}").into_bytes()).collect();
        let leaves: Vec<Hash> = bodies.iter().map(|b| merkle::leaf_hash(b)).collect();
        publish(dir.path(), &leaves[..300], 0, &bodies[..300], 0).unwrap();
        publish(dir.path(), &leaves, 256, &bodies[256..], 300).unwrap();
        let tile0 = std::fs::read(dir.path().join("tile/0/000")).unwrap();
        assert_eq!(tile0, leaves[..256].concat());
        let partial = std::fs::read(dir.path().join("tile/0/002.p/88")).unwrap();
        assert_eq!(partial, leaves[512..].concat());
        let level1 = std::fs::read(dir.path().join("tile/1/000.p/2")).unwrap();
        assert_eq!(&level1[..32], &merkle::root(&leaves[..256]));
        let entries = std::fs::read(dir.path().join("tile/entries/001")).unwrap();
        assert_eq!(&entries[..6], b"\x00\x04e256");
    }
}
