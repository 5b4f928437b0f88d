//! The plan as `cordon policy explain --json` shows it and as the policy digest hashes
//! it: [`Plan`](crate::Plan)'s derived form, except the environment's values, which
//! are replaced by their lengths (`<N bytes>`), so that no secret is printed or hashed.
//! The plan is serialized as it is, borrowed: nothing is copied.

use serde::Serializer;
use serde::ser::SerializeSeq as _;

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
}
