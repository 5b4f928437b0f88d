//! `cordon-verify report` (part of the binary, not the library): the procurement
//! report's arguments, the files it writes and the verdict it prints. The checks and the
//! report itself are [`cordon_verify::build_report`]'s.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use cordon_verify::{FailureClass, ReportOptions};

use crate::{ExpectationArgs, RootArgs, fail};

/// The procurement report: every check of `release`, then the SBOMs' NTIA minimum
/// elements, components with licences and suppliers, known vulnerabilities (offline,
/// with VEX), licence-policy verdicts and the dependency diff, as one self-contained HTML
/// page and/or JSON. Prints the verdict and its reasons.
///
/// One of `--pinned-root` or `--trusted-root` is required.
#[derive(Debug, Args)]
#[command(after_help = REPORT_EXIT_CODES)]
pub(crate) struct ReportArgs {
    /// The release directory.
    dir: PathBuf,
    #[command(flatten)]
    root: RootArgs,
    /// Write the HTML page here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Write the JSON form here (`-` for standard output).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// A previous release directory: report the dependency changes since it.
    #[arg(long, value_name = "DIR")]
    previous: Option<PathBuf>,
    /// A local clone of the RustSec advisory database
    /// (https://github.com/rustsec/advisory-db), read offline.
    #[arg(long, value_name = "DIR")]
    advisory_db: Option<PathBuf>,
    /// A VEX document (OpenVEX or CycloneDX VEX) for advisories the release is not
    /// affected by. It adds to the VEX the release ships (applied by default): its
    /// statements come last, so they win where both speak of the same advisory and crate.
    #[arg(long, value_name = "FILE", requires = "advisory_db")]
    vex: Option<PathBuf>,
    /// Do not apply the VEX document the release ships (`--vex FILE` still applies).
    #[arg(long)]
    ignore_release_vex: bool,
    /// A licence policy (TOML: allow, review, deny lists of SPDX ids; docs/verify.md).
    #[arg(long, value_name = "FILE")]
    licence_policy: Option<PathBuf>,
    /// A newer root-signed trusted root to verify with instead of the release's own
    /// DIR/trusted_root.dsse.json.
    #[arg(long, value_name = "FILE", requires = "pinned_root")]
    signed_root: Option<PathBuf>,
    #[command(flatten)]
    expect: ExpectationArgs,
}

/// The report's exit codes.
const REPORT_EXIT_CODES: &str = "\
Exit codes:
  0  accept: every check passed, no open vulnerability, no denied licence
  1  reject by policy: an open vulnerability or a denied licence
  2  bad input: a file or an option's file (database, VEX, policy, previous
     release) is missing, unreadable or malformed
  3-7 as for `cordon-verify release`: the verification failed
The report is written in every case.";

impl ReportArgs {
    pub(crate) fn run(self) -> ExitCode {
        let trust = match self.root.for_release(&self.dir, self.signed_root) {
            Ok(trust) => trust,
            Err(failure) => return fail(&failure),
        };
        let options = ReportOptions {
            expectations: self.expect.into_expectations(),
            previous: self.previous,
            advisory_db: self.advisory_db,
            vex: self.vex,
            ignore_release_vex: self.ignore_release_vex,
            licence_policy: self.licence_policy,
        };
        let report = cordon_verify::build_report(&self.dir, &trust, &options);
        let mut written = true;
        if let Some(path) = &self.html {
            written &= write_output(path, report.to_html().as_bytes());
        }
        if let Some(path) = &self.json {
            let text = format!("{:#}\n", report.to_json());
            if path.as_os_str() == "-" {
                let _ = io::stdout().lock().write_all(text.as_bytes());
            } else {
                written &= write_output(path, text.as_bytes());
            }
        }
        let decision = report.decision();
        let mut stderr = io::stderr().lock();
        if decision.accept {
            let _ = writeln!(stderr, "cordon-verify report: ACCEPT");
        } else {
            let _ = writeln!(stderr, "cordon-verify report: REJECT");
            for reason in &decision.reasons {
                let _ = writeln!(stderr, "  - {reason}");
            }
        }
        for item in &decision.attention {
            let _ = writeln!(stderr, "  note: {item}");
        }
        if !written {
            return ExitCode::from(FailureClass::BadInput.exit_code());
        }
        ExitCode::from(report.exit_code())
    }
}

/// Writes a report file; false (after saying why) when it cannot be written.
fn write_output(path: &Path, bytes: &[u8]) -> bool {
    match std::fs::write(path, bytes) {
        Ok(()) => true,
        Err(error) => {
            eprintln!(
                "cordon-verify: FAILED (bad input): cannot write {}: {error}",
                path.display()
            );
            false
        }
    }
}
