//! What people watching a release see: a spinner per stage (indicatif) on a terminal, one
//! line per stage without one, nothing but errors and the summary with `--quiet`; and the
//! final summary table of stage times. It is `cordon_dist`'s [`Progress`] for the
//! pipeline's stages, and runs xtask's own stages (`repro-check`'s) through
//! [`Display::stage`].

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use cordon_dist::{Progress, Stage};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Quiet,
    Plain,
    Terminal,
}

/// The progress display of one command run.
#[derive(Debug)]
pub(crate) struct Display {
    mode: Mode,
    command: &'static str,
    stages: Vec<(String, Duration, bool)>,
    bar: ProgressBar,
    /// The name the next pipeline stage is shown under (`build-a` for `build`).
    label: Option<String>,
    current: String,
}

impl Display {
    /// `quiet` (or no terminal on stderr) turns the spinners off.
    pub(crate) fn new(command: &'static str, quiet: bool) -> Self {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Terminal
        } else {
            Mode::Plain
        };
        Display {
            mode,
            command,
            stages: Vec::new(),
            bar: ProgressBar::hidden(),
            label: None,
            current: String::new(),
        }
    }

    /// Shows the next pipeline stage as `label`.
    pub(crate) fn label_next(&mut self, label: &str) {
        self.label = Some(label.to_owned());
    }

    /// Runs one of xtask's own stages; on failure the error names the stage and says
    /// what to do (`hint`).
    pub(crate) fn stage<T>(
        &mut self,
        name: &str,
        hint: &str,
        run: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        self.open(name.to_owned());
        let started = Instant::now();
        let result = run(self);
        self.close(started.elapsed(), result.is_ok());
        result.with_context(|| format!("{} stage `{name}` failed: {hint}", self.command))
    }

    /// Replaces the running stage's status text (shown on a terminal only).
    pub(crate) fn status(&self, message: &str) {
        self.bar.set_message(message.to_owned());
    }

    /// Prints `text` above the spinner; in quiet mode too, since it usually explains a
    /// failure.
    pub(crate) fn print(&self, text: &str) {
        match self.mode {
            Mode::Terminal => self.bar.suspend(|| eprintln!("{text}")),
            Mode::Plain | Mode::Quiet => eprintln!("{text}"),
        }
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

    fn open(&mut self, name: String) {
        self.bar = match self.mode {
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
        self.bar.set_prefix(format!("{} {name}", self.command));
        if self.mode == Mode::Plain {
            eprintln!("{} {name}: ...", self.command);
        }
        self.current = name;
    }

    fn close(&mut self, elapsed: Duration, ok: bool) {
        let name = std::mem::take(&mut self.current);
        let verdict = if ok { "ok" } else { "FAILED" };
        match self.mode {
            Mode::Terminal => self
                .bar
                .finish_with_message(format!("{verdict} ({:.1} s)", elapsed.as_secs_f64())),
            Mode::Plain => eprintln!(
                "{} {name}: {verdict} ({:.1} s)",
                self.command,
                elapsed.as_secs_f64()
            ),
            Mode::Quiet => {}
        }
        self.stages.push((name, elapsed, ok));
    }
}

impl Progress for Display {
    fn started(&mut self, stage: Stage) {
        let name = self.label.take().unwrap_or_else(|| stage.name().to_owned());
        self.open(name);
    }

    fn message(&mut self, _stage: Stage, message: &str) {
        self.status(message);
    }

    fn output(&mut self, _stage: Stage, text: &str) {
        self.print(text);
    }

    fn finished(&mut self, _stage: Stage, elapsed: Duration, ok: bool) {
        self.close(elapsed, ok);
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
