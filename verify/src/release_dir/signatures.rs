//! The signature rows of `cordon-verify release`: each file's `<file>.sigstore.json`
//! verified over its digest against the trusted root, the signers seen, and bundles made
//! under another trust root reported once.

use std::collections::BTreeSet;
use std::path::Path;

use super::checks::verify_loaded_bundle;
use super::{Expectations, NO_ROOT};
use crate::authority::Authority;
use crate::report::Report;
use crate::signature::{self, TrustedRoot};

/// The signature checks of one run: the trusted root, the signers seen, and the file
/// whose bundle first showed another trust root (reported once).
pub(super) struct Signatures<'a> {
    pub(super) root: Option<&'a TrustedRoot>,
    pub(super) authority: Authority,
    pub(super) expected: &'a Expectations,
    pub(super) signers: BTreeSet<String>,
    pub(super) foreign: Option<String>,
}

impl Signatures<'_> {
    /// Verifies `name`'s bundle at `bundle_path` over `digest` and records the row.
    pub(super) fn check(
        &mut self,
        report: &mut Report,
        name: &str,
        bundle_path: &Path,
        digest: &[u8; 32],
    ) {
        let Some(root) = self.root else {
            report.skip(name, "signature", NO_ROOT);
            return;
        };
        let bundle = match signature::load_bundle(bundle_path) {
            Ok(bundle) => bundle,
            Err(failure) => {
                report.fail(name, "signature", failure);
                return;
            }
        };
        if self.foreign(report, name, "signature", root, &bundle) {
            return;
        }
        let bundle_file = bundle_path.file_name().map_or_else(
            || bundle_path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        let result = verify_loaded_bundle(root, &self.authority, &bundle, digest, self.expected);
        if let Some(identity) = report.record(name, "signature", result, |identity| {
            format!("{bundle_file} signed by {identity}")
        }) {
            self.signers.insert(identity);
        }
    }

    /// True, with a row, when `bundle` was made under another trust root: the first
    /// such bundle fails, later ones are skipped with a pointer to it.
    pub(super) fn foreign(
        &mut self,
        report: &mut Report,
        name: &str,
        check: &'static str,
        root: &TrustedRoot,
        bundle: &sigstore_verify::types::Bundle,
    ) -> bool {
        let Some(failure) = signature::foreign_root(root, bundle) else {
            return false;
        };
        match &self.foreign {
            None => {
                report.fail(name, check, failure);
                self.foreign = Some(name.to_owned());
            }
            Some(first) => report.skip(
                name,
                check,
                format!("signed under the same different trust root as {first} (reported above)"),
            ),
        }
        true
    }
}
