//! What every subcommand returns: one row per file and check — passed (with what was
//! established), failed (with its class and reason) or skipped (with the reason: a check
//! it depends on failed, and that failure has its own row) — and the verdict, the most
//! serious failure class. Rendered as text lines for people (failures on standard
//! error, one line each) and as JSON for machines.

use serde_json::{Value, json};

use crate::exit::{Failure, FailureClass};

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// It passed; what was established.
    Passed(String),
    /// It failed.
    Failed(Failure),
    /// It was not run, and why (a check it depends on failed and is reported on its own
    /// row).
    Skipped(String),
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The file the check is about (or `-` for the input as a whole).
    pub file: String,
    /// The check (`sha256`, `signature`, `provenance`, ...).
    pub check: &'static str,
    /// How it ended.
    pub status: Status,
}

/// One line of a rendered report and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// True for standard error (a failure), false for standard output.
    pub to_stderr: bool,
    /// The text, without a newline.
    pub text: String,
}

/// The rows of one verification, in check order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    rows: Vec<Row>,
}

impl Report {
    /// Every row, in check order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    pub(crate) fn pass(&mut self, file: &str, check: &'static str, detail: impl Into<String>) {
        self.push(file, check, Status::Passed(detail.into()));
    }

    pub(crate) fn fail(&mut self, file: &str, check: &'static str, failure: Failure) {
        self.push(file, check, Status::Failed(failure));
    }

    pub(crate) fn skip(&mut self, file: &str, check: &'static str, reason: impl Into<String>) {
        self.push(file, check, Status::Skipped(reason.into()));
    }

    fn push(&mut self, file: &str, check: &'static str, status: Status) {
        self.rows.push(Row {
            file: file.to_owned(),
            check,
            status,
        });
    }

    /// Records `result` as a passed row (its detail from `detail`) or a failed one, and
    /// hands the value on.
    pub(crate) fn record<T>(
        &mut self,
        file: &str,
        check: &'static str,
        result: Result<T, Failure>,
        detail: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        match result {
            Ok(value) => {
                let text = detail(&value);
                self.pass(file, check, text);
                Some(value)
            }
            Err(failure) => {
                self.fail(file, check, failure);
                None
            }
        }
    }

    fn failures(&self) -> impl Iterator<Item = &Failure> {
        self.rows.iter().filter_map(|row| match &row.status {
            Status::Failed(failure) => Some(failure),
            _ => None,
        })
    }

    /// The most serious failure class, or `None` when nothing failed.
    pub fn verdict(&self) -> Option<FailureClass> {
        FailureClass::most_serious(self.failures().map(|failure| failure.class))
    }

    /// The process exit code of this report: 0, or the verdict's code.
    pub fn exit_code(&self) -> u8 {
        self.verdict().map_or(0, FailureClass::exit_code)
    }

    /// The report as text lines: passed and skipped rows on standard output, each
    /// failure as one line `cordon-verify: FAILED (<class>): <file>: <check>: <reason>`
    /// on standard error; with `verdict`, a last line on standard output that sums up.
    pub fn lines(&self, verdict: bool) -> Vec<Line> {
        let mut lines: Vec<Line> = self
            .rows
            .iter()
            .map(|row| match &row.status {
                Status::Passed(detail) => Line {
                    to_stderr: false,
                    text: format!("ok      {:<10} {}: {detail}", row.check, row.file),
                },
                Status::Skipped(reason) => Line {
                    to_stderr: false,
                    text: format!("skipped {:<10} {}: {reason}", row.check, row.file),
                },
                Status::Failed(failure) => Line {
                    to_stderr: true,
                    text: format!(
                        "cordon-verify: FAILED ({}): {}: {}: {}",
                        failure.class, row.file, row.check, failure.reason
                    ),
                },
            })
            .collect();
        if verdict {
            let count = |wanted: fn(&Status) -> bool| {
                self.rows.iter().filter(|row| wanted(&row.status)).count()
            };
            let failed = count(|status| matches!(status, Status::Failed(_)));
            let skipped = count(|status| matches!(status, Status::Skipped(_)));
            let skipped = if skipped == 0 {
                String::new()
            } else {
                format!(", {skipped} skipped")
            };
            lines.push(match self.verdict() {
                None => Line {
                    to_stderr: false,
                    text: format!("verdict: ok ({} checks{skipped})", self.rows.len()),
                },
                Some(class) => Line {
                    to_stderr: false,
                    text: format!(
                        "verdict: FAILED ({failed} of {} checks{skipped}; exit {} {class})",
                        self.rows.len(),
                        class.exit_code()
                    ),
                },
            });
        }
        lines
    }

    /// The whole report as one text, every line of [`Report::lines`] with the verdict, in
    /// order (for logs and test messages; the binary splits it between standard output
    /// and standard error).
    pub fn to_text(&self) -> String {
        self.lines(true)
            .into_iter()
            .map(|line| line.text + "\n")
            .collect()
    }

    /// The report as JSON, for machines.
    pub fn to_json(&self) -> Value {
        let verdict = self.verdict();
        json!({
            "verdict": if verdict.is_some() { "failed" } else { "ok" },
            "exitCode": self.exit_code(),
            "class": verdict.map(FailureClass::name),
            "rows": self.rows.iter().map(|row| {
                let (status, class, text) = match &row.status {
                    Status::Passed(detail) => ("ok", None, detail.clone()),
                    Status::Failed(failure) => ("failed", Some(failure.class.name()), failure.reason.clone()),
                    Status::Skipped(reason) => ("skipped", None, reason.clone()),
                };
                json!({
                    "file": row.file,
                    "check": row.check,
                    "status": status,
                    "ok": matches!(row.status, Status::Passed(_)),
                    "class": class,
                    "reason": if matches!(row.status, Status::Passed(_)) { None } else { Some(text.clone()) },
                    "detail": if matches!(row.status, Status::Passed(_)) { text } else { String::new() },
                })
            }).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_go_to_stderr_and_skips_do_not_count_as_failures() {
        let mut report = Report::default();
        report.pass("a", "sha256", "fine");
        report.fail(
            "b",
            "sha256",
            Failure::new(FailureClass::Integrity, "listed but absent"),
        );
        report.skip("b", "signature", "b failed its sha256 check");
        assert_eq!(report.verdict(), Some(FailureClass::Integrity));
        assert_eq!(report.exit_code(), 7);
        let lines = report.lines(true);
        let stderr: Vec<&str> = lines
            .iter()
            .filter(|line| line.to_stderr)
            .map(|line| line.text.as_str())
            .collect();
        assert_eq!(
            stderr,
            ["cordon-verify: FAILED (integrity): b: sha256: listed but absent"]
        );
        assert_eq!(
            lines[3].text,
            "verdict: FAILED (1 of 3 checks, 1 skipped; exit 7 integrity)"
        );
        assert_eq!(
            lines[2].text,
            "skipped signature  b: b failed its sha256 check"
        );
        assert!(report.to_text().ends_with("exit 7 integrity)\n"));
        let json = report.to_json();
        assert_eq!(json["rows"][2]["status"], "skipped");
        assert_eq!(json["exitCode"], 7);
    }
}
