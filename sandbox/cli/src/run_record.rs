//! The transcript side of `cordon run`: where the transcript goes (and the check that the
//! sandbox cannot write it), the records of a run built from the Plan and the run's
//! report, the proxy's refusals read back from its decision log, and the hints printed
//! for the denials observed in this run.

use std::collections::BTreeMap;
use std::io::{BufRead as _, Seek as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Result;
use cordon_policy::{Access, NetworkMode, Plan};
use cordon_transcript::{
    DenialCounts, DenialEvent, Event, GateSetting, LayerRef, RelaxationEvent, RunEnd, RunStart,
    Source, Transcript, lossless,
};

/// Denial records written per source and run at most (every denial is counted).
const MAX_DENIAL_RECORDS: usize = 32;

/// The transcript file and its head for this run: `--transcript FILE` (head
/// `FILE.head`, the extension replaced), else the project's state directory. The third
/// value is true when they do not exist yet where the sandbox would see them writable
/// but the plan denies writing them (cordon's state directory below a writable
/// project): the caller creates them and resolves the plan again, which then binds them
/// read-only, and checks again with [`check_outside`].
pub(crate) fn locations(plan: &Plan, flag: Option<&Path>) -> Result<(PathBuf, PathBuf, bool)> {
    let (path, head) = match flag {
        Some(path) => (path.to_path_buf(), Transcript::head_path_for(path)),
        None => {
            let dir = cordon_transcript::state_dir(&plan.project)?;
            (
                dir.join(cordon_transcript::TRANSCRIPT_FILE),
                dir.join(cordon_transcript::HEAD_FILE),
            )
        }
    };
    let mut recheck = false;
    for file in [&path, &head] {
        let seen = resolved(file);
        if !cordon_linux::writable_inside(plan, &seen) {
            continue;
        }
        if plan.why(&seen, Access::Write).contains(": denied by ") && !seen.exists() {
            recheck = true;
        } else {
            bail_writable(file)?;
        }
    }
    Ok((path, head, recheck))
}

/// Refuses a transcript or head the sandbox under `plan` could write.
pub(crate) fn check_outside(plan: &Plan, path: &Path, head: &Path) -> Result<()> {
    for file in [path, head] {
        if cordon_linux::writable_inside(plan, &resolved(file)) {
            bail_writable(file)?;
        }
    }
    Ok(())
}

fn bail_writable(file: &Path) -> Result<()> {
    anyhow::bail!(
        "the transcript file {} would be writable inside the sandbox (a command could forge or erase its own record); give --transcript a file outside the project and the writable paths (see `cordon policy explain`)",
        file.display()
    )
}

/// `path` with the symbolic links of its nearest existing ancestor resolved.
fn resolved(path: &Path) -> PathBuf {
    let absolute =
        std::env::current_dir().map_or_else(|_| path.to_path_buf(), |cwd| cwd.join(path));
    let mut missing = Vec::new();
    let mut at = absolute.as_path();
    loop {
        if let Ok(real) = at.canonicalize() {
            return missing.iter().rev().fold(real, |acc, name| acc.join(name));
        }
        match (at.parent(), at.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                at = parent;
            }
            _ => return cordon_policy::normalize(&absolute),
        }
    }
}

/// The sources that observe denials in a run under `plan` (the creation guard when the
/// plan has creation locks, the proxy in proxy mode). Seccomp's `errno` answers and
/// Landlock's refusals are not observed.
fn observing(plan: &Plan) -> Vec<Source> {
    let mut out = Vec::new();
    if !plan.landlock.no_create.is_empty() {
        out.push(Source::CreationGuard);
    }
    if plan.network.mode == NetworkMode::Proxy {
        out.push(Source::Proxy);
    }
    out
}

fn tiers(plan: &Plan) -> Vec<String> {
    let mut tiers = vec!["namespaces".to_owned()];
    tiers.push(
        if plan
            .accept_weaker
            .contains(&cordon_policy::Weaker::NoLandlock)
        {
            "landlock-if-supported"
        } else {
            "landlock"
        }
        .to_owned(),
    );
    tiers.push("seccomp".to_owned());
    if !plan.landlock.no_create.is_empty() {
        tiers.push("creation_guard".to_owned());
    }
    tiers.push(format!("network:{}", network_mode(plan.network.mode)));
    tiers
}

fn network_mode(mode: NetworkMode) -> &'static str {
    match mode {
        NetworkMode::None => "none",
        NetworkMode::Proxy => "proxy",
        NetworkMode::Host => "host",
    }
}

/// One run's transcript, from its start record to its end record.
#[derive(Debug)]
pub(crate) struct RunRecord {
    transcript: Transcript,
    started: Instant,
    counts: DenialCounts,
    granted: u64,
    refused: u64,
}

