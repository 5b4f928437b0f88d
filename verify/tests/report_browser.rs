//! The report's HTML in a real headless browser (Debian's `chromium`, driven over the
//! DevTools protocol on a pipe by `tests/browser/render_check.py`): it renders without
//! console errors, the verdict is visible without scrolling at 1280x800, a release with a
//! hostile SBOM renders inert (its script never runs: the title stays), and the page
//! prints to PDF. Screenshots and PDFs are kept under `target/tmp/report-artifacts/`.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::{Spec, TestCrate, build, run, usual_crates};

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Renders `page` and returns the probe's findings; the screenshot and PDF are written
/// beside it as `<stem>.png` and `<stem>.pdf`.
fn render(page: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/render_check.py");
    let output = Command::new("python3")
        .arg(script)
        .arg(page)
        .arg(page.with_extension("png"))
        .arg(page.with_extension("pdf"))
        .output()
        .expect("python3 is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let probe: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|error| {
        panic!(
            "render_check.py printed no JSON ({error}): {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert!(
        output.status.success() && probe.get("error").is_none(),
        "the browser check could not run (chromium is installed by .ci/run): {probe:#}"
    );
    probe
}

fn report_page(name: &str, spec: &Spec, extra: &[&str]) -> PathBuf {
    let release = build(spec);
    let page = artifacts().join(format!("{name}.html"));
    let mut args = vec![
        "report",
        release.dir.to_str().unwrap(),
        "--pinned-root",
        &release.fingerprint,
    ];
    let page_arg = page.display().to_string();
    args.extend(["--html", page_arg.as_str()]);
    args.extend_from_slice(extra);
    let (code, _, stderr) = run(&args);
    assert!(code == 0 || code == 1, "{code}: {stderr}");
    page
}

fn assert_verdict_on_screen(probe: &Value, word: &str) {
    assert_eq!(probe["verdictText"], word, "{probe:#}");
    assert_eq!(probe["viewport"], json!({"width": 1280, "height": 800}));
    assert_eq!(probe["scrollY"], 0);
    let word_box = &probe["verdictWord"];
    let verdict = &probe["verdict"];
    let f = |value: &Value| value.as_f64().unwrap();
    assert!(
        f(&word_box["top"]) >= 0.0 && f(&word_box["bottom"]) <= 800.0,
        "{probe:#}"
    );
    assert!(
        f(&word_box["left"]) >= 0.0 && f(&word_box["right"]) <= 1280.0,
        "{probe:#}"
    );
    assert!(
        f(&verdict["top"]) < 200.0,
        "the verdict comes first: {probe:#}"
    );
}

#[test]
fn the_report_renders_cleanly_with_the_verdict_on_screen() {
    let page = report_page("report-accept", &Spec::new("1.0.0", usual_crates()), &[]);
    let probe = render(&page);
    assert_eq!(probe["errors"], json!([]), "{probe:#}");
    assert_eq!(probe["title"], "Release report: cordon 1.0.0");
    assert_verdict_on_screen(&probe, "ACCEPT");
    assert_eq!(probe["scripts"], 0);
    assert_eq!(probe["links"], 0);
    assert!(probe["screenshot"].as_u64().unwrap() > 10_000, "{probe:#}");
    assert!(probe["pdf"].as_u64().unwrap() > 10_000, "{probe:#}");
    let png = std::fs::read(page.with_extension("png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let pdf = std::fs::read(page.with_extension("pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
}

#[test]
fn a_rejected_release_shows_its_reasons_on_screen() {
    let mut crates = usual_crates();
    crates.push(TestCrate::new(
        "vuln",
        "1.1.0",
        "GPL-3.0-only",
        "Vuln people",
    ));
    let db = Path::new(env!("CARGO_MANIFEST_DIR")).join("../audit/tests/data/advisory-db-fixture");
    let policy = artifacts().join("policy.toml");
    std::fs::write(
        &policy,
        "allow = [\"MIT\", \"Apache-2.0\", \"Unicode-3.0\"]\ndeny = [\"GPL-3.0-only\"]\n",
    )
    .unwrap();
    let page = report_page(
        "report-reject",
        &Spec::new("1.1.0", crates),
        &[
            "--advisory-db",
            db.to_str().unwrap(),
            "--licence-policy",
            policy.to_str().unwrap(),
        ],
    );
    let probe = render(&page);
    assert_eq!(probe["errors"], json!([]), "{probe:#}");
    assert_verdict_on_screen(&probe, "REJECT");
}

#[test]
fn a_hostile_sbom_renders_inert() {
    let hostile = "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\"><a href=\"javascript:document.title='pwned'\">click</a><style>body{display:none}</style>\u{1b}[31m";
    let mut crates = usual_crates();
    crates.push(TestCrate {
        name: "evil".into(),
        version: "1.0.0".into(),
        licence: Some(hostile.into()),
        supplier: Some(format!("{hostile}{}", "A".repeat(200_000))),
    });
    let mut spec = Spec::new("1.2.0", crates);
    spec.sbom_metadata = json!({"authors": [{"name": hostile}]});
    let page = report_page("report-hostile", &spec, &[]);
    let probe = render(&page);
    assert_eq!(probe["title"], "Release report: cordon 1.2.0", "{probe:#}");
    assert_eq!(probe["scripts"], 0, "{probe:#}");
    assert_eq!(probe["handlers"], 0, "{probe:#}");
    assert_eq!(probe["links"], 0, "{probe:#}");
    assert_eq!(probe["errors"], json!([]), "{probe:#}");
    assert!(
        probe["bodyText"].as_u64().unwrap() > 1000,
        "the body is displayed: {probe:#}"
    );
    assert_verdict_on_screen(&probe, "ACCEPT");
}

/// The probe itself sees what it is meant to catch: a page whose script runs changes the
/// title, has a script element and logs an error.
#[test]
fn the_probe_detects_a_running_script() {
    let page = artifacts().join("control.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><title>t</title><script>console.error('boom'); document.title='pwned'</script><p>x",
    )
    .unwrap();
    let probe = render(&page);
    assert_eq!(probe["title"], "pwned");
    assert_eq!(probe["scripts"], 1);
    assert!(
        probe["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("boom")),
        "{probe:#}"
    );
}
