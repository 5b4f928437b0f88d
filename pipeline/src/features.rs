//! The `features` and `default-features` keys of `[workspace.metadata.cordon]`: the cargo
//! features the release is built with. One setting feeds the build's `cargo build`, the
//! SBOMs and the crate set (`.dep-v0`, the VEX check), so the documents describe the
//! binaries that were built (a release built `--features pcre2`, as ripgrep's is, lists
//! PCRE2).

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::ErrorKind;

/// The cargo features of the release build.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Features {
    /// `--features`: `feature` (of every shipped binary's package that has it) or
    /// `package/feature`, one per item, sorted and without repeats.
    pub features: Vec<String>,
    /// `false` for `--no-default-features`.
    pub default_features: bool,
}

impl Default for Features {
    fn default() -> Self {
        Self {
            features: Vec::new(),
            default_features: true,
        }
    }
}

/// Reads the two keys of `table` (of `manifest`); absent keys give cargo's defaults.
pub(crate) fn read(manifest: &Path, table: &Map<String, Value>) -> Result<Features, ErrorKind> {
    let error = |key: &str, problem: String| ErrorKind::Config {
        file: manifest.to_owned(),
        key: key.to_owned(),
        problem,
    };
    let mut features = match table.get("features") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(name) => check_name(name)
                    .map(|()| name.clone())
                    .map_err(|problem| error("features", format!("{name:?}: {problem}"))),
                _ => Err(error(
                    "features",
                    "must be a list of strings, e.g. [\"pcre2\", \"my-tool/fast\"]".to_owned(),
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(error(
                "features",
                "must be a list of strings, e.g. [\"pcre2\"]".to_owned(),
            ));
        }
    };
    features.sort();
    features.dedup();
    let default_features = match table.get("default-features") {
        None => true,
        Some(Value::Bool(on)) => *on,
        Some(_) => {
            return Err(error(
                "default-features",
                "must be true or false".to_owned(),
            ));
        }
    };
    Ok(Features {
        features,
        default_features,
    })
}

/// A feature as cargo names them (`[A-Za-z0-9_+.-]`, not starting with `-` or `.`) with
/// at most one `package/` in front.
fn check_name(text: &str) -> Result<(), String> {
    let part_ok = |part: &str| {
        !part.is_empty()
            && !part.starts_with(['-', '.'])
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '.'))
    };
    let ok = match text.split_once('/') {
        Some((package, feature)) => part_ok(package) && part_ok(feature),
        None => part_ok(text),
    };
    if ok {
        return Ok(());
    }
    Err(if text.contains([',', ' ']) {
        "one feature per item (cargo would split this one at its commas or spaces)".to_owned()
    } else if text.starts_with("dep:") {
        "name the feature that enables the optional dependency, not `dep:`".to_owned()
    } else {
        "not a feature name: letters, digits, `_`, `-`, `+` or `.`, optionally after \
         `package/`"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What the build stage passes to cargo for `features`.
    fn cargo_args(features: &Features) -> Vec<String> {
        crate::publish::described_build(Path::new("."), &[], features).cargo_feature_args()
    }

    fn read_json(value: Value) -> Result<Features, String> {
        let Value::Object(table) = value else {
            unreachable!("a table")
        };
        read(Path::new("Cargo.toml"), &table).map_err(|error| error.to_string())
    }

    #[test]
    fn absent_keys_are_cargo_defaults() {
        let features = read_json(json!({})).unwrap();
        assert_eq!(features, Features::default());
        assert!(cargo_args(&features).is_empty());
    }

    #[test]
    fn features_become_cargo_arguments() {
        let features = read_json(json!({
            "features": ["pcre2", "grep/simd", "pcre2"],
            "default-features": false,
        }))
        .unwrap();
        assert_eq!(features.features, ["grep/simd", "pcre2"]);
        assert_eq!(
            cargo_args(&features),
            ["--features", "grep/simd,pcre2", "--no-default-features"]
        );
    }

    #[test]
    fn bad_values_name_the_key_and_the_fix() {
        for (table, key, words) in [
            (json!({"features": "pcre2"}), "features", "list of strings"),
            (json!({"features": [1]}), "features", "list of strings"),
            (
                json!({"features": ["a,b"]}),
                "features",
                "one feature per item",
            ),
            (
                json!({"features": ["a b"]}),
                "features",
                "one feature per item",
            ),
            (json!({"features": ["dep:x"]}), "features", "not `dep:`"),
            (json!({"features": [""]}), "features", "not a feature name"),
            (
                json!({"features": ["a/b/c"]}),
                "features",
                "not a feature name",
            ),
            (
                json!({"default-features": "no"}),
                "default-features",
                "true or false",
            ),
        ] {
            let message = read_json(table.clone()).unwrap_err();
            assert!(
                message.contains(key) && message.contains(words),
                "{table}: {message}"
            );
        }
    }
}
