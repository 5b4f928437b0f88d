//! The library's `cordon_linux::spawn_with` in network mode proxy (the CLI's `run` path is
//! covered by `sandbox_network.rs`): the supervisor makes the namespace, PID 1 adds `lo`,
//! the routes and the listeners, and the engine runs in the calling test process. No
//! upstream is needed: the DNS stub answers an allowed name from its pool without
//! resolving it, and refuses a denied one; both decisions land in the log.

use std::path::Path;
use std::process::Command;

use cordon_e2e::network::read_json_lines;
use cordon_policy::{Context, Layers, RealFs, parse_policy, resolve};

#[test]
fn spawn_with_serves_proxy_mode_from_the_calling_process() {
    let dir = tempfile::Builder::new()
        .prefix("cordon-e2e-lib-")
        .tempdir_in("/var/tmp")
        .expect("tempdir");
    let project = dir.path().join("project");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&project).expect("mkdir");
    std::fs::create_dir_all(&out).expect("mkdir");
    let flags = parse_policy(
        "version: 1\nnetwork:\n  mode: proxy\n  allow: [allowed.test]\n",
        Path::new("flags"),
    )
    .expect("policy");
    let layers = Layers {
        flags,
        ..Layers::default()
    };
    let context = Context {
        project: project.clone(),
        cwd: project.clone(),
        env: vec![("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into())],
        global_policy: None,
    };
    let plan = resolve(&layers, &context, &RealFs).expect("plan");
    let log = out.join("net.jsonl");
    let options = cordon_linux::NetworkOptions {
        log: Some(log.clone()),
        run_id: None,
    };
    let mut command = Command::new("/bin/sh");
    command.args([
        "-c",
        "{ cat /etc/resolv.conf; getent ahostsv4 allowed.test; getent ahostsv4 denied.test || echo 'denied: no answer'; echo \"$ALL_PROXY\"; } > out.txt",
    ]);
    // The sandbox's standard streams are the caller's: the script writes its answers
    // into the (writable) project.
    let output_path = project.join("out.txt");
    let sandboxed = cordon_linux::spawn_with(&plan, &command, &options).expect("spawn");
    assert_eq!(sandboxed.wait().expect("wait"), 0);
    let text = std::fs::read_to_string(&output_path).expect("read");
    assert!(text.contains("nameserver 127.0.0.1"), "{text}");
    assert!(
        text.contains("198.18."),
        "a pool address for allowed.test: {text}"
    );
    assert!(text.contains("denied: no answer"), "{text}");
    assert!(text.contains("socks5h://127.0.0.1:3128"), "{text}");
    let decisions = read_json_lines(&log);
    assert!(
        decisions.iter().any(|d| d["entry"] == "dns"
            && d["host"] == "allowed.test"
            && d["decision"] == "allow"),
        "{decisions:?}"
    );
    assert!(
        decisions
            .iter()
            .any(|d| d["entry"] == "dns" && d["host"] == "denied.test" && d["decision"] == "deny"),
        "{decisions:?}"
    );
}
