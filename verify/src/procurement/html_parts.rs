//! The HTML page's sections about the release's contents: SBOM conformance,
//! vulnerabilities and VEX, components with licences and policy verdicts, and the
//! dependency diff. Every value from the release goes through [`cell`] or [`text`].

use std::fmt::Write as _;

use super::html::{MISSING_LISTED, REASON_CHARS, cell, part_note, text};
use super::{Part, ProcurementReport};

pub(super) fn sbom_section(out: &mut String, report: &ProcurementReport) {
    out.push_str(
        "<h2 id=\"sbom\">SBOM conformance</h2>\n<p>The NTIA minimum elements, evaluated for \
         every component of every SBOM the release lists; the SBOMs' digests and the binaries \
         they describe are checked with the signatures above.</p>\n",
    );
    if report.sboms.is_empty() {
        out.push_str("<p class=\"failed\">The release lists no SBOM.</p>\n");
    }
    for row in report
        .checks
        .rows()
        .iter()
        .filter(|row| row.check == "sbom")
    {
        let (class, word) = match &row.status {
            crate::report::Status::Passed(_) => ("ok", "describes its binaries".to_owned()),
            crate::report::Status::Failed(failure) => {
                ("failed", format!("FAILED ({})", failure.class))
            }
            crate::report::Status::Skipped(_) => ("skipped", "skipped".to_owned()),
        };
        let _ = writeln!(
            out,
            "<p><code>{}</code>: <span class=\"{class}\">{word}</span></p>",
            cell(&row.file)
        );
    }
    for sbom in &report.sboms {
        let _ = writeln!(out, "<h3><code>{}</code></h3>", cell(&sbom.file));
        let (format, ntia) = match &sbom.parsed {
            Ok(parsed) => parsed,
            Err(problem) => {
                let _ = writeln!(
                    out,
                    "<p class=\"failed\">Cannot be read: {}</p>",
                    text(problem, REASON_CHARS)
                );
                continue;
            }
        };
        let yes_no = |present: bool| {
            if present {
                "<span class=\"ok\">present</span>"
            } else {
                "<span class=\"failed\">missing</span>"
            }
        };
        let _ = writeln!(
            out,
            "<p>{} with {} components: <span class=\"{}\">{}</span>. Author of the SBOM data: {}; timestamp: {}.</p>",
            cell(format),
            ntia.components,
            if ntia.conformant() { "ok" } else { "failed" },
            if ntia.conformant() {
                "every NTIA minimum element present"
            } else {
                "NTIA minimum elements missing"
            },
            yes_no(ntia.author),
            yes_no(ntia.timestamp),
        );
        out.push_str(
            "<table>\n<thead><tr><th>element</th><th>components with it</th><th>components without it</th></tr></thead>\n<tbody>\n",
        );
        for element in &ntia.elements {
            let mut missing: Vec<String> = element
                .missing
                .iter()
                .take(MISSING_LISTED)
                .map(|name| cell(name))
                .collect();
            if element.missing.len() > MISSING_LISTED {
                missing.push(format!(
                    "and {} more",
                    element.missing.len() - MISSING_LISTED
                ));
            }
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"{}\">{} of {}</td><td>{}</td></tr>",
                element.element,
                if element.missing.is_empty() {
                    "ok"
                } else {
                    "failed"
                },
                element.present,
                ntia.components,
                if missing.is_empty() {
                    "none".to_owned()
                } else {
                    missing.join(", ")
                }
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

pub(super) fn advisories_section(out: &mut String, report: &ProcurementReport) {
    out.push_str("<h2 id=\"vulnerabilities\">Vulnerabilities and VEX</h2>\n");
    if !report.vex_problems.is_empty() {
        out.push_str("<p class=\"informational\">The VEX does not fit the release:</p>\n<ul>\n");
        for problem in &report.vex_problems {
            let _ = writeln!(out, "<li>{}</li>", cell(problem));
        }
        out.push_str("</ul>\n");
    }
    part_note(out, &report.advisories);
    let Part::Done(advisories) = &report.advisories else {
        return;
    };
    let _ = writeln!(
        out,
        "<p>{} crates checked against {}, offline. VEX: {}.</p>",
        advisories.crates_checked,
        cell(&advisories.database),
        advisories.vex.as_deref().map_or_else(
            || "none (the release ships none; --vex FILE adds one)".to_owned(),
            cell
        ),
    );
    if advisories.hits.is_empty() {
        out.push_str("<p class=\"ok\">No advisory affects a shipped crate.</p>\n");
        return;
    }
    out.push_str(
        "<table>\n<thead><tr><th>advisory</th><th>aliases</th><th>crate</th><th>kind</th>\
         <th>fixed in</th><th>title</th><th>status</th></tr></thead>\n<tbody>\n",
    );
    for hit in &advisories.hits {
        let advisory = &hit.advisory;
        let status = match &hit.vex {
            Some(vex) => {
                let mut said = format!("VEX {}", vex.status.as_str());
                if let Some(justification) = &vex.justification {
                    let _ = write!(said, ": {}", cell(justification));
                }
                if let Some(detail) = &vex.detail {
                    let _ = write!(said, " — {}", cell(detail));
                }
                if let Some(origin) = &hit.vex_origin {
                    let _ = write!(said, " (from {})", cell(origin));
                }
                said
            }
            None => "no VEX statement".to_owned(),
        };
        let class = if hit.blocks() {
            "open"
        } else if hit.is_open() {
            "informational"
        } else {
            "ok"
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"mono\">{} ({})</td><td class=\"mono\">{}</td><td>{} {}</td><td>{}</td>\
             <td class=\"mono\">{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            cell(&advisory.id),
            cell(&advisory.date),
            cell(&advisory.aliases.join(", ")),
            cell(&hit.krate.name),
            cell(&hit.krate.version),
            cell(advisory.kind.as_str()),
            cell(&advisory.fixed_in()),
            cell(&advisory.title),
            status,
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

pub(super) fn components_section(out: &mut String, report: &ProcurementReport) {
    out.push_str("<h2 id=\"components\">Components, licences and suppliers</h2>\n");
    let Some(source) = &report.components_from else {
        out.push_str("<p class=\"failed\">No readable SBOM lists the components.</p>\n");
        return;
    };
    let _ = writeln!(
        out,
        "<p>{} components, from <code>{}</code>.</p>",
        report.components.len(),
        cell(source)
    );
    out.push_str("<h3 id=\"licence-policy\">Licence policy</h3>\n");
    part_note(out, &report.licence_policy);
    if let Part::Done(policy) = &report.licence_policy {
        let count = |wanted: cordon_audit::Verdict| {
            report
                .components
                .iter()
                .filter(|row| row.licence.as_ref().is_some_and(|v| v.verdict == wanted))
                .count()
        };
        let _ = writeln!(
            out,
            "<p>Policy <code>{}</code>: <span class=\"ok\">{} allowed</span>, \
             <span class=\"review\">{} to review</span>, <span class=\"denied\">{} denied</span>.</p>",
            cell(policy),
            count(cordon_audit::Verdict::Allowed),
            count(cordon_audit::Verdict::Review),
            count(cordon_audit::Verdict::Denied),
        );
    }
    out.push_str(
        "<table>\n<thead><tr><th>component</th><th>version</th><th>supplier</th>\
         <th>licence (declared)</th><th>licence (concluded)</th><th>policy</th><th>purl</th></tr></thead>\n<tbody>\n",
    );
    for row in &report.components {
        component_row(out, row);
    }
    out.push_str("</tbody>\n</table>\n");
    if !report.toolchain.is_empty() {
        out.push_str(
            "<h3 id=\"toolchain\">Rust toolchain</h3>\n<p>Not crates: <code>std</code> is \
             linked into every binary, <code>rustc</code> built them.</p>\n<table>\n<thead><tr>\
             <th>component</th><th>version</th><th>supplier</th><th>licence (declared)</th>\
             <th>licence (concluded)</th><th>policy</th><th>purl</th></tr></thead>\n<tbody>\n",
        );
        for row in &report.toolchain {
            component_row(out, row);
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

/// One row of the components (or toolchain) table.
fn component_row(out: &mut String, row: &super::ComponentRow) {
    let component = &row.component;
    let policy = match &row.licence {
        Some(verdict) => format!(
            "<span class=\"{0}\">{0}</span>: {1}",
            verdict.verdict.as_str(),
            cell(&verdict.reason)
        ),
        None => "<span class=\"muted\">-</span>".to_owned(),
    };
    let optional = |value: &Option<String>| {
        value
            .as_deref()
            .map_or_else(|| "<span class=\"muted\">none</span>".to_owned(), cell)
    };
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{policy}</td><td class=\"mono\">{}</td></tr>",
        cell(&component.name),
        optional(&component.version),
        optional(&component.supplier),
        optional(&component.licence_declared),
        optional(&component.licence_concluded),
        optional(&component.purl),
    );
}

pub(super) fn changes_section(out: &mut String, report: &ProcurementReport) {
    out.push_str("<h2 id=\"changes\">Dependency changes</h2>\n");
    part_note(out, &report.changes);
    let Part::Done(changes) = &report.changes else {
        return;
    };
    let _ = writeln!(
        out,
        "<p>Since {} (its manifest.json, read as given):</p>",
        cell(&changes.previous_version)
    );
    if changes.diff.is_empty() {
        out.push_str("<p>None: the same crates at the same versions.</p>\n");
        return;
    }
    let fixes = |name: &str, from: &str| {
        changes
            .fixed
            .iter()
            .find(|(fixed, old, _, _)| fixed == name && old == from)
            .map_or_else(String::new, |(_, _, _, labels)| {
                format!(
                    " <span class=\"ok\">fixes {}</span>",
                    cell(&labels.join(", "))
                )
            })
    };
    out.push_str("<table>\n<thead><tr><th>change</th><th>crate</th><th>from</th><th>to</th></tr></thead>\n<tbody>\n");
    for record in &changes.diff.added {
        let _ = writeln!(
            out,
            "<tr><td>added</td><td>{}</td><td></td><td>{}</td></tr>",
            cell(&record.name),
            cell(&record.version)
        );
    }
    for record in &changes.diff.removed {
        let _ = writeln!(
            out,
            "<tr><td>removed</td><td>{}</td><td>{}{}</td><td></td></tr>",
            cell(&record.name),
            cell(&record.version),
            fixes(&record.name, &record.version)
        );
    }
    for (word, list) in [
        ("upgraded", &changes.diff.upgraded),
        ("downgraded", &changes.diff.downgraded),
    ] {
        for change in list {
            let _ = writeln!(
                out,
                "<tr><td>{word}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                cell(&change.name),
                cell(&change.from),
                cell(&change.to),
                fixes(&change.name, &change.from)
            );
        }
    }
    out.push_str("</tbody>\n</table>\n");
}