impl RunRecord {
    /// Opens the transcript, records the run's start and its relaxations; the
    /// relaxations are on disk before this returns (the relaxed command starts after).
    /// `policy_digest` is the plan's ([`cordon_transcript::policy_digest`]).
    pub(crate) fn start(
        plan: &Plan,
        policy_digest: &str,
        argv: &[std::ffi::OsString],
        mut transcript: Transcript,
    ) -> Result<Self> {
        let observing = observing(plan);
        let uid = std::fs::metadata("/proc/self").map_or(u32::MAX, |meta| meta.uid());
        transcript.append(Event::RunStart(RunStart {
            argv: argv.iter().map(|word| lossless(word)).collect(),
            cwd: lossless(plan.cwd.as_os_str()),
            project: lossless(plan.project.as_os_str()),
            policy_digest: policy_digest.to_owned(),
            layers: plan
                .layers
                .iter()
                .map(|layer| LayerRef {
                    layer: layer.layer.to_string(),
                    origin: layer.origin.clone(),
                })
                .collect(),
            tiers: tiers(plan),
            observing: observing.clone(),
            cordon_version: env!("CARGO_PKG_VERSION").to_owned(),
            uid,
            approvals: Some(GateSetting {
                shell: plan.approvals.shell.to_string(),
                layer: plan.approvals.by.layer.to_string(),
                origin: plan.approvals.by.origin.clone(),
            }),
        }))?;
        let (mut granted, mut refused) = (0, 0);
        for relaxation in &plan.relaxations {
            if relaxation.granted {
                granted += 1;
            } else {
                refused += 1;
            }
            transcript.append(Event::Relaxation(RelaxationEvent {
                what: relaxation.what.clone(),
                layer: relaxation.by.layer.to_string(),
                origin: relaxation.by.origin.clone(),
                granted: relaxation.granted,
                reason: relaxation.reason.clone(),
            }))?;
        }
        if granted > 0 {
            transcript.flush()?;
        }
        Ok(RunRecord {
            transcript,
            started: Instant::now(),
            counts: DenialCounts::observing(&observing),
            granted,
            refused,
        })
    }

    /// The run's id (the proxy's log records carry it too).
    pub(crate) fn run_id(&self) -> String {
        self.transcript.run_id().to_owned()
    }

    /// Records what the run's report observed and prints a hint for each denial;
    /// then the run's end.
    pub(crate) fn finish(mut self, plan: &Plan, report: &cordon_linux::RunReport) -> Result<()> {
        self.counts.creation_guard = None;
        if let Some(guard) = &report.guard {
            self.counts.add(Source::CreationGuard, guard.total);
            for (path, count) in &guard.refused {
                let why = why_not_created(plan, path);
                eprintln!(
                    "cordon: denied in this run (creation guard{}): {}",
                    times(*count),
                    cordon_transcript::for_display(&why)
                );
                // `plan.why` says "<what>: denied by <rule>; <what would allow it>".
                let (reason, fix) = match why.rsplit_once("; ") {
                    Some((reason, fix)) => (reason.to_owned(), Some(fix.to_owned())),
                    None => (why.clone(), None),
                };
                self.transcript.append(Event::Denial(DenialEvent {
                    source: Source::CreationGuard,
                    op: "create".into(),
                    object: lossless(path.as_os_str()),
                    reason: Some(reason),
                    allow_with: fix,
                    count: *count,
                }))?;
            }
        }
        if let Some(network) = &report.network {
            let summary = &network.summary;
            self.counts.add(
                Source::Proxy,
                summary.connections_denied + summary.dns_denied,
            );
            for denial in proxy_denials(plan, network) {
                eprintln!(
                    "cordon: denied in this run (proxy{}): {} {}: {}{}",
                    times(denial.count),
                    denial.op,
                    cordon_transcript::for_display(&denial.object),
                    denial.reason.as_deref().unwrap_or("refused"),
                    denial
                        .allow_with
                        .as_deref()
                        .map(|fix| format!("; {fix}"))
                        .unwrap_or_default()
                );
                self.transcript.append(Event::Denial(denial))?;
            }
        }
        let (exit_code, signal) = split_code(report.code);
        self.end(exit_code, signal, None)
    }

    /// Records a run that cordon could not carry out.
    pub(crate) fn failed(mut self, error: &anyhow::Error) -> Result<()> {
        self.counts = DenialCounts::default();
        self.end(None, None, Some(format!("{error:#}")))
    }

