//! What people watching a release see: a spinner per stage (indicatif) on a terminal, one
//! line per stage without one, nothing but errors and the summary with `--quiet`; and the
//! final summary table of stage times and produced files.

use std::borrow::Cow;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Quiet,
    Plain,
    Terminal,
}

/// The progress display of one command run.
#[derive(Debug)]
pub(crate) struct Progress {
    mode: Mode,
    command: &'static str,
    stages: Vec<(String, Duration, bool)>,
}

/// The stage running now.
#[derive(Debug)]
pub(crate) struct Stage {
    bar: ProgressBar,
    mode: Mode,
}

impl Progress {
    /// `quiet` (or no terminal on stderr) turns the spinners off.
    pub(crate) fn new(command: &'static str, quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Plain
        };
        Progress {
            mode,
            command,
            stages: Vec::new(),
        }
    }

    /// Runs stage `name`; on failure the error names the stage and says what to do
    /// (`hint`).
    pub(crate) fn stage<T>(
        &mut self,
        name: &str,
        hint: &str,
        run: impl FnOnce(&Stage) -> Result<T>,
    ) -> Result<T> {
        let bar = match self.mode {
            Mode::Terminal => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner:.cyan} {prefix:.bold} {wide_msg} {elapsed:>4}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            }
            Mode::Plain | Mode::Quiet => ProgressBar::hidden(),
        };
        bar.set_prefix(format!("{} {name}", self.command));
        let stage = Stage {
            bar,
            mode: self.mode,
        };
        let started = Instant::now();
        let result = run(&stage);
        let elapsed = started.elapsed();
        self.stages.push((name.to_owned(), elapsed, result.is_ok()));
        let verdict = if result.is_ok() { "ok" } else { "FAILED" };
        match self.mode {
            Mode::Terminal => stage
                .bar
                .finish_with_message(format!("{verdict} ({:.1} s)", elapsed.as_secs_f64())),
            Mode::Plain => eprintln!(
                "{} {name}: {verdict} ({:.1} s)",
                self.command,
                elapsed.as_secs_f64()
            ),
            Mode::Quiet => {}
        }
        result.with_context(|| format!("{} stage `{name}` failed: {hint}", self.command))
    }

    /// The stage timing table.
    pub(crate) fn stage_table(&self) -> String {
        let mut text = String::from("stage        time      result\n");
        for (name, elapsed, ok) in &self.stages {
            text.push_str(&format!(
                "{name:<12} {:>7.1} s  {}\n",
                elapsed.as_secs_f64(),
                if *ok { "ok" } else { "FAILED" }
            ));
        }
        text
    }
}

impl Stage {
    /// Replaces the stage's status text (shown on a terminal only).
    pub(crate) fn message(&self, message: impl Into<Cow<'static, str>>) {
        self.bar.set_message(message);
    }

    /// Prints `text` (cargo's diagnostics, a tool's report) above the spinner; in quiet
    /// mode too, since it usually explains a failure.
    pub(crate) fn print(&self, text: &str) {
        match self.mode {
            Mode::Terminal => self.bar.suspend(|| eprintln!("{text}")),
            Mode::Plain | Mode::Quiet => eprintln!("{text}"),
        }
    }
}

/// Bytes as a short human size.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
