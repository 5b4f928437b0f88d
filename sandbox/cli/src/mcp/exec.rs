//! Runs one child process for `cordon mcp` (a `cordon run`) with a deadline, a
//! cancellation flag and capped output: stdout and stderr are each kept to a head and a
//! tail of at most `max_output_bytes` together, with the total byte count, while the
//! pipes are drained to the end so the child never blocks on a full pipe.

use std::collections::VecDeque;
use std::io::Read;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How often the child is polled for exit, deadline and cancellation.
const POLL: Duration = Duration::from_millis(10);
/// Between SIGTERM and SIGKILL when the deadline passes or the call is cancelled.
const GRACE: Duration = Duration::from_millis(1000);
/// How long the pipes may stay open after the child ended (a process that outlived it).
const DRAIN: Duration = Duration::from_secs(2);

/// A flag the server sets when the client cancels a call.
#[derive(Debug, Default)]
pub(crate) struct Cancel(AtomicBool);

impl Cancel {
    pub(crate) fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The output of one stream, capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Captured {
    /// The text kept (invalid UTF-8 replaced), with a marker where bytes were left out.
    pub(crate) text: String,
    /// Every byte the stream carried.
    pub(crate) total_bytes: u64,
    /// Whether bytes were left out.
    pub(crate) truncated: bool,
}

/// How the child ended.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Its exit code, when it exited.
    pub(crate) code: Option<i32>,
    /// The signal that killed it, when one did.
    pub(crate) signal: Option<i32>,
    /// It was stopped because its deadline passed.
    pub(crate) timed_out: bool,
    /// It was stopped because the call was cancelled.
    pub(crate) cancelled: bool,
    pub(crate) stdout: Captured,
    pub(crate) stderr: Captured,
    pub(crate) duration: Duration,
}

/// Keeps the first `head_cap` and the last `tail_cap` bytes of a stream.
#[derive(Debug)]
struct Capture {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    head_cap: usize,
    tail_cap: usize,
    total: u64,
}

