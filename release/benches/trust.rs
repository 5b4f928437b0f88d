//! Signing and transparency-log costs, as medians (no criterion: a plain timing loop
//! keeps the build light). Run: `cargo bench -p cordon-release --bench trust`.
//!
//! - per-bundle signing cost: `Signer::sign_blob_bytes` (ECDSA + one log append with its
//!   fsyncs, tiles, checkpoint, SET and proof), after 1,000 entries are already logged;
//! - per-run setup: `Signer::open` (ephemeral key, precertificate, SCT, leaf);
//! - log append throughput: single-entry appends and 100-entry batches;
//! - inclusion-proof verification: sigstore-merkle over proofs of a 2,000+ entry log,
//!   plus our proof generation for comparison.

use std::time::{Duration, Instant, SystemTime};

use cordon_release::{
    FileLog, InitOptions, LeafIdentity, ProposedEntry, SignOptions, Signer, TransparencyLog, merkle,
};
use sigstore_types::Sha256Hash;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut work: impl FnMut(usize) -> T) -> Duration {
    median(
        (0..runs)
            .map(|run| {
                let started = Instant::now();
                std::hint::black_box(work(run));
                started.elapsed()
            })
            .collect(),
    )
}

fn entry(i: usize) -> ProposedEntry {
    ProposedEntry::HashedRekord {
        digest: merkle::leaf_hash(&i.to_be_bytes()),
        signature: vec![0x30; 70],
        certificate_pem: "x".repeat(1200),
    }
}

fn main() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let trust_dir = dir.path().join("trust");
    cordon_release::init_trust(&trust_dir, &InitOptions::new("bench")).expect("trust init");
    let identity =
        LeafIdentity::from_env_or("https://example.com/bench", "https://example.com/oidc");
    let options = SignOptions::default();

    let open = time(20, |_| {
        Signer::open(&trust_dir, &identity, &options).expect("open")
    });
    let signer = Signer::open(&trust_dir, &identity, &options).expect("open");
    // Warm the log to 1,000 entries with batched signing.
    let paths: Vec<_> = (0..100)
        .map(|i| {
            let path = dir.path().join(format!("artifact-{i}"));
            std::fs::write(&path, format!("artifact {i}")).expect("write");
            path
        })
        .collect();
    let refs: Vec<&std::path::Path> = paths.iter().map(std::path::PathBuf::as_path).collect();
    for _ in 0..10 {
        signer.sign_blobs(&refs).expect("sign");
    }
    let per_bundle = time(200, |i| {
        signer
            .sign_blob_bytes(format!("bundle {i}").as_bytes())
            .expect("sign")
    });
    let batched = time(10, |_| signer.sign_blobs(&refs).expect("sign")) / 100;

    // A bare log: append throughput.
    let key = cordon_release::SigningKey::load(&trust_dir.join("keys/tlog.key.pem")).expect("key");
    let log = FileLog::open(
        &dir.path().join("bare-log"),
        key,
        "bench.log",
        "bench.log - 1",
    )
    .expect("log");
    let started = Instant::now();
    let single = time(1_000, |i| {
        log.append(&[entry(i)], SystemTime::now()).expect("append")
    });
    let single_total = started.elapsed();
    let batch: Vec<_> = (0..100).map(|i| entry(10_000 + i)).collect();
    let batch_append = time(10, |_| {
        log.append(&batch, SystemTime::now()).expect("append")
    });

    // Inclusion proofs over the bare log (2,000 entries).
    let bodies = log.entries().expect("entries");
    let leaves: Vec<merkle::Hash> = bodies.iter().map(|body| merkle::leaf_hash(body)).collect();
    let root = Sha256Hash::new(merkle::root(&leaves));
    let n = leaves.len();
    let proofs: Vec<Vec<Sha256Hash>> = (0..n)
        .map(|i| {
            merkle::inclusion_proof(i, &leaves)
                .expect("proof")
                .into_iter()
                .map(Sha256Hash::new)
                .collect()
        })
        .collect();
    let generate = time(200, |i| merkle::inclusion_proof(i * 7 % n, &leaves));
    let verify = time(n, |i| {
        sigstore_merkle::verify_inclusion_proof(
            &Sha256Hash::new(leaves[i]),
            i as u64,
            n as u64,
            &proofs[i],
            &root,
        )
        .expect("verifies");
    });

    println!("cordon-release bench (medians; log sizes: signer log >= 1,000, bare log {n})");
    println!("  Signer::open (ephemeral key, precert + SCT, leaf)   {open:>12.2?}");
    println!("  sign one blob -> bundle (incl. log append, fsync)    {per_bundle:>12.2?}");
    println!("  sign 100 blobs in one append, per bundle            {batched:>12.2?}");
    println!(
        "  log append, 1 entry                                 {single:>12.2?}   ({:.0} entries/s over 1,000 appends)",
        1_000.0 / single_total.as_secs_f64()
    );
    println!(
        "  log append, 100-entry batch                         {batch_append:>12.2?}   ({:.0} entries/s)",
        100.0 / batch_append.as_secs_f64()
    );
    println!("  inclusion proof generation ({n} leaves)            {generate:>12.2?}");
    println!("  inclusion proof verification (sigstore-merkle)      {verify:>12.2?}");
}
