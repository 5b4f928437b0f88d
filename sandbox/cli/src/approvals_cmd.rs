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
use crate::{LayerArgs, out, resolve};

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
    let store = Store::new(&state_dir(&project_dir(args.project.as_ref())?)?);
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
    let decided = store.decide_with_delta(
        &args.request_id,
        decision,
        &approver(),
        "cli",
        delta,
        Timestamp::now(),
    )?;
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
