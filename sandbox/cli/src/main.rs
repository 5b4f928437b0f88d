//! `cordon`: runs an AI coding agent's tool calls under least privilege.
//!
//! Thin glue over `cordon-policy` (what is allowed) and `cordon-linux` (enforcement).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Tell what this host's kernel supports for sandboxing (namespaces, Landlock, seccomp).
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Doctor => {
            let host = cordon_linux::HostSupport::probe();
            for line in host.report() {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
    }
}
