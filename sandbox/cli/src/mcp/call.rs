//! One `run_command` call: the arguments checked, the command run as a child
//! `cordon run --approval-request FILE` (this same binary, with the server's layer
//! options, so policy, approvals and transcript take the one code path), and, when
//! cordon answers that the command needs an approval, the human asked through
//! elicitation and the command run again once the decision is recorded.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cordon_approvals::{Decision, RequestState, Store};
use serde_json::Value;

use super::approval::{self, Answer, EXIT_NEEDS_APPROVAL, NeedsApproval};
use super::exec::{self, Cancel};
use super::server::{Client, Peer, RequestFailure};
use super::tool::{self, RunRequest};
use crate::decision_record::{Decider, record_decision};

/// What every call of one server shares.
#[derive(Debug)]
pub(crate) struct Config {
    /// This `cordon` binary.
    pub(crate) exe: PathBuf,
    /// The project (canonical): every call's `cwd` is inside it.
    pub(crate) project: PathBuf,
    /// The options of `cordon mcp` for `cordon run`, made absolute, with `--project`.
    pub(crate) layer_flags: Vec<OsString>,
    /// The project's state directory, which no sandbox can write: the approvals store,
    /// and where `cordon run` writes its `needs_approval` records (so a sandboxed
    /// command cannot forge one).
    pub(crate) state_dir: PathBuf,
    /// Who answers elicitations: the user running `cordon mcp`.
    pub(crate) approver: String,
    /// The transcript and its head (`--transcript`, else the state directory's), where
    /// the human's decisions are recorded.
    pub(crate) transcript: (PathBuf, PathBuf),
}

impl Config {
    fn command(&self, request: &RunRequest, request_file: &Path) -> Command {
        let mut command = Command::new(&self.exe);
        command
            .arg("run")
            .args(&self.layer_flags)
            .arg("--approval-request")
            .arg(request_file)
            .arg("--")
            .args(&request.argv)
            .current_dir(&request.cwd);
        command
    }
}

/// What a worker needs.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) config: Arc<Config>,
    pub(crate) peer: Arc<Peer>,
    pub(crate) client: Arc<Client>,
}

/// Runs one call; `None` when it was cancelled (no response is sent then).
pub(crate) fn run_command(
    context: &Context,
    arguments: Option<&Value>,
    cancel: &Cancel,
) -> Option<Value> {
    let config = &context.config;
    let structured = context.client.structured();
    let request = match RunRequest::parse(arguments, &config.project) {
        Ok(request) => request,
        Err(error) => return Some(tool::error_result(format!("run_command refused: {error}"))),
    };
    let mut asked = false;
    loop {
        let dir = match tempfile::Builder::new()
            .prefix("mcp-request-")
            .tempdir_in(&config.state_dir)
        {
            Ok(dir) => dir,
            Err(error) => {
                return Some(tool::error_result(format!(
                    "cordon mcp: cannot create a request directory in {}: {error}",
                    config.state_dir.display()
                )));
            }
        };
        let request_file = dir.path().join("needs-approval.json");
        let outcome = match exec::run(
            config.command(&request, &request_file),
            request.timeout,
            request.max_output_bytes,
            cancel,
        ) {
            Ok(outcome) => outcome,
            Err(error) => {
                return Some(tool::error_result(format!(
                    "cordon mcp: cannot start {}: {error}",
                    config.exe.display()
                )));
            }
        };
        if outcome.cancelled {
            return None;
        }
        eprintln!(
            "cordon mcp: run_command {:?} in {} -> {} ({} ms)",
            request.argv,
            request.cwd.display(),
            outcome
                .code
                .map_or_else(|| "no status".to_owned(), |code| format!("exit {code}")),
            outcome.duration.as_millis()
        );
        // 126 alone is also a shell's "cannot execute": only cordon's record means
        // "needs approval".
        let record = match (outcome.code, approval::read(&request_file)) {
            (Some(EXIT_NEEDS_APPROVAL), Some(Ok(record))) => record,
            (Some(EXIT_NEEDS_APPROVAL), Some(Err(error))) => {
                return Some(tool::error_result(format!(
                    "cordon mcp: cordon run asked for an approval but its record is not valid: {error}"
                )));
            }
            _ => return Some(tool::ran(&outcome, structured)),
        };
        if asked {
            return Some(approval::unanswered(
                &record,
                structured,
                "the approval just given does not cover the re-run: what it would run changed",
            ));
        }
        if !context.client.elicitation {
            return Some(approval::unanswered(
                &record,
                structured,
                "this MCP client cannot ask its user: it did not declare the elicitation capability",
            ));
        }
        match ask(context, &record, cancel) {
            Asked::Granted => asked = true,
            Asked::Result(result) => return Some(result),
            Asked::Gone => return None,
        }
    }
}

