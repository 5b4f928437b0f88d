//! `cordon mcp`: a Model Context Protocol server on stdio, so that an agent host
//! (Claude Code, OpenCode, Codex, Cursor...) routes its shell through cordon with no
//! plug-in. It has one tool, `run_command`, which runs every call as a child
//! `cordon run` with the server's layer options: the policy, the approvals and the
//! transcript are those of `cordon run` itself. Approvals are asked to the human
//! through MCP elicitation, never taken from what the model sends.
//!
//! `protocol` (JSON-RPC framing) → `server` (the session) → `call` (one tool call) →
//! `tool` (arguments and results), `exec` (the child), `approval` (the question).

mod approval;
mod call;
mod exec;
mod protocol;
mod server;
mod tool;

use std::ffi::OsString;
use std::io::BufReader;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Args;

use crate::{LayerArgs, NESTED, absolute, current_dir, resolve};

#[derive(Debug, Args)]
pub(crate) struct McpArgs {
    /// The layer options every command runs with (as `cordon run`'s).
    #[command(flatten)]
    layers: LayerArgs,
    /// `cordon run --transcript FILE` for every command.
    #[arg(long = "transcript", value_name = "FILE")]
    transcript: Option<PathBuf>,
    /// `cordon run --net-log FILE` for every command.
    #[arg(long = "net-log", value_name = "FILE")]
    net_log: Option<PathBuf>,
}

pub(crate) fn run(args: &McpArgs) -> Result<ExitCode> {
    if cordon_linux::inside_cordon_sandbox() {
        anyhow::bail!("{NESTED}");
    }
    // The policy is resolved once here so that a broken one stops the server before a
    // host starts using it; every call resolves it again (it may change meanwhile).
    let plan = resolve(&args.layers)?;
    let project = plan.project;
    let state_dir = state_dir(&project)?;
    let exe = std::env::current_exe().context("cannot find the cordon binary itself")?;
    let cwd = current_dir()?;
    let mut layer_flags = forward(&args.layers, &cwd, &project);
    for (name, file) in [("transcript", &args.transcript), ("net-log", &args.net_log)] {
        if let Some(file) = file {
            let mut flag = OsString::from(format!("--{name}="));
            flag.push(cwd.join(file));
            layer_flags.push(flag);
        }
    }
    let transcript = match &args.transcript {
        Some(file) => {
            let file = cwd.join(file);
            let head = cordon_transcript::Transcript::head_path_for(&file);
            (file, head)
        }
        None => (
            state_dir.join(cordon_transcript::TRANSCRIPT_FILE),
            state_dir.join(cordon_transcript::HEAD_FILE),
        ),
    };
    let config = call::Config {
        transcript,
        exe,
        project,
        layer_flags,
        state_dir,
        // The user running the server answers its elicitations.
        approver: crate::approval_gate::approver(),
    };
    let running = server::Running::default();
    stop_on_signals(running.clone())?;
    eprintln!(
        "cordon mcp: serving MCP on stdin/stdout for the project {}",
        config.project.display()
    );
    let input = BufReader::new(std::io::stdin());
    server::serve(input, Box::new(std::io::stdout()), config, running)
        .context("cannot read standard input")?;
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM, SIGINT and SIGHUP (a host stopping the server) stop the running commands
/// too: they run in process groups of their own, which no signal to the server reaches.
/// The signals are blocked in every thread (called before any other thread starts) and
/// taken by one thread with `sigwait`; children start with an empty mask.
fn stop_on_signals(running: server::Running) -> Result<()> {
    use nix::sys::signal::{SigSet, Signal};
    let signals = SigSet::from_iter([Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP]);
    signals
        .thread_block()
        .context("cannot block the termination signals")?;
    std::thread::spawn(move || {
        let Ok(signal) = signals.wait() else {
            return;
        };
        eprintln!("cordon mcp: {signal}: stopping the running commands");
        running.cancel_all();
        running.wait_idle(std::time::Duration::from_secs(3));
        std::process::exit(128 + signal as i32);
    });
    Ok(())
}

/// The project's state directory (where the transcript, the approvals and their
/// requests live; no sandbox can write it), created 0700 if missing.
fn state_dir(project: &Path) -> Result<PathBuf> {
    let dir = crate::approval_gate::state_dir(project)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
    Ok(dir)
}

/// `layers` as `cordon run` options, with paths made absolute (every call starts in
/// its own directory) and the project named explicitly.
fn forward(layers: &LayerArgs, cwd: &Path, project: &Path) -> Vec<OsString> {
    let flag = |name: &str, value: &std::ffi::OsStr| {
        let mut flag = OsString::from(format!("--{name}="));
        flag.push(value);
        flag
    };
    let mut flags = vec![flag("project", project.as_os_str())];
    if layers.allow_home_project {
        flags.push("--allow-home-project".into());
    }
    for policy in &layers.policies {
        flags.push(flag("policy", cwd.join(policy).as_os_str()));
    }
    let paths = [
        ("allow-write", &layers.allow_write),
        ("deny-write", &layers.deny_write),
        ("deny-read", &layers.deny_read),
        ("allow-read", &layers.allow_read),
    ];
    for (name, values) in paths {
        for value in values {
            flags.push(flag(name, absolute(value, cwd).as_ref()));
        }
    }
    if let Some(mode) = layers.network
        && let Ok(serde_json::Value::String(mode)) = serde_json::to_value(mode)
    {
        flags.push(flag("network", mode.as_ref()));
    }
    for domain in &layers.allow_domains {
        flags.push(flag("allow-domain", domain.as_ref()));
    }
    if let Some(approvals) = layers.approvals {
        flags.push(flag("approvals", approvals.to_string().as_ref()));
    }
    flags
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser};

    use super::*;

    #[derive(Debug, Parser)]
    struct Layers {
        #[command(flatten)]
        layers: LayerArgs,
    }

    #[test]
    fn every_layer_option_is_forwarded_with_absolute_paths() {
        let given = [
            "t",
            "--project=/p",
            "--allow-home-project",
            "--policy=extra.yaml",
            "--allow-write=out",
            "--deny-write=/abs",
            "--deny-read=~/x",
            "--allow-read=r",
            "--network=proxy",
            "--allow-domain=example.org:443",
            "--approvals=allow",
        ];
        // A layer option added to `LayerArgs` must be forwarded too: this list fails
        // the test until it is.
        let known: Vec<String> = Layers::command()
            .get_arguments()
            .filter_map(|argument| argument.get_long().map(str::to_owned))
            .collect();
        for long in &known {
            assert!(
                given
                    .iter()
                    .any(|flag| flag.starts_with(&format!("--{long}"))),
                "--{long} is not covered by mcp::forward"
            );
        }
        let parsed = Layers::parse_from(given);
        let cwd = Path::new("/work/dir");
        let forwarded = forward(&parsed.layers, cwd, Path::new("/canonical/project"));
        let again = Layers::parse_from(
            std::iter::once(OsString::from("t")).chain(forwarded.iter().cloned()),
        );
        let text = format!("{:?}", again.layers);
        for expected in [
            "/canonical/project",
            "allow_home_project: true",
            "/work/dir/extra.yaml",
            "/work/dir/out",
            "\"/abs\"",
            "\"~/x\"",
            "/work/dir/r",
            "Proxy",
            "example.org:443",
            "approvals: Some(Allow)",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert_eq!(forwarded.len(), given.len() - 1);
    }
}
