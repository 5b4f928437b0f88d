//! The file-backed log: append-only data files, a signed checkpoint that commits them,
//! and the static tiles.
//!
//! Layout of the log directory:
//! - `checkpoint`, `tile/…`: the public, mirrorable C2SP tlog-tiles view;
//! - `.data/leaves` (32-byte leaf hashes), `.data/index` (per entry: end offset in
//!   `.data/entries` and integrated time, 8 + 8 bytes big-endian), `.data/entries` (the
//!   canonicalized bodies back to back), `.data/lock`.
//!
//! Crash safety: an append writes and fsyncs the data files, then the tiles, then
//! atomically replaces `checkpoint`; only then are proofs handed out. The checkpoint's
//! tree size is therefore the committed size: on the next open, data past it (from an
//! append killed midway) is truncated away, and no entry whose proof was handed out can be
//! lost. Appenders, in threads or processes, are serialised by an exclusive lock on
//! `.data/lock`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fsutil::{self, fs_error};
use crate::keys::SigningKey;
use crate::tlog::entry::{self, ProposedEntry};
use crate::tlog::merkle::{self, Hash};
use crate::tlog::note::Checkpoint;
use crate::tlog::tiles;
use crate::tlog::{LogError, LoggedEntry, TransparencyLog};

/// The embedded transparency log.
#[derive(Debug)]
pub struct FileLog {
    dir: PathBuf,
    key: SigningKey,
    name: String,
    origin: String,
}

/// The committed contents, read under the lock.
struct State {
    leaves: Vec<Hash>,
    index: Vec<(u64, i64)>,
    checkpoint: Option<Checkpoint>,
}

impl FileLog {
    /// Opens (creating if needed) the log in `dir`, signing with `key` as `name`; the
    /// checkpoint origin is `origin`.
    pub fn open(dir: &Path, key: SigningKey, name: &str, origin: &str) -> Result<Self, LogError> {
        fsutil::create_dir(&dir.join(".data"), 0o755)?;
        Ok(Self {
            dir: dir.to_owned(),
            key,
            name: name.to_owned(),
            origin: origin.to_owned(),
        })
    }

    /// The log id (SHA-256 of the log key's DER SPKI).
    pub fn log_id(&self) -> [u8; 32] {
        self.key.key_id()
    }

    fn data(&self, file: &str) -> PathBuf {
        self.dir.join(".data").join(file)
    }

