//! Turns `src/catalog.yaml` (the built-in protection lists) into Rust statics, so that
//! `cordon run` does not parse YAML at every start (serde-saphyr takes milliseconds for
//! the whole list; a static costs nothing). The generated file is `$OUT_DIR/catalog.rs`.

use std::fmt::Write as _;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Catalog {
    protect: Vec<Entry>,
    hide: Vec<Entry>,
    not_protected: Vec<Considered>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    path: String,
    #[serde(rename = "where")]
    scope: String,
    group: String,
    reason: String,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Considered {
    path: String,
    reason: String,
}

fn entries(name: &str, entries: &[Entry]) -> Result<String, String> {
    let mut out = format!("pub(crate) static {name}: &[Entry] = &[\n");
    for entry in entries {
        let scope = match entry.scope.as_str() {
            "project" => "Project",
            "home" => "Home",
            "both" => "Both",
            other => {
                return Err(format!(
                    "catalog.yaml: `{}`: where must be project, home or both, not `{other}`",
                    entry.path
                ));
            }
        };
        writeln!(
            out,
            "    Entry {{ path: {:?}, scope: Where::{scope}, group: {:?}, reason: {:?}, source: {:?} }},",
            entry.path, entry.group, entry.reason, entry.source
        )
        .map_err(|error| error.to_string())?;
    }
    out.push_str("];\n");
    Ok(out)
}

fn main() -> Result<(), String> {
    println!("cargo::rerun-if-changed=src/catalog.yaml");
    let text = std::fs::read_to_string("src/catalog.yaml").map_err(|error| error.to_string())?;
    let catalog: Catalog =
        serde_saphyr::from_str(&text).map_err(|error| format!("catalog.yaml: {error}"))?;
    let mut out = entries("PROTECT", &catalog.protect)?;
    out.push_str(&entries("HIDE", &catalog.hide)?);
    out.push_str("pub(crate) static NOT_PROTECTED: &[Considered] = &[\n");
    for considered in &catalog.not_protected {
        out.push_str(&format!(
            "    Considered {{ path: {:?}, reason: {:?} }},\n",
            considered.path, considered.reason
        ));
    }
    out.push_str("];\n");
    let dir = std::env::var("OUT_DIR").map_err(|error| error.to_string())?;
    std::fs::write(std::path::Path::new(&dir).join("catalog.rs"), out)
        .map_err(|error| error.to_string())
}
