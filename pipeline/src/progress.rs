//! How a caller watches a release: the [`Progress`] trait, called as stages start, report
//! and finish. The pipeline never prints; a command-line tool draws spinners, a service
//! logs, a test stays [`Silent`].

use std::time::Duration;

use crate::model::Stage;

/// Receives the pipeline's progress. Every method has an empty default.
pub trait Progress {
    /// `stage` starts.
    fn started(&mut self, stage: Stage) {
        let _ = stage;
    }

    /// A short status line of the running stage ("42 crates compiled, last: serde"),
    /// replacing the previous one.
    fn message(&mut self, stage: Stage, message: &str) {
        let _ = (stage, message);
    }

    /// Text to show the person in full, such as cargo's warnings and errors.
    fn output(&mut self, stage: Stage, text: &str) {
        let _ = (stage, text);
    }

    /// `stage` ended after `elapsed`, successfully or not.
    fn finished(&mut self, stage: Stage, elapsed: Duration, ok: bool) {
        let _ = (stage, elapsed, ok);
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// The running stage's handle on the caller's [`Progress`].
pub(crate) struct Reporter<'a> {
    pub(crate) stage: Stage,
    pub(crate) progress: &'a mut dyn Progress,
}

impl Reporter<'_> {
    pub(crate) fn message(&mut self, message: &str) {
        self.progress.message(self.stage, message);
    }

    pub(crate) fn output(&mut self, text: &str) {
        self.progress.output(self.stage, text);
    }
}
