//! The policy file format (schema version 1) and its parser.
//!
//! A policy file is YAML. Unknown keys and bad values are rejected with the file, the
//! line and the column, and a hint (the closest known key when one is near).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::PolicyError;
use crate::placed::Placed;

/// The only schema version this cordon understands.
pub const SCHEMA_VERSION: u32 = 1;

/// One policy file, as written by a user (global), a project, or built from flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Schema version; must be 1.
    pub version: u32,
    /// Filesystem rules.
    #[serde(default)]
    pub filesystem: Filesystem,
    /// Network access.
    #[serde(default)]
    pub network: Option<Network>,
    /// Socket families beyond the default.
    #[serde(default)]
    pub sockets: Option<Sockets>,
    /// Environment scrubbing.
    #[serde(default)]
    pub environment: Environment,
    /// Global file only: paths under which a project's policy may relax (allow what the
    /// defaults or the global policy deny).
    #[serde(default)]
    pub project_may_relax: Vec<String>,
    /// Global file only: the loudly-named escape hatch that lifts a built-in mandatory
    /// write denial for exactly these paths.
    #[serde(default)]
    pub dangerously_unprotect: Vec<Placed>,
    /// Global file or flags only: protections this host may lack without cordon refusing
    /// to run.
    #[serde(default)]
    pub accept_weaker: Vec<Weaker>,
    /// More mandatory write denials (existing or not), added to the built-in list.
    #[serde(default)]
    pub protect: Vec<Protect>,
    /// Global file, `--policy` or flags only: let the project be `/`, the home directory
    /// or an ancestor of it (refused otherwise).
    #[serde(default)]
    pub allow_home_project: bool,
    /// Whether commands without an approval run (`approvals: {shell: ask|allow}`); the
    /// project's file may only say `ask`.
    #[serde(default)]
    pub approvals: Option<crate::approvals::Approvals>,
}

/// A mandatory write denial added by a policy file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Protect {
    /// The path (`~/x`, `/x`, or relative to the project).
    pub path: String,
    /// Why (shown by `cordon policy explain`).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Filesystem rules. Paths: `~/...` is the home directory, `/...` is absolute, anything
/// else is relative to the project directory. A last component ending in `*` matches
/// the entries of its directory that start with the rest (`.env*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filesystem {
    /// Paths readable again inside a denied region.
    #[serde(default)]
    pub allow_read: Vec<Placed>,
    /// Paths that cannot be read.
    #[serde(default)]
    pub deny_read: Vec<Placed>,
    /// Paths that can be written.
    #[serde(default)]
    pub allow_write: Vec<Placed>,
    /// Paths that cannot be written.
    #[serde(default)]
    pub deny_write: Vec<Placed>,
}

pub use crate::network::Network;

/// How the sandbox reaches the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkMode {
    /// An empty network namespace: no interface but a down loopback, no TCP.
    None,
    /// The host's network, unfiltered. A weaker mode that must be asked for.
    Host,
    /// Allow-listing through cordon's egress proxy (see `crate::network`).
    Proxy,
}

/// Socket families, with the place of the block in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sockets {
    /// Allow creating AF_UNIX sockets (`socket(AF_UNIX, ...)`); off by default.
    pub unix: bool,
    /// 1-based line of the block, 0 when unknown (srt settings).
    pub line: usize,
    /// 1-based column of the block, 0 when unknown.
    pub column: usize,
}

impl Sockets {
    /// A block without a place in a file (srt settings).
    pub fn unplaced(unix: bool) -> Self {
        Sockets {
            unix,
            line: 0,
            column: 0,
        }
    }
}

/// The block as written (the place is added by [`Sockets`]' `Deserialize`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SocketsBlock {
    unix: bool,
}

