//! Declared licences as valid SPDX expressions.
//!
//! Cargo's `license` field is meant to be an SPDX expression, but older crates use `/` for
//! `OR` (`MIT/Apache-2.0`). [`normalise`] accepts exactly that legacy spelling (and
//! deprecated but real SPDX identifiers), checks every identifier against the SPDX licence
//! list, and writes the canonical expression. Anything else is unknown and stays unknown
//! (`None`): an imprecise name such as `Apache 2` is never guessed into an identifier.

use spdx::expression::{ExprNode, Operator};
use spdx::{Expression, LicenseItem, ParseMode};

/// How strictly `license` fields are read: `/` as `OR` and deprecated identifiers are
/// accepted; imprecise names, `GPL-2.0+`-style suffixes on other licences, and unknown
/// identifiers are not.
pub(crate) const MODE: ParseMode = ParseMode {
    allow_slash_as_or_operator: true,
    allow_imprecise_license_names: false,
    allow_postfix_plus_on_gpl: false,
    allow_deprecated: true,
    allow_unknown: false,
};

/// A declared licence, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Licence {
    /// The canonical SPDX expression, e.g. `MIT OR Apache-2.0`.
    pub(crate) expression: String,
    /// True when the expression names a `LicenseRef-`, which SPDX 2.3 documents would have to
    /// define with its text (which cargo does not give us).
    pub(crate) has_licence_ref: bool,
}

/// The canonical expression for a `license` field, or `None` when it is not a valid SPDX
/// expression (after allowing `/` for `OR`).
pub(crate) fn normalise(declared: &str) -> Option<Licence> {
    let expression = Expression::parse_mode(declared.trim(), MODE).ok()?;
    // Postfix nodes; each stack entry is (text, top-level operator if compound).
    let mut stack: Vec<(String, Option<Operator>)> = Vec::new();
    let mut has_licence_ref = false;
    for node in expression.iter() {
        match node {
            ExprNode::Req(req) => {
                if matches!(req.req.license, LicenseItem::Other(_)) {
                    has_licence_ref = true;
                }
                stack.push((req.req.to_string(), None));
            }
            ExprNode::Op(operator) => {
                let right = stack.pop()?;
                let left = stack.pop()?;
                let wrap = |(text, top): (String, Option<Operator>)| {
                    if *operator == Operator::And && top == Some(Operator::Or) {
                        format!("({text})")
                    } else {
                        text
                    }
                };
                let word = match operator {
                    Operator::And => "AND",
                    Operator::Or => "OR",
                };
                stack.push((
                    format!("{} {word} {}", wrap(left), wrap(right)),
                    Some(*operator),
                ));
            }
        }
    }
    let (expression, _) = stack.pop()?;
    if !stack.is_empty() {
        return None;
    }
    Some(Licence {
        expression,
        has_licence_ref,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str) -> Option<String> {
        normalise(text).map(|licence| licence.expression)
    }

    #[test]
    fn slash_becomes_or() {
        assert_eq!(
            canonical("MIT/Apache-2.0").as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            canonical("MIT / Apache-2.0").as_deref(),
            Some("MIT OR Apache-2.0")
        );
    }

    #[test]
    fn valid_expressions_keep_their_meaning() {
        assert_eq!(
            canonical("(MIT OR Apache-2.0) AND Unicode-3.0").as_deref(),
            Some("(MIT OR Apache-2.0) AND Unicode-3.0")
        );
        assert_eq!(
            canonical("Apache-2.0 WITH LLVM-exception OR MIT").as_deref(),
            Some("Apache-2.0 WITH LLVM-exception OR MIT")
        );
        assert_eq!(
            canonical("MIT AND BSD-3-Clause OR ISC").as_deref(),
            Some("MIT AND BSD-3-Clause OR ISC")
        );
    }

    #[test]
    fn unknown_is_never_guessed() {
        assert_eq!(canonical("Apache 2"), None);
        assert_eq!(canonical("Proprietary"), None);
        assert_eq!(canonical(""), None);
        assert_eq!(canonical("MIT OR"), None);
    }

    #[test]
    fn licence_refs_are_flagged() {
        let licence = normalise("LicenseRef-Custom OR MIT").unwrap();
        assert!(licence.has_licence_ref);
        assert_eq!(licence.expression, "LicenseRef-Custom OR MIT");
    }
}
