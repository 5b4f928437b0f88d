//! The approval gate of `cordon run` (`approvals: {shell: ask}`): before anything
//! starts, the command's shape is looked up in the project's approvals store; when
//! nothing covers it, a person is asked on the terminal (opened before the sandbox
//! exists, and only when one is attached), or the caller gets a `needs_approval` record
//! (`--approval-request FILE`), or, with neither, the run is denied ("no approver").

use std::ffi::OsString;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use cordon_approvals::{Decision, Request, Shape, Store, Verdict};
use cordon_policy::{Plan, ShellApprovals};
use cordon_transcript::{ApprovalEvent, ApprovalScope, ApprovalState};
use jiff::Timestamp;

/// `cordon run`'s exit status when the command needs an approval it did not get.
pub(crate) const EXIT_NEEDS_APPROVAL: u8 = 126;

/// What the gate decided.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Run, with these capability deltas (from the approvals that cover it).
    Run {
        records: Vec<ApprovalEvent>,
        capability_delta: Vec<String>,
    },
    /// Do not run: exit with this status (the message is printed already).
    Stop {
        records: Vec<ApprovalEvent>,
        code: u8,
    },
}

/// The project's state directory (approvals, transcript, net log).
pub(crate) fn state_dir(project: &Path) -> Result<PathBuf> {
    Ok(cordon_transcript::state_dir(project)?)
}

