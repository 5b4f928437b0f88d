//! Checks a [`Vex`] document against a release's crate set before it ships (the
//! release's `check` stage) and when a verifier applies it (`cordon-verify report`):
//! every statement's products must name a crate of the release
//! (`pkg:cargo/NAME` or `pkg:cargo/NAME@VERSION`, qualifiers ignored) and every
//! vulnerability id must be well-formed (RustSec, CVE or GHSA). Each problem names the
//! statement (`statements[2]`, `vulnerabilities[0]`) and the fix.

use crate::matching::CrateVersion;
use crate::vex::Vex;

/// One thing wrong with one statement of a VEX document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexProblem {
    /// Where: `statements[2]` (OpenVEX) or `vulnerabilities[0]` (CycloneDX VEX).
    pub place: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl std::fmt::Display for VexProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.place, self.problem)
    }
}

impl Vex {
    /// Where statement `index` sits in the document: `statements[i]` or
    /// `vulnerabilities[i]`.
    pub fn place(&self, index: usize) -> String {
        if self.format == "OpenVEX" {
            format!("statements[{index}]")
        } else {
            format!("vulnerabilities[{index}]")
        }
    }

    /// Every product that is not a crate of `crates` and every malformed vulnerability
    /// id, in document order; empty when the document fits the release.
    pub fn problems(&self, crates: &[CrateVersion]) -> Vec<VexProblem> {
        let mut problems = Vec::new();
        for (index, statement) in self.statements.iter().enumerate() {
            let place = self.place(index);
            for id in &statement.vulnerabilities {
                if !well_formed_id(id) {
                    problems.push(VexProblem {
                        place: place.clone(),
                        problem: format!(
                            "vulnerability id {id:?} is not well-formed; write RUSTSEC-YYYY-NNNN, \
                             CVE-YYYY-NNNN (four or more digits) or GHSA-xxxx-xxxx-xxxx"
                        ),
                    });
                }
            }
            for product in &statement.products {
                if let Some(problem) = product_problem(product, crates) {
                    problems.push(VexProblem {
                        place: place.clone(),
                        problem,
                    });
                }
            }
        }
        problems
    }
}

/// RUSTSEC-YYYY-NNNN, CVE-YYYY-NNNN+ or GHSA-xxxx-xxxx-xxxx (GitHub's id alphabet).
pub fn well_formed_id(id: &str) -> bool {
    let digits = |text: &str, min: usize, max: usize| {
        (min..=max).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit())
    };
    if let Some(rest) = id.strip_prefix("RUSTSEC-") {
        return rest
            .split_once('-')
            .is_some_and(|(year, number)| digits(year, 4, 4) && digits(number, 4, 4));
    }
    if let Some(rest) = id.strip_prefix("CVE-") {
        return rest
            .split_once('-')
            .is_some_and(|(year, number)| digits(year, 4, 4) && digits(number, 4, 19));
    }
    if let Some(rest) = id.strip_prefix("GHSA-") {
        let groups: Vec<&str> = rest.split('-').collect();
        return groups.len() == 3
            && groups.iter().all(|group| {
                group.len() == 4
                    && group
                        .bytes()
                        .all(|byte| b"23456789cfghjmpqrvwx".contains(&byte))
            });
    }
    false
}

/// Why `product` names no crate of `crates`, or `None` when it names one.
fn product_problem(product: &str, crates: &[CrateVersion]) -> Option<String> {
    let fix = "name a crate of the release as pkg:cargo/NAME or pkg:cargo/NAME@VERSION";
    let bare = product.split(['?', '#']).next().unwrap_or(product);
    let Some(rest) = bare.strip_prefix("pkg:cargo/") else {
        return Some(format!(
            "product {product:?} is not a cargo purl; {fix} (the crates are listed in the \
             release's manifest.json)"
        ));
    };
    let (name, version) = match rest.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (rest, None),
    };
    let versions: Vec<&str> = crates
        .iter()
        .filter(|krate| krate.name == name)
        .map(|krate| krate.version.as_str())
        .collect();
    if versions.is_empty() {
        return Some(format!(
            "product {product:?} names crate `{name}`, which is not in the release; {fix}, or \
             drop the statement"
        ));
    }
    match version {
        Some(version) if !versions.contains(&version) => Some(format!(
            "product {product:?} names {name} {version}, but the release has {name} {}; \
             {fix}",
            versions.join(", ")
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn ids_are_checked_by_shape() {
        for good in [
            "RUSTSEC-2024-0001",
            "CVE-2024-1234",
            "CVE-2021-4428012",
            "GHSA-xq3w-v528-46rv",
        ] {
            assert!(well_formed_id(good), "{good}");
        }
        for bad in [
            "RUSTSEC-24-0001",
            "CVE-2024-12",
            "GHSA-xq3w-v528",
            "GHSA-XQ3W-V528-46RV",
            "<script>",
            "",
        ] {
            assert!(!well_formed_id(bad), "{bad}");
        }
    }

    #[test]
    fn products_must_be_crates_of_the_release() {
        let text = r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [
            {"vulnerability": {"name": "CVE-2099-0001"},
             "products": [{"@id": "pkg:cargo/app@1.0.0?bin=app",
                           "subcomponents": [{"@id": "pkg:cargo/dep"}]}],
             "status": "not_affected", "justification": "component_not_present"},
            {"vulnerability": {"name": "CVE-99"},
             "products": [{"@id": "pkg:cargo/dep@9.0.0"}, {"@id": "pkg:npm/left-pad"},
                          {"@id": "pkg:cargo/ghost"}],
             "status": "fixed"}]}"#;
        let vex = Vex::parse(Path::new("v.json"), text).unwrap();
        let crates = [
            CrateVersion::new("app", "1.0.0"),
            CrateVersion::new("dep", "1.2.0"),
        ];
        let problems: Vec<String> = vex
            .problems(&crates)
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].starts_with("statements[1]: vulnerability id \"CVE-99\""));
        assert!(problems[1].contains("names dep 9.0.0, but the release has dep 1.2.0"));
        assert!(problems[2].contains("\"pkg:npm/left-pad\" is not a cargo purl"));
        assert!(problems[3].contains("crate `ghost`, which is not in the release"));
        assert!(
            vex.problems(&crates[..])
                .iter()
                .all(|p| p.place == "statements[1]")
        );
    }
}
