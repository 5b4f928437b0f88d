//! Licence policies: a TOML file with `allow`, `review` and `deny` lists of SPDX licence
//! ids (optionally `ID WITH EXCEPTION`) and what an id no list names gets (`unlisted`,
//! `review` by default), evaluated over each component's SPDX expression:
//!
//! - `A OR B` is satisfied by any allowed branch, `A AND B` needs every part;
//! - `ID WITH EXC` matches an entry for exactly that pair first, then the entry for `ID`
//!   (an exception only adds permissions);
//! - the verdict is *allowed* when the expression holds with allowed terms only, else
//!   *review* when it holds without denied terms, else *denied*.
//!
//! ```toml
//! allow = ["MIT", "Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0"]
//! review = ["MPL-2.0"]
//! deny = ["GPL-3.0-only", "AGPL-3.0-only"]
//! unlisted = "review"
//! ```
//!
//! A bad policy file is an error naming the file and line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use spdx::{Expression, LicenseReq, ParseMode};
use toml::Spanned;

use crate::error::{AuditError, line_of};

/// What the policy says of a licence, or of a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Allowed.
    Allowed,
    /// A person must look at it.
    Review,
    /// Not allowed.
    Denied,
}

impl Verdict {
    /// `allowed`, `review` or `denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Review => "review",
            Verdict::Denied => "denied",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A component's verdict and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceVerdict {
    /// The verdict.
    pub verdict: Verdict,
    /// Why: the terms that decided it.
    pub reason: String,
}

/// A parsed licence policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicencePolicy {
    entries: BTreeMap<(String, Option<String>), Verdict>,
    unlisted: Verdict,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    allow: Vec<Spanned<String>>,
    #[serde(default)]
    review: Vec<Spanned<String>>,
    #[serde(default)]
    deny: Vec<Spanned<String>>,
    #[serde(default)]
    unlisted: Option<Spanned<String>>,
}

/// The key of one licence term: the licence (`GPL-2.0-only`, `LicenseRef-x`) and its
/// exception.
fn key(req: &LicenseReq) -> (String, Option<String>) {
    (
        req.license.to_string(),
        req.addition.as_ref().map(ToString::to_string),
    )
}

