//! The `approvals:` key: whether `cordon run` asks a person before running a command
//! whose shape has no approval (`shell: ask`, the built-in default) or runs it
//! (`shell: allow`, for scripted use: CI, test suites). The global file, a `--policy`
//! file or `--approvals` may set it; the project's file may only make it stricter (its
//! `allow` is a refused relaxation, recorded in the plan).

use serde::{Deserialize, Serialize};

use crate::plan::{Layer, Provenance, Relaxation};
use crate::schema::PolicyFile;

/// The `approvals:` block of a policy file, with its place in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Approvals {
    /// Shell commands (`cordon run`'s command).
    pub shell: ShellApprovals,
    /// 1-based line of the block, 0 when it came from a flag.
    pub line: usize,
    /// 1-based column of the block, 0 when it came from a flag.
    pub column: usize,
}

impl Approvals {
    /// The block `--approvals` stands for (no place in a file).
    pub fn from_flag(shell: ShellApprovals) -> Self {
        Approvals {
            shell,
            line: 0,
            column: 0,
        }
    }
}

/// The block as written (the place is added by [`Approvals`]'s `Deserialize`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalsBlock {
    shell: ShellApprovals,
}

impl<'de> Deserialize<'de> for Approvals {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let block = serde_saphyr::Spanned::<ApprovalsBlock>::deserialize(deserializer)?;
        Ok(Approvals {
            shell: block.value.shell,
            line: block.referenced.line() as usize,
            column: block.referenced.column() as usize,
        })
    }
}

/// Whether a command without an approval runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShellApprovals {
    /// Ask a person first (terminal, decision API); deny when nobody can answer.
    Ask,
    /// Run it (the transcript still records the run).
    Allow,
}

impl std::fmt::Display for ShellApprovals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ShellApprovals::Ask => "ask",
            ShellApprovals::Allow => "allow",
        })
    }
}

impl std::str::FromStr for ShellApprovals {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ask" => Ok(ShellApprovals::Ask),
            "allow" => Ok(ShellApprovals::Allow),
            other => Err(format!("`{other}`: expected ask or allow")),
        }
    }
}

/// The resolved setting and the layer it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalsPlan {
    /// Shell commands.
    pub shell: ShellApprovals,
    /// Who set it.
    pub by: Provenance,
}

/// Resolves the key over the ordered layers (least trusted last but the flags), recording
/// a project's `allow` as a refused relaxation.
pub(crate) fn resolve_approvals(
    ordered: &[(Layer, String, &PolicyFile)],
    relaxations: &mut Vec<Relaxation>,
) -> ApprovalsPlan {
    let mut plan = ApprovalsPlan {
        shell: ShellApprovals::Ask,
        by: Provenance {
            layer: Layer::Default,
            origin: "built-in".into(),
        },
    };
    for (layer, origin, file) in ordered {
        let Some(approvals) = file.approvals else {
            continue;
        };
        let by = Provenance {
            layer: *layer,
            origin: crate::placed::place(origin, approvals.line, approvals.column),
        };
        if *layer == Layer::Project && approvals.shell == ShellApprovals::Allow {
            relaxations.push(Relaxation {
                what: "approvals shell allow".into(),
                by,
                granted: false,
                reason: "a project cannot turn approvals off; set `approvals: {shell: allow}` in the global file or a --policy file, or pass --approvals allow".into(),
            });
            continue;
        }
        plan = ApprovalsPlan {
            shell: approvals.shell,
            by,
        };
    }
    plan
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use crate::*;

    fn plan(
        global: Option<&str>,
        policy_file: Option<&str>,
        project: Option<&str>,
        flags: Option<ShellApprovals>,
    ) -> Plan {
        let parse = |text: &str| parse_policy(text, Path::new("test.yaml")).unwrap();
        let layers = Layers {
            global: global.map(|text| {
                (
                    PathBuf::from("/home/u/.config/cordon/policy.yaml"),
                    parse(text),
                )
            }),
            policy_files: policy_file
                .map(|text| (PathBuf::from("/etc/ci.yaml"), parse(text)))
                .into_iter()
                .collect(),
            project: project.map(|text| (PathBuf::from("/p/.cordon/policy.yaml"), parse(text))),
            flags: PolicyFile {
                version: SCHEMA_VERSION,
                approvals: flags.map(Approvals::from_flag),
                ..PolicyFile::default()
            },
        };
        let context = Context {
            project: PathBuf::from("/p"),
            cwd: PathBuf::from("/p"),
            env: vec![("HOME".into(), "/home/u".into())],
            global_policy: None,
        };
        resolve(
            &layers,
            &context,
            &FakeFs::default().dir("/p").dir("/home/u"),
        )
        .unwrap()
    }

    #[test]
    fn the_default_is_ask_and_trusted_layers_may_change_it() {
        let default = plan(None, None, None, None);
        assert_eq!(default.approvals.shell, ShellApprovals::Ask);
        assert_eq!(default.approvals.by.layer, Layer::Default);
        let global = plan(
            Some("version: 1\napprovals: {shell: allow}\n"),
            None,
            None,
            None,
        );
        assert_eq!(global.approvals.shell, ShellApprovals::Allow);
        // Not a relaxation record of its own: the plan (and so the policy digest every
        // run start records) says it, with the layer.
        assert!(global.relaxations.is_empty(), "{:?}", global.relaxations);
        assert_eq!(global.approvals.by.layer, Layer::Global);
        let file = plan(
            None,
            Some("version: 1\napprovals: {shell: allow}\n"),
            None,
            None,
        );
        assert_eq!(file.approvals.by.layer, Layer::PolicyFile);
        let flags = plan(
            Some("version: 1\napprovals: {shell: allow}\n"),
            None,
            None,
            Some(ShellApprovals::Ask),
        );
        assert_eq!(flags.approvals.shell, ShellApprovals::Ask);
        assert!(
            flags.to_string().contains("approvals: shell ask  <- flags"),
            "{flags}"
        );
    }

    #[test]
    fn a_project_cannot_turn_approvals_off_but_can_turn_them_on() {
        let project = plan(
            None,
            None,
            Some("version: 1\napprovals: {shell: allow}\n"),
            None,
        );
        assert_eq!(project.approvals.shell, ShellApprovals::Ask);
        let refused = project
            .relaxations
            .iter()
            .find(|r| r.what == "approvals shell allow")
            .expect("the refusal is recorded");
        assert!(!refused.granted);
        assert_eq!(refused.by.layer, Layer::Project);
        let stricter = plan(
            Some("version: 1\napprovals: {shell: allow}\n"),
            None,
            Some("version: 1\napprovals: {shell: ask}\n"),
            None,
        );
        assert_eq!(stricter.approvals.shell, ShellApprovals::Ask);
        assert_eq!(stricter.approvals.by.layer, Layer::Project);
    }

    #[test]
    fn bad_values_are_refused_with_the_place() {
        let error = parse_policy(
            "version: 1\napprovals: {shell: maybe}\n",
            Path::new("p.yaml"),
        )
        .unwrap_err();
        assert!(error.to_string().contains("p.yaml:2"), "{error}");
        assert!(parse_policy("version: 1\napprovals: {shel: ask}\n", Path::new("p.yaml")).is_err());
    }
}
