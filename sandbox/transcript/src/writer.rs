//! Appending to a transcript: records are chained (each carries the hash of the line
//! before it) and written under an exclusive lock on the transcript, so that concurrent
//! runs of one project append whole records in turn and continue each other's chain;
//! the head is rewritten under the same lock. Ordinary records are buffered and written
//! together; [`Transcript::append_durable`] writes and syncs at once.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, FileExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use crate::TranscriptError;
use crate::event::{Event, FORMAT_VERSION, Record};
use crate::head::{Head, line_hash};

/// A record's place in its run: the run id and its index among the run's records
/// (the file-wide `seq` is only known once the record is written).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordId {
    /// The run.
    pub run: String,
    /// 0 for the run's first record.
    pub index: u32,
}

/// One open transcript and its head, appending for one run.
#[derive(Debug)]
pub struct Transcript {
    path: PathBuf,
    head_path: PathBuf,
    file: File,
    head: File,
    run: String,
    /// Records not written yet, with their time.
    pending: Vec<(String, Event)>,
    appended: u32,
    syncs: u32,
}

impl Transcript {
    /// Opens (creating them 0600, and their directory 0700, when missing) the
    /// transcript at `path` and its head at `head`, for a new run with a fresh id.
    pub fn open(path: &Path, head: &Path) -> Result<Self, TranscriptError> {
        for file in [path, head] {
            match std::fs::symlink_metadata(file) {
                // It exists, so its directory does: one stat on every run after the first.
                Ok(meta) if meta.is_file() => continue,
                Ok(_) => return Err(TranscriptError::NotAFile(file.to_path_buf())),
                Err(_) => {}
            }
            if let Some(dir) = file.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|source| {
                        TranscriptError::io(dir, "cannot create the directory", source)
                    })?;
            }
            // Made between the two looks: refused like any other non-file.
            if std::fs::symlink_metadata(file).is_ok_and(|meta| !meta.is_file()) {
                return Err(TranscriptError::NotAFile(file.to_path_buf()));
            }
        }
        let open = |path: &Path, append: bool| {
            OpenOptions::new()
                .read(true)
                .write(!append)
                .append(append)
                .create(true)
                .mode(0o600)
                .open(path)
                .map_err(|source| TranscriptError::io(path, "cannot open", source))
        };
        Ok(Transcript {
            path: path.to_path_buf(),
            head_path: head.to_path_buf(),
            file: open(path, true)?,
            head: open(head, false)?,
            run: new_run_id()?,
            pending: Vec::new(),
            appended: 0,
            syncs: 0,
        })
    }

    /// The head file that goes with a transcript file: `transcript.jsonl` →
    /// `transcript.head` (the extension replaced, or added).
    pub fn head_path_for(path: &Path) -> PathBuf {
        path.with_extension("head")
    }

    /// This run's id.
    pub fn run_id(&self) -> &str {
        &self.run
    }

    /// The transcript file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many times records were synced to disk so far.
    pub fn syncs(&self) -> u32 {
        self.syncs
    }

    /// Appends one record (its `seq`, `time`, `prev` and `run` are filled in); it is
    /// written at the next [`Transcript::flush`] or durable append, or when the
    /// transcript is dropped.
    pub fn append(&mut self, event: Event) -> Result<RecordId, TranscriptError> {
        self.pending.push((now(), event));
        Ok(self.next_id())
    }

    /// Appends one record and, with every record buffered before it, writes it and
    /// syncs the transcript and the head before returning: for the records that must
    /// be on disk before what they describe happens (relaxations, approvals).
    pub fn append_durable(&mut self, event: Event) -> Result<RecordId, TranscriptError> {
        self.pending.push((now(), event));
        let id = self.next_id();
        self.write_pending(true)?;
        Ok(id)
    }

    /// Writes the buffered records and syncs them (the run's last write).
    pub fn flush(&mut self) -> Result<(), TranscriptError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.write_pending(true)
    }

    /// Writes the buffered records without syncing them: for the end of a run that
    /// recorded nothing that must survive a crash of the machine (no relaxation,
    /// approval or denial); they reach the disk with the page cache.
    pub fn flush_unsynced(&mut self) -> Result<(), TranscriptError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.write_pending(false)
    }

    fn next_id(&mut self) -> RecordId {
        let id = RecordId {
            run: self.run.clone(),
            index: self.appended,
        };
        self.appended += 1;
        id
    }

    /// Under the lock: reads the head, chains the pending records onto it, appends them
    /// in one write, rewrites the head (about ten system calls in all: the quiet run's
    /// only write).
    fn write_pending(&mut self, sync: bool) -> Result<(), TranscriptError> {
        let pending = std::mem::take(&mut self.pending);
        self.file
            .lock()
            .map_err(|source| TranscriptError::io(&self.path, "cannot lock", source))?;
        let result = self.write_locked(&pending, sync);
        let unlocked = self
            .file
            .unlock()
            .map_err(|source| TranscriptError::io(&self.path, "cannot unlock", source));
        result.and(unlocked)
    }

    fn write_locked(
        &mut self,
        pending: &[(String, Event)],
        sync: bool,
    ) -> Result<(), TranscriptError> {
        let (mut head, head_length) = self.read_head()?;
        let io = |what, source| TranscriptError::io(&self.path, what, source);
        let length = self
            .file
            .metadata()
            .map_err(|e| io("cannot stat", e))?
            .len();
        self.adopt_interrupted(&mut head, length)?;
        let mut bytes = Vec::new();
        for (time, event) in pending {
            let record = Record {
                v: FORMAT_VERSION,
                seq: head.count,
                time: time.clone(),
                run: self.run.clone(),
                event: event.clone(),
                prev: head.last.clone(),
            };
            let line = serde_json::to_vec(&record).map_err(TranscriptError::Encode)?;
            head.last = line_hash(&line);
            head.count += 1;
            bytes.extend_from_slice(&line);
            bytes.push(b'\n');
        }
        self.file
            .write_all(&bytes)
            .map_err(|e| io("cannot append", e))?;
        // Appended at `length` (O_APPEND, and every writer holds the lock).
        head.bytes = length + bytes.len() as u64;
        if sync {
            self.file.sync_data().map_err(|e| io("cannot sync", e))?;
        }
        let io = |what, source| TranscriptError::io(&self.head_path, what, source);
        let line = head.to_line();
        self.head
            .write_all_at(line.as_bytes(), 0)
            .map_err(|e| io("cannot write", e))?;
        // The head only shrinks when its numbers get shorter (a replaced transcript).
        if (line.len() as u64) < head_length {
            self.head
                .set_len(line.len() as u64)
                .map_err(|e| io("cannot truncate", e))?;
        }
        if sync {
            self.head.sync_data().map_err(|e| io("cannot sync", e))?;
            self.syncs += 1;
        }
        Ok(())
    }

    /// Records a writer appended before it was interrupted (killed, the machine
    /// stopped) between writing them and updating the head: whole lines after the
    /// head's end that continue its chain. They are taken into the head; anything else
    /// after it stays as it is, for `cordon log verify` to report (so does a crash
    /// before the very first head was written: the next run restarts the chain).
    /// `length` is the transcript's length now.
    fn adopt_interrupted(&self, head: &mut Head, length: u64) -> Result<(), TranscriptError> {
        let io = |what, source| TranscriptError::io(&self.path, what, source);
        // A missing head (count 0) adopts nothing: the chain restarts, which `verify`
        // reports, rather than a deleted head being silently rebuilt.
        if head.count == 0 || length <= head.bytes {
            return Ok(());
        }
        let mut tail = vec![0u8; usize::try_from(length - head.bytes).unwrap_or(0)];
        self.file
            .read_exact_at(&mut tail, head.bytes)
            .map_err(|e| io("cannot read", e))?;
        let mut rest = tail.as_slice();
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            let line = &rest[..end];
            let continues = serde_json::from_slice::<Record>(line)
                .is_ok_and(|record| record.seq == head.count && record.prev == head.last);
            if !continues {
                break;
            }
            head.count += 1;
            head.last = line_hash(line);
            head.bytes += end as u64 + 1;
            rest = &rest[end + 1..];
        }
        Ok(())
    }

    /// The head as the last writer left it, and the head file's length; an empty or
    /// missing head starts a new chain (which `cordon log verify` reports when the
    /// file was not empty). Read with positioned reads (no seeking).
    fn read_head(&mut self) -> Result<(Head, u64), TranscriptError> {
        let io = |what, source| TranscriptError::io(&self.head_path, what, source);
        let mut bytes = Vec::new();
        let mut chunk = [0u8; 512];
        loop {
            let read = match self.head.read_at(&mut chunk, bytes.len() as u64) {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io("cannot read", e)),
            };
            bytes.extend_from_slice(&chunk[..read]);
        }
        let length = bytes.len() as u64;
        let text = String::from_utf8(bytes).map_err(|e| {
            io(
                "cannot read",
                std::io::Error::new(std::io::ErrorKind::InvalidData, e),
            )
        })?;
        if text.trim().is_empty() {
            return Ok((Head::default(), length));
        }
        let head = Head::parse(&text).map_err(|source| TranscriptError::BadHead {
            path: self.head_path.clone(),
            source,
        })?;
        Ok((head, length))
    }
}

impl Drop for Transcript {
    /// Writes what is still buffered (an early error return must not lose the
    /// records of what happened before it); errors here have nowhere to go.
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let _ = self.write_pending(false);
        }
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// A run id: the start time (UTC, to the second) and 48 random bits, e.g.
/// `20261202T061500Z-3f9a0c21b4d7`. Sortable by time; unique enough per project.
fn new_run_id() -> Result<String, TranscriptError> {
    let mut random = [0u8; 6];
    File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(&mut random))
        .map_err(|source| TranscriptError::io(Path::new("/dev/urandom"), "cannot read", source))?;
    let stamp = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    Ok(format!("{stamp}-{}", hex::encode(random)))
}
