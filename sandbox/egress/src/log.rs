//! The decision log: one JSON line per decision, from every entry point, allowed or
//! denied, written to a file the sandbox cannot write; and the run's [`Summary`].
//!
//! A connection's line is written when it ends (so it carries the bytes each way and the
//! duration); a refusal's line at once. Host names are logged, never userinfo, paths or
//! query strings.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;

use crate::policy::Verdict;

/// Where a request entered the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryPoint {
    /// HTTP `CONNECT host:port`.
    Connect,
    /// Plain HTTP with an absolute URI.
    Http,
    /// SOCKS5 `CONNECT`.
    Socks5,
    /// The DNS stub (UDP or TCP).
    Dns,
    /// A transparent listener (a direct connection captured by the local route).
    Transparent,
}

/// How a decision ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Allowed (and, for a connection, relayed).
    Allow,
    /// Refused by the policy or by the engine's own checks.
    Deny,
    /// Allowed, but it could not be carried out (resolution or connection failed).
    Error,
}

/// One line of the log.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    /// RFC 3339 time of the decision.
    pub time: String,
    /// The run this proxy serves.
    pub run_id: String,
    /// Where the request came in.
    pub entry: EntryPoint,
    /// The host as requested, canonical (or the raw bytes, escaped, when they were refused
    /// before they could be canonicalised).
    pub host: String,
    /// The port (none for DNS questions).
    pub port: Option<u16>,
    /// The address dialled (or, for DNS, the fake addresses answered).
    pub address: Vec<IpAddr>,
    /// The decision.
    pub decision: Outcome,
    /// The rule that decided.
    pub rule: String,
    /// Where that rule comes from.
    pub origin: String,
    /// What went wrong after an allow (`decision: error`), or extra context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The TLS ClientHello's server name, when one was seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// The Host header of plain HTTP inside a tunnel or on a transparent listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_host: Option<String>,
    /// Bytes from the sandbox to the world.
    pub bytes_up: u64,
    /// Bytes from the world to the sandbox.
    pub bytes_down: u64,
    /// How long the connection lasted, in milliseconds.
    pub duration_ms: u64,
}

impl Record {
    /// A record for `verdict`, stamped now, with no traffic yet.
    pub fn new(entry: EntryPoint, host: String, port: Option<u16>, verdict: &Verdict) -> Record {
        Record {
            time: jiff::Timestamp::now().to_string(),
            run_id: String::new(),
            entry,
            host,
            port,
            address: Vec::new(),
            decision: if verdict.allowed {
                Outcome::Allow
            } else {
                Outcome::Deny
            },
            rule: verdict.rule.clone(),
            origin: verdict.origin.clone(),
            detail: None,
            sni: None,
            http_host: None,
            bytes_up: 0,
            bytes_down: 0,
            duration_ms: 0,
        }
    }

    /// Sets the duration.
    pub fn set_duration(&mut self, duration: Duration) {
        self.duration_ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    }
}

/// Counts for the run-end record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Connections allowed and relayed.
    pub connections_allowed: u64,
    /// Connections refused.
    pub connections_denied: u64,
    /// Connections allowed that failed (resolution, connect).
    pub connections_failed: u64,
    /// DNS questions answered.
    pub dns_allowed: u64,
    /// DNS questions refused.
    pub dns_denied: u64,
    /// Bytes from the sandbox to the world, all connections.
    pub bytes_up: u64,
    /// Bytes from the world to the sandbox, all connections.
    pub bytes_down: u64,
    /// Lines the log could not write (each also reported once on the notices stream).
    pub log_write_errors: u64,
}

/// Where decisions go. Cloning shares the same writer and counts.
#[derive(Clone)]
pub struct DecisionLog {
    inner: Arc<Mutex<LogState>>,
    run_id: Arc<str>,
}

struct LogState {
    writer: Box<dyn Write + Send>,
    summary: Summary,
}

impl std::fmt::Debug for DecisionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionLog")
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl DecisionLog {
    /// A log writing JSON lines to `writer`.
    pub fn new(writer: Box<dyn Write + Send>, run_id: &str) -> DecisionLog {
        DecisionLog {
            inner: Arc::new(Mutex::new(LogState {
                writer,
                summary: Summary::default(),
            })),
            run_id: Arc::from(run_id),
        }
    }

    /// A log appending to `path`, created mode 0600 if missing.
    pub fn append_to(path: &Path, run_id: &str) -> io::Result<DecisionLog> {
        let file: File = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        Ok(DecisionLog::new(Box::new(file), run_id))
    }

    /// Writes one record and counts it. A failed write is counted, never fatal: the
    /// decision has been made either way.
    pub fn write(&self, mut record: Record) -> io::Result<()> {
        record.run_id = self.run_id.to_string();
        let mut line = serde_json::to_vec(&record).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut state = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let summary = &mut state.summary;
        match (record.entry, record.decision) {
            (EntryPoint::Dns, Outcome::Allow) => summary.dns_allowed += 1,
            (EntryPoint::Dns, _) => summary.dns_denied += 1,
            (_, Outcome::Allow) => summary.connections_allowed += 1,
            (_, Outcome::Deny) => summary.connections_denied += 1,
            (_, Outcome::Error) => summary.connections_failed += 1,
        }
        summary.bytes_up += record.bytes_up;
        summary.bytes_down += record.bytes_down;
        let written = state
            .writer
            .write_all(&line)
            .and_then(|()| state.writer.flush());
        if written.is_err() {
            state.summary.log_write_errors += 1;
        }
        written
    }

    /// The counts so far.
    pub fn summary(&self) -> Summary {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_json_line_per_record_and_counts() {
        let sink = Shared::default();
        let log = DecisionLog::new(Box::new(sink.clone()), "run-1");
        let mut allowed = Record::new(
            EntryPoint::Connect,
            "crates.io".into(),
            Some(443),
            &Verdict::allow("allow crates.io", "project .cordon/policy.yaml:3:5"),
        );
        allowed.address = vec!["127.0.0.2".parse().expect("address")];
        allowed.bytes_up = 10;
        allowed.bytes_down = 20;
        allowed.set_duration(Duration::from_millis(1500));
        log.write(allowed).expect("written");
        let denied = Record::new(
            EntryPoint::Dns,
            "evil.test".into(),
            None,
            &Verdict::deny("not allowed", "built-in"),
        );
        log.write(denied).expect("written");
        let bytes = sink
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let text = String::from_utf8(bytes).expect("utf-8");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("json"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["run_id"], "run-1");
        assert_eq!(lines[0]["entry"], "connect");
        assert_eq!(lines[0]["decision"], "allow");
        assert_eq!(lines[0]["address"][0], "127.0.0.2");
        assert_eq!(lines[0]["duration_ms"], 1500);
        assert_eq!(lines[0]["origin"], "project .cordon/policy.yaml:3:5");
        assert_eq!(lines[1]["entry"], "dns");
        assert_eq!(lines[1]["port"], serde_json::Value::Null);
        assert_eq!(lines[1]["decision"], "deny");
        let summary = log.summary();
        assert_eq!(summary.connections_allowed, 1);
        assert_eq!(summary.dns_denied, 1);
        assert_eq!(summary.bytes_up, 10);
        assert_eq!(summary.bytes_down, 20);
    }

    #[test]
    fn log_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("net.jsonl");
        let log = DecisionLog::append_to(&path, "run").expect("opened");
        drop(log);
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