    fn lock(&self) -> Result<File, LogError> {
        let path = self.data("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(fs_error("open", &path))?;
        file.lock().map_err(fs_error("lock", &path))?;
        Ok(file)
    }

    /// Reads the committed state and truncates anything an interrupted append left.
    fn load(&self) -> Result<State, LogError> {
        let checkpoint_path = self.dir.join("checkpoint");
        let checkpoint = match std::fs::read_to_string(&checkpoint_path) {
            Ok(note) => Some(
                Checkpoint::open(&note, &self.name, self.key.spki_der()).map_err(|reason| {
                    LogError::Corrupt(format!("{}: {reason}", checkpoint_path.display()))
                })?,
            ),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
            Err(error) => return Err(fs_error("read", &checkpoint_path)(error).into()),
        };
        let size = checkpoint
            .as_ref()
            .map_or(0, |checkpoint| checkpoint.tree_size);
        let size =
            usize::try_from(size).map_err(|_| LogError::Corrupt("tree size overflows".into()))?;
        let leaf_bytes = read_prefix(&self.data("leaves"), size * 32)?;
        let index_bytes = read_prefix(&self.data("index"), size * 16)?;
        let leaves: Vec<Hash> = leaf_bytes
            .chunks_exact(32)
            .map(|chunk| chunk.try_into().unwrap_or([0; 32]))
            .collect();
        let index: Vec<(u64, i64)> = index_bytes
            .chunks_exact(16)
            .map(|chunk| {
                let (end, time) = chunk.split_at(8);
                (
                    u64::from_be_bytes(end.try_into().unwrap_or_default()),
                    i64::from_be_bytes(time.try_into().unwrap_or_default()),
                )
            })
            .collect();
        let end = index.last().map_or(0, |(end, _)| *end);
        truncate(&self.data("entries"), end)?;
        if let Some(checkpoint) = &checkpoint
            && merkle::root(&leaves) != checkpoint.root
        {
            return Err(LogError::Corrupt(format!(
                "{}: the leaf hashes do not match the checkpoint's root; restore the log directory from a mirror of its tiles",
                self.dir.display()
            )));
        }
        Ok(State {
            leaves,
            index,
            checkpoint,
        })
    }

    /// The current signed checkpoint note, if the log has one.
    pub fn checkpoint_note(&self) -> Result<Option<String>, LogError> {
        let path = self.dir.join("checkpoint");
        match std::fs::read_to_string(&path) {
            Ok(note) => Ok(Some(note)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(fs_error("read", &path)(error).into()),
        }
    }

    /// The committed tree: checks every stored body against its leaf hash and the root
    /// against the signed checkpoint; returns the checkpoint.
    pub fn audit(&self) -> Result<Option<Checkpoint>, LogError> {
        let _lock = self.lock()?;
        let state = self.load()?;
        let bodies = self.bodies(&state.index)?;
        for (index, (body, leaf)) in bodies.iter().zip(&state.leaves).enumerate() {
            if merkle::leaf_hash(body) != *leaf {
                return Err(LogError::Corrupt(format!(
                    "entry {index} does not match its leaf hash"
                )));
            }
        }
        Ok(state.checkpoint)
    }

    /// The committed entries' canonicalized bodies, in log order.
    pub fn entries(&self) -> Result<Vec<Vec<u8>>, LogError> {
        let _lock = self.lock()?;
        let state = self.load()?;
        self.bodies(&state.index)
    }

    /// The consistency proof between two tree sizes of the committed log.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, LogError> {
        let _lock = self.lock()?;
        let state = self.load()?;
        let new = usize::try_from(new_size).unwrap_or(usize::MAX);
        let old = usize::try_from(old_size).unwrap_or(usize::MAX);
        if new > state.leaves.len() {
            return Err(LogError::Range(format!(
                "tree size {new_size} is beyond the log's {}",
                state.leaves.len()
            )));
        }
        merkle::consistency_proof(old, &state.leaves[..new]).ok_or_else(|| {
            LogError::Range(format!(
                "no consistency proof from {old_size} to {new_size}"
            ))
        })
    }

    fn bodies(&self, index: &[(u64, i64)]) -> Result<Vec<Vec<u8>>, LogError> {
        let path = self.data("entries");
        let all = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(fs_error("read", &path)(error).into()),
        };
        let mut start = 0_usize;
        let mut bodies = Vec::with_capacity(index.len());
        for (end, _) in index {
            let end = usize::try_from(*end).unwrap_or(usize::MAX);
            let body = all.get(start..end).ok_or_else(|| {
                LogError::Corrupt(format!("{} is shorter than its index", path.display()))
            })?;
            bodies.push(body.to_vec());
            start = end;
        }
        Ok(bodies)
    }
}

impl TransparencyLog for FileLog {
    fn append(
        &self,
        entries: &[ProposedEntry],
        now: SystemTime,
    ) -> Result<Vec<LoggedEntry>, LogError> {
        let integrated_time = now
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|since| i64::try_from(since.as_secs()).ok())
            .ok_or_else(|| LogError::Range("clock before 1970".into()))?;
        let new_bodies: Vec<Vec<u8>> = entries.iter().map(ProposedEntry::body).collect();
        if let Some(body) = new_bodies
            .iter()
            .find(|body| body.len() > usize::from(u16::MAX))
        {
            return Err(LogError::Range(format!(
                "an entry of {} bytes is longer than a tile entry can be (65535)",
                body.len()
            )));
        }
        let _lock = self.lock()?;
        let mut state = self.load()?;
        let old_size = state.leaves.len();
        let mut end = state.index.last().map_or(0, |(end, _)| *end);
        let (mut leaf_bytes, mut index_bytes, mut entry_bytes) =
            (Vec::new(), Vec::new(), Vec::new());
        for body in &new_bodies {
            let leaf = merkle::leaf_hash(body);
            end += body.len() as u64;
            leaf_bytes.extend_from_slice(&leaf);
            index_bytes.extend_from_slice(&end.to_be_bytes());
            index_bytes.extend_from_slice(&integrated_time.to_be_bytes());
            entry_bytes.extend_from_slice(body);
            state.leaves.push(leaf);
            state.index.push((end, integrated_time));
        }
        append_file(&self.data("entries"), &entry_bytes)?;
        append_file(&self.data("leaves"), &leaf_bytes)?;
        append_file(&self.data("index"), &index_bytes)?;

