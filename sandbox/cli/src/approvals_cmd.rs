//! `cordon approve ID`, `cordon approvals ls|rm|check`: answering approval requests and
//! managing the project's stored approvals, from outside every sandbox (inside one they
//! refuse, and the store is read-only there anyway).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use cordon_approvals::{Decision, Store, Verdict};
use cordon_policy::ShellApprovals;
use jiff::Timestamp;

use crate::approval_gate::{approver, policy_digest, shape_in, state_dir};
use crate::decision_record::{Decider, record_decision};
use crate::{LayerArgs, out, resolve};
use cordon_transcript::Transcript;

const INSIDE: &str = "refused inside a cordon sandbox: approvals are given by a person outside every sandbox (run it in your own terminal)";

#[derive(Debug, Args)]
pub(crate) struct ApproveArgs {
    /// The request id `cordon run` printed (or wrote in its `needs_approval` record).
    request_id: String,
    /// Approve this shape from now on (stored with you as approver, 30 days).
    #[arg(long, conflicts_with = "deny")]
    always: bool,
    /// Deny it (re-runs of the same command are denied until the request expires).
    #[arg(long)]
    deny: bool,
    /// Let the approved command also reach DESTINATION through the proxy (repeatable;
    /// recorded as a relaxation whenever the approval is used).
    #[arg(long = "allow-domain", value_name = "D")]
    allow_domains: Vec<String>,
    /// Let the approved command also write below P (repeatable; absolute or ~/...).
    #[arg(long = "allow-write", value_name = "P")]
    allow_write: Vec<String>,
    /// The project (default: found from the current directory like `cordon run`).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// The transcript the decision is recorded in, when runs use `--transcript FILE`
    /// (default: the project's transcript in cordon's state directory).
    #[arg(long, value_name = "FILE")]
    transcript: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApprovalsCommand {
    /// List the project's stored approvals (with who approved them, how and when) and
    /// its pending requests.
    Ls {
        /// The project (default: found from the current directory).
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a stored approval.
    Rm {
        /// Its id (from `cordon approvals ls`).
        id: String,
        /// The project (default: found from the current directory).
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
    },
    /// Print, as JSON, what `cordon run` would decide for ARGV, and the approval that
    /// covers it; runs nothing and asks nobody.
    Check {
        #[command(flatten)]
        layers: LayerArgs,
        /// The command.
        #[arg(required = true, trailing_var_arg = true, value_name = "ARGV")]
        argv: Vec<OsString>,
    },
}

fn project_dir(project: Option<&PathBuf>) -> Result<PathBuf> {
    let cwd = crate::current_dir()?;
    match project {
        Some(dir) => dir
            .canonicalize()
            .with_context(|| format!("project directory {}", dir.display())),
        None => {
            Ok(
                cordon_policy::find_project(&cwd, crate::home().as_deref(), &cordon_policy::RealFs)
                    .0,
            )
        }
    }
}

pub(crate) fn approve(args: &ApproveArgs) -> Result<ExitCode> {
    if cordon_linux::inside_cordon_sandbox() {
        bail!("cordon approve: {INSIDE}");
    }
    let state = state_dir(&project_dir(args.project.as_ref())?)?;
    let store = Store::new(&state);
    let decision = match (args.always, args.deny) {
        (true, _) => Decision::Always,
        (_, true) => Decision::Deny,
        _ => Decision::Once,
    };
    let mut delta: Vec<String> = args
        .allow_domains
        .iter()
        .map(|domain| format!("network.allow {domain}"))
        .collect();
    for path in &args.allow_write {
        if !(path.starts_with('/') || path.starts_with("~/")) {
            bail!("--allow-write {path}: give an absolute path or ~/...");
        }
        delta.push(format!("filesystem.allow_write {path}"));
    }
    let delta = (!delta.is_empty()).then_some(delta);
    let (transcript, head) = match &args.transcript {
        Some(file) => (file.clone(), Transcript::head_path_for(file)),
        None => (
            state.join(cordon_transcript::TRANSCRIPT_FILE),
            state.join(cordon_transcript::HEAD_FILE),
        ),
    };
    let approver = approver();
    let decider = Decider {
        approver: &approver,
        channel: "cli",
        transcript: (&transcript, &head),
    };
    let decided = record_decision(&store, &args.request_id, decision, delta, &decider)
        .map_err(|error| anyhow::anyhow!("cordon approve {}: {error}", args.request_id))?;
    let request = &decided.request;
    let what = match decision {
        Decision::Once => {
            "approved once (the next run of exactly this command in the same directory and policy)"
                .to_owned()
        }
        Decision::Always => format!(
            "approved always: {}",
            decided
                .stored
                .iter()
                .map(|approval| format!("{} ({})", approval.command, approval.id))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Decision::Deny => "denied".to_owned(),
    };
    let mut text = format!("{}: {what}\n", request.shape);
    if !request.capability_delta.is_empty() {
        text.push_str(&format!(
            "  with: {} (recorded as a relaxation when used)\n",
            request.capability_delta.join(", ")
        ));
    }
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn approvals(command: &ApprovalsCommand) -> Result<ExitCode> {
    match command {
        ApprovalsCommand::Ls { project, json } => {
            let store = Store::new(&state_dir(&project_dir(project.as_ref())?)?);
            let approvals = store.approvals()?;
            let requests = store.requests()?;
            let now = Timestamp::now();
            if *json {
                let value = serde_json::json!({
                    "store": store.approvals_path(),
                    "approvals": approvals.iter().map(|a| serde_json::json!({
                        "id": a.id,
                        "pattern": a.command.to_string(),
                        "shown": a.shown,
                        "approver": a.approver,
                        "channel": a.channel,
                        "approved": a.approved,
                        "expires": a.expires,
                        "expired": a.expired(now),
                        "request_id": a.request_id,
                        "capability_delta": a.capability_delta,
                    })).collect::<Vec<_>>(),
                    "requests": requests.iter().map(|r| serde_json::json!({
                        "request_id": r.request_id,
                        "state": r.state,
                        "shape": r.shape,
                        "expires": r.expires,
                    })).collect::<Vec<_>>(),
                });
                out(&format!("{value:#}\n"))?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut text = format!("store: {}\n", store.approvals_path().display());
            if approvals.is_empty() {
                text.push_str("no stored approvals\n");
            }
            for approval in &approvals {
                text.push_str(&format!(
                    "{}  {}\n    approved by {} via {} at {}, expires {}{}\n",
                    approval.id,
                    approval.command,
                    approval.approver,
                    approval.channel,
                    approval.approved,
                    approval.expires,
                    if approval.expired(now) {
                        " (EXPIRED)"
                    } else {
                        ""
                    }
                ));
                if !approval.capability_delta.is_empty() {
                    text.push_str(&format!(
                        "    with: {}\n",
                        approval.capability_delta.join(", ")
                    ));
                }
            }
            for request in &requests {
                text.push_str(&format!(
                    "request {}  {:?}  {}  (expires {})\n",
                    request.request_id, request.state, request.shape, request.expires
                ));
            }
            out(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        ApprovalsCommand::Rm { id, project } => {
            if cordon_linux::inside_cordon_sandbox() {
                bail!("cordon approvals rm: {INSIDE}");
            }
            let store = Store::new(&state_dir(&project_dir(project.as_ref())?)?);
            let removed = store.remove(id)?;
            out(&format!("removed {}  {}\n", removed.id, removed.command))?;
            Ok(ExitCode::SUCCESS)
        }
        ApprovalsCommand::Check { layers, argv } => check(layers, argv),
    }
}

fn check(layers: &LayerArgs, argv: &[OsString]) -> Result<ExitCode> {
    let plan = resolve(layers)?;
    let shape = shape_in(&plan, argv);
    let hash = shape.decision_hash(&plan.cwd, &policy_digest(&plan));
    let (decision, rule, reason) = if plan.approvals.shell == ShellApprovals::Allow {
        (
            "allow",
            Some(format!("approvals: shell allow <- {}", plan.approvals.by)),
            "approvals are off for this policy".to_owned(),
        )
    } else {
        let store = Store::new(&state_dir(&plan.project)?);
        match store.evaluate(&shape, &hash, Timestamp::now())? {
            Verdict::Always(approvals) => (
                "allow",
                Some(
                    approvals
                        .iter()
                        .map(|a| {
                            format!(
                                "{} {} (approved by {} via {}, expires {})",
                                a.id, a.command, a.approver, a.channel, a.expires
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                "covered by stored approvals".to_owned(),
            ),
            Verdict::Once(request) => (
                "allow",
                Some(format!("request {} (once)", request.request_id)),
                "granted once for exactly this invocation".to_owned(),
            ),
            Verdict::Denied(request) => (
                "deny",
                Some(format!("request {} (denied)", request.request_id)),
                format!("denied until {}", request.expires),
            ),
            Verdict::Ask => ("ask", None, "no approval covers this command".to_owned()),
        }
    };
    let value = serde_json::json!({
        "decision": decision,
        "rule": rule,
        "shape": shape.display,
        "cacheable": shape.cacheable(),
        "reason": match &shape.uncacheable {
            Some(why) => format!("{reason}; not cacheable: {why}"),
            None => reason,
        },
        "executable": shape.executable,
        "commands": shape.commands.iter().map(cordon_approvals::Command::display).collect::<Vec<_>>(),
        "decision_hash": hash,
    });
    out(&format!("{value:#}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// The project's policy file compared with the copy the user accepted: `None` when it
/// is missing, never accepted, or unchanged; else the transcript's `policy_change`
/// record and the accepted copy, parsed.
pub(crate) fn policy_change(
    project: &std::path::Path,
    policy: &std::path::Path,
) -> Result<
    Option<(
        cordon_transcript::PolicyChangeEvent,
        cordon_policy::PolicyFile,
    )>,
> {
    let Ok(text) = std::fs::read_to_string(policy) else {
        return Ok(None);
    };
    let Some(accepted) = cordon_approvals::AcceptedPolicy::load(&state_dir(project)?)? else {
        return Ok(None);
    };
    let digest = cordon_approvals::policy_text_digest(&text);
    if digest == accepted.digest {
        return Ok(None);
    }
    let copy = cordon_policy::parse_policy(&accepted.text, policy).with_context(|| {
        format!(
            "the accepted copy of {} (in cordon's state directory) does not parse; run `cordon policy accept` again",
            policy.display()
        )
    })?;
    let event = cordon_transcript::PolicyChangeEvent {
        path: policy.display().to_string(),
        accepted_digest: Some(accepted.digest.clone()),
        digest,
        action: "applied tightenings only (cordon policy accept to apply it all)".to_owned(),
        diff: cordon_approvals::line_diff(&accepted.text, &text),
    };
    Ok(Some((event, copy)))
}

/// Replaces a changed, not yet accepted project layer with its tightenings only, and
/// says so on stderr; returns the change (for the transcript's `policy_change` record).
pub(crate) fn apply_acceptance(
    layers: &mut cordon_policy::Layers,
    project: &std::path::Path,
) -> Result<Option<cordon_transcript::PolicyChangeEvent>> {
    let Some((path, file)) = &layers.project else {
        return Ok(None);
    };
    if let Some((event, accepted)) = policy_change(project, path)? {
        eprintln!(
            "cordon: warning: {} changed since you accepted it ({} lines differ): only its tightenings apply until you run `cordon policy accept`",
            path.display(),
            event.diff.len()
        );
        let merged = cordon_policy::tightenings_only(file, &accepted);
        layers.project = Some((path.clone(), merged));
        return Ok(Some(event));
    }
    Ok(None)
}

/// `cordon policy accept`: records the project's policy file as it is now as accepted.
pub(crate) fn accept(project: Option<&PathBuf>) -> Result<ExitCode> {
    if cordon_linux::inside_cordon_sandbox() {
        bail!("cordon policy accept: {INSIDE}");
    }
    let project = project_dir(project)?;
    let locations =
        cordon_policy::PolicyLocations::discover(&project, |name| std::env::var_os(name));
    let policy = locations.project;
    let text = std::fs::read_to_string(&policy).with_context(|| {
        format!(
            "{}: cannot read the project's policy file",
            policy.display()
        )
    })?;
    // Only a file that parses can be accepted.
    cordon_policy::parse_policy(&text, &policy)?;
    let saved =
        cordon_approvals::AcceptedPolicy::save(&state_dir(&project)?, &policy, &text, &approver())?;
    out(&format!(
        "accepted {} ({})\n",
        policy.display(),
        saved.digest
    ))?;
    Ok(ExitCode::SUCCESS)
}