impl Capture {
    fn new(max: usize) -> Self {
        let head_cap = max.div_ceil(2);
        Self {
            head: Vec::new(),
            tail: VecDeque::new(),
            head_cap,
            tail_cap: max - head_cap,
            total: 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        self.total = self.total.saturating_add(bytes.len() as u64);
        let room = self.head_cap - self.head.len();
        let (first, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(first);
        bytes = rest;
        if bytes.len() > self.tail_cap {
            bytes = &bytes[bytes.len() - self.tail_cap..];
        }
        self.tail.extend(bytes);
        let excess = self.tail.len().saturating_sub(self.tail_cap);
        self.tail.drain(..excess);
    }

    fn finish(&self) -> Captured {
        let kept = (self.head.len() + self.tail.len()) as u64;
        let omitted = self.total - kept;
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if omitted > 0 {
            text.push_str(&format!(
                "\n[cordon: {omitted} bytes left out of {} (max_output_bytes)]\n",
                self.total
            ));
        }
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        text.push_str(&String::from_utf8_lossy(&tail));
        Captured {
            text,
            total_bytes: self.total,
            truncated: omitted > 0,
        }
    }
}

fn drain(mut stream: impl Read, capture: &Mutex<Capture>) {
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return,
            Ok(read) => {
                if let Ok(mut capture) = capture.lock() {
                    capture.push(&buffer[..read]);
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// Runs `command` in its own process group with no standard input; kills the group
/// (SIGTERM, then SIGKILL after a grace period) when `timeout` passes or `cancel` is set.
pub(crate) fn run(
    mut command: Command,
    timeout: Duration,
    max_output_bytes: usize,
    cancel: &Cancel,
) -> std::io::Result<Outcome> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    let mut child = command.spawn()?;
    let captures = [
        Arc::new(Mutex::new(Capture::new(max_output_bytes))),
        Arc::new(Mutex::new(Capture::new(max_output_bytes))),
    ];
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        let capture = Arc::clone(&captures[0]);
        readers.push(thread::spawn(move || drain(stdout, &capture)));
    }
    if let Some(stderr) = child.stderr.take() {
        let capture = Arc::clone(&captures[1]);
        readers.push(thread::spawn(move || drain(stderr, &capture)));
    }
    let group = i32::try_from(child.id()).ok().map(Pid::from_raw);
    let signal_group = |signal: Signal| {
        if let Some(group) = group {
            // The group may be gone already (ESRCH): nothing left to stop.
            let _ = killpg(group, signal);
        }
    };
    let deadline = started + timeout;
    let mut timed_out = false;
    let mut cancelled = false;
    let mut terminated_at: Option<Instant> = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        let now = Instant::now();
        match terminated_at {
            None if now >= deadline || cancel.is_cancelled() => {
                timed_out = !cancel.is_cancelled();
                cancelled = cancel.is_cancelled();
                signal_group(Signal::SIGTERM);
                terminated_at = Some(now);
            }
            Some(at) if now >= at + GRACE => {
                signal_group(Signal::SIGKILL);
                let _ = child.kill();
                break child.wait()?;
            }
            _ => {}
        }
        thread::sleep(POLL);
    };
    if terminated_at.is_some() {
        // What the child left in its group goes too.
        signal_group(Signal::SIGKILL);
    }
    let drained_by = Instant::now() + DRAIN;
    while readers.iter().any(|reader| !reader.is_finished()) && Instant::now() < drained_by {
        thread::sleep(POLL);
    }
    let finish = |capture: &Arc<Mutex<Capture>>| {
        capture.lock().map_or_else(
            |_| Captured {
                text: String::new(),
                total_bytes: 0,
                truncated: false,
            },
            |capture| capture.finish(),
        )
    };
    Ok(Outcome {
        code: status.code(),
        signal: status.signal(),
        timed_out,
        cancelled,
        stdout: finish(&captures[0]),
        stderr: finish(&captures[1]),
        duration: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn short_output_is_kept_whole() {
        let mut capture = Capture::new(10);
        capture.push(b"hello");
        capture.push(b"12345");
        assert_eq!(
            capture.finish(),
            Captured {
                text: "hello12345".into(),
                total_bytes: 10,
                truncated: false
            }
        );
    }

    #[test]
    fn long_output_keeps_head_and_tail_and_counts_every_byte() {
        let mut capture = Capture::new(6);
        for chunk in [&b"abcd"[..], b"efgh", b"ijkl", b"m"] {
            capture.push(chunk);
        }
        let captured = capture.finish();
        assert!(captured.truncated);
        assert_eq!(captured.total_bytes, 13);
        assert!(
            captured
                .text
                .starts_with("abc\n[cordon: 7 bytes left out of 13")
        );
        assert!(captured.text.ends_with("]\nklm"), "{}", captured.text);
    }

    #[test]
    fn a_child_runs_and_its_streams_are_separate() {
        let outcome = run(
            sh("echo out; echo err >&2; exit 3"),
            Duration::from_secs(30),
            1024,
            &Cancel::default(),
        )
        .unwrap();
        assert_eq!(outcome.code, Some(3));
        assert_eq!(outcome.stdout.text, "out\n");
        assert_eq!(outcome.stderr.text, "err\n");
        assert!(!outcome.timed_out && !outcome.cancelled);
    }

    #[test]
    fn a_deadline_stops_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("late");
        let script = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let outcome = run(
            sh(&script),
            Duration::from_millis(200),
            1024,
            &Cancel::default(),
        )
        .unwrap();
        assert!(outcome.timed_out);
        assert!(outcome.duration < Duration::from_secs(10));
        thread::sleep(Duration::from_secs(3));
        assert!(
            !marker.exists(),
            "a process of the group outlived the deadline"
        );
    }

    #[test]
    fn cancellation_stops_the_child() {
        let cancel = Cancel::default();
        cancel.cancel();
        let outcome = run(sh("sleep 30"), Duration::from_secs(60), 1024, &cancel).unwrap();
        assert!(outcome.cancelled && !outcome.timed_out);
        assert!(outcome.code.is_none() || outcome.signal.is_some());
    }

    #[test]
    fn a_flood_is_drained_and_capped() {
        let outcome = run(
            sh("head -c 5000000 /dev/zero | tr '\\0' x"),
            Duration::from_secs(60),
            100,
            &Cancel::default(),
        )
        .unwrap();
        assert_eq!(outcome.code, Some(0));
        assert_eq!(outcome.stdout.total_bytes, 5_000_000);
        assert!(outcome.stdout.truncated);
        assert!(outcome.stdout.text.len() < 200);
    }
}