/// Creates the project's state directory (0700) when the gate will use it and it is
/// missing; true when it did, so that the caller resolves the plan again: the plan (and
/// so the policy digest every decision is bound to) differs while it is missing.
pub(crate) fn ensure_state_dir(plan: &Plan) -> Result<bool> {
    use std::os::unix::fs::DirBuilderExt as _;
    if plan.approvals.shell == ShellApprovals::Allow {
        return Ok(false);
    }
    let dir = state_dir(&plan.project)?;
    if dir.is_dir() {
        return Ok(false);
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create cordon's state directory {}", dir.display()))?;
    Ok(true)
}

/// The effective policy's digest (the transcript's `run_start` records the same one).
pub(crate) fn policy_digest(plan: &Plan) -> String {
    cordon_transcript::policy_digest(plan)
}

/// The shape of `argv` as the sandbox will run it (the plan's `PATH`, the plan's cwd).
pub(crate) fn shape_in(plan: &Plan, argv: &[OsString]) -> Shape {
    let path = plan
        .env
        .iter()
        .find(|(name, _)| name == "PATH")
        .map(|(_, value)| OsString::from(value));
    cordon_approvals::shape(argv, &plan.cwd, path.as_deref())
}

/// Who is answering: the user name of this process's uid (`uid N` when unknown).
pub(crate) fn approver() -> String {
    let uid = std::fs::metadata("/proc/self").map(|meta| meta.uid()).ok();
    let Some(uid) = uid else {
        return "unknown user".to_owned();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() > 2 && fields[2] == uid.to_string()).then(|| fields[0].to_owned())
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn record(request: &Request, state: ApprovalState) -> ApprovalEvent {
    ApprovalEvent {
        request_id: request.request_id.clone(),
        state,
        shape: request.shape.clone(),
        argv: request.argv.clone(),
        executable: request.executable.clone(),
        cwd: request.cwd.clone(),
        decision_hash: request.decision_hash.clone(),
        scope: None,
        approver: request.approver.clone(),
        channel: request.channel.clone(),
        capability_delta: request.capability_delta.clone(),
        expires: Some(request.expires.clone()),
        reason: request.uncacheable.clone(),
    }
}

/// Runs the gate for `argv` under `plan`, whose [`policy_digest`] is `digest` (the
/// caller's: the transcript's `run_start` carries the same one, computed once).
pub(crate) fn check(
    plan: &Plan,
    digest: &str,
    argv: &[OsString],
    approval_request: Option<&Path>,
) -> Result<Outcome> {
    if plan.approvals.shell == ShellApprovals::Allow {
        return Ok(Outcome::Run {
            records: Vec::new(),
            capability_delta: Vec::new(),
        });
    }
    let store = Store::new(&state_dir(&plan.project)?);
    let now = Timestamp::now();
    let shape = shape_in(plan, argv);
    let hash = shape.decision_hash(&plan.cwd, digest);
    let (expired, verdict) = store.sweep_and_evaluate(&shape, &hash, now)?;
    let mut records: Vec<ApprovalEvent> = expired
        .iter()
        .map(|request| record(request, ApprovalState::Expired))
        .collect();
    match verdict {
        Verdict::Always(approvals) => {
            let mut delta: Vec<String> = approvals
                .iter()
                .flat_map(|approval| approval.capability_delta.iter().cloned())
                .collect();
            delta.sort();
            delta.dedup();
            // Which stored approvals let it run (and what they add), for the reviewer.
            let first = &approvals[0];
            records.push(ApprovalEvent {
                request_id: first.request_id.clone(),
                state: ApprovalState::Used,
                shape: shape.display.clone(),
                argv: shape.argv.clone(),
                executable: shape.executable,
                cwd: cordon_transcript::lossless(plan.cwd.as_os_str()),
                decision_hash: hash,
                scope: Some(ApprovalScope::Always),
                approver: Some(first.approver.clone()),
                channel: Some(first.channel.clone()),
                capability_delta: delta.clone(),
                expires: Some(first.expires.clone()),
                reason: Some(format!(
                    "covered by stored approval(s) {}",
                    approvals
                        .iter()
                        .map(|approval| format!("{} ({})", approval.id, approval.command))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            });
            return Ok(Outcome::Run {
                records,
                capability_delta: delta,
            });
        }
        Verdict::Once(request) => {
            // Used: the grant is consumed before the command starts.
            store.forget(&request.request_id)?;
            let mut used = record(&request, ApprovalState::Used);
            used.scope = Some(ApprovalScope::Once);
            records.push(used);
            return Ok(Outcome::Run {
                records,
                capability_delta: request.capability_delta,
            });
        }
        Verdict::Denied(request) => {
            eprintln!(
                "cordon: denied: {} was denied by {} ({}) in request {}; it stays denied until {}",
                shape.display,
                request.approver.as_deref().unwrap_or("a person"),
                request.channel.as_deref().unwrap_or("?"),
                request.request_id,
                request.expires
            );
            let mut denied = record(&request, ApprovalState::Denied);
            denied.reason = Some("denied earlier".into());
            records.push(denied);
            return Ok(Outcome::Stop {
                records,
                code: EXIT_NEEDS_APPROVAL,
            });
        }
        Verdict::Ask => {}
    }
    let request = store.file_request(&shape, &plan.cwd, &hash, Vec::new(), now, request_ttl()?)?;
    records.push(record(&request, ApprovalState::Requested));
    if let Some(file) = approval_request {
        write_needs_approval(file, &request)?;
        eprintln!(
            "cordon: needs approval: {} (request {}; `cordon approve {}` then run it again); the record is in {}",
            request.shape,
            request.request_id,
            request.request_id,
            file.display()
        );
        return Ok(Outcome::Stop {
            records,
            code: EXIT_NEEDS_APPROVAL,
        });
    }
    if let Some(tty) = terminal() {
        return ask_on_terminal(&tty, &store, &request, records);
    }
    let mut denied = record(&request, ApprovalState::Denied);
    denied.approver = Some("no approver".into());
    denied.channel = Some("none".into());
    denied.reason = Some("no terminal and no --approval-request caller".into());
    records.push(denied);
    eprintln!(
        "cordon: denied (no approver): {} needs an approval and there is no terminal to ask on; approve it with `cordon approve {}{}` and run it again, or pass --approval-request FILE",
        request.shape,
        request.request_id,
        if request.uncacheable.is_none() {
            " [--always]"
        } else {
            ""
        }
    );
    Ok(Outcome::Stop {
        records,
        code: EXIT_NEEDS_APPROVAL,
    })
}

/// The `needs_approval` record of the decision API (0600, atomic).
pub(crate) fn needs_approval_json(request: &Request) -> serde_json::Value {
    let approve_with = if request.uncacheable.is_none() {
        format!("cordon approve {} [--always]", request.request_id)
    } else {
        format!("cordon approve {}", request.request_id)
    };
    serde_json::json!({
        "type": "needs_approval",
        "request_id": request.request_id,
        "shape": request.shape,
        "argv": request.argv,
        "executable": request.executable,
        "cwd": request.cwd,
        "capability_delta": request.capability_delta,
        "cacheable": request.uncacheable.is_none(),
        "expires": request.expires,
        "decision_hash": request.decision_hash,
        "approve_with": approve_with,
    })
}

fn write_needs_approval(file: &Path, request: &Request) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = file
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut text = needs_approval_json(request).to_string();
    text.push('\n');
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| {
            format!(
                "--approval-request {}: cannot create {}",
                file.display(),
                temporary.display()
            )
        })?;
    out.write_all(text.as_bytes())
        .and_then(|()| out.sync_all())
        .with_context(|| format!("--approval-request {}: cannot write", file.display()))?;
    std::fs::rename(&temporary, file)
        .with_context(|| format!("--approval-request {}: cannot replace it", file.display()))?;
    Ok(())
}

/// The controlling terminal, when a person is plausibly there: `/dev/tty` opens and is a
/// terminal, standard input and error are terminals, and `CI` is not set.
fn terminal() -> Option<std::fs::File> {
    if std::env::var_os("CI").is_some_and(|ci| !ci.is_empty()) {
        return None;
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return None;
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    tty.is_terminal().then_some(tty)
}

fn ask_on_terminal(
    tty: &std::fs::File,
    store: &Store,
    request: &Request,
    mut records: Vec<ApprovalEvent>,
) -> Result<Outcome> {
    let mut writer = tty;
    let mut text = format!(
        "cordon: approval needed before running (request {}, expires {}):\n  command: {}\n  program: {}\n  in:      {}\n",
        request.request_id,
        request.expires,
        request.shape,
        request
            .executable
            .as_deref()
            .unwrap_or("(not found in PATH)"),
        request.cwd
    );
    for command in &request.commands {
        text.push_str(&format!("  runs:    {}\n", command.display()));
    }
    let choices = match &request.uncacheable {
        Some(reason) => {
            text.push_str(&format!("  (can be approved once only: {reason})\n"));
            "[o]nce / [N]o"
        }
        None => "[o]nce / [a]lways / [N]o",
    };
    text.push_str(&format!("Run it? {choices}: "));
    writer.write_all(text.as_bytes()).context("/dev/tty")?;
    writer.flush().context("/dev/tty")?;
    let deadline: Timestamp = request.expires.parse().with_context(|| {
        format!(
            "request {}: bad expiry {}",
            request.request_id, request.expires
        )
    })?;
    let Some(answer) = read_answer_until(tty, deadline)? else {
        // Nobody answered before the request expired: it is withdrawn, not granted.
        writer.write_all(b"\n").context("/dev/tty")?;
        store.forget(&request.request_id)?;
        let mut expired = record(request, ApprovalState::Expired);
        expired.channel = Some("terminal".into());
        expired.reason = Some("no answer on the terminal before the request expired".into());
        records.push(expired);
        eprintln!(
            "cordon: denied (expired): nobody answered on the terminal before request {} expired at {}; {} did not run (run it again to be asked again)",
            request.request_id, request.expires, request.shape
        );
        return Ok(Outcome::Stop {
            records,
            code: EXIT_NEEDS_APPROVAL,
        });
    };
    let decision = match answer.trim() {
        "o" | "once" => Decision::Once,
        "a" | "always" if request.uncacheable.is_none() => Decision::Always,
        _ => Decision::Deny,
    };
    let decided = store.decide(&request.request_id, decision, &approver(), "terminal")?;
    let mut answered = record(
        &decided.request,
        if decision == Decision::Deny {
            ApprovalState::Denied
        } else {
            ApprovalState::Granted
        },
    );
    answered.scope = match decision {
        Decision::Once => Some(ApprovalScope::Once),
        Decision::Always => Some(ApprovalScope::Always),
        Decision::Deny => None,
    };
    records.push(answered);
    if decision == Decision::Deny {
        eprintln!("cordon: denied on the terminal: {}", request.shape);
        return Ok(Outcome::Stop {
            records,
            code: EXIT_NEEDS_APPROVAL,
        });
    }
    if decision == Decision::Once {
        store.forget(&request.request_id)?;
        let mut used = record(&decided.request, ApprovalState::Used);
        used.scope = Some(ApprovalScope::Once);
        records.push(used);
    }
    Ok(Outcome::Run {
        records,
        capability_delta: decided.request.capability_delta,
    })
}

/// The variable that shortens how long a pending request waits for an answer (seconds,
/// 1 to the 10-minute default; for tests and for people who want a shorter prompt).
const REQUEST_TTL_VARIABLE: &str = "CORDON_APPROVAL_REQUEST_TTL";

/// How long a new request stays pending: [`cordon_approvals::DEFAULT_REQUEST_TTL`], or
/// less when [`REQUEST_TTL_VARIABLE`] says so (never more: a longer wait is not a knob).
fn request_ttl() -> Result<jiff::SignedDuration> {
    let default = cordon_approvals::DEFAULT_REQUEST_TTL;
    let Some(text) = std::env::var_os(REQUEST_TTL_VARIABLE) else {
        return Ok(default);
    };
    let seconds = text
        .to_str()
        .and_then(|text| text.parse::<i64>().ok())
        .filter(|seconds| (1..=default.as_secs()).contains(seconds));
    match seconds {
        Some(seconds) => Ok(jiff::SignedDuration::from_secs(seconds)),
        None => anyhow::bail!(
            "{REQUEST_TTL_VARIABLE}={}: expected a number of seconds from 1 to {} (unset it for the default)",
            text.to_string_lossy(),
            default.as_secs()
        ),
    }
}

/// One line typed on the terminal, or `None` when `deadline` passes first (the terminal
/// is polled, so the prompt never outlives the request it asks about). End of input is
/// an empty answer (no).
fn read_answer_until(tty: &std::fs::File, deadline: Timestamp) -> Result<Option<String>> {
    use nix::errno::Errno;
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd as _;
    let mut line = Vec::new();
    loop {
        let left = deadline.duration_since(Timestamp::now());
        if left <= jiff::SignedDuration::ZERO {
            return Ok(None);
        }
        let millis = i32::try_from(left.as_millis()).unwrap_or(i32::MAX).max(1);
        let mut fds = [PollFd::new(tty.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(error) => return Err(error).context("waiting for an answer on /dev/tty"),
        }
        let mut chunk = [0u8; 256];
        let read = (&*tty)
            .read(&mut chunk)
            .context("reading the answer from /dev/tty")?;
        line.extend_from_slice(&chunk[..read]);
        if read == 0 || line.contains(&b'\n') {
            let end = line
                .iter()
                .position(|&byte| byte == b'\n')
                .unwrap_or(line.len());
            return Ok(Some(String::from_utf8_lossy(&line[..end]).into_owned()));
        }
    }
}