impl LicencePolicy {
    /// Parses a policy file's text (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<LicencePolicy, AuditError> {
        let at = |offset: usize, problem: String| AuditError::Malformed {
            path: path.to_owned(),
            problem: format!("line {}: {problem}", line_of(text, offset)),
        };
        let file: PolicyFile = toml::from_str(text).map_err(|error| {
            let offset = error.span().map_or(0, |span| span.start);
            at(
                offset,
                format!(
                    "{} (a licence policy has allow, review and deny lists of SPDX ids and \
                     `unlisted = \"review\"|\"deny\"|\"allow\"`)",
                    error.message().trim()
                ),
            )
        })?;
        let unlisted = match &file.unlisted {
            None => Verdict::Review,
            Some(value) => match value.get_ref().as_str() {
                "allow" => Verdict::Allowed,
                "review" => Verdict::Review,
                "deny" => Verdict::Denied,
                other => {
                    return Err(at(
                        value.span().start,
                        format!("unlisted = {other:?}: write \"allow\", \"review\" or \"deny\""),
                    ));
                }
            },
        };
        let mut entries: BTreeMap<(String, Option<String>), (Verdict, usize)> = BTreeMap::new();
        for (list, verdict) in [
            (&file.allow, Verdict::Allowed),
            (&file.review, Verdict::Review),
            (&file.deny, Verdict::Denied),
        ] {
            for entry in list {
                let offset = entry.span().start;
                let expression = Expression::parse_mode(entry.get_ref(), ParseMode::STRICT)
                    .map_err(|error| {
                        at(
                            offset,
                            format!(
                                "{:?} is not an SPDX licence id: {} (ids are case-sensitive, \
                                 e.g. \"Apache-2.0\", \"GPL-2.0-only WITH \
                                 Classpath-exception-2.0\")",
                                entry.get_ref(),
                                error.reason
                            ),
                        )
                    })?;
                let mut terms = expression.requirements();
                let (Some(term), None) = (terms.next(), terms.next()) else {
                    return Err(at(
                        offset,
                        format!(
                            "{:?} combines licences with AND/OR; list each licence on its own",
                            entry.get_ref()
                        ),
                    ));
                };
                let line = line_of(text, offset);
                if let Some((other, other_line)) = entries.insert(key(&term.req), (verdict, line)) {
                    return Err(at(
                        offset,
                        format!(
                            "{:?} is listed as {verdict} here and as {other} on line {other_line}; \
                             keep one",
                            entry.get_ref()
                        ),
                    ));
                }
            }
        }
        Ok(LicencePolicy {
            entries: entries
                .into_iter()
                .map(|(key, (verdict, _))| (key, verdict))
                .collect(),
            unlisted,
        })
    }

    /// What the policy says of one licence term.
    pub fn term(&self, req: &LicenseReq) -> Verdict {
        let (licence, exception) = key(req);
        if let Some(verdict) = self.entries.get(&(licence.clone(), exception.clone())) {
            return *verdict;
        }
        if exception.is_some()
            && let Some(verdict) = self.entries.get(&(licence, None))
        {
            return *verdict;
        }
        self.unlisted
    }

    /// The verdict for a component whose declared licence is `expression` (`None`,
    /// empty or `NOASSERTION` when it declares none). Cargo's `MIT/Apache-2.0` is read
    /// as `MIT OR Apache-2.0`.
    pub fn evaluate(&self, expression: Option<&str>) -> LicenceVerdict {
        let expression = expression.map(str::trim).unwrap_or("");
        if expression.is_empty() || expression == "NOASSERTION" || expression == "NONE" {
            return LicenceVerdict {
                verdict: Verdict::Review,
                reason: "no licence declared".to_owned(),
            };
        }
        let parsed = match Expression::parse_mode(expression, ParseMode::LAX) {
            Ok(parsed) => parsed,
            Err(error) => {
                return LicenceVerdict {
                    verdict: Verdict::Review,
                    reason: format!("not an SPDX expression: {}", error.reason),
                };
            }
        };
        let terms = |wanted: Verdict| {
            let mut names: Vec<String> = parsed
                .requirements()
                .filter(|term| self.term(&term.req) == wanted)
                .map(|term| term.req.to_string())
                .collect();
            names.dedup();
            names.join(", ")
        };
        if parsed.evaluate(|req| self.term(req) == Verdict::Allowed) {
            LicenceVerdict {
                verdict: Verdict::Allowed,
                reason: format!("satisfied by allowed terms ({})", terms(Verdict::Allowed)),
            }
        } else if parsed.evaluate(|req| self.term(req) != Verdict::Denied) {
            LicenceVerdict {
                verdict: Verdict::Review,
                reason: format!("needs review: {}", terms(Verdict::Review)),
            }
        } else {
            LicenceVerdict {
                verdict: Verdict::Denied,
                reason: format!("denied: {}", terms(Verdict::Denied)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"# test policy
allow = ["MIT", "Apache-2.0", "GPL-2.0-only WITH Classpath-exception-2.0", "Unicode-3.0"]
review = ["MPL-2.0"]
deny = [
  "GPL-3.0-only",
  "GPL-2.0-only",
]
"#;

    fn verdict(policy: &LicencePolicy, expression: &str) -> Verdict {
        policy.evaluate(Some(expression)).verdict
    }

    #[test]
    fn or_and_with_are_evaluated() {
        let policy = LicencePolicy::parse(Path::new("p.toml"), POLICY).unwrap();
        assert_eq!(verdict(&policy, "MIT"), Verdict::Allowed);
        assert_eq!(verdict(&policy, "GPL-3.0-only OR MIT"), Verdict::Allowed);
        assert_eq!(verdict(&policy, "MIT/Apache-2.0"), Verdict::Allowed);
        assert_eq!(verdict(&policy, "MIT AND GPL-3.0-only"), Verdict::Denied);
        assert_eq!(verdict(&policy, "MIT AND MPL-2.0"), Verdict::Review);
        assert_eq!(verdict(&policy, "MPL-2.0 OR GPL-3.0-only"), Verdict::Review);
        assert_eq!(
            verdict(&policy, "(MIT OR Apache-2.0) AND Unicode-3.0"),
            Verdict::Allowed
        );
        assert_eq!(
            verdict(&policy, "GPL-2.0-only WITH Classpath-exception-2.0"),
            Verdict::Allowed
        );
        assert_eq!(verdict(&policy, "GPL-2.0-only"), Verdict::Denied);
        // Another exception on a denied licence: the licence's own entry decides.
        assert_eq!(
            verdict(&policy, "GPL-2.0-only WITH GCC-exception-2.0"),
            Verdict::Denied
        );
        // An exception on an allowed licence stays allowed.
        assert_eq!(
            verdict(&policy, "Apache-2.0 WITH LLVM-exception"),
            Verdict::Allowed
        );
        assert_eq!(verdict(&policy, "BSD-3-Clause"), Verdict::Review);
        assert_eq!(policy.evaluate(None).reason, "no licence declared");
        assert_eq!(verdict(&policy, "NOASSERTION"), Verdict::Review);
        let bad = policy.evaluate(Some("MIT OR OR"));
        assert_eq!(bad.verdict, Verdict::Review);
        assert!(bad.reason.contains("not an SPDX expression"), "{bad:?}");
        let denied = policy.evaluate(Some("GPL-3.0-only AND MIT"));
        assert_eq!(denied.reason, "denied: GPL-3.0-only");
    }

    #[test]
    fn unlisted_deny_makes_unknown_terms_denied() {
        let text = format!("{POLICY}unlisted = \"deny\"\n");
        let policy = LicencePolicy::parse(Path::new("p.toml"), &text).unwrap();
        assert_eq!(verdict(&policy, "BSD-3-Clause"), Verdict::Denied);
        assert_eq!(verdict(&policy, "BSD-3-Clause OR MIT"), Verdict::Allowed);
    }

    #[test]
    fn bad_policy_files_name_file_and_line() {
        let cases = [
            (
                "allow = [\"MIT\"]\ndeny = [\"mit-ish\"]\n",
                "line 2:",
                "not an SPDX licence id",
            ),
            (
                "allow = [\"MIT\"]\n\nreview = [\"MIT\"]\n",
                "line 3:",
                "and as allowed on line 1",
            ),
            (
                "allow = [\"MIT OR Apache-2.0\"]\n",
                "line 1:",
                "list each licence",
            ),
            (
                "allow = [\"MIT\"]\nunlisted = \"maybe\"\n",
                "line 2:",
                "\"allow\", \"review\" or \"deny\"",
            ),
            ("allow = [\"MIT\"]\nalow = []\n", "line 2:", "unknown field"),
            ("allow = [\"MIT\"\n", "line 1:", "licence policy"),
        ];
        for (text, line, problem) in cases {
            let error = LicencePolicy::parse(Path::new("policy.toml"), text)
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with(&format!("policy.toml: {line}")) && error.contains(problem),
                "{text:?}: {error}"
            );
        }
    }
}