        let bodies = self.bodies(&state.index)?;
        tiles::publish(&self.dir, &state.leaves, &bodies, old_size)?;
        let checkpoint = Checkpoint {
            origin: self.origin.clone(),
            tree_size: state.leaves.len() as u64,
            root: merkle::root(&state.leaves),
        };
        let note = checkpoint.sign(&self.name, &self.key)?;
        fsutil::write_atomic(&self.dir.join("checkpoint"), note.as_bytes(), 0o644)?;

        // Committed: hand out proofs.
        let log_id = self.log_id();
        let mut logged = Vec::with_capacity(entries.len());
        for (offset, (entry, body)) in entries.iter().zip(new_bodies).enumerate() {
            let log_index = old_size + offset;
            let proof = merkle::inclusion_proof(log_index, &state.leaves)
                .ok_or_else(|| LogError::Range("inclusion proof out of range".into()))?;
            let signed_entry_timestamp =
                entry::sign_set(&self.key, &body, integrated_time, log_index as u64)?;
            let (kind, version) = entry.kind_version();
            logged.push(LoggedEntry {
                log_index: log_index as u64,
                log_id,
                kind,
                version,
                integrated_time,
                body,
                signed_entry_timestamp,
                tree_size: checkpoint.tree_size,
                root: checkpoint.root,
                proof,
                checkpoint: note.clone(),
            });
        }
        Ok(logged)
    }
}

/// Reads the first `length` bytes of a data file (it must have them) and truncates it
/// there, dropping what an interrupted append left behind.
fn read_prefix(path: &Path, length: usize) -> Result<Vec<u8>, LogError> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && length == 0 => {
            return Ok(Vec::new());
        }
        Err(error) => return Err(fs_error("open", path)(error).into()),
    };
    let mut bytes = Vec::with_capacity(length);
    (&mut file)
        .take(length as u64)
        .read_to_end(&mut bytes)
        .map_err(fs_error("read", path))?;
    if bytes.len() != length {
        return Err(LogError::Corrupt(format!(
            "{} holds {} bytes but the checkpoint needs {length}; restore the log directory from a mirror of its tiles",
            path.display(),
            bytes.len()
        )));
    }
    file.set_len(length as u64)
        .map_err(fs_error("truncate", path))?;
    Ok(bytes)
}

fn truncate(path: &Path, length: u64) -> Result<(), LogError> {
    match OpenOptions::new().write(true).open(path) {
        Ok(file) => {
            let actual = file.metadata().map_err(fs_error("stat", path))?.len();
            if actual < length {
                return Err(LogError::Corrupt(format!(
                    "{} is shorter than its index",
                    path.display()
                )));
            }
            file.set_len(length).map_err(fs_error("truncate", path))?;
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && length == 0 => Ok(()),
        Err(error) => Err(fs_error("open", path)(error).into()),
    }
}

fn append_file(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(fs_error("open", path))?;
    file.seek(SeekFrom::End(0))
        .map_err(fs_error("seek", path))?;
    file.write_all(bytes).map_err(fs_error("write", path))?;
    file.sync_all().map_err(fs_error("sync", path))?;
    Ok(())
}
