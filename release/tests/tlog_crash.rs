//! The embedded log under `kill -9` and under concurrent appenders.
//!
//! A child process (this test binary re-run with `CORDON_TLOG_CHILD` set) appends in a
//! loop and prints every entry whose proof it was handed; the parent SIGKILLs it at
//! random moments, reopens the log, audits it, and checks that every printed entry is
//! there, that every older checkpoint is consistent with the new one, and that appends
//! continue.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use cordon_release::merkle::{self, Hash};
use cordon_release::{Checkpoint, FileLog, ProposedEntry, SigningKey, TransparencyLog};
use sigstore_types::Sha256Hash;

const NAME: &str = "test.log";

fn open(dir: &Path) -> FileLog {
    let key = SigningKey::load(&dir.join("tlog.key.pem")).unwrap();
    FileLog::open(&dir.join("log"), key, NAME, "test.log - 1").unwrap()
}

fn entry(tag: &str) -> ProposedEntry {
    ProposedEntry::HashedRekord {
        digest: merkle::leaf_hash(tag.as_bytes()),
        signature: tag.as_bytes().to_vec(),
        certificate_pem: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n".to_owned(),
    }
}

fn h(hash: &Hash) -> Sha256Hash {
    Sha256Hash::new(*hash)
}

#[test]
fn child_appender() {
    let Ok(dir) = std::env::var("CORDON_TLOG_CHILD") else {
        return;
    };
    let log = open(Path::new(&dir));
    let mut stdout = std::io::stdout();
    for round in 0.. {
        let batch: Vec<_> = (0..1 + round % 3)
            .map(|i| entry(&format!("{}-{round}-{i}", std::process::id())))
            .collect();
        for logged in log.append(&batch, SystemTime::now()).unwrap() {
            writeln!(
                stdout,
                "logged {} {}",
                logged.log_index,
                hex::encode(merkle::leaf_hash(&logged.body))
            )
            .unwrap();
        }
        stdout.flush().unwrap();
    }
}

#[test]
fn kill_9_during_appends_loses_no_handed_out_entry() {
    let dir = tempfile::tempdir().unwrap();
    SigningKey::create(&dir.path().join("tlog.key.pem")).unwrap();
    let mut handed_out: Vec<(u64, String)> = Vec::new();
    let mut checkpoints: Vec<Checkpoint> = Vec::new();
    let key = SigningKey::load(&dir.path().join("tlog.key.pem")).unwrap();
    for round in 0..6_u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_appender",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CORDON_TLOG_CHILD", dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((index, hash)) = line
                    .strip_prefix("logged ")
                    .and_then(|rest| rest.split_once(' '))
                {
                    let _ = sender.send((index.parse::<u64>().unwrap(), hash.to_owned()));
                }
            }
        });
        // Wait for the child's first handed-out entry (it may be slow to start on a busy
        // machine), then kill it at a varying moment within its append loop.
        handed_out.push(receiver.recv_timeout(Duration::from_secs(60)).unwrap());
        std::thread::sleep(Duration::from_millis(20 + 37 * round));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        handed_out.extend(receiver.try_iter());

        let log = open(dir.path());
        let checkpoint = log.audit().unwrap().expect("the log has a checkpoint");
        let bodies = log.entries().unwrap();
        assert_eq!(bodies.len() as u64, checkpoint.tree_size);
        let leaves: Vec<Hash> = bodies.iter().map(|body| merkle::leaf_hash(body)).collect();
        for (index, hash) in &handed_out {
            assert_eq!(
                &hex::encode(leaves[*index as usize]),
                hash,
                "entry {index} lost or changed"
            );
        }
        let note = log.checkpoint_note().unwrap().unwrap();
        assert_eq!(
            Checkpoint::open(&note, NAME, key.spki_der()).unwrap(),
            checkpoint
        );
        for old in &checkpoints {
            let proof: Vec<_> = log
                .consistency_proof(old.tree_size, checkpoint.tree_size)
                .unwrap()
                .iter()
                .map(h)
                .collect();
            sigstore_merkle::verify_consistency_proof(
                old.tree_size,
                checkpoint.tree_size,
                &proof,
                &h(&old.root),
                &h(&checkpoint.root),
            )
            .unwrap();
        }
        checkpoints.push(checkpoint);
    }
    assert!(
        handed_out.len() > 10,
        "the child appended too little: {}",
        handed_out.len()
    );
    // The log still appends after the kills.
    let log = open(dir.path());
    let logged = log.append(&[entry("after")], SystemTime::now()).unwrap();
    assert_eq!(logged[0].log_index, checkpoints.last().unwrap().tree_size);
}

#[test]
fn concurrent_appenders_are_serialised() {
    let dir = tempfile::tempdir().unwrap();
    SigningKey::create(&dir.path().join("tlog.key.pem")).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|thread| {
            let path = dir.path().to_owned();
            std::thread::spawn(move || {
                let log = open(&path);
                let mut logged = Vec::new();
                for i in 0..20 {
                    logged.extend(
                        log.append(&[entry(&format!("t{thread}-{i}"))], SystemTime::now())
                            .unwrap(),
                    );
                }
                logged
            })
        })
        .collect();
    let mut all: Vec<_> = threads
        .into_iter()
        .flat_map(|thread| thread.join().unwrap())
        .collect();
    all.sort_by_key(|logged| logged.log_index);
    let indices: Vec<u64> = all.iter().map(|logged| logged.log_index).collect();
    assert_eq!(indices, (0..80).collect::<Vec<_>>());
    for logged in &all {
        let proof: Vec<_> = logged.proof.iter().map(h).collect();
        sigstore_merkle::verify_inclusion_proof(
            &h(&merkle::leaf_hash(&logged.body)),
            logged.log_index,
            logged.tree_size,
            &proof,
            &h(&logged.root),
        )
        .unwrap();
    }
    let checkpoint = open(dir.path()).audit().unwrap().unwrap();
    assert_eq!(checkpoint.tree_size, 80);
    // The static tiles hold the same leaves.
    let tile = std::fs::read(dir.path().join("log/tile/0/000.p/80")).unwrap();
    let leaves: Vec<u8> = all
        .iter()
        .flat_map(|logged| merkle::leaf_hash(&logged.body))
        .collect();
    assert_eq!(tile, leaves);
}
