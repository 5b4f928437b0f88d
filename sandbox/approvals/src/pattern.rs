//! Approval patterns: a token-exact prefix plus at most one trailing `*` (zero or more
//! further tokens). No globbing inside a token; flags are tokens like any other, so
//! `git -C x push` is not `git push *`.

use serde::{Deserialize, Serialize};

use crate::escape;
use crate::shape::Command;

/// A token pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pattern {
    /// The tokens that must come first, exactly.
    pub tokens: Vec<String>,
    /// A trailing `*`: any further tokens (also none).
    #[serde(default)]
    pub rest: bool,
}

impl Pattern {
    /// Exactly these tokens.
    pub fn exact(tokens: &[String]) -> Self {
        Pattern {
            tokens: tokens.to_vec(),
            rest: false,
        }
    }

    /// Words as typed: the last may be `*`; a `*` anywhere else (or inside a token) is
    /// refused, since patterns do not glob.
    pub fn parse(words: &[String]) -> Result<Self, String> {
        let (rest, tokens) = match words.split_last() {
            Some((last, before)) if last == "*" => (true, before),
            _ => (false, words),
        };
        if tokens.is_empty() {
            return Err("a pattern needs at least the program name before `*`".to_owned());
        }
        if let Some(token) = tokens.iter().find(|token| token.contains('*')) {
            return Err(format!(
                "`{token}`: `*` is allowed only as the last word, alone (patterns do not glob)"
            ));
        }
        Ok(Pattern {
            tokens: tokens.to_vec(),
            rest,
        })
    }

    /// True when `tokens` match.
    pub fn matches(&self, tokens: &[String]) -> bool {
        if self.rest {
            tokens.len() >= self.tokens.len() && tokens[..self.tokens.len()] == self.tokens[..]
        } else {
            tokens == self.tokens.as_slice()
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&escape::join(&self.tokens))?;
        if self.rest {
            f.write_str(" *")?;
        }
        Ok(())
    }
}

/// What an "always" approval covers: one simple command's pattern, bound to its resolved
/// executable, the shell it runs under (if any), its assignments and its wrappers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandPattern {
    /// The shell, for a command out of `sh -c SCRIPT`.
    #[serde(default)]
    pub via: Option<String>,
    /// Assignments, exactly.
    #[serde(default)]
    pub assignments: Vec<String>,
    /// Wrappers, exactly.
    #[serde(default)]
    pub wrappers: Vec<Vec<String>>,
    /// The command's tokens.
    pub pattern: Pattern,
    /// The resolved executable.
    pub executable: Option<String>,
}

impl CommandPattern {
    /// The pattern that covers exactly `command`.
    pub fn exact(command: &Command) -> Self {
        CommandPattern {
            via: command.via.clone(),
            assignments: command.assignments.clone(),
            wrappers: command.wrappers.clone(),
            pattern: Pattern::exact(&command.tokens),
            executable: command.executable.clone(),
        }
    }

    /// True when it covers `command`.
    pub fn matches(&self, command: &Command) -> bool {
        self.executable.is_some()
            && self.executable == command.executable
            && self.via == command.via
            && self.assignments == command.assignments
            && self.wrappers == command.wrappers
            && self.pattern.matches(&command.tokens)
    }
}

impl std::fmt::Display for CommandPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut prefix: Vec<String> = self.assignments.clone();
        prefix.extend(self.wrappers.iter().flatten().cloned());
        if !prefix.is_empty() {
            write!(f, "{} ", escape::join(&prefix))?;
        }
        write!(f, "{}", self.pattern)?;
        if let Some(exe) = &self.executable {
            write!(f, " [{exe}]")?;
        }
        if let Some(via) = &self.via {
            write!(f, " [via {via}]")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_owned).collect()
    }

    #[test]
    fn prefix_and_star_are_token_exact() {
        let pattern = Pattern::parse(&words("git status *")).unwrap();
        assert!(pattern.matches(&words("git status")));
        assert!(pattern.matches(&words("git status -s")));
        assert!(!pattern.matches(&words("git statusx")));
        assert!(!pattern.matches(&words("git -C x status")));
        assert!(!pattern.matches(&words("git")));
        let exact = Pattern::parse(&words("rm build")).unwrap();
        assert!(exact.matches(&words("rm build")));
        assert!(!exact.matches(&words("rm build -rf")));
        assert!(!exact.matches(&words("rmdir build")));
        assert_eq!(pattern.to_string(), "git status *");
    }

    #[test]
    fn stars_elsewhere_are_refused() {
        assert!(Pattern::parse(&words("git * main")).is_err());
        assert!(Pattern::parse(&words("rm*")).is_err());
        assert!(Pattern::parse(&words("*")).is_err());
        assert!(Pattern::parse(&[]).is_err());
    }
}
