//! `cordon`: runs an AI coding agent's tool calls under least privilege.
//!
//! Thin glue over `cordon-policy` (what is allowed) and `cordon-linux` (enforcement).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Args, Parser, Subcommand};
use cordon_policy::{Context, Filesystem, Layers, Plan, PolicyFile, PolicyLocations, RealFs};

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
    Run(RunArgs),
    /// Check or explain policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Tell what this host's kernel supports for sandboxing (namespaces, Landlock, seccomp).
    Doctor,
}

#[derive(Debug, Args)]
struct LayerArgs {
    /// The project directory (default: the current directory).
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
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
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    layers: LayerArgs,
    /// Print the resolved plan instead of running the command.
    #[arg(long)]
    print_plan: bool,
    /// Network mode proxy: append every network decision (JSON lines) to FILE instead
    /// of `$XDG_STATE_HOME/cordon/<project>-<hash>/net.jsonl` (`~/.local/state` when
    /// unset). It must not be writable inside the sandbox.
    #[arg(long = "net-log", value_name = "FILE")]
    net_log: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(required = true, last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Check a policy file (YAML, or sandbox-runtime settings `.json`).
    Check {
        /// The file.
        file: PathBuf,
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
    match dispatch(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("cordon: error: {error:#}");
            ExitCode::from(125)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Doctor => {
            let host = cordon_linux::HostSupport::probe();
            for line in host.report() {
                println!("{line}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Check { file }) => {
            let policy = cordon_policy::load_policy(&file)?;
            // Checked as the layer it is, so that `check` refuses what `run` would.
            let global = PolicyLocations::discover(Path::new("/"), |name| std::env::var_os(name))
                .global
                .and_then(|global| global.canonicalize().ok());
            let layer = if file.ends_with(".cordon/policy.yaml") {
                cordon_policy::Layer::Project
            } else if global.is_some() && file.canonicalize().ok() == global {
                cordon_policy::Layer::Global
            } else {
                cordon_policy::Layer::PolicyFile
            };
            cordon_policy::check_layer_keys(layer, &file.display().to_string(), &policy)?;
            println!(
                "{}: ok (schema version {}, checked as a {layer} layer)",
                file.display(),
                policy.version
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy(PolicyCommand::Explain { layers, json }) => {
            let plan = resolve(&layers)?;
            if json {
                println!("{}", plan.to_json());
            } else {
                print_plan(&plan);
                print!("{}", cordon_policy::network::built_in());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run(args) => run(&args),
    }
}

fn print_plan(plan: &Plan) {
    print!("{plan}");
    let added: Vec<(String, String)> = cordon_linux::environment(plan)
        .into_iter()
        .filter(|pair| !plan.env.contains(pair))
        .collect();
    if !added.is_empty() {
        println!("proxy environment (network mode proxy):");
        for (name, value) in added {
            println!("  {name}={value}");
        }
    }
    println!("seccomp filter:");
    for line in cordon_linux::describe_seccomp(plan.seccomp.allow_unix_sockets) {
        println!("  {line}");
    }
}

fn resolve(args: &LayerArgs) -> Result<Plan> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let project = args.project.clone().unwrap_or_else(|| cwd.clone());
    let project = project
        .canonicalize()
        .with_context(|| format!("project directory {}", project.display()))?;
    let cwd = cwd.canonicalize().unwrap_or(cwd);
    let locations = PolicyLocations::discover(&project, |name| std::env::var_os(name));
    let flags = PolicyFile {
        version: cordon_policy::SCHEMA_VERSION,
        filesystem: Filesystem {
            allow_read: args.allow_read.iter().map(|p| absolute(p, &cwd)).collect(),
            deny_read: args.deny_read.iter().map(|p| absolute(p, &cwd)).collect(),
            allow_write: args.allow_write.iter().map(|p| absolute(p, &cwd)).collect(),
            deny_write: args.deny_write.iter().map(|p| absolute(p, &cwd)).collect(),
        },
        network: cordon_policy::network::flags_layer(args.network, &args.allow_domains),
        ..PolicyFile::default()
    };
    let layers = Layers::load(&locations, &args.policies, flags)?;
    let env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
        .collect();
    let context = Context {
        project,
        cwd,
        env,
        global_policy: locations.global,
    };
    Ok(cordon_policy::resolve(&layers, &context, &RealFs)?)
}

/// Flags are relative to where cordon was started, like any command-line path.
fn absolute(raw: &str, cwd: &Path) -> String {
    if raw.starts_with('/') || raw.starts_with('~') {
        raw.to_owned()
    } else {
        cwd.join(raw).to_string_lossy().into_owned()
    }
}

fn run(args: &RunArgs) -> Result<ExitCode> {
    let plan = resolve(&args.layers)?;
    if args.print_plan {
        print_plan(&plan);
        return Ok(ExitCode::SUCCESS);
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
    let mut command = std::process::Command::new(program);
    command.args(rest);
    let options = cordon_linux::NetworkOptions {
        log: args.net_log.clone(),
    };
    let code = cordon_linux::run_with(&plan, &command, &options)?;
    if code != 0 {
        explain_locks(&plan);
    }
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(255)))
}

/// After a failure, names the protected paths that do not exist: the command only saw
/// `EACCES` when it tried to create one of them.
fn explain_locks(plan: &Plan) {
    let mut missing: Vec<String> = plan
        .landlock
        .no_create
        .iter()
        .flat_map(|lock| lock.because.iter())
        .map(|path| path.display().to_string())
        .collect();
    missing.sort();
    missing.dedup();
    if !missing.is_empty() {
        eprintln!(
            "cordon: note: these protected paths do not exist and cannot be created in the sandbox (EACCES): {}; see `cordon policy explain`",
            missing.join(" ")
        );
    }
}
