//! The procurement report as JSON, with the same content as the HTML page, for tools.
//! Strings are the release's own (JSON escaping makes them inert); nothing is clipped.

use serde_json::{Value, json};

use super::{Part, ProcurementReport};

fn part<T>(part: &Part<T>, done: impl FnOnce(&T) -> Value) -> Value {
    match part {
        Part::NotRequested(flag) => json!({"status": "not-requested", "enableWith": flag}),
        Part::Failed(problem) => json!({"status": "failed", "problem": problem}),
        Part::Done(value) => {
            let mut value = done(value);
            if let Value::Object(map) = &mut value {
                map.insert("status".to_owned(), json!("done"));
            }
            value
        }
    }
}

/// Renders the JSON form.
pub(super) fn render(report: &ProcurementReport) -> Value {
    let decision = report.decision();
    json!({
        "schema": "https://github.com/cordon-dev/cordon/blob/main/docs/verify.md#report-v1",
        "generator": format!("cordon-verify {}", env!("CARGO_PKG_VERSION")),
        "releaseDir": report.release_dir,
        "verdict": {
            "decision": if decision.accept { "accept" } else { "reject" },
            "exitCode": report.exit_code(),
            "reasons": decision.reasons,
            "attention": decision.attention,
        },
        "trust": report.trust,
        "release": part(&report.release, |release| json!({
            "name": release.name,
            "version": release.version,
            "repository": release.repository,
            "ref": release.git_ref,
            "commit": release.commit,
            "dirty": release.dirty,
        })),
        "verification": report.checks.to_json(),
        "sboms": report.sboms.iter().map(|sbom| match &sbom.parsed {
            Ok((format, ntia)) => json!({
                "file": sbom.file,
                "format": format,
                "components": ntia.components,
                "ntia": {
                    "conformant": ntia.conformant(),
                    "author": ntia.author,
                    "timestamp": ntia.timestamp,
                    "elements": ntia.elements.iter().map(|element| json!({
                        "element": element.element,
                        "present": element.present,
                        "missing": element.missing,
                    })).collect::<Vec<_>>(),
                },
            }),
            Err(problem) => json!({"file": sbom.file, "problem": problem}),
        }).collect::<Vec<_>>(),
        "componentsFrom": report.components_from,
        "components": report.components.iter().map(component_row).collect::<Vec<_>>(),
        "toolchain": report.toolchain.iter().map(component_row).collect::<Vec<_>>(),
        "licencePolicy": part(&report.licence_policy, |file| json!({"file": file})),
        "vexProblems": report.vex_problems,
        "advisories": part(&report.advisories, |advisories| json!({
            "database": advisories.database,
            "cratesChecked": advisories.crates_checked,
            "vex": advisories.vex,
            "hits": advisories.hits.iter().map(|hit| json!({
                "id": hit.advisory.id,
                "aliases": hit.advisory.aliases,
                "cve": hit.advisory.cve_ids().collect::<Vec<_>>(),
                "kind": hit.advisory.kind.as_str(),
                "title": hit.advisory.title,
                "date": hit.advisory.date,
                "crate": hit.krate.name,
                "version": hit.krate.version,
                "patched": hit.advisory.patched.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "open": hit.is_open(),
                "blocking": hit.blocks(),
                "vex": hit.vex.as_ref().map(|vex| json!({
                    "status": vex.status.as_str(),
                    "justification": vex.justification,
                    "detail": vex.detail,
                    "from": hit.vex_origin,
                })),
            })).collect::<Vec<_>>(),
        })),
        "changes": part(&report.changes, |changes| json!({
            "previousVersion": changes.previous_version,
            "added": changes.diff.added.iter().map(|r| json!({"name": r.name, "version": r.version})).collect::<Vec<_>>(),
            "removed": changes.diff.removed.iter().map(|r| json!({"name": r.name, "version": r.version})).collect::<Vec<_>>(),
            "upgraded": changes.diff.upgraded.iter().map(|c| json!({"name": c.name, "from": c.from, "to": c.to})).collect::<Vec<_>>(),
            "downgraded": changes.diff.downgraded.iter().map(|c| json!({"name": c.name, "from": c.from, "to": c.to})).collect::<Vec<_>>(),
            "fixedAdvisories": changes.fixed.iter().map(|(name, from, to, labels)| json!({
                "name": name, "from": from, "to": to, "advisories": labels,
            })).collect::<Vec<_>>(),
        })),
    })
}

/// One row of the components (or toolchain) table.
fn component_row(row: &super::ComponentRow) -> Value {
    let component = &row.component;
    json!({
        "name": component.name,
        "version": component.version,
        "supplier": component.supplier,
        "licenceDeclared": component.licence_declared,
        "licenceConcluded": component.licence_concluded,
        "purl": component.purl,
        "policy": row.licence.as_ref().map(|verdict| json!({
            "verdict": verdict.verdict.as_str(),
            "reason": verdict.reason,
        })),
    })
}