    fn end(
        &mut self,
        exit_code: Option<i32>,
        signal: Option<i32>,
        error: Option<String>,
    ) -> Result<()> {
        let duration_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let counts = &self.counts;
        let denials: u64 = [
            counts.creation_guard,
            counts.proxy,
            counts.seccomp,
            counts.landlock,
        ]
        .into_iter()
        .flatten()
        .sum();
        let failed = error.is_some();
        self.transcript.append(Event::RunEnd(RunEnd {
            exit_code,
            signal,
            error,
            duration_ms,
            denials: self.counts.clone(),
            relaxations_granted: self.granted,
            relaxations_refused: self.refused,
        }))?;
        // A quiet run (no relaxation, denial or failure) need not survive a crash of the
        // machine: its records are written, not synced, which spares every tool call
        // two disk syncs (about 10 ms here).
        let quiet = self.granted + self.refused == 0 && denials == 0 && !failed;
        if quiet {
            self.transcript.flush_unsynced()?;
        } else {
            self.transcript.flush()?;
        }
        Ok(())
    }
}

/// Why the creation guard refused to create `path`: a protected path, or a missing
/// directory above one (creating it would make room for the protected name).
fn why_not_created(plan: &Plan, path: &Path) -> String {
    let why = plan.why(path, Access::Write);
    if why.contains(": denied by ") {
        return why;
    }
    let below = plan
        .landlock
        .no_create
        .iter()
        .flat_map(|lock| &lock.because)
        .find(|protected| protected.starts_with(path) && protected.as_path() != path);
    match below {
        Some(protected) => format!(
            "create {}: refused, it would make room for {}; {}",
            path.display(),
            protected.display(),
            plan.why(protected, Access::Write)
        ),
        None if path.parent().and_then(Path::file_name) == Some(std::ffi::OsStr::new("hooks")) => {
            format!(
                "create {}: refused, a hook in a git directory the run made would run outside the sandbox at the next git command there; install hooks from outside the sandbox",
                path.display()
            )
        }
        None => why,
    }
}

fn times(count: u64) -> String {
    if count > 1 {
        format!(", {count} times")
    } else {
        String::new()
    }
}

/// `128+N` is signal N (how cordon reports a killed command).
fn split_code(code: i32) -> (Option<i32>, Option<i32>) {
    if code > 128 && code < 128 + 65 {
        (None, Some(code - 128))
    } else {
        (Some(code), None)
    }
}

/// The proxy's refusals in this run, read back from its decision log (the records after
/// the run's starting offset that carry its run id), one record per distinct
/// destination with a count.
fn proxy_denials(plan: &Plan, network: &cordon_linux::NetworkReport) -> Vec<DenialEvent> {
    let mut found: BTreeMap<(String, String), DenialEvent> = BTreeMap::new();
    let Ok(mut file) = std::fs::File::open(&network.log) else {
        return Vec::new();
    };
    if file
        .seek(std::io::SeekFrom::Start(network.log_offset))
        .is_err()
    {
        return Vec::new();
    }
    for line in std::io::BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        let Ok(record) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let text = |key: &str| record.get(key).and_then(|v| v.as_str()).unwrap_or("");
        if text("run_id") != network.run_id || text("decision") != "deny" {
            continue;
        }
        let host = text("host").to_owned();
        let port = record
            .get("port")
            .and_then(serde_json::Value::as_u64)
            .and_then(|p| u16::try_from(p).ok());
        let object = match port {
            Some(port) => format!("{host}:{port}"),
            None => host.clone(),
        };
        let op = text("entry").to_owned();
        let key = (op.clone(), object.clone());
        if let Some(existing) = found.get_mut(&key) {
            existing.count += 1;
            continue;
        }
        if found.len() >= MAX_DENIAL_RECORDS {
            continue;
        }
        let destination = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => cordon_policy::Destination::Ip(ip),
            Err(_) => cordon_policy::Destination::Name(&host),
        };
        let decision = plan.network.decide(destination, port);
        found.insert(
            key,
            DenialEvent {
                source: Source::Proxy,
                op,
                object,
                reason: Some(format!("{} ({})", text("rule"), text("origin"))),
                allow_with: decision.hint,
                count: 1,
            },
        );
    }
    found.into_values().collect()
}

/// Says where the transcript is when it cannot be written (the run does not start).
pub(crate) fn open_error(path: &Path) -> String {
    format!(
        "cannot write the transcript {}; pass --transcript FILE to put it elsewhere",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_above_128_is_a_signal() {
        assert_eq!(split_code(0), (Some(0), None));
        assert_eq!(split_code(3), (Some(3), None));
        assert_eq!(split_code(128), (Some(128), None));
        assert_eq!(split_code(137), (None, Some(9)));
        assert_eq!(split_code(255), (Some(255), None));
    }

    #[test]
    fn resolving_keeps_the_missing_tail() {
        let dir = std::env::temp_dir().canonicalize().unwrap_or_default();
        let missing = dir.join("cordon-no-such-dir/a/b.jsonl");
        assert_eq!(resolved(&missing), missing);
    }
}
