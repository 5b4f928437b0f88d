//! The report of `cordon-verify release`: one row per file and check, the verdict (the
//! most serious failure class), as text for people and JSON for machines.

use serde_json::{Value, json};

use crate::exit::{Failure, FailureClass};

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The file the check is about (or `-` for the release as a whole).
    pub file: String,
    /// The check.
    pub check: &'static str,
    /// `None` when it passed; the failure otherwise.
    pub failure: Option<Failure>,
    /// What was established, for a passing row.
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Every row, in check order.
    pub rows: Vec<Row>,
}

impl Report {
    pub(super) fn pass(&mut self, file: &str, check: &'static str, detail: impl Into<String>) {
        self.rows.push(Row {
            file: file.to_owned(),
            check,
            failure: None,
            detail: detail.into(),
        });
    }

    pub(super) fn fail(&mut self, file: &str, check: &'static str, failure: Failure) {
        self.rows.push(Row {
            file: file.to_owned(),
            check,
            failure: Some(failure),
            detail: String::new(),
        });
    }

    pub(super) fn record<T>(
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

    /// The most serious failure class, or `None` when everything passed.
    pub fn verdict(&self) -> Option<FailureClass> {
        FailureClass::most_serious(
            self.rows
                .iter()
                .filter_map(|row| row.failure.as_ref().map(|failure| failure.class)),
        )
    }

    /// The report as text: one row per line, then the verdict.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for row in &self.rows {
            match &row.failure {
                None => out.push_str(&format!(
                    "ok      {:<10} {}: {}\n",
                    row.check, row.file, row.detail
                )),
                Some(failure) => out.push_str(&format!(
                    "FAILED  {:<10} {}: {} ({})\n",
                    row.check, row.file, failure.reason, failure.class
                )),
            }
        }
        let failed = self.rows.iter().filter(|row| row.failure.is_some()).count();
        match self.verdict() {
            None => out.push_str(&format!("verdict: ok ({} checks)\n", self.rows.len())),
            Some(class) => out.push_str(&format!(
                "verdict: FAILED ({failed} of {} checks; exit {} {class})\n",
                self.rows.len(),
                class.exit_code()
            )),
        }
        out
    }

    /// The report as JSON, for machines.
    pub fn to_json(&self) -> Value {
        let verdict = self.verdict();
        json!({
            "verdict": if verdict.is_some() { "failed" } else { "ok" },
            "exitCode": verdict.map_or(0, FailureClass::exit_code),
            "class": verdict.map(FailureClass::name),
            "rows": self.rows.iter().map(|row| json!({
                "file": row.file,
                "check": row.check,
                "ok": row.failure.is_none(),
                "class": row.failure.as_ref().map(|failure| failure.class.name()),
                "reason": row.failure.as_ref().map(|failure| failure.reason.clone()),
                "detail": row.detail,
            })).collect::<Vec<_>>(),
        })
    }
}
