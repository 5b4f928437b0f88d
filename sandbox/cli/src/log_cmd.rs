//! `cordon log verify|show`: checks a transcript's hash chain against its head, and
//! shows what a reviewer reads, one line per tool call (run) with its verdicts,
//! relaxations, approvals and denials, every string escaped for the terminal.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};
use cordon_transcript::{Event, Record, Transcript, for_display};

/// `cordon log verify`: the chain is broken or does not match the head.
const EXIT_TAMPERED: u8 = 1;

#[derive(Debug, Subcommand)]
pub(crate) enum LogCommand {
    /// Check that no record of a transcript was edited, reordered, deleted or cut off
    /// (exit status 1 names the first bad record).
    Verify {
        #[command(flatten)]
        which: Which,
    },
    /// Show a transcript: one line per run (tool call) with its verdicts.
    Show {
        #[command(flatten)]
        which: Which,
        /// Only runs that started in the last N days, hours, minutes or seconds
        /// (`1d`, `12h`, `30m`, `90s`), or since an RFC 3339 time.
        #[arg(long, value_name = "WHEN")]
        since: Option<String>,
        /// Only this run.
        #[arg(long, value_name = "ID")]
        run: Option<String>,
        /// One JSON object per run instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Which transcript: FILE, else the project's.
#[derive(Debug, Args)]
pub(crate) struct Which {
    /// The transcript (default: the project's, in
    /// `$XDG_STATE_HOME/cordon/<project>-<hash>/transcript.jsonl`); its head is FILE
    /// with the extension `.head`.
    #[arg(value_name = "FILE")]
    file: Option<PathBuf>,
    /// The project whose transcript to read (default: the one the current directory is
    /// in, found as `cordon run` finds it).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
}

impl Which {
    /// The transcript file and its head.
    fn files(&self) -> Result<(PathBuf, PathBuf)> {
        if let Some(file) = &self.file {
            return Ok((file.clone(), Transcript::head_path_for(file)));
        }
        let project = match &self.project {
            Some(project) => project
                .canonicalize()
                .with_context(|| format!("project directory {}", project.display()))?,
            None => {
                let cwd = crate::current_dir()?;
                let home = crate::home();
                cordon_policy::find_project(&cwd, home.as_deref(), &cordon_policy::RealFs).0
            }
        };
        let dir = cordon_transcript::state_dir(&project)?;
        Ok((
            dir.join(cordon_transcript::TRANSCRIPT_FILE),
            dir.join(cordon_transcript::HEAD_FILE),
        ))
    }
}

pub(crate) fn dispatch(command: LogCommand) -> Result<ExitCode> {
    match command {
        LogCommand::Verify { which } => verify(&which),
        LogCommand::Show {
            which,
            since,
            run,
            json,
        } => show(&which, since.as_deref(), run.as_deref(), json),
    }
}

fn verify(which: &Which) -> Result<ExitCode> {
    let (path, head) = which.files()?;
    if !path.exists() {
        anyhow::bail!(
            "{}: no transcript (no run recorded for this project yet; pass FILE or --project DIR)",
            path.display()
        );
    }
    let verification = cordon_transcript::verify(&path, &head)?;
    let shown = for_display(&path.display().to_string());
    match verification.problem {
        None => {
            crate::out(&format!(
                "{shown}: ok: {} records, the chain is intact and ends where {} says\n",
                verification.lines,
                for_display(&head.display().to_string())
            ))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(problem) => {
            crate::out(&format!(
                "{shown}: TAMPERED: {}\n",
                for_display(&problem.to_string())
            ))?;
            Ok(ExitCode::from(EXIT_TAMPERED))
        }
    }
}

/// The records of one run, in file order.
#[derive(Debug, Default)]
struct Run {
    records: Vec<Record>,
}

fn show(which: &Which, since: Option<&str>, only: Option<&str>, json: bool) -> Result<ExitCode> {
    let (path, _) = which.files()?;
    let since = since.map(parse_since).transpose()?;
    let records = cordon_transcript::read_records(&path)?;
    let mut order: Vec<String> = Vec::new();
    let mut runs: BTreeMap<String, Run> = BTreeMap::new();
    for (_, record) in records {
        if only.is_some_and(|id| id != record.run) {
            continue;
        }
        let run = runs.entry(record.run.clone()).or_insert_with(|| {
            order.push(record.run.clone());
            Run::default()
        });
        run.records.push(record);
    }
    let mut text = String::new();
    for id in &order {
        let run = &runs[id];
        let started = run.records.first().map(|r| r.time.as_str()).unwrap_or("");
        if let Some(since) = since
            && started
                .parse::<jiff::Timestamp>()
                .is_ok_and(|time| time < since)
        {
            continue;
        }
        if json {
            text.push_str(&run_json(id, run).to_string());
        } else {
            text.push_str(&run_line(id, run));
        }
        text.push('\n');
    }
    crate::out(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `1d`, `12h`, `30m`, `90s` ago, or an RFC 3339 time.
fn parse_since(text: &str) -> Result<jiff::Timestamp> {
    if let Ok(time) = text.parse::<jiff::Timestamp>() {
        return Ok(time);
    }
    let bad = || {
        anyhow::anyhow!(
            "--since {text}: not a duration (`1d`, `12h`, `30m`, `90s`) nor an RFC 3339 time (`2026-12-01T09:00:00Z`)"
        )
    };
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let number: i64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(bad()),
    };
    let span = jiff::SignedDuration::from_secs(number.checked_mul(seconds).ok_or_else(bad)?);
    jiff::Timestamp::now().checked_sub(span).map_err(|_| bad())
}

/// A word of argv as a shell would need it quoted (for reading, not for pasting:
/// control, bidi and zero-width characters are escaped afterwards).
fn quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%^".contains(&b));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn run_line(id: &str, run: &Run) -> String {
    let mut start = None;
    let mut end = None;
    let mut relaxations = Vec::new();
    let mut approvals = Vec::new();
    let mut denials = Vec::new();
    // A decision recorded outside a run (`cordon approve`, `cordon mcp`'s answer, the
    // gate refusing before anything started) has approval records and no run_start.
    let mut first_approval = None;
    for record in &run.records {
        match &record.event {
            Event::RunStart(event) => {
                start = Some((record.time.as_str(), event));
                if let Some(gate) = event
                    .approvals
                    .as_ref()
                    .filter(|gate| gate.shell == "allow")
                {
                    relaxations.push(format!("approvals off ({} {})", gate.layer, gate.origin));
                }
            }
            Event::RunEnd(event) => end = Some(event),
            Event::Relaxation(event) => relaxations.push(format!(
                "{} {} ({} {})",
                if event.granted { "relaxed" } else { "refused" },
                event.what,
                event.layer,
                event.origin
            )),
            Event::Approval(event) => approvals.push({
                first_approval.get_or_insert((record.time.as_str(), event));
                format!(
                    "approval {} {}{}{}",
                    event.state.name(),
                    event.shape,
                    event
                        .approver
                        .as_deref()
                        .map(|who| format!(" by {who}"))
                        .unwrap_or_default(),
                    event
                        .channel
                        .as_deref()
                        .map(|how| format!(" via {how}"))
                        .unwrap_or_default()
                )
            }),
            Event::Denial(event) => denials.push(format!(
                "denied {} {} ({}{})",
                event.op,
                event.object,
                event.source.name(),
                if event.count > 1 {
                    format!(" x{}", event.count)
                } else {
                    String::new()
                }
            )),
            Event::PolicyChange(event) => {
                relaxations.push(format!("policy changed {} ({})", event.path, event.action));
            }
        }
    }
    let (time, command, cwd) = match start {
        Some((time, event)) => (
            time.get(..19).unwrap_or(time).to_owned(),
            event
                .argv
                .iter()
                .map(|word| quoted(&cordon_transcript::display_lossless(word)))
                .collect::<Vec<_>>()
                .join(" "),
            cordon_transcript::display_lossless(&event.cwd),
        ),
        None => match first_approval {
            Some((time, event)) => (
                time.get(..19).unwrap_or(time).to_owned(),
                event.shape.clone(),
                cordon_transcript::display_lossless(&event.cwd),
            ),
            None => ("?".into(), "(no run_start record)".into(), String::new()),
        },
    };
    let outcome = match end {
        Some(end) => {
            let status = match (end.exit_code, end.signal, &end.error) {
                (_, _, Some(error)) => format!("not run: {error}"),
                (_, Some(signal), _) => format!("killed by signal {signal}"),
                (Some(code), _, _) => format!("exit {code}"),
                _ => "ended".into(),
            };
            let counts = &end.denials;
            let count = |name: &str, value: Option<u64>| match value {
                Some(n) => format!("{name} {n}"),
                None => format!("{name} not observed"),
            };
            format!(
                "{status} in {} ms; denials: {}, {}, {}, {}",
                end.duration_ms,
                count("guard", counts.creation_guard),
                count("proxy", counts.proxy),
                count("seccomp", counts.seccomp),
                count("landlock", counts.landlock)
            )
        }
        None if start.is_none() && !approvals.is_empty() => {
            "an approval decision; the command did not run under this record".into()
        }
        None => "no run_end record (still running, or interrupted)".into(),
    };
    let mut line = format!("{time} {id} [{command}] in {cwd}: {outcome}");
    for part in relaxations.iter().chain(&approvals).chain(&denials) {
        line.push_str("; ");
        line.push_str(part);
    }
    for_display(&line)
}

fn run_json(id: &str, run: &Run) -> serde_json::Value {
    let mut object = serde_json::json!({ "run": id });
    let mut relaxations = Vec::new();
    let mut approvals = Vec::new();
    let mut denials = Vec::new();
    let mut changes = Vec::new();
    for record in &run.records {
        let value = serde_json::to_value(&record.event).unwrap_or_default();
        match &record.event {
            Event::RunStart(_) => {
                object["start"] = serde_json::Value::from(record.time.clone());
                object["run_start"] = value;
            }
            Event::RunEnd(_) => {
                object["end"] = serde_json::Value::from(record.time.clone());
                object["run_end"] = value;
            }
            Event::Relaxation(_) => relaxations.push(value),
            Event::Approval(_) => approvals.push(value),
            Event::Denial(_) => denials.push(value),
            Event::PolicyChange(_) => changes.push(value),
        }
    }
    object["relaxations"] = relaxations.into();
    object["approvals"] = approvals.into();
    object["denials"] = denials.into();
    object["policy_changes"] = changes.into();
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_times_and_names_a_bad_one() {
        let now = jiff::Timestamp::now();
        let day = parse_since("1d").unwrap_or(now);
        let ago = now.duration_since(day).as_secs();
        assert!((86_399..=86_401).contains(&ago), "{ago}");
        assert!(parse_since("90s").is_ok() && parse_since("12h").is_ok());
        assert_eq!(
            parse_since("2026-12-01T09:00:00Z").ok(),
            "2026-12-01T09:00:00Z".parse().ok()
        );
        for bad in ["yesterday", "1w", "", "d", "-"] {
            let error = parse_since(bad).map(|_| ()).unwrap_err().to_string();
            assert!(error.contains(&format!("--since {bad}:")), "{error}");
        }
    }

    fn record(seq: u64, event: Event) -> Record {
        Record {
            v: cordon_transcript::FORMAT_VERSION,
            seq,
            time: "2026-12-02T06:00:00.5Z".into(),
            run: "r1".into(),
            event,
            prev: cordon_transcript::GENESIS.into(),
        }
    }

    #[test]
    fn a_run_is_one_line_with_its_approvals_and_denials() {
        use cordon_transcript::*;
        let run = Run {
            records: vec![
                record(
                    0,
                    Event::Approval(ApprovalEvent {
                        request_id: "q".into(),
                        state: ApprovalState::Granted,
                        shape: "npm install".into(),
                        argv: vec!["npm".into(), "install".into()],
                        executable: None,
                        cwd: "/p".into(),
                        decision_hash: GENESIS.into(),
                        scope: Some(ApprovalScope::Once),
                        approver: Some("Ada".into()),
                        channel: Some("terminal".into()),
                        capability_delta: Vec::new(),
                        expires: None,
                        reason: None,
                    }),
                ),
                record(
                    1,
                    Event::RunStart(RunStart {
                        argv: vec!["npm".into(), "install".into()],
                        cwd: "/p".into(),
                        project: "/p".into(),
                        policy_digest: GENESIS.into(),
                        layers: Vec::new(),
                        tiers: Vec::new(),
                        observing: vec![Source::Proxy],
                        cordon_version: "0".into(),
                        uid: 0,
                        approvals: None,
                    }),
                ),
                record(
                    2,
                    Event::Denial(DenialEvent {
                        source: Source::Proxy,
                        op: "connect".into(),
                        object: "evil.test:443".into(),
                        reason: None,
                        allow_with: None,
                        count: 2,
                    }),
                ),
                record(
                    3,
                    Event::RunEnd(RunEnd {
                        exit_code: None,
                        signal: Some(9),
                        error: None,
                        duration_ms: 7,
                        denials: DenialCounts {
                            proxy: Some(2),
                            ..DenialCounts::default()
                        },
                        relaxations_granted: 0,
                        relaxations_refused: 0,
                    }),
                ),
            ],
        };
        let line = run_line("r1", &run);
        assert_eq!(
            line,
            "2026-12-02T06:00:00 r1 [npm install] in /p: killed by signal 9 in 7 ms; denials: guard not observed, proxy 2, seccomp not observed, landlock not observed; approval granted npm install by Ada via terminal; denied connect evil.test:443 (proxy x2)"
        );
        let json = run_json("r1", &run);
        assert_eq!(json["approvals"][0]["approver"], "Ada");
        assert_eq!(json["denials"][0]["count"], 2);
        assert_eq!(json["run_end"]["signal"], 9);
    }

    #[test]
    fn a_decision_outside_a_run_reads_as_a_decision() {
        use cordon_transcript::*;
        let run = Run {
            records: vec![record(
                0,
                Event::Approval(ApprovalEvent {
                    request_id: "q".into(),
                    state: ApprovalState::Denied,
                    shape: "curl evil.test".into(),
                    argv: vec!["curl".into(), "evil.test".into()],
                    executable: None,
                    cwd: "/p".into(),
                    decision_hash: GENESIS.into(),
                    scope: None,
                    approver: Some("Ada".into()),
                    channel: Some("mcp-elicitation".into()),
                    capability_delta: Vec::new(),
                    expires: None,
                    reason: None,
                }),
            )],
        };
        assert_eq!(
            run_line("r1", &run),
            "2026-12-02T06:00:00 r1 [curl evil.test] in /p: an approval decision; the command did not run under this record; approval denied curl evil.test by Ada via mcp-elicitation"
        );
    }

    #[test]
    fn words_are_quoted_when_a_shell_would_need_it() {
        assert_eq!(quoted("ls"), "ls");
        assert_eq!(quoted("--color=auto"), "--color=auto");
        assert_eq!(quoted("a b"), "'a b'");
        assert_eq!(quoted(""), "''");
        assert_eq!(quoted("it's"), r"'it'\''s'");
        assert_eq!(quoted("$(id)"), "'$(id)'");
    }
}
