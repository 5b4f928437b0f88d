//! The plan as `cordon policy explain --json` shows it and as the policy digest hashes
//! it: every field of [`Plan`] in its derived form, except the environment's values,
//! which are replaced by their lengths (`<N bytes>`), so that no secret is printed or
//! hashed. Serialized from a borrowed plan: nothing is copied (a test checks that the
//! bytes are those of the derived form of a copy with the values replaced).

use serde::ser::{SerializeSeq as _, SerializeStruct as _};
use serde::{Serialize, Serializer};

use crate::plan::Plan;

/// A borrowed plan, serialized with its environment's values masked.
pub(crate) struct Shown<'a>(pub(crate) &'a Plan);

/// The environment: `[name, "<N bytes>"]` pairs, as a `Vec<(String, String)>` would
/// serialize with the values replaced.
struct MaskedEnv<'a>(&'a [(String, String)]);

impl Serialize for MaskedEnv<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (name, value) in self.0 {
            seq.serialize_element(&(name, format!("<{} bytes>", value.len())))?;
        }
        seq.end()
    }
}

impl Serialize for Shown<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Destructured so that a field added to Plan does not compile until it is
        // written here too (in the same place as in the struct).
        let Plan {
            project,
            cwd,
            layers,
            rules,
            mounts,
            landlock,
            seccomp,
            network,
            approvals,
            env,
            env_removed,
            relaxations,
            accept_weaker,
            notes,
            nested_git,
            create,
        } = self.0;
        let mut out = serializer.serialize_struct("Plan", 16)?;
        out.serialize_field("project", project)?;
        out.serialize_field("cwd", cwd)?;
        out.serialize_field("layers", layers)?;
        out.serialize_field("rules", rules)?;
        out.serialize_field("mounts", mounts)?;
        out.serialize_field("landlock", landlock)?;
        out.serialize_field("seccomp", seccomp)?;
        out.serialize_field("network", network)?;
        out.serialize_field("approvals", approvals)?;
        out.serialize_field("env", &MaskedEnv(env))?;
        out.serialize_field("env_removed", env_removed)?;
        out.serialize_field("relaxations", relaxations)?;
        out.serialize_field("accept_weaker", accept_weaker)?;
        out.serialize_field("notes", notes)?;
        out.serialize_field("nested_git", nested_git)?;
        out.serialize_field("create", create)?;
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use crate::{Context, FakeFs, Layers, resolve};

    /// The borrowed form writes exactly the bytes of the derived form of a copy whose
    /// environment values are replaced (what `to_json` wrote before): the digests that
    /// stored approvals are bound to do not change.
    #[test]
    fn the_borrowed_form_is_the_derived_form_with_masked_values() {
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
        let mut copy = plan.clone();
        for (_, value) in &mut copy.env {
            *value = format!("<{} bytes>", value.len());
        }
        let derived = serde_json::to_string_pretty(&copy).unwrap();
        assert_eq!(plan.to_json(), derived);
        assert!(!plan.to_json().contains("quoted"));
        let masked = format!("\"<{} bytes>\"", "value \"quoted\" ünïcode".len());
        assert!(derived.contains(&masked), "{derived}");
    }
}
