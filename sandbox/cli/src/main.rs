//! `cordon`: runs an AI coding agent's tool calls under least privilege.
//!
//! Thin glue over `cordon-policy` (what is allowed) and `cordon-linux` (enforcement).

mod approval_gate;
mod approvals_cmd;
mod decision_record;
mod log_cmd;
mod mcp;
mod run;
mod run_record;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use cordon_policy::{
    Context, Filesystem, Layer, Layers, Plan, PolicyFile, PolicyLocations, RealFs,
};

/// `cordon run`: cordon itself failed; nothing ran (as `env` and `timeout` use it).
const EXIT_NOT_RUN: u8 = 125;
/// `cordon policy check` and `explain`: the policy is invalid (or unreadable).
const EXIT_INVALID_POLICY: u8 = 1;
/// `cordon log`: the transcript cannot be read (1 is `verify`'s "tampered").
const EXIT_LOG_ERROR: u8 = 2;

/// Runs an AI coding agent's tool calls (shell commands, MCP servers) in a
/// least-privilege sandbox configured by a layered policy.
#[derive(Debug, Parser)]
#[command(name = "cordon", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run CMD in the sandbox; the exit status is CMD's (128+N when killed by signal N).
    Run(run::RunArgs),
    /// Check or explain policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Serve the Model Context Protocol on stdin/stdout: a `run_command` tool that runs
    /// each call as `cordon run` with these layer options, asking the user (through the
    /// MCP client) to approve commands.
    Mcp(mcp::McpArgs),
    /// Tell what this host's kernel supports for sandboxing (namespaces, Landlock, seccomp).
    Doctor,
    /// Answer an approval request `cordon run` made (once by default).
    Approve(approvals_cmd::ApproveArgs),
    /// List, revoke or check the project's command approvals.
    #[command(subcommand)]
    Approvals(approvals_cmd::ApprovalsCommand),
    /// Verify or show the run transcript.
    #[command(subcommand)]
    Log(log_cmd::LogCommand),
}

