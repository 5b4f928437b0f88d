//! `cargo bench -p cordon-approvals --bench decision`: the decision latency of the
//! approval gate (shape: parse + unwrap + resolve; match against the stored approvals;
//! the decision hash), for argv from a few bytes up to 4 KiB. Goal (issue 13): p99 at most
//! 1 ms. Prints the median and p99 of each case, and the ratio to the cheapest case
//! (`ls`) measured in the same run.
#![allow(clippy::unwrap_used)]

use std::ffi::{OsStr, OsString};
use std::path::Path;
use std::time::{Duration, Instant};

use cordon_approvals::{Decision, Store, covering, shape};
use jiff::{SignedDuration, Timestamp};

const PATH: &str = "/usr/local/bin:/usr/bin:/bin";
const POLICY: &str = "sha256:bench";
const ROUNDS: usize = 2000;

fn argv(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// This thread's involuntary context switches so far (`/proc/thread-self/status`): a
/// sample during which it grew was preempted, and its time says more about the machine's
/// load than about the decision.
fn preemptions() -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("nonvoluntary_ctxt_switches:"))
        .and_then(|count| count.trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path());
    // Ten stored approvals, as a project accumulates them.
    for words in [
        &["ls", "-l"][..],
        &["git", "status"],
        &["git", "diff"],
        &["sort", "-u"],
        &["wc", "-l"],
        &["cat", "Cargo.toml"],
        &["grep", "-rn", "x"],
        &["head", "-n", "5"],
        &["ls"],
        &["true"],
    ] {
        let shape = shape(&argv(words), Path::new("/"), Some(OsStr::new(PATH)));
        let hash = shape.decision_hash(Path::new("/"), POLICY);
        let request = store
            .file_request(
                &shape,
                Path::new("/"),
                &hash,
                Vec::new(),
                Timestamp::now(),
                SignedDuration::from_mins(10),
            )
            .unwrap();
        store
            .decide(&request.request_id, Decision::Always, "bench", "cli")
            .unwrap();
    }
    let arguments_4k: Vec<String> = (0..400).map(|i| format!("arg-{i:05}")).collect();
    let mut long = vec!["ls".to_owned()];
    long.extend(arguments_4k);
    let long_bytes: usize = long.iter().map(|a| a.len() + 1).sum();
    let script: String = ["ls -l", "git status", "wc -l"].repeat(10).join(" && ");
    let cases: Vec<(String, Vec<OsString>)> = vec![
        ("ls (baseline)".into(), argv(&["ls"])),
        ("git status".into(), argv(&["git", "status"])),
        (
            "timeout 5 nice -n 3 ls -l".into(),
            argv(&["timeout", "5", "nice", "-n", "3", "ls", "-l"]),
        ),
        (
            "sh -c 'ls -l && git status | wc -l'".into(),
            argv(&["sh", "-c", "ls -l && git status | wc -l"]),
        ),
        (
            format!("sh -c (30 commands, {} bytes)", script.len()),
            argv(&["sh", "-c", &script]),
        ),
        (
            format!("ls + 400 args ({long_bytes} bytes)"),
            long.iter().map(OsString::from).collect(),
        ),
    ];
    let approvals = store.approvals().unwrap();
    println!(
        "decision latency: shape (parse, unwrap, PATH lookup) + match against {} stored approvals + hash, {ROUNDS} rounds each, interleaved",
        approvals.len()
    );
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(ROUNDS); cases.len()];
    let mut calm: Vec<Vec<Duration>> = vec![Vec::with_capacity(ROUNDS); cases.len()];
    for _ in 0..ROUNDS {
        for (index, (_, argv)) in cases.iter().enumerate() {
            let before = preemptions();
            let start = Instant::now();
            let shape = shape(argv, Path::new("/"), Some(OsStr::new(PATH)));
            let hash = shape.decision_hash(Path::new("/"), POLICY);
            let covered = covering(&approvals, &shape, Timestamp::now());
            std::hint::black_box((covered, hash));
            let elapsed = start.elapsed();
            samples[index].push(elapsed);
            if preemptions() == before {
                calm[index].push(elapsed);
            }
        }
    }
    // Reading the store (approvals.json + pending/) happens once per `cordon run`.
    let mut loads: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let shape = shape(&argv(&["ls"]), Path::new("/"), Some(OsStr::new(PATH)));
            let verdict = store
                .evaluate(
                    &shape,
                    &shape.decision_hash(Path::new("/"), POLICY),
                    Timestamp::now(),
                )
                .unwrap();
            std::hint::black_box(verdict);
            start.elapsed()
        })
        .collect();
    loads.sort();
    println!(
        "  {:<45} median {:>8.1} us  p99 {:>8.1} us",
        "Store::evaluate(ls) incl. reading the store",
        percentile(&loads, 0.5).as_secs_f64() * 1e6,
        percentile(&loads, 0.99).as_secs_f64() * 1e6
    );
    let mut baseline = None;
    println!(
        "  (p99 of all samples, then p99 of the samples during which the thread was not preempted; load now: {})",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    for (((name, _), mut times), mut unpreempted) in cases.iter().zip(samples).zip(calm) {
        times.sort();
        unpreempted.sort();
        let median = percentile(&times, 0.5);
        let p99 = percentile(&times, 0.99);
        let calm_p99 = percentile(&unpreempted, 0.99);
        let base = *baseline.get_or_insert(median);
        println!(
            "  {name:<45} median {:>8.1} us  p99 {:>8.1} us  unpreempted p99 {:>7.1} us ({} of {ROUNDS})  ({:.2}x baseline){}",
            median.as_secs_f64() * 1e6,
            p99.as_secs_f64() * 1e6,
            calm_p99.as_secs_f64() * 1e6,
            unpreempted.len(),
            median.as_secs_f64() / base.as_secs_f64(),
            if calm_p99 > Duration::from_millis(1) {
                "  OVER the 1 ms goal"
            } else {
                ""
            }
        );
    }
}
