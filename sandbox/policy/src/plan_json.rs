//! The plan as `cordon policy explain --json` shows it: [`Plan`]'s derived form,
//! except the environment's values, which are replaced by their lengths (`<N bytes>`), so
//! that no secret is printed or hashed. And the plan as the policy digest hashes it
//! ([`Plan::write_policy_json`]): what the policy decided, without what the caller
//! brought along (where it started, its environment's variables), so that the same
//! policy keeps its digest from any directory and shell. The plan is serialized as it
//! is, borrowed: nothing is copied.

use std::path::Path;

use serde::ser::SerializeSeq as _;
use serde::{Serialize, Serializer};

use crate::Weaker;
use crate::plan::{
    Creation, EnvRules, LandlockPlan, Mount, Plan, Provenance, Relaxation, Rule, SeccompPlan,
};

/// What the policy decided: every field of [`Plan`] but `cwd`, `env` and `env_removed`
/// (the caller's starting directory and variables; the rules that filter the variables
/// are in `env_rules`). A field added to `Plan` must be added here too (a test checks).
#[derive(Serialize)]
struct Decisions<'a> {
    project: &'a Path,
    layers: &'a [Provenance],
    rules: &'a [Rule],
    mounts: &'a [Mount],
    landlock: &'a LandlockPlan,
    seccomp: &'a SeccompPlan,
    network: &'a crate::network::NetworkPlan,
    approvals: &'a crate::approvals::ApprovalsPlan,
    env_rules: &'a EnvRules,
    relaxations: &'a [Relaxation],
    accept_weaker: &'a [Weaker],
    notes: &'a [String],
    nested_git: &'a crate::nested::NestedSearch,
    create: &'a [Creation],
}

impl Plan {
    /// Writes what the policy decided, as JSON, to `out`: [`Plan::write_json`]'s text
    /// without `cwd`, `env` and `env_removed`. The policy digest hashes this, so that it
    /// does not change with the caller's directory or environment (`_`, `OLDPWD`, `PWD`)
    /// but does with every rule, mount, pattern and setting.
    pub fn write_policy_json(&self, out: impl std::io::Write) -> serde_json::Result<()> {
        let decisions = Decisions {
            project: &self.project,
            layers: &self.layers,
            rules: &self.rules,
            mounts: &self.mounts,
            landlock: &self.landlock,
            seccomp: &self.seccomp,
            network: &self.network,
            approvals: &self.approvals,
            env_rules: &self.env_rules,
            relaxations: &self.relaxations,
            accept_weaker: &self.accept_weaker,
            notes: &self.notes,
            nested_git: &self.nested_git,
            create: &self.create,
        };
        serde_json::to_writer_pretty(out, &decisions)
    }
}

/// The environment as `[name, "<N bytes>"]` pairs: what a `Vec<(String, String)>`
/// serializes to with the values replaced (`#[serde(serialize_with)]` on `Plan::env`).
pub(crate) fn masked_env<S: Serializer>(
    env: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(env.len()))?;
    for (name, value) in env {
        seq.serialize_element(&(name, format!("<{} bytes>", value.len())))?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use crate::{Context, FakeFs, Layers, resolve};

    /// No value of the environment is printed or hashed, only its length.
    #[test]
    fn the_environment_values_are_masked_in_the_json() {
        let context = Context {
            project: "/home/u/p".into(),
            cwd: "/home/u/p/src".into(),
            env: vec![
                ("HOME".into(), "/home/u".into()),
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("GREETING".into(), "value \"quoted\" ünïcode".into()),
            ],
            global_policy: Some("/home/u/.config/cordon/policy.yaml".into()),
        };
        let fs = FakeFs::default()
            .dir("/home/u/p/src")
            .dir("/home/u/p/.git")
            .dir("/home/u/.ssh");
        let plan = resolve(&Layers::default(), &context, &fs).unwrap();
        let json = plan.to_json();
        assert!(!json.contains("quoted"), "{json}");
        // The environment is the only field that differs from an unmasked derived form,
        // and it is the pairs a `Vec<(String, String)>` of masked values serializes to.
        let shown: serde_json::Value = serde_json::from_str(&json).unwrap();
        let masked: Vec<(String, String)> = plan
            .env
            .iter()
            .map(|(name, value)| (name.clone(), format!("<{} bytes>", value.len())))
            .collect();
        assert_eq!(shown["env"], serde_json::to_value(&masked).unwrap());
        let greeting = format!("<{} bytes>", "value \"quoted\" ünïcode".len());
        assert!(json.contains(&greeting), "{json}");
        // Fields in the struct's order, as the derived form always wrote them (the
        // digests stored approvals are bound to do not change).
        let at = |key: &str| json.find(&format!("\n  \"{key}\":")).unwrap();
        assert!(
            at("project") < at("env") && at("env") < at("create"),
            "{json}"
        );
    }

    /// The policy's form is the plan's without exactly the caller's three fields: a
    /// field added to `Plan` and not to the digest's form fails here.
    #[test]
    fn the_policy_form_is_the_plan_without_the_callers_fields() {
        let context = Context {
            project: "/home/u/p".into(),
            cwd: "/home/u/p/src".into(),
            env: vec![("HOME".into(), "/home/u".into())],
            global_policy: None,
        };
        let fs = FakeFs::default().dir("/home/u/p/src").dir("/home/u/.ssh");
        let plan = resolve(&Layers::default(), &context, &fs).unwrap();
        let keys = |value: serde_json::Value| -> Vec<String> {
            value.as_object().unwrap().keys().cloned().collect()
        };
        let mut policy = Vec::new();
        plan.write_policy_json(&mut policy).unwrap();
        let mut expected = keys(serde_json::from_str(&plan.to_json()).unwrap());
        expected.retain(|key| !["cwd", "env", "env_removed"].contains(&key.as_str()));
        assert_eq!(keys(serde_json::from_slice(&policy).unwrap()), expected);
    }
}
