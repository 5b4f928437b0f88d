//! cordon-verify's exit codes: one per class of failure, so that a packaging script can
//! tell a corrupt download from a forged signature or a wrong signer without parsing
//! messages.
//!
//! | code | class | meaning |
//! | --- | --- | --- |
//! | 0 | | everything checked passed |
//! | 2 | [`FailureClass::BadInput`] | an input could not be read or understood |
//! | 3 | [`FailureClass::Signature`] | a signature, certificate chain, SCT, log proof or timestamp does not verify |
//! | 4 | [`FailureClass::Identity`] | the signature is valid but made by someone other than the expected signer |
//! | 5 | [`FailureClass::ProvenancePolicy`] | the provenance is authentic but does not say what the policy requires |
//! | 6 | [`FailureClass::SbomMismatch`] | an SBOM does not describe the binary it ships with |
//! | 7 | [`FailureClass::Integrity`] | a file's bytes are not the ones that were signed or listed |
//!
//! When several checks fail, the process exits with the code of the most serious class,
//! in the order of [`FailureClass::SEVERITY`].

use std::fmt;

/// A class of failure, and the exit code it maps to. `0` is success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureClass {
    /// The input could not be read or understood: a missing, truncated, oversized or
    /// malformed file, an unknown media type, a bad argument. Exit code 2 (the code
    /// clap uses for usage errors too).
    BadInput,
    /// Cryptographic evidence does not verify: the signature over the artifact or the
    /// DSSE envelope, the certificate chain to a trusted CA, the SCT, the
    /// transparency-log inclusion proof or checkpoint, the signed entry timestamp, an
    /// RFC 3161 timestamp, or the trusted root itself. Exit code 3.
    Signature,
    /// The evidence verifies, but the certificate names another identity or OIDC
    /// issuer than the one expected. Exit code 4.
    Identity,
    /// The provenance is authentic but does not satisfy the policy: wrong predicate
    /// type, builder, source repository, tag or commit, or a shipped file it does not
    /// cover. Exit code 5.
    ProvenancePolicy,
    /// An SBOM does not describe its binary: hashes or components differ. Exit code 6.
    SbomMismatch,
    /// A file's content is not what was signed or listed: a digest mismatch, a bundle
    /// made for another artifact, a listed file that is absent, or an unexpected file
    /// when extra files are not allowed. Exit code 7.
    Integrity,
}

impl FailureClass {
    /// Every class, most serious first: the exit code of a run with several failures is
    /// the code of the first class in this list that occurred.
    pub const SEVERITY: [FailureClass; 6] = [
        FailureClass::Signature,
        FailureClass::Identity,
        FailureClass::Integrity,
        FailureClass::ProvenancePolicy,
        FailureClass::SbomMismatch,
        FailureClass::BadInput,
    ];

    /// The process exit code for this class.
    pub fn exit_code(self) -> u8 {
        match self {
            FailureClass::BadInput => 2,
            FailureClass::Signature => 3,
            FailureClass::Identity => 4,
            FailureClass::ProvenancePolicy => 5,
            FailureClass::SbomMismatch => 6,
            FailureClass::Integrity => 7,
        }
    }

    /// A short lowercase name, used in reports and `--json` output.
    pub fn name(self) -> &'static str {
        match self {
            FailureClass::BadInput => "bad-input",
            FailureClass::Signature => "signature",
            FailureClass::Identity => "identity",
            FailureClass::ProvenancePolicy => "provenance-policy",
            FailureClass::SbomMismatch => "sbom-mismatch",
            FailureClass::Integrity => "integrity",
        }
    }

    /// The most serious class among `classes`, or `None` when there is none.
    pub fn most_serious(classes: impl IntoIterator<Item = FailureClass>) -> Option<Self> {
        let found: Vec<FailureClass> = classes.into_iter().collect();
        Self::SEVERITY
            .into_iter()
            .find(|class| found.contains(class))
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed check: its class and a one-line reason that names the file and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {reason}")]
pub struct Failure {
    /// What kind of failure this is.
    pub class: FailureClass,
    /// One line, naming the file and what is wrong with it.
    pub reason: String,
}

impl Failure {
    /// A failure of `class` with the given reason. Newlines in the reason are replaced
    /// so that every failure stays on one line.
    pub fn new(class: FailureClass, reason: impl Into<String>) -> Self {
        let reason: String = reason.into();
        Failure {
            class,
            reason: reason.replace(['\n', '\r'], " "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_nonzero() {
        let mut codes: Vec<u8> = FailureClass::SEVERITY
            .iter()
            .map(|class| class.exit_code())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes, [2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn the_most_serious_class_wins() {
        use FailureClass::*;
        assert_eq!(
            FailureClass::most_serious([BadInput, Integrity]),
            Some(Integrity)
        );
        assert_eq!(
            FailureClass::most_serious([Identity, Signature]),
            Some(Signature)
        );
        assert_eq!(FailureClass::most_serious([]), None);
    }

    #[test]
    fn reasons_stay_on_one_line() {
        let failure = Failure::new(FailureClass::BadInput, "a\nb\r\nc");
        assert_eq!(failure.to_string(), "bad-input: a b  c");
    }
}
