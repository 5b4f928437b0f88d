//! VEX documents a release carries for advisories it is not affected by: OpenVEX
//! (`https://openvex.dev/ns/…`, `statements[]`) and CycloneDX VEX (`vulnerabilities[]`
//! with `analysis`), read into one statement list and matched to hits by vulnerability
//! id (the RustSec id or any alias: CVE, GHSA) and product (the crate's purl, with or
//! without its version).

use std::path::Path;

use serde_json::Value;

use crate::advisory::Advisory;
use crate::error::AuditError;

/// What a statement says of the product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VexStatus {
    /// Not affected (OpenVEX `not_affected`; CycloneDX `not_affected`, `false_positive`).
    NotAffected,
    /// Affected (OpenVEX `affected`; CycloneDX `exploitable`).
    Affected,
    /// Fixed (OpenVEX `fixed`; CycloneDX `resolved`).
    Fixed,
    /// Under investigation (OpenVEX `under_investigation`; CycloneDX `in_triage`).
    UnderInvestigation,
}

impl VexStatus {
    /// The OpenVEX word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }

    /// True when the statement takes the hit off the list of open ones.
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }
}

/// One statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    /// The vulnerability ids it is about (its name and aliases).
    pub vulnerabilities: Vec<String>,
    /// The products (and subcomponents) it names, as purls or bom-refs.
    pub products: Vec<String>,
    /// What it says.
    pub status: VexStatus,
    /// The justification (`vulnerable_code_not_in_execute_path`...), when given.
    pub justification: Option<String>,
    /// The free-text impact statement or analysis detail, when given.
    pub detail: Option<String>,
}

/// A VEX document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vex {
    /// `OpenVEX` or `CycloneDX VEX`.
    pub format: &'static str,
    /// Its statements in document order.
    pub statements: Vec<VexStatement>,
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| match item {
                    Value::String(text) => Some(text.clone()),
                    other => other
                        .get("@id")
                        .or_else(|| other.get("id"))
                        .or_else(|| other.get("ref"))
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|text| !text.is_empty())
}

impl Vex {
    /// Parses an OpenVEX or CycloneDX VEX JSON document (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Vex, AuditError> {
        let malformed = |problem: String| AuditError::Malformed {
            path: path.to_owned(),
            problem,
        };
        let document: Value = serde_json::from_str(text).map_err(|error| {
            malformed(format!(
                "line {}: not JSON: {error} (an OpenVEX or CycloneDX VEX document)",
                error.line()
            ))
        })?;
        if let Some(statements) = document.get("statements").and_then(Value::as_array) {
            let context = document
                .get("@context")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !context.starts_with("https://openvex.dev/ns") {
                return Err(malformed(format!(
                    "@context {context:?} is not OpenVEX's (https://openvex.dev/ns/v0.2.0)"
                )));
            }
            let statements = statements
                .iter()
                .enumerate()
                .map(|(index, statement)| openvex_statement(index, statement).map_err(malformed))
                .collect::<Result<_, _>>()?;
            return Ok(Vex {
                format: "OpenVEX",
                statements,
            });
        }
        if document.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
            let vulnerabilities = document
                .get("vulnerabilities")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    malformed("a CycloneDX document without vulnerabilities[] is not VEX".into())
                })?;
            let statements = vulnerabilities
                .iter()
                .enumerate()
                .map(|(index, entry)| cyclonedx_statement(index, entry).map_err(malformed))
                .collect::<Result<_, _>>()?;
            return Ok(Vex {
                format: "CycloneDX VEX",
                statements,
            });
        }
        Err(malformed(
            "neither OpenVEX (statements[]) nor CycloneDX VEX (bomFormat, vulnerabilities[])"
                .into(),
        ))
    }

    /// The last statement about `advisory` (its id or an alias) for crate `name` at
    /// `version` (later statements override earlier ones, as in OpenVEX).
    pub fn find(&self, advisory: &Advisory, name: &str, version: &str) -> Option<&VexStatement> {
        let exact = format!("pkg:cargo/{name}@{version}");
        let any_version = format!("pkg:cargo/{name}");
        self.statements.iter().rev().find(|statement| {
            statement
                .vulnerabilities
                .iter()
                .any(|id| advisory.is_named(id))
                && statement.products.iter().any(|product| {
                    let product = product.split(['?', '#']).next().unwrap_or(product);
                    product == exact || product == any_version
                })
        })
    }
}

