//! `cargo bench -p cordon-transcript --bench quiet_run`: what the transcript costs a
//! quiet `cordon run` (no relaxation, approval or denial), in the order the run pays it:
//! the policy digest of a resolved plan (the `run_start` record carries it), opening the
//! transcript and its head, and writing the run's two records (`run_start`, `run_end`)
//! unsynced with the head update; and the digest as it was computed before (copy the
//! plan, build the text, hash it), for comparison in the same run. The baseline, measured in the same run: opening a file
//! with `O_APPEND`, writing the same two lines and closing it (the least any record
//! costs). Prints the median and p90 of each step and its ratio to the baseline.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use cordon_transcript::{
    DenialCounts, Event, GateSetting, LayerRef, RunEnd, RunStart, Source, Transcript, policy_digest,
};

const ROUNDS: usize = 2000;
/// Records already in the transcript when the bench starts (a project's history).
const HISTORY: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn run_start(digest: &str) -> Event {
    Event::RunStart(RunStart {
        argv: vec!["true".into()],
        cwd: "/var/tmp/project".into(),
        project: "/var/tmp/project".into(),
        policy_digest: digest.to_owned(),
        layers: vec![LayerRef {
            layer: "default".into(),
            origin: "built in".into(),
        }],
        tiers: ["namespaces", "landlock", "seccomp", "network:none"]
            .map(str::to_owned)
            .to_vec(),
        observing: Vec::new(),
        cordon_version: "0.0.0".into(),
        uid: 0,
        approvals: Some(GateSetting {
            shell: "allow".into(),
            layer: "flags".into(),
            origin: "command line".into(),
        }),
    })
}

fn run_end() -> Event {
    Event::RunEnd(RunEnd {
        exit_code: Some(0),
        signal: None,
        error: None,
        duration_ms: 3,
        denials: DenialCounts::observing(&[] as &[Source]),
        relaxations_granted: 0,
        relaxations_refused: 0,
    })
}

/// The plan `cordon run --project <dir> -- true` resolves (the built-in defaults and
/// this process's environment).
fn plan(project: &Path) -> cordon_policy::Plan {
    let context = cordon_policy::Context {
        project: project.to_path_buf(),
        cwd: project.to_path_buf(),
        env: std::env::vars().collect(),
        global_policy: None,
    };
    cordon_policy::resolve(
        &cordon_policy::Layers::default(),
        &context,
        &cordon_policy::RealFs,
    )
    .unwrap()
}

fn time(mut step: impl FnMut()) -> Vec<Duration> {
    let mut samples: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            step();
            start.elapsed()
        })
        .collect();
    samples.sort();
    samples
}

fn main() {
    // Not below /tmp when it is a tmpfs: the transcript lives on the disk of the state
    // directory; the bench's files go next to the build's.
    let dir = tempfile::Builder::new()
        .prefix("cordon-transcript-bench")
        .tempdir_in(std::env::var_os("CARGO_TARGET_TMPDIR").unwrap_or_else(|| ".".into()))
        .unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir_all(project.join(".git")).unwrap();
    let plan = plan(&project);
    let digest = policy_digest(&plan);
    let path = dir.path().join("transcript.jsonl");
    let head = dir.path().join("transcript.head");
    let mut history = Transcript::open(&path, &head).unwrap();
    for _ in 0..HISTORY / 2 {
        history.append(run_start(&digest)).unwrap();
        history.append(run_end()).unwrap();
    }
    history.flush_unsynced().unwrap();
    drop(history);
    let lines = {
        let mut bytes = serde_json::to_vec(&run_start(&digest)).unwrap();
        bytes.push(b'\n');
        bytes.extend(serde_json::to_vec(&run_end()).unwrap());
        bytes.push(b'\n');
        bytes
    };
    let baseline_file = dir.path().join("baseline.jsonl");

    let mut rows: Vec<(&str, Vec<Duration>)> = Vec::new();
    rows.push((
        "baseline: open O_APPEND, write 2 lines, close",
        time(|| {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&baseline_file)
                .unwrap();
            file.write_all(&lines).unwrap();
        }),
    ));
    rows.push((
        "policy digest of the resolved plan",
        time(|| {
            std::hint::black_box(policy_digest(std::hint::black_box(&plan)));
        }),
    ));
    rows.push((
        "  the same, as before: copy, text, hash",
        time(|| {
            // What policy_digest did before it hashed while serializing.
            let mut shown = plan.clone();
            for (_, value) in &mut shown.env {
                *value = format!("<{} bytes>", value.len());
            }
            let text = serde_json::to_string_pretty(&shown).unwrap();
            std::hint::black_box(cordon_transcript::line_hash(text.as_bytes()));
        }),
    ));
    rows.push((
        "open transcript + head (new run id)",
        time(|| {
            std::hint::black_box(Transcript::open(&path, &head).unwrap());
        }),
    ));
    rows.push((
        "open, run_start + run_end unsynced, close",
        time(|| {
            let mut transcript = Transcript::open(&path, &head).unwrap();
            transcript.append(run_start(&digest)).unwrap();
            transcript.append(run_end()).unwrap();
            transcript.flush_unsynced().unwrap();
        }),
    ));
    let quiet_run = time(|| {
        let digest = policy_digest(&plan);
        let mut transcript = Transcript::open(&path, &head).unwrap();
        transcript.append(run_start(&digest)).unwrap();
        transcript.append(run_end()).unwrap();
        transcript.flush_unsynced().unwrap();
    });
    rows.push(("all of a quiet run's transcript work", quiet_run));
    assert_eq!(
        cordon_transcript::verify(&path, &head).unwrap().problem,
        None,
        "the bench's transcript must verify"
    );

    let baseline = percentile(&rows[0].1, 0.5);
    println!(
        "quiet run's transcript cost: {ROUNDS} rounds each, {HISTORY} records before, plan JSON {} bytes",
        plan.to_json().len()
    );
    println!(
        "{:<46} {:>10} {:>10} {:>12}",
        "step", "median us", "p90 us", "vs baseline"
    );
    for (name, samples) in &rows {
        let median = percentile(samples, 0.5);
        println!(
            "{name:<46} {:>10.1} {:>10.1} {:>11.2}x",
            median.as_secs_f64() * 1e6,
            percentile(samples, 0.9).as_secs_f64() * 1e6,
            median.as_secs_f64() / baseline.as_secs_f64()
        );
    }
}
