//! A string entry of a policy file with its place (line and column) in the file, so that
//! a relaxation or an error found after parsing still names `file:line:column`.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// One entry as written, with its place in the file (line 0 when it came from a flag or
/// from srt settings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placed {
    /// The text.
    pub text: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column, 0 when unknown.
    pub column: usize,
}

impl Placed {
    /// An entry without a place in a file (a flag, srt settings).
    pub fn unplaced(text: impl Into<String>) -> Self {
        Placed {
            text: text.into(),
            line: 0,
            column: 0,
        }
    }

    /// `origin:line:column`, or `origin` when the place is unknown.
    pub fn place(&self, origin: &str) -> String {
        place(origin, self.line, self.column)
    }
}

/// `origin:line:column`, or `origin` when `line` is 0 (unknown).
pub(crate) fn place(origin: &str, line: usize, column: usize) -> String {
    if line == 0 {
        origin.to_owned()
    } else {
        format!("{origin}:{line}:{column}")
    }
}

impl From<&str> for Placed {
    fn from(text: &str) -> Self {
        Placed::unplaced(text)
    }
}

impl From<String> for Placed {
    fn from(text: String) -> Self {
        Placed::unplaced(text)
    }
}

impl<'de> Deserialize<'de> for Placed {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let spanned = Spanned::<String>::deserialize(deserializer)?;
        Ok(Placed {
            text: spanned.value,
            line: spanned.referenced.line() as usize,
            column: spanned.referenced.column() as usize,
        })
    }
}

impl std::fmt::Display for Placed {
    /// The text alone (the place is for records and errors).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<&str> for Placed {
    /// Compares the text alone.
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}