impl<'de> Deserialize<'de> for Sockets {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let block = serde_saphyr::Spanned::<SocketsBlock>::deserialize(deserializer)?;
        Ok(Sockets {
            unix: block.value.unix,
            line: block.referenced.line() as usize,
            column: block.referenced.column() as usize,
        })
    }
}

/// Environment scrubbing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Names (or `PREFIX*` / `*SUFFIX` patterns) passed through even though they look
    /// like credentials.
    #[serde(default)]
    pub allow: Vec<Placed>,
    /// More names or patterns to remove.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Variables to set inside the sandbox.
    #[serde(default)]
    pub set: BTreeMap<String, String>,
}

/// A protection that may be missing on this host without cordon refusing to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Weaker {
    /// Run without Landlock when the kernel lacks it (mount namespaces and seccomp still apply).
    NoLandlock,
}

/// Parses a policy file's text; `origin` names the file in errors.
pub fn parse_policy(text: &str, origin: &Path) -> Result<PolicyFile, PolicyError> {
    let blank = text
        .lines()
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'));
    if blank {
        return Err(PolicyError::Syntax {
            file: origin.to_path_buf(),
            line: 1,
            column: 1,
            message: "the file is empty".into(),
            hint: "start it with `version: 1`".into(),
        });
    }
    let file: PolicyFile = serde_saphyr::from_str(text).map_err(|error| {
        let message = error.to_string();
        let (line, column) = location_of(&error, &message);
        PolicyError::Syntax {
            file: origin.to_path_buf(),
            line,
            column,
            hint: hint_for(&message),
            message: first_line(&message),
        }
    })?;
    if file.version != SCHEMA_VERSION {
        return Err(PolicyError::Version {
            file: origin.to_path_buf(),
            found: file.version,
        });
    }
    crate::network::check_network(&file, &origin.display().to_string())?;
    Ok(file)
}

/// Reads and parses a policy file.
pub fn load_policy(path: &Path) -> Result<PolicyFile, PolicyError> {
    let text = std::fs::read_to_string(path).map_err(|error| PolicyError::Read {
        file: path.to_path_buf(),
        error,
    })?;
    if path.extension().is_some_and(|ext| ext == "json") {
        return crate::srt::parse_srt_settings(&text, path);
    }
    parse_policy(&text, path)
}

fn location_of(error: &serde_saphyr::Error, message: &str) -> (usize, usize) {
    if let Some(location) = error.location() {
        return (location.line() as usize, location.column() as usize);
    }
    // Fall back to the "line L column C" the message carries.
    let mut numbers = message
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|part| part.parse::<usize>().ok());
    (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0))
}

fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message).trim();
    // "error: line 3 column 3: unknown field ..." -> "unknown field ..."
    match line.split_once(" column ") {
        Some((_, rest)) => rest
            .split_once(": ")
            .map_or(line, |(_, text)| text)
            .to_owned(),
        None => line.to_owned(),
    }
}

/// "unknown field `alow_write`, expected one of `allow_read`, ..." → "did you mean `allow_write`?"
pub(crate) fn hint_for(message: &str) -> String {
    let message = message.lines().next().unwrap_or(message);
    if message.contains("unknown field") || message.contains("unknown variant") {
        let wrong = message.split('`').nth(1).unwrap_or("");
        let known: Vec<String> = message
            .split_once("expected one of ")
            .or_else(|| message.split_once("expected "))
            .map(|(_, list)| {
                list.split(',')
                    .map(|item| item.trim().trim_matches('`').to_owned())
                    .filter(|item| !item.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let best = known
            .iter()
            .map(|candidate| (edit_distance(wrong, candidate), candidate))
            .min();
        return match best {
            Some((distance, candidate)) if distance <= 3 => {
                format!("did you mean `{candidate}`? (see {REFERENCE})")
            }
            _ if !known.is_empty() => format!("expected one of: {}", known.join(", ")),
            _ => format!("see {REFERENCE}"),
        };
    }
    if message.contains("missing field `version`") {
        return "start the file with `version: 1`".to_owned();
    }
    format!("see {REFERENCE}")
}

/// Where the policy reference is, for a user of the released binary.
pub(crate) const REFERENCE: &str = "the policy reference, https://github.com/cordon-dev/cordon/blob/main/docs/sandbox.md#policy-reference";

/// Levenshtein distance, for did-you-mean hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            let best = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
            current.push(best);
        }
        previous = current;
    }
    previous[b.len()]
}

