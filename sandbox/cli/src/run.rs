//! `cordon run`: resolves the policy, runs the command in the sandbox and reports what
//! the run left behind (refused relaxations, git repositories that now run programs).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Args;
use cordon_policy::Plan;

use cordon_transcript::{ApprovalEvent, ApprovalScope, ApprovalState, Event, Transcript};

use crate::run_record::{self, RunRecord};
use crate::{LayerArgs, NESTED, print_plan, resolve};

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) layers: LayerArgs,
    /// Print the resolved plan instead of running the command.
    #[arg(long)]
    pub(crate) print_plan: bool,
    /// Network mode proxy: append every network decision (JSON lines) to FILE instead
    /// of `$XDG_STATE_HOME/cordon/<project>-<hash>/net.jsonl` (`~/.local/state` when
    /// unset). It must not be writable inside the sandbox.
    #[arg(long = "net-log", value_name = "FILE")]
    pub(crate) net_log: Option<PathBuf>,
    /// Decision API: when the command needs an approval no terminal gave, write one
    /// `needs_approval` JSON object to FILE and exit with status 126 without running
    /// anything (docs/sandbox.md, "Approvals guide").
    #[arg(long = "approval-request", value_name = "FILE")]
    pub(crate) approval_request: Option<PathBuf>,
    /// Append the run's transcript records to FILE (its head goes to FILE with the
    /// extension `.head`) instead of `$XDG_STATE_HOME/cordon/<project>-<hash>/transcript.jsonl`.
    /// It must not be writable inside the sandbox.
    #[arg(long = "transcript", value_name = "FILE")]
    pub(crate) transcript: Option<PathBuf>,
    /// The command and its arguments (`--` before it is optional: everything from
    /// the first word that is not an option of `cordon run` on is the command).
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub(crate) command: Vec<OsString>,
}

pub(crate) fn run(args: &RunArgs) -> Result<ExitCode> {
    if cordon_linux::inside_cordon_sandbox() {
        anyhow::bail!("{NESTED}");
    }
    let (mut plan, policy_change) = crate::resolve_noting_change(&args.layers)?;
    if args.print_plan {
        print_plan(&plan)?;
        return Ok(ExitCode::SUCCESS);
    }
    let (path, head, recheck) = run_record::locations(&plan, args.transcript.as_deref())?;
    let mut transcript =
        Transcript::open(&path, &head).with_context(|| run_record::open_error(&path))?;
    if recheck || !plan.create.is_empty() {
        // Resolved again: what was just created (allowed paths, the transcript in a
        // state directory below the project) is bound as the policy says.
        plan = create_allowed_paths(&plan, &args.layers)?;
        run_record::check_outside(&plan, &path, &head)?;
    }
    for relaxation in plan.relaxations.iter().filter(|r| !r.granted) {
        eprintln!(
            "cordon: warning: refused {} asked by {}: {}",
            relaxation.what, relaxation.by, relaxation.reason
        );
    }
    let Some((program, rest)) = args.command.split_first() else {
        anyhow::bail!("no command given");
    };
    // Found while resolving (the project's policy and its accepted copy are read once).
    if let Some(change) = policy_change {
        transcript
            .append_durable(Event::PolicyChange(change))
            .with_context(|| run_record::open_error(&path))?;
    }
    if crate::approval_gate::ensure_state_dir(&plan)? {
        plan = create_allowed_paths(&plan, &args.layers)?;
        run_record::check_outside(&plan, &path, &head)?;
    }
    // The approval gate: before anything starts (and before the sandbox exists, so a
    // terminal prompt reads the real terminal).
    // Its records are on disk (synced) before the command starts, or before cordon
    // exits without running it, except the routine ones (see `routine`).
    // The policy digest (about 0.1 ms for the built-in policy): once per plan.
    let mut digest = cordon_transcript::policy_digest(&plan);
    match crate::approval_gate::check(
        &plan,
        &digest,
        &args.command,
        args.approval_request.as_deref(),
    )? {
        crate::approval_gate::Outcome::Stop { records, code } => {
            for event in records {
                transcript
                    .append_durable(Event::Approval(event))
                    .with_context(|| run_record::open_error(&path))?;
            }
            return Ok(ExitCode::from(code));
        }
        crate::approval_gate::Outcome::Run {
            records,
            capability_delta,
        } => {
            for event in records {
                let appended = if routine(&event) {
                    transcript.append(Event::Approval(event))
                } else {
                    transcript.append_durable(Event::Approval(event))
                };
                appended.with_context(|| run_record::open_error(&path))?;
            }
            if !capability_delta.is_empty() {
                plan = apply_capability_delta(&args.layers, &capability_delta)?;
                run_record::check_outside(&plan, &path, &head)?;
                digest = cordon_transcript::policy_digest(&plan);
            }
        }
    }
    let mut command = std::process::Command::new(program);
    command.args(rest);
    let record = RunRecord::start(&plan, &digest, &args.command, transcript)
        .with_context(|| run_record::open_error(&path))?;
    let options = cordon_linux::NetworkOptions {
        log: args.net_log.clone(),
        run_id: Some(record.run_id()),
    };
    let report = match cordon_linux::run_reporting(&plan, &command, &options) {
        Ok(report) => report,
        Err(error) => {
            let error = anyhow::Error::new(error);
            if let Err(unrecorded) = record.failed(&error) {
                eprintln!(
                    "cordon: warning: the transcript did not record the failure: {unrecorded:#}"
                );
            }
            return Err(error);
        }
    };
    record.finish(&plan, &report).with_context(|| {
        format!(
            "the command ran (exit code {}), but its end could not be recorded",
            report.code
        )
    })?;
    for finding in &report.git {
        eprintln!(
            "cordon: warning: a git repository in the project now makes git run a program: {finding}"
        );
    }
    let code = report.code;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(255)))
}

