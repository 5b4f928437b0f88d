//! The work done while `cargo metadata` runs: the evidence ([`crate::early_evidence`]) and
//! archive digests ([`crate::crate_digests`]) of the registry crates the binaries may link,
//! read before cargo names the ones they do.
//!
//! `Cargo.lock` names every package and its dependencies (of every platform, feature and
//! kind), so the registry packages reachable from the binaries' packages in its graph are
//! a superset of the linked crates, nearest first ([`Checksums::reachable_registry_packages`]).
//! One thread works through them until cargo answers (`stop`): cargo's resolution runs on
//! one core, and a second worker would take time from it on a two-core machine rather than
//! use idle time. What is not done by then is done by the documents for the linked crates.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::crate_digests::{self, CrateDigests};
use crate::early_evidence::EarlyEvidence;
use crate::lock::Checksums;

/// What was read and hashed ahead.
#[derive(Debug, Default)]
pub(crate) struct HeadStart {
    pub(crate) digests: CrateDigests,
    pub(crate) evidence: EarlyEvidence,
}

impl HeadStart {
    /// Works through the registry packages the lock file nearest to `manifest_dir` (the
    /// directory or an ancestor) reaches from the path packages named `roots`, until
    /// `stop` is set. Every failure here (no lock file, no cargo home) only means the work
    /// is done later.
    pub(crate) fn compute(manifest_dir: &Path, roots: &[&str], stop: &AtomicBool) -> Self {
        let mut done = Self::default();
        let Some(lock) = manifest_dir
            .ancestors()
            .map(|dir| dir.join("Cargo.lock"))
            .find(|path| path.is_file())
        else {
            return done;
        };
        let Ok(checksums) = Checksums::read(&lock) else {
            return done;
        };
        let caches = crate_digests::cache_dirs();
        let sources = crate_digests::registry_dirs("src");
        done.work_through(&checksums, roots, &caches, &sources, stop);
        done
    }

    /// The loop of [`HeadStart::compute`], over the given cache and source directories.
    fn work_through(
        &mut self,
        checksums: &Checksums,
        roots: &[&str],
        caches: &[PathBuf],
        sources: &[PathBuf],
        stop: &AtomicBool,
    ) {
        for (name, version, sha256) in checksums.reachable_registry_packages(roots) {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            self.evidence.add(name, version, sources);
            if stop.load(Ordering::Relaxed) {
                break;
            }
            self.digests.add(name, version, sha256, caches);
        }
    }
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256, Sha512};

    use super::*;

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    #[test]
    fn reads_and_hashes_only_what_the_roots_reach_until_stopped() {
        let home = tempfile::tempdir().unwrap();
        let cache = home.path().join("cache/index.crates.io-1");
        let source = home.path().join("src/index.crates.io-1");
        let mut lock = String::from(
            "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"linked\",\n]\n",
        );
        for name in ["linked", "unreached"] {
            let archive = format!("archive of {name}");
            std::fs::create_dir_all(&cache).unwrap();
            std::fs::write(cache.join(format!("{name}-1.0.0.crate")), &archive).unwrap();
            std::fs::create_dir_all(source.join(format!("{name}-1.0.0"))).unwrap();
            let sha256 = hex::encode(Sha256::digest(archive.as_bytes()));
            lock.push_str(&format!(
                "\n[[package]]\nname = \"{name}\"\nversion = \"1.0.0\"\nsource = \"{CRATES_IO}\"\nchecksum = \"{sha256}\"\n"
            ));
        }
        let lock_path = home.path().join("Cargo.lock");
        std::fs::write(&lock_path, lock).unwrap();
        let checksums = Checksums::read(&lock_path).unwrap();
        let (caches, sources) = (vec![cache.clone()], vec![source.clone()]);

        let mut done = HeadStart::default();
        done.work_through(
            &checksums,
            &["app"],
            &caches,
            &sources,
            &AtomicBool::new(false),
        );
        let sha256 = hex::encode(Sha256::digest(b"archive of linked"));
        assert_eq!(
            done.digests
                .sha512(&cache.join("linked-1.0.0.crate"), &sha256),
            Some(hex::encode(Sha512::digest(b"archive of linked")).as_str())
        );
        let unreached = hex::encode(Sha256::digest(b"archive of unreached"));
        assert_eq!(
            done.digests
                .sha512(&cache.join("unreached-1.0.0.crate"), &unreached),
            None
        );
        assert!(done.evidence.holds(&source.join("linked-1.0.0")));
        assert!(!done.evidence.holds(&source.join("unreached-1.0.0")));

        // Stopped before it starts (cargo answered): nothing.
        let mut stopped = HeadStart::default();
        stopped.work_through(
            &checksums,
            &["app"],
            &caches,
            &sources,
            &AtomicBool::new(true),
        );
        assert!(!stopped.evidence.holds(&source.join("linked-1.0.0")));
    }
}
