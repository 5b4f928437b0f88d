//! What the creation guard refused during a run, carried from the sandbox's PID 1 to
//! `cordon` after the exit status on the status pipe, so that the caller can tell (and
//! record in the transcript) the denials observed in this run.
//!
//! PID 1 is cordon's own code, but the paths are names the sandboxed command chose:
//! the encoding is length-prefixed, bounded ([`MAX_LISTED`] distinct paths of at most
//! [`MAX_PATH`] bytes) and the decoder trusts none of it.

use std::io::Read;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

/// Distinct refused paths listed at most (every refusal is counted).
pub(crate) const MAX_LISTED: usize = 32;
/// Bytes of one listed path at most.
const MAX_PATH: usize = 4096;

/// The creation guard's refusals in one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardReport {
    /// Every refusal, listed or not.
    pub total: u64,
    /// The distinct paths refused, first ones first (at most [`MAX_LISTED`]), each with
    /// how many times.
    pub refused: Vec<(PathBuf, u64)>,
}

impl GuardReport {
    /// Counts a refusal to create `path`.
    pub(crate) fn add(&mut self, path: &Path) {
        self.total += 1;
        if let Some((_, count)) = self.refused.iter_mut().find(|(p, _)| p == path) {
            *count += 1;
        } else if self.refused.len() < MAX_LISTED && path.as_os_str().len() <= MAX_PATH {
            self.refused.push((path.to_path_buf(), 1));
        }
    }

    /// The bytes PID 1 sends.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.total.to_le_bytes());
        out.extend_from_slice(&(self.refused.len() as u32).to_le_bytes());
        for (path, count) in &self.refused {
            let bytes = path.as_os_str().as_bytes();
            out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            out.extend_from_slice(bytes);
            out.extend_from_slice(&count.to_le_bytes());
        }
        out
    }

    /// Reads what [`GuardReport::encode`] wrote; `None` when it is cut short or out of
    /// bounds.
    pub(crate) fn decode(reader: &mut impl Read) -> Option<GuardReport> {
        let mut u64_buf = [0u8; 8];
        let mut u32_buf = [0u8; 4];
        reader.read_exact(&mut u64_buf).ok()?;
        let total = u64::from_le_bytes(u64_buf);
        reader.read_exact(&mut u32_buf).ok()?;
        let listed = u32::from_le_bytes(u32_buf) as usize;
        if listed > MAX_LISTED {
            return None;
        }
        let mut refused = Vec::with_capacity(listed);
        for _ in 0..listed {
            reader.read_exact(&mut u32_buf).ok()?;
            let length = u32::from_le_bytes(u32_buf) as usize;
            if length > MAX_PATH {
                return None;
            }
            let mut bytes = vec![0u8; length];
            reader.read_exact(&mut bytes).ok()?;
            reader.read_exact(&mut u64_buf).ok()?;
            let path = PathBuf::from(std::ffi::OsStr::from_bytes(&bytes));
            refused.push((path, u64::from_le_bytes(u64_buf)));
        }
        Some(GuardReport { total, refused })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_survives_the_pipe_and_stays_bounded() {
        let mut report = GuardReport::default();
        report.add(Path::new("/p/.envrc"));
        report.add(Path::new("/p/.envrc"));
        report.add(Path::new("/p/.git/hooks/pre-commit"));
        for n in 0..100 {
            report.add(Path::new(&format!("/p/x{n}")));
        }
        assert_eq!(report.total, 103);
        assert_eq!(report.refused.len(), MAX_LISTED);
        assert_eq!(report.refused[0], (PathBuf::from("/p/.envrc"), 2));
        let bytes = report.encode();
        assert_eq!(GuardReport::decode(&mut bytes.as_slice()), Some(report));
        assert_eq!(GuardReport::decode(&mut &bytes[..bytes.len() - 1]), None);
        let mut lying = bytes;
        lying[8..12].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(GuardReport::decode(&mut lying.as_slice()), None);
    }
}
