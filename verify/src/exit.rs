//! cordon-verify's exit codes: one per class of failure, so that a packaging script can
//! tell a corrupt download from a malformed input without parsing messages.

/// A class of failure, and the exit code it maps to. `0` is success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// The input could not be read or understood: a missing or malformed file, a bad
    /// argument. Exit code 2 (the code clap uses for usage errors too).
    BadInput,
    /// A file's content is not what the release recorded for it: a digest mismatch or a
    /// listed file that is absent. Exit code 7.
    Integrity,
}

impl FailureClass {
    /// The process exit code for this class.
    pub fn exit_code(self) -> u8 {
        match self {
            FailureClass::BadInput => 2,
            FailureClass::Integrity => 7,
        }
    }
}