/// An approval record that grants nothing new: a request that expired unanswered, or a
/// stored `always` approval used without a capability delta (no grant is consumed,
/// nothing is relaxed). It is written with the run's own records, as durable as they
/// are (synced unless the run is quiet), instead of being synced before the command
/// starts: that sync cost every gated command about 2.7 ms. A consumed once-grant, an
/// answer given just now and an approval that adds a capability are synced first.
fn routine(event: &ApprovalEvent) -> bool {
    match event.state {
        ApprovalState::Expired => true,
        ApprovalState::Used => {
            event.scope == Some(ApprovalScope::Always) && event.capability_delta.is_empty()
        }
        ApprovalState::Requested | ApprovalState::Granted | ApprovalState::Denied => false,
    }
}

/// Resolves again with an approval's capability delta added to the command-line layer
/// (`network.allow D` as `--allow-domain D`, in proxy mode when the network was off;
/// `filesystem.allow_write P` as `--allow-write P`): the plan records it as a
/// relaxation like any other, and the command stays in the sandbox.
fn apply_capability_delta(layers: &LayerArgs, delta: &[String]) -> Result<Plan> {
    let mut layers = layers.clone();
    for entry in delta {
        match entry.split_once(' ') {
            Some(("network.allow", destination)) => {
                layers.allow_domains.push(destination.to_owned());
                if layers.network.is_none() {
                    layers.network = Some(cordon_policy::NetworkMode::Proxy);
                }
            }
            Some(("filesystem.allow_write", path)) => layers.allow_write.push(path.to_owned()),
            _ => anyhow::bail!(
                "approval capability delta `{entry}` is not understood; remove the approval (`cordon approvals rm`) and approve again"
            ),
        }
    }
    for entry in delta {
        eprintln!("cordon: relaxed by an approval: {entry}");
    }
    resolve(&layers)
}

/// Creates the directories an `allow_write` names that do not exist (the command could
/// not create them: their parent is read-only in the sandbox), says so, and resolves
/// again so that they are bound writable.
fn create_allowed_paths(plan: &Plan, args: &LayerArgs) -> Result<Plan> {
    for creation in &plan.create {
        std::fs::create_dir_all(&creation.path).with_context(|| {
            format!(
                "allow_write {} (from {}): it does not exist and cannot be created; create it yourself or remove the rule",
                creation.path.display(),
                creation.by
            )
        })?;
        eprintln!(
            "cordon: created {} (allow_write from {}; it did not exist)",
            creation.path.display(),
            creation.by
        );
    }
    let mut again = resolve(args)?;
    again.notes.extend(plan.create.iter().map(|creation| {
        format!(
            "created {} before the run (allow_write from {})",
            creation.path.display(),
            creation.by
        )
    }));
    Ok(again)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(state: ApprovalState, scope: Option<ApprovalScope>, delta: &[&str]) -> ApprovalEvent {
        ApprovalEvent {
            request_id: "0123456789abcdef".into(),
            state,
            shape: "true".into(),
            argv: vec!["true".into()],
            executable: Some("/usr/bin/true".into()),
            cwd: "/p".into(),
            decision_hash: "sha256:x".into(),
            scope,
            approver: Some("ada".into()),
            channel: Some("cli".into()),
            capability_delta: delta.iter().map(|entry| (*entry).to_owned()).collect(),
            expires: None,
            reason: None,
        }
    }

    /// Only records that grant nothing new wait for the run's own write.
    #[test]
    fn only_an_always_approval_without_delta_and_an_expiry_are_routine() {
        use ApprovalScope::{Always, Once};
        use ApprovalState::{Denied, Expired, Granted, Requested, Used};
        assert!(routine(&event(Used, Some(Always), &[])));
        assert!(routine(&event(Expired, None, &[])));
        assert!(!routine(&event(
            Used,
            Some(Always),
            &["network.allow crates.io"]
        )));
        assert!(!routine(&event(Used, Some(Once), &[])));
        assert!(!routine(&event(Used, None, &[])));
        for state in [Requested, Granted, Denied] {
            assert!(!routine(&event(state, Some(Always), &[])));
        }
    }
}
