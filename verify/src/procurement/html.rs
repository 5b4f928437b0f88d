//! The procurement report as one self-contained HTML page: inline CSS, no script, no
//! external resource of any kind (a Content-Security-Policy forbids them as a second
//! line), laid out so the verdict is the first thing on screen and the page prints
//! cleanly to PDF. Every text taken from the release is escaped and clipped ([`text`]),
//! and nothing from the release becomes a link or an attribute.

use std::fmt::Write as _;

use super::{Part, ProcurementReport};
use crate::report::Status;

/// The longest text from the release shown in a table cell; the rest is counted.
const CELL_CHARS: usize = 300;
/// The longest reason shown in the verdict.
pub(super) const REASON_CHARS: usize = 2000;
/// How many missing-element names are listed per element.
pub(super) const MISSING_LISTED: usize = 10;

const STYLE: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  margin: 0; color: #1a1a1a; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 20px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
#verdict { border: 3px solid; border-radius: 6px; padding: 12px 16px; margin: 8px 0 16px; }
#verdict.accept { border-color: #1b7f3b; background: #eaf7ee; }
#verdict.reject { border-color: #b3261e; background: #fdecea; }
#verdict .word { font-size: 26px; font-weight: 700; letter-spacing: .5px; }
#verdict.accept .word { color: #1b7f3b; }
#verdict.reject .word { color: #b3261e; }
#verdict ul { margin: 6px 0 0; padding-left: 20px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; table-layout: auto; }
td.nowrap, th.nowrap { white-space: nowrap; }
th, td { border: 1px solid #d0d0d0; padding: 4px 6px; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; word-break: break-word; }
th { background: #f2f2f2; font-weight: 600; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
.ok { color: #1b7f3b; font-weight: 600; }
.failed, .denied, .open { color: #b3261e; font-weight: 600; }
.skipped, .review, .informational { color: #8a5a00; font-weight: 600; }
.muted { color: #666; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
@page { size: A4; margin: 14mm; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  tr, #verdict { break-inside: avoid; }
  thead { display: table-header-group; }
}
"#;

/// Escapes `value` for HTML text and attribute context and clips it to `limit`
/// characters. Control characters (other than newline and tab) are shown as `U+XXXX`, so
/// they cannot hide text or confuse a terminal when the page is saved and printed.
pub(super) fn text(value: &str, limit: usize) -> String {
    let mut out = String::with_capacity(value.len().min(limit) + 16);
    for (count, character) in value.chars().enumerate() {
        if count == limit {
            let rest = value.chars().count() - limit;
            let _ = write!(out, "… ({rest} more characters)");
            break;
        }
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(character),
            c if c.is_control()
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                let _ = write!(out, "U+{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

pub(super) fn cell(value: &str) -> String {
    text(value, CELL_CHARS)
}

fn status(row_status: &Status) -> (&'static str, &'static str, &str) {
    match row_status {
        Status::Passed(detail) => ("ok", "ok", detail),
        Status::Failed(failure) => ("failed", "FAILED", &failure.reason),
        Status::Skipped(reason) => ("skipped", "skipped", reason),
    }
}

pub(super) fn part_note<T>(out: &mut String, part: &Part<T>) {
    match part {
        Part::NotRequested(flag) => {
            let _ = writeln!(
                out,
                "<p class=\"muted\">Not checked: pass <code>{}</code>.</p>",
                text(flag, CELL_CHARS)
            );
        }
        Part::Failed(problem) => {
            let _ = writeln!(
                out,
                "<p class=\"failed\">Could not run: {}</p>",
                text(problem, REASON_CHARS)
            );
        }
        Part::Done(_) => {}
    }
}

/// Renders the page.
pub(super) fn render(report: &ProcurementReport) -> String {
    let decision = report.decision();
    let mut out = String::with_capacity(64 * 1024 + report.components.len() * 600);
    let title = match &report.release {
        Part::Done(release) => format!("{} {}", release.name, release.version),
        _ => report.release_dir.clone(),
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Release report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        text(&title, 120)
    );
    let _ = writeln!(out, "<h1>Release report: {}</h1>", text(&title, 120));
    // The verdict first.
    let (class, word) = if decision.accept {
        ("accept", "ACCEPT")
    } else {
        ("reject", "REJECT")
    };
    let _ = writeln!(
        out,
        "<section id=\"verdict\" class=\"{class}\">\n<div class=\"word\">{word}</div>"
    );
    if decision.accept {
        let _ = writeln!(
            out,
            "<p>Every verification passed ({} checks) and no open vulnerability or denied licence was found.</p>",
            report.checks.rows().len()
        );
    } else {
        let _ = writeln!(out, "<p>Rejected because:</p>\n<ul>");
        for reason in &decision.reasons {
            let _ = writeln!(out, "<li>{}</li>", text(reason, REASON_CHARS));
        }
        out.push_str("</ul>\n");
    }
    if !decision.attention.is_empty() {
        out.push_str("<p>For the reviewer's attention:</p>\n<ul>\n");
        for item in &decision.attention {
            let _ = writeln!(out, "<li>{}</li>", text(item, REASON_CHARS));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</section>\n");

    release_section(&mut out, report);
    checks_section(&mut out, report);
    super::html_parts::sbom_section(&mut out, report);
    super::html_parts::advisories_section(&mut out, report);
    super::html_parts::components_section(&mut out, report);
    super::html_parts::changes_section(&mut out, report);
    let _ = writeln!(
        out,
        "<p class=\"muted\">Made offline by cordon-verify {} from the release directory <code>{}</code>. \
         Nothing in this page was fetched from a network.</p>\n</main>\n</body>\n</html>",
        env!("CARGO_PKG_VERSION"),
        cell(&report.release_dir)
    );
    out
}

fn release_section(out: &mut String, report: &ProcurementReport) {
    out.push_str("<h2 id=\"release\">Release</h2>\n");
    match &report.release {
        Part::Done(release) => {
            let _ = writeln!(
                out,
                "<dl class=\"facts\">\n<dt>Product</dt><dd>{}</dd>\n<dt>Version</dt><dd>{}</dd>\n\
                 <dt>Source repository</dt><dd class=\"mono\">{}</dd>\n<dt>Ref</dt><dd class=\"mono\">{}</dd>\n\
                 <dt>Commit</dt><dd class=\"mono\">{}</dd>\n<dt>Worktree</dt><dd>{}</dd>\n\
                 <dt>Trusted root</dt><dd>{}</dd>\n</dl>",
                cell(&release.name),
                cell(&release.version),
                cell(&release.repository),
                cell(&release.git_ref),
                cell(&release.commit),
                if release.dirty {
                    "<span class=\"failed\">uncommitted changes (--allow-dirty): not a build of the commit alone</span>"
                } else {
                    "clean"
                },
                cell(&report.trust),
            );
            out.push_str(
                "<p class=\"muted\">As manifest.json states it; its signature and digests are \
                 checked below.</p>\n",
            );
        }
        other => part_note(out, other),
    }
}

fn rows_table<'a>(out: &mut String, rows: impl Iterator<Item = &'a crate::report::Row>) {
    out.push_str(
        "<table>\n<thead><tr><th>file</th><th class=\"nowrap\">check</th><th class=\"nowrap\">result</th><th>detail</th></tr></thead>\n<tbody>\n",
    );
    for row in rows {
        let (class, word, detail) = status(&row.status);
        let word = match &row.status {
            Status::Failed(failure) => format!("FAILED ({})", failure.class),
            _ => word.to_owned(),
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{}</td><td class=\"nowrap\">{}</td><td class=\"{class} nowrap\">{word}</td><td>{}</td></tr>",
            cell(&row.file),
            cell(row.check),
            text(detail, REASON_CHARS)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn checks_section(out: &mut String, report: &ProcurementReport) {
    let _ = writeln!(
        out,
        "<h2 id=\"signatures\">Signatures and trust chain</h2>\n<p>Trusted root: {}. \
         Every file's digest is recomputed and every Sigstore bundle verified offline against it.</p>",
        cell(&report.trust)
    );
    rows_table(
        out,
        report
            .checks
            .rows()
            .iter()
            .filter(|row| row.check != "provenance" && row.check != "sbom"),
    );
    out.push_str(
        "<h2 id=\"provenance\">Provenance</h2>\n<p>The SLSA provenance as <code>cordon-verify \
         release</code> checks it: signature, subjects, source repository, commit and builder \
         (and the SLSA Build level where the verifier states it).</p>\n",
    );
    let provenance: Vec<_> = report.provenance_rows().collect();
    if provenance.is_empty() {
        out.push_str("<p class=\"failed\">No provenance check ran (see the rows above).</p>\n");
    } else {
        rows_table(out, provenance.into_iter());
    }
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn text_escapes_markup_controls_and_clips() {
        assert_eq!(
            text("<script>alert('x')</script> & \"q\"", 100),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(text("a\u{1b}[31mb\u{202e}c", 100), "aU+001B[31mbU+202Ec");
        assert_eq!(text(&"x".repeat(10), 4), "xxxx… (6 more characters)");
        assert_eq!(text("é<", 1), "é… (1 more characters)");
    }
}
