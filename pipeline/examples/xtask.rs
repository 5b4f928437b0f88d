//! The whole `xtask` another workspace needs to release itself with cordon-dist (see
//! `docs/release.md`, "Adopt it in your workspace"): `cargo run --example xtask -- ROOT`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cordon_dist::{Config, Progress, Release, Stage};

/// One line per finished stage on stderr.
struct Log;

impl Progress for Log {
    fn finished(&mut self, stage: Stage, elapsed: Duration, ok: bool) {
        let verdict = if ok { "ok" } else { "FAILED" };
        eprintln!(
            "release {stage}: {verdict} ({:.1} s)",
            elapsed.as_secs_f64()
        );
    }
}

fn main() -> ExitCode {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".to_owned()));
    let mut config = Config::new(&root, root.join(".cordon-dev-trust"));
    config.command = std::env::args().collect();
    match Release::new(config).run(&mut Log) {
        Ok(published) => {
            println!("published {}", published.dir.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
