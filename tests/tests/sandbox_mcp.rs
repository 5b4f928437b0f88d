//! `cordon mcp` end to end, driven by a real MCP client: the official Python SDK (`mcp`
//! on PyPI, pinned in `xtask/tools/mcp-requirements.txt`, installed by `cargo xtask
//! test` into `target/tools/mcp-venv`) running `tests/mcp/client.py`. The client
//! starts the server as root and as the unprivileged user, in a throw-away world, and
//! runs each scenario; it prints `ok NAME` for each that holds. Files are checked from
//! outside by the client (root) after the calls.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;

use cordon_e2e::sandbox::{CANARY, World, for_each_user};
use cordon_e2e::workspace_root;

/// The Python of the venv holding the MCP SDK.
fn mcp_python() -> PathBuf {
    let python = std::env::var_os("CORDON_MCP_PYTHON").map_or_else(
        || cordon_e2e::target_dir().join("tools/mcp-venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.exists(),
        "{} is missing: the MCP Python SDK is installed by `cargo xtask test`; by hand: \
         python3 -m venv target/tools/mcp-venv && target/tools/mcp-venv/bin/pip install -r xtask/tools/mcp-requirements.txt",
        python.display()
    );
    python
}

/// `cordon mcp EXTRA...` as the world's user, with exactly the world's environment, as
/// an argv the client can start.
fn server(world: &World, extra: &[&str]) -> Vec<String> {
    let args: Vec<&str> = std::iter::once("mcp")
        .chain(extra.iter().copied())
        .collect();
    let command = world.cordon(&args);
    let mut argv: Vec<OsString> = vec!["env".into(), "-i".into()];
    for (name, value) in command.get_envs() {
        if let Some(value) = value {
            let mut pair = name.to_os_string();
            pair.push("=");
            pair.push(value);
            argv.push(pair);
        }
    }
    argv.push(command.get_program().to_os_string());
    argv.extend(command.get_args().map(OsString::from));
    argv.into_iter()
        .map(|arg| arg.into_string().expect("UTF-8 test paths"))
        .collect()
}

fn run_client(world: &World, scenarios: &[&str]) {
    let config = serde_json::json!({
        // The tool-call scenarios test the sandbox, not the approvals: scripted use.
        "server": server(world, &["--approvals", "allow"]),
        // Approvals asked (the built-in default, no global policy in the world).
        "server_ask": server(world, &[]),
        "project": world.project,
        "outside": world.outside,
        "home": world.home,
        "user": world.who.name,
        "canary": CANARY,
    });
    let output = Command::new("timeout")
        .arg("600")
        .arg(mcp_python())
        .arg(workspace_root().join("tests/mcp/client.py"))
        .arg(config.to_string())
        .args(scenarios)
        .output()
        .expect("the MCP client starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the MCP client failed as {} ({}):\n{stdout}\n{stderr}",
        world.who.name,
        output.status
    );
    for scenario in scenarios {
        assert!(
            stdout.lines().any(|line| line == format!("ok {scenario}")),
            "scenario {scenario} did not report ok as {}:\n{stdout}\n{stderr}",
            world.who.name
        );
    }
}

#[test]
fn tool_calls_through_the_official_client() {
    for_each_user(|world| {
        run_client(
            world,
            &[
                "initialize-and-list",
                "allowed-command",
                "denied-write",
                "cwd-outside-refused",
                "timeout",
                "truncation",
                "cancellation",
                "approval-fields-refused",
                "malformed-messages",
                "server-stopped",
            ],
        );
    });
}

#[test]
fn approvals_through_elicitation() {
    for_each_user(|world| {
        run_client(
            world,
            &[
                "elicitation-accepted",
                "elicitation-always",
                "elicitation-declined",
                "elicitation-absent",
            ],
        );
    });
}