enum Asked {
    /// Recorded: run again.
    Granted,
    /// The call ends with this result.
    Result(Value),
    /// Cancelled, or the client went away.
    Gone,
}

fn ask(context: &Context, record: &NeedsApproval, cancel: &Cancel) -> Asked {
    let structured = context.client.structured();
    let store = Store::new(&context.config.state_dir);
    // What the human is shown comes from the pending request in the store (written by
    // cordon run outside the sandbox), and must be the request the record names.
    let pending = match store.request(&record.request_id) {
        Ok(pending)
            if pending.state == RequestState::Pending
                && pending.decision_hash == record.decision_hash =>
        {
            pending
        }
        Ok(pending) => {
            return Asked::Result(tool::error_result(format!(
                "cordon mcp: not run: request {} in the approvals store is {:?} with decision hash {}, not the pending request cordon run reported",
                record.request_id, pending.state, pending.decision_hash
            )));
        }
        Err(error) => {
            return Asked::Result(tool::error_result(format!(
                "cordon mcp: not run: cannot read the approval request: {error}"
            )));
        }
    };
    let record = &approval::from_store(&pending, record);
    let result = match context.peer.request(
        "elicitation/create",
        approval::question(record, context.client.protocol >= "2025-11-25"),
        cancel,
    ) {
        Ok(result) => result,
        Err(RequestFailure::Rpc(error)) => {
            return Asked::Result(approval::unanswered(
                record,
                structured,
                &format!("the client could not ask its user: {}", error.message),
            ));
        }
        Err(RequestFailure::Cancelled | RequestFailure::Closed) => return Asked::Gone,
    };
    let answer = approval::answer(&result, record);
    eprintln!(
        "cordon mcp: {} answered request {}: {answer:?}",
        context.client.name, record.request_id
    );
    // A dismissed question decides nothing: the request stays pending (and expires).
    let decision = match answer {
        Answer::Once => Some(Decision::Once),
        Answer::Always => Some(Decision::Always),
        Answer::Deny | Answer::Declined => Some(Decision::Deny),
        Answer::Cancelled => None,
    };
    if let Some(decision) = decision
        && let Err(error) = decide(&context.config, &store, &record.request_id, decision)
    {
        return Asked::Result(tool::error_result(format!(
            "cordon mcp: not run: the decision could not be recorded: {error}"
        )));
    }
    match answer {
        Answer::Once | Answer::Always => Asked::Granted,
        Answer::Deny => Asked::Result(approval::denied(record, "chose deny")),
        Answer::Declined => Asked::Result(approval::denied(record, "declined")),
        Answer::Cancelled => Asked::Result(approval::denied(record, "dismissed the question")),
    }
}

/// Records the human's decision: in the approvals store (channel `mcp-elicitation`),
/// then, durably, in the transcript (granted or denied, with its scope). When the
/// transcript cannot take it, the grant is withdrawn: nothing runs on an approval the
/// transcript does not hold.
fn decide(
    config: &Config,
    store: &Store,
    request_id: &str,
    decision: Decision,
) -> Result<(), String> {
    let (path, head) = &config.transcript;
    let decider = Decider {
        approver: &config.approver,
        channel: approval::CHANNEL,
        transcript: (path, head),
    };
    record_decision(store, request_id, decision, None, &decider).map(drop)
}