fn openvex_statement(index: usize, statement: &Value) -> Result<VexStatement, String> {
    let place = format!("statements[{index}]");
    let vulnerability = statement
        .get("vulnerability")
        .ok_or_else(|| format!("{place}: no vulnerability"))?;
    let mut vulnerabilities = match vulnerability {
        Value::String(name) => vec![name.clone()],
        other => {
            let mut ids: Vec<String> = text(other, "name").into_iter().collect();
            ids.extend(strings(other.get("aliases")));
            ids
        }
    };
    vulnerabilities.retain(|id| !id.is_empty());
    if vulnerabilities.is_empty() {
        return Err(format!("{place}: vulnerability has no name"));
    }
    let mut products = Vec::new();
    for product in statement
        .get("products")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        products.extend(strings(Some(&Value::Array(vec![product.clone()]))));
        products.extend(strings(product.get("subcomponents")));
    }
    if products.is_empty() {
        return Err(format!("{place}: no products"));
    }
    let status = match statement.get("status").and_then(Value::as_str) {
        Some("not_affected") => VexStatus::NotAffected,
        Some("affected") => VexStatus::Affected,
        Some("fixed") => VexStatus::Fixed,
        Some("under_investigation") => VexStatus::UnderInvestigation,
        other => {
            return Err(format!(
                "{place}: status {other:?} is not one of not_affected, affected, fixed, \
                 under_investigation"
            ));
        }
    };
    let justification = text(statement, "justification");
    let detail = text(statement, "impact_statement");
    if status == VexStatus::NotAffected && justification.is_none() && detail.is_none() {
        return Err(format!(
            "{place}: not_affected needs a justification or an impact_statement (OpenVEX)"
        ));
    }
    Ok(VexStatement {
        vulnerabilities,
        products,
        status,
        justification,
        detail,
    })
}

fn cyclonedx_statement(index: usize, entry: &Value) -> Result<VexStatement, String> {
    let place = format!("vulnerabilities[{index}]");
    let mut vulnerabilities: Vec<String> = text(entry, "id").into_iter().collect();
    vulnerabilities.extend(strings(entry.get("references")));
    if vulnerabilities.is_empty() {
        return Err(format!("{place}: no id"));
    }
    let products = strings(entry.get("affects"));
    if products.is_empty() {
        return Err(format!("{place}: no affects[].ref"));
    }
    let analysis = entry
        .get("analysis")
        .ok_or_else(|| format!("{place}: no analysis (a VEX entry says its state there)"))?;
    let status = match analysis.get("state").and_then(Value::as_str) {
        Some("not_affected" | "false_positive") => VexStatus::NotAffected,
        Some("exploitable") => VexStatus::Affected,
        Some("resolved" | "resolved_with_pedigree") => VexStatus::Fixed,
        Some("in_triage") => VexStatus::UnderInvestigation,
        other => {
            return Err(format!(
                "{place}: analysis.state {other:?} is not a CycloneDX impact analysis state"
            ));
        }
    };
    Ok(VexStatement {
        vulnerabilities,
        products,
        status,
        justification: text(analysis, "justification"),
        detail: text(analysis, "detail"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn advisory() -> Advisory {
        Advisory::parse(
            Path::new("a.md"),
            "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"demo\"\ndate = \"2099-01-02\"\naliases = [\"CVE-2099-1234\"]\n```\n# T\n",
        )
        .unwrap()
    }

    #[test]
    fn openvex_statements_match_by_alias_and_purl() {
        let text = r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a",
          "timestamp": "2099-01-01T00:00:00Z", "version": 1,
          "statements": [
            {"vulnerability": {"name": "CVE-2099-1234"},
             "products": [{"@id": "pkg:cargo/cordon-cli@0.1.0",
                           "subcomponents": [{"@id": "pkg:cargo/demo@1.1.0"}]}],
             "status": "not_affected",
             "justification": "vulnerable_code_not_in_execute_path",
             "impact_statement": "demo::read is never called"}
          ]}"#;
        let vex = Vex::parse(Path::new("v.json"), text).unwrap();
        assert_eq!(vex.format, "OpenVEX");
        let statement = vex.find(&advisory(), "demo", "1.1.0").unwrap();
        assert_eq!(statement.status, VexStatus::NotAffected);
        assert!(statement.status.suppresses());
        assert_eq!(
            statement.justification.as_deref(),
            Some("vulnerable_code_not_in_execute_path")
        );
        assert!(vex.find(&advisory(), "demo", "1.0.0").is_none());
        assert!(vex.find(&advisory(), "other", "1.1.0").is_none());
    }

    #[test]
    fn cyclonedx_vex_is_read() {
        let text = r#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
          "vulnerabilities": [{"id": "RUSTSEC-2099-0001",
            "analysis": {"state": "false_positive", "detail": "not compiled in"},
            "affects": [{"ref": "pkg:cargo/demo"}]}]}"#;
        let vex = Vex::parse(Path::new("v.json"), text).unwrap();
        assert_eq!(vex.format, "CycloneDX VEX");
        let statement = vex.find(&advisory(), "demo", "7.0.0").unwrap();
        assert_eq!(statement.status, VexStatus::NotAffected);
        assert_eq!(statement.detail.as_deref(), Some("not compiled in"));
    }

    #[test]
    fn bad_documents_say_where() {
        let error = Vex::parse(Path::new("v.json"), "{\n\"statements\": [}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("v.json: line 2"), "{error}");
        let unjustified = r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"vulnerability": {"name": "CVE-1"}, "products": [{"@id": "pkg:cargo/a"}],
             "status": "not_affected"}]}"#;
        let error = Vex::parse(Path::new("v.json"), unjustified)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("statements[0]") && error.contains("justification"),
            "{error}"
        );
        let error = Vex::parse(Path::new("v.json"), "{}")
            .unwrap_err()
            .to_string();
        assert!(error.contains("neither OpenVEX"), "{error}");
    }
}
