//! `cordon policy check`, `cordon policy explain` and `cordon run --print-plan` on real
//! files: errors with file:line:column and a hint, provenance per rule, srt settings
//! import, and refused project relaxations.

// A panic is how a test reports failure.
#![allow(clippy::unwrap_used)]

use std::fs;

use cordon_e2e::sandbox::{Who, World};

fn root_world() -> World {
    World::new(&Who {
        name: "root".into(),
        uid: 0,
        gid: 0,
    })
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn check_reports_place_and_hint() {
    let w = root_world();
    let bad = w.outside.join("bad.yaml");
    fs::write(&bad, "version: 1\nfilesystem:\n  alow_write: [x]\n").unwrap();
    let output = w
        .cordon(&["policy", "check", bad.to_str().unwrap()])
        .output()
        .unwrap();
    // 1: the policy is invalid (125 means "cordon could not start the sandbox").
    assert_eq!(output.status.code(), Some(1));
    let out = text(&output);
    assert!(out.contains(&format!("{}:3:3", bad.display())), "{out}");
    assert!(out.contains("did you mean `allow_write`"), "{out}");

    let good = w.outside.join("good.yaml");
    fs::write(&good, "version: 1\nnetwork: {mode: none}\n").unwrap();
    let output = w
        .cordon(&["policy", "check", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn explain_shows_provenance_and_refused_project_relaxations() {
    let w = root_world();
    fs::create_dir_all(w.project.join(".cordon")).unwrap();
    fs::write(
        w.project.join(".cordon/policy.yaml"),
        "version: 1\nfilesystem:\n  allow_read: ['~/.ssh']\n  deny_write: [src/generated]\n",
    )
    .unwrap();
    fs::create_dir_all(w.home.join(".config/cordon")).unwrap();
    fs::write(
        w.home.join(".config/cordon/policy.yaml"),
        "version: 1\nfilesystem:\n  deny_read: ['~/private']\n",
    )
    .unwrap();
    let output = w.cordon(&["policy", "explain"]).output().unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let project_file = w.project.join(".cordon/policy.yaml");
    assert!(
        out.contains(&format!(
            "REFUSED read {}/.ssh  <- project ({}:3:16)",
            w.home.display(),
            project_file.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "deny  read  {}/private  <- global",
            w.home.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "deny  write {}/src/generated  <- project",
            w.project.display()
        )),
        "{out}"
    );
    assert!(out.contains("clone3 -> ENOSYS"), "{out}");
    let output = w.cordon(&["policy", "explain", "--json"]).output().unwrap();
    let json = String::from_utf8_lossy(&output.stdout);
    assert!(json.contains("\"relaxations\""), "{json}");
    // run warns about the refused relaxation and still runs, with ~/.ssh hidden.
    let output = w.sh("ls ~/.ssh | wc -l");
    let out = text(&output);
    assert!(out.contains("warning: refused read"), "{out}");
    assert!(out.starts_with('0'), "{out}");
}

#[test]
fn print_plan_runs_nothing_and_srt_settings_import() {
    let w = root_world();
    let settings = w.outside.join("srt.json");
    fs::write(
        &settings,
        format!(
            r#"{{"network": {{"allowedDomains": [], "deniedDomains": []}},
                "filesystem": {{"denyRead": ["~/.bashrc"], "allowWrite": ["{}"], "denyWrite": []}}}}"#,
            w.outside.display()
        ),
    )
    .unwrap();
    let marker = w.project.join("ran");
    let output = w
        .cordon(&[
            "run",
            "--policy",
            settings.to_str().unwrap(),
            "--print-plan",
            "--",
            "touch",
            marker.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(!marker.exists(), "--print-plan ran the command");
    assert!(
        out.contains(&format!("bind rw {}  <- policy-file", w.outside.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!("hide file {}/.bashrc", w.home.display())),
        "{out}"
    );
    let output = w
        .cordon(&[
            "run",
            "--policy",
            settings.to_str().unwrap(),
            "--",
            "/bin/sh",
            "-c",
            "echo x > ../outside/made; cat ~/.bashrc | wc -c",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "0");
    assert!(w.outside.join("made").exists());
}