/// Resolves a policy path: `~/x` against `home`, relative against `project`, then
/// removes `.` and `..` lexically (symlinks are left to the kernel at run time).
pub fn expand_path(raw: &str, home: Option<&Path>, project: &Path) -> Result<PathBuf, String> {
    let path = if raw == "~" {
        home.ok_or("`~` used but HOME is not set")?.to_path_buf()
    } else if let Some(rest) = raw.strip_prefix("~/") {
        home.ok_or("`~` used but HOME is not set")?.join(rest)
    } else if raw.starts_with('~') {
        return Err(format!("`{raw}`: only `~/` (your own home) is supported"));
    } else if raw.is_empty() {
        return Err("empty path".to_owned());
    } else {
        project.join(raw)
    };
    Ok(normalize(&path))
}

/// Lexical normalization of an absolute path.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            std::path::Component::Normal(part) => out.push(part),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PolicyFile, PolicyError> {
        parse_policy(text, Path::new("/p/.cordon/policy.yaml"))
    }

    #[test]
    fn a_full_file_parses() {
        let file = parse(
            "version: 1\nfilesystem:\n  allow_write: [build]\n  deny_read: ['~/secret']\nnetwork:\n  mode: none\nsockets:\n  unix: true\nenvironment:\n  allow: [MY_KEY]\n  set: {A: b}\n",
        )
        .unwrap();
        assert_eq!(file.filesystem.allow_write, ["build"]);
        assert_eq!(file.network.unwrap().mode, Some(NetworkMode::None));
        assert!(file.sockets.unwrap().unix);
        assert_eq!(file.environment.set["A"], "b");
    }

    #[test]
    fn unknown_keys_name_file_line_column_and_a_hint() {
        let error = parse("version: 1\nfilesystem:\n  alow_write: [x]\n").unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("/p/.cordon/policy.yaml:3:"), "{text}");
        assert!(text.contains("did you mean `allow_write`"), "{text}");
    }

    #[test]
    fn bad_values_and_versions_are_rejected() {
        let error = parse("version: 1\nnetwork:\n  mode: internet\n").unwrap_err();
        let text = error.to_string();
        assert!(text.contains(":3:"), "{text}");
        assert!(text.contains("none"), "{text}");
        let error = parse("version: 2\n").unwrap_err();
        assert!(error.to_string().contains("version 2"), "{error}");
        let error = parse("filesystem: {}\n").unwrap_err();
        assert!(error.to_string().contains("version: 1"), "{error}");
        for empty in ["", "\n  \n", "# nothing yet\n"] {
            let error = parse(empty).unwrap_err().to_string();
            assert!(error.contains(":1:1: the file is empty"), "{error}");
            assert!(error.contains("`version: 1`"), "{error}");
        }
    }

    #[test]
    fn paths_expand() {
        let home = Path::new("/home/u");
        let project = Path::new("/src/p");
        assert_eq!(
            expand_path("~/.ssh", Some(home), project).unwrap(),
            Path::new("/home/u/.ssh")
        );
        assert_eq!(
            expand_path("a/../b/./c", Some(home), project).unwrap(),
            Path::new("/src/p/b/c")
        );
        assert_eq!(
            expand_path("/etc/../x", None, project).unwrap(),
            Path::new("/x")
        );
        assert!(expand_path("~bob/x", Some(home), project).is_err());
        assert!(expand_path("~/x", None, project).is_err());
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("alow_write", "allow_write"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