#[derive(Debug, Clone, Args)]
pub(crate) struct LayerArgs {
    /// The project directory (default: the enclosing git repository's top level or
    /// directory with a `.cordon/`, below the home directory; else the current directory).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Allow the project to be `/`, the home directory or an ancestor of it (its
    /// persistence places such as ~/.local/bin stay read-only).
    #[arg(long)]
    allow_home_project: bool,
    /// Another policy layer, after the global file (YAML, or sandbox-runtime settings
    /// `.json`); repeatable.
    #[arg(long = "policy", value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// Also allow writing below P (repeatable).
    #[arg(long = "allow-write", value_name = "P")]
    allow_write: Vec<String>,
    /// Also deny writing below P (repeatable).
    #[arg(long = "deny-write", value_name = "P")]
    deny_write: Vec<String>,
    /// Also deny reading below P (repeatable).
    #[arg(long = "deny-read", value_name = "P")]
    deny_read: Vec<String>,
    /// Allow reading below P inside a denied region (repeatable).
    #[arg(long = "allow-read", value_name = "P")]
    allow_read: Vec<String>,
    /// The network: none (an empty namespace, the default), proxy (only what the
    /// allow-lists name, through cordon's egress proxy) or host (unfiltered).
    #[arg(long, value_name = "MODE")]
    network: Option<cordon_policy::NetworkMode>,
    /// Allow a destination in proxy mode: NAME, *.SUFFIX, *, an address or a CIDR
    /// range, with :PORT (else ports 80 and 443); repeatable.
    #[arg(long = "allow-domain", value_name = "D")]
    allow_domains: Vec<String>,
    /// Whether a command without an approval runs: ask (a person approves it first;
    /// the built-in default) or allow (scripted use: CI, test suites). The project's
    /// policy file cannot say allow.
    #[arg(long, value_name = "ask|allow")]
    approvals: Option<cordon_policy::ShellApprovals>,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Check a policy file (YAML, or sandbox-runtime settings `.json`).
    Check {
        /// The file.
        file: PathBuf,
    },
    /// Say why reading and writing PATH are allowed or denied, and which policy key or
    /// flag would allow a denied one (for the `EACCES` a sandboxed command got).
    Why {
        #[command(flatten)]
        layers: LayerArgs,
        /// The paths (relative to the current directory).
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<String>,
    },
    /// Accept the project's `.cordon/policy.yaml` as it is now: until then, a file that
    /// changed since the last acceptance applies only its tightenings.
    Accept {
        /// The project (default: found from the current directory).
        #[arg(long, value_name = "DIR")]
        project: Option<PathBuf>,
    },
    /// Show the resolved plan: every rule with the layer that set it.
    Explain {
        #[command(flatten)]
        layers: LayerArgs,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code_on_error = match cli.command {
        Command::Policy(_) => EXIT_INVALID_POLICY,
        Command::Log(_) => EXIT_LOG_ERROR,
        _ => EXIT_NOT_RUN,
    };
    match dispatch(cli) {
        Ok(code) => code,
        // `| head` closed our output: end quietly, as `cat` does.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("cordon: error: {error:#}");
            ExitCode::from(code_on_error)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes `text` to standard output (a closed pipe is an error the caller ends on
/// quietly, never a panic).
pub(crate) fn out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

pub(crate) const NESTED: &str = "already inside a cordon sandbox: a sandbox cannot start another (user namespaces and mounts are denied inside), and this command already runs confined; run it directly";

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Doctor => {
            if cordon_linux::inside_cordon_sandbox() {
                out(&format!("cordon doctor: {NESTED}\n"))?;
                return Ok(ExitCode::SUCCESS);
            }
            let host = cordon_linux::HostSupport::probe();
            let mut text = String::new();
            for line in host.report() {
                text.push_str(&line);
                text.push('\n');
            }
            out(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Check { file }) => check(&file),
        Command::Policy(PolicyCommand::Accept { project }) => {
            approvals_cmd::accept(project.as_ref())
        }
        Command::Policy(PolicyCommand::Explain { layers, json }) => {
            let plan = resolve(&layers)?;
            if json {
                out(&format!("{}\n", plan.to_json()))?;
            } else {
                print_plan(&plan)?;
                out(&cordon_policy::network::built_in().to_string())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Why { layers, paths }) => {
            let plan = resolve(&layers)?;
            let cwd = current_dir()?;
            let mut text = String::new();
            for raw in &paths {
                let path = cordon_policy::normalize(&cwd.join(raw));
                for access in [cordon_policy::Access::Read, cordon_policy::Access::Write] {
                    text.push_str(&plan.why(&path, access));
                    text.push('\n');
                }
            }
            out(&text)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run::run(&args),
        Command::Mcp(args) => mcp::run(&args),
        Command::Approve(args) => approvals_cmd::approve(&args),
        Command::Approvals(command) => approvals_cmd::approvals(&command),
        Command::Log(command) => log_cmd::dispatch(command),
    }
}

/// `policy check`: the file parses, and resolving it in the layer it would be (global,
/// project, or `--policy`) for the current project succeeds, so that check fails on
/// whatever `run` would refuse. Refused relaxations and srt settings that change
/// nothing are printed as warnings.
fn check(file: &Path) -> Result<ExitCode> {
    let policy = cordon_policy::load_policy(file)?;
    let cwd = current_dir()?;
    let home = home();
    let (project, _) = cordon_policy::find_project(&cwd, home.as_deref(), &RealFs);
    let locations = PolicyLocations::discover(&project, |name| std::env::var_os(name));
    let canonical = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
    let is = |path: &Option<PathBuf>| {
        path.as_ref()
            .and_then(|path| path.canonicalize().ok())
            .is_some_and(|path| path == canonical)
    };
    let in_cordon_dir = canonical
        .file_name()
        .is_some_and(|name| name == "policy.yaml")
        && canonical
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|dir| dir == ".cordon");
    let entry = (file.to_path_buf(), policy.clone());
    // The real global file takes part (it decides what a project may relax), unless it
    // is the file checked.
    let global = match &locations.global {
        Some(path) if path.exists() && !is(&locations.global) => {
            Some((path.clone(), cordon_policy::load_policy(path)?))
        }
        _ => None,
    };
    let (layer, layers) = if is(&locations.global) {
        let layers = Layers {
            global: Some(entry),
            ..Layers::default()
        };
        (Layer::Global, layers)
    } else if in_cordon_dir {
        let layers = Layers {
            global,
            project: Some(entry),
            ..Layers::default()
        };
        (Layer::Project, layers)
    } else {
        let layers = Layers {
            global,
            policy_files: vec![entry],
            ..Layers::default()
        };
        (Layer::PolicyFile, layers)
    };
    let context = Context {
        project,
        cwd,
        env: environment(),
        global_policy: locations.global,
    };
    let plan = cordon_policy::resolve(&layers, &context, &RealFs)?;
    let mut text = String::new();
    if file.extension().is_some_and(|ext| ext == "json") {
        let raw = std::fs::read_to_string(file)
            .with_context(|| format!("{}: cannot read", file.display()))?;
        for note in cordon_policy::srt_settings_notes(&raw, file)? {
            text.push_str(&format!("{}: note: {note}\n", file.display()));
        }
    }
    for refused in plan.relaxations.iter().filter(|r| !r.granted) {
        text.push_str(&format!(
            "{}: warning: `run` will refuse {}: {}\n",
            file.display(),
            refused.what,
            refused.reason
        ));
    }
    text.push_str(&format!(
        "{}: ok (schema version {}, read as the {layer} layer)\n",
        file.display(),
        policy.version
    ));
    out(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn print_plan(plan: &Plan) -> Result<()> {
    let mut text = plan.to_string();
    let added: Vec<(String, String)> = cordon_linux::environment(plan)
        .into_iter()
        .filter(|pair| !plan.env.contains(pair))
        .collect();
    if !added.is_empty() {
        text.push_str("proxy environment (network mode proxy):\n");
        for (name, value) in added {
            text.push_str(&format!("  {name}={value}\n"));
        }
    }
    text.push_str("seccomp filter:\n");
    for line in cordon_linux::describe_seccomp(plan.seccomp.allow_unix_sockets) {
        text.push_str(&format!("  {line}\n"));
    }
    out(&text)
}

pub(crate) fn current_dir() -> Result<PathBuf> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(cwd.canonicalize().unwrap_or(cwd))
}

pub(crate) fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .filter(|home| home.is_absolute())
        .map(|home| home.canonicalize().unwrap_or(home))
}

fn environment() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect()
}

pub(crate) fn resolve(args: &LayerArgs) -> Result<Plan> {
    Ok(resolve_noting_change(args)?.0)
}

/// [`resolve`], and the project policy's change since it was accepted when there is
/// one (only its tightenings applied).
pub(crate) fn resolve_noting_change(
    args: &LayerArgs,
) -> Result<(Plan, Option<cordon_transcript::PolicyChangeEvent>)> {
    let cwd = current_dir()?;
    let project = match &args.project {
        Some(project) => project
            .canonicalize()
            .with_context(|| format!("project directory {}", project.display()))?,
        None => {
            let (project, marker) = cordon_policy::find_project(&cwd, home().as_deref(), &RealFs);
            if let (Some(marker), true) = (marker, project != cwd) {
                eprintln!(
                    "cordon: project: {} (the enclosing {marker}); the command starts in {}; --project DIR chooses another",
                    project.display(),
                    cwd.display()
                );
            }
            project
        }
    };
    let locations = PolicyLocations::discover(&project, |name| std::env::var_os(name));
    // A flag has no line: its relaxations name the flag's layer alone.
    let flag_paths = |paths: &[String]| -> Vec<cordon_policy::Placed> {
        paths
            .iter()
            .map(|path| cordon_policy::Placed::unplaced(absolute(path, &cwd)))
            .collect()
    };
    let flags = PolicyFile {
        version: cordon_policy::SCHEMA_VERSION,
        filesystem: Filesystem {
            allow_read: flag_paths(&args.allow_read),
            deny_read: flag_paths(&args.deny_read),
            allow_write: flag_paths(&args.allow_write),
            deny_write: flag_paths(&args.deny_write),
        },
        network: cordon_policy::network::flags_layer(args.network, &args.allow_domains),
        allow_home_project: args.allow_home_project,
        approvals: args.approvals.map(cordon_policy::Approvals::from_flag),
        ..PolicyFile::default()
    };
    let mut layers = Layers::load(&locations, &args.policies, flags)?;
    let change = approvals_cmd::apply_acceptance(&mut layers, &project)?;
    let context = Context {
        project,
        cwd,
        env: environment(),
        global_policy: locations.global,
    };
    Ok((cordon_policy::resolve(&layers, &context, &RealFs)?, change))
}

/// Flags are relative to where cordon was started, like any command-line path.
fn absolute(raw: &str, cwd: &Path) -> String {
    if raw.starts_with('/') || raw.starts_with('~') {
        raw.to_owned()
    } else {
        cwd.join(raw).to_string_lossy().into_owned()
    }
}
