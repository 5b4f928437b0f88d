//! Files that the (protected) `.envrc` and mise configuration load into the user's shell
//! when it enters the project: direnv's `dotenv`, `dotenv_if_exists`, `source_env` and
//! `source_env_if_exists`, and mise's `_.file` and `_.source`. A variable set that way
//! (`PROMPT_COMMAND`, `LD_PRELOAD`, `BASH_ENV`) runs code outside the sandbox at the
//! next `cd`, so the files named are mandatory write denials too, like the file naming
//! them; a plain `.env` stays writable where nothing loads it (agents create it from
//! `.env.example` every day).
//!
//! The readers never fail: what they cannot read names nothing.

use std::path::{Path, PathBuf};

use crate::defaults::Denial;
use crate::fsview::FsView;
use crate::schema::normalize;

/// The mise configuration files read in a project (the catalog protects each).
const MISE_FILES: &[&str] = &[
    "mise.toml",
    ".mise.toml",
    "mise.local.toml",
    ".mise.local.toml",
    ".mise/config.toml",
    "mise/config.toml",
    ".config/mise.toml",
    ".config/mise/config.toml",
];

/// The files `.envrc` loads, relative to the project.
fn from_envrc(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let mut words = line.split_whitespace();
        let (Some(command), argument) = (words.next(), words.next()) else {
            continue;
        };
        let argument = argument.map(|word| word.trim_matches(|c| c == '"' || c == '\''));
        match (command, argument) {
            ("dotenv" | "dotenv_if_exists", None) => out.push(".env".to_owned()),
            ("dotenv" | "dotenv_if_exists" | "source_env" | "source_env_if_exists", Some(file))
                if !file.is_empty() && !file.contains('$') =>
            {
                out.push(file.to_owned());
            }
            _ => {}
        }
    }
    out
}

/// The files a mise configuration loads with `_.file` or `_.source` (a string or a list
/// of strings on the same line).
fn from_mise(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().trim_matches('"');
        if !matches!(key, "_.file" | "_.source" | "file" | "source") {
            continue;
        }
        // Every quoted string in the value.
        let mut rest = value;
        while let Some(start) = rest.find(['"', '\'']) {
            let quote = &rest[start..=start];
            let after = &rest[start + 1..];
            let Some(end) = after.find(quote) else {
                break;
            };
            let file = &after[..end];
            if !file.is_empty() && !file.contains("{{") {
                out.push(file.to_owned());
            }
            rest = &after[end + 1..];
        }
    }
    out
}

/// The files loaded on `cd` into the project, as mandatory denials (inside the project
/// only: `source_up` and absolute paths elsewhere are not the project's to write).
pub(crate) fn loaded_on_cd_denials(project: &Path, fs: &dyn FsView) -> Vec<Denial> {
    let mut out = Vec::new();
    let mut add = |names: Vec<String>, base: &Path, by: &str| {
        for name in names {
            let path = normalize(&base.join(name));
            if path.starts_with(project) && path != project {
                out.push((
                    path,
                    format!("directory environment: loaded into the user's shell on cd by {by}"),
                ));
            }
        }
    };
    if let Some(text) = fs.read(&project.join(".envrc")) {
        add(from_envrc(&text), project, ".envrc (direnv)");
    }
    for name in MISE_FILES {
        let file: PathBuf = project.join(name);
        if let Some(text) = fs.read(&file) {
            // mise resolves `_.file` relative to the config file's directory.
            let base = file.parent().unwrap_or(project).to_path_buf();
            add(from_mise(&text), &base, name);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsview::FakeFs;

    #[test]
    fn envrc_and_mise_name_the_files_they_load() {
        let fs = FakeFs::default()
            .file(
                "/p/.envrc",
                "use flake\ndotenv\ndotenv_if_exists .env.local # local\nsource_env 'env/dev.sh'\nsource_up\nsource_env $HOME/x\n",
            )
            .file(
                "/p/.config/mise.toml",
                "[env]\n_.file = [\".env.mise\", '../shared.env']\n_.source = \"{{config_root}}/x.sh\"\n",
            )
            .file("/p/mise.toml", "[env]\n_.source = \"/etc/profile\"\n");
        let found: Vec<PathBuf> = loaded_on_cd_denials(Path::new("/p"), &fs)
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        let expected: Vec<PathBuf> = [
            "/p/.env",
            "/p/.env.local",
            "/p/env/dev.sh",
            "/p/.config/.env.mise",
            "/p/shared.env",
        ]
        .iter()
        .map(PathBuf::from)
        .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn nothing_loaded_names_nothing() {
        let fs = FakeFs::default().file("/p/.envrc", "export A=1\n\"\ndotenv ''\n");
        assert!(loaded_on_cd_denials(Path::new("/p"), &fs).is_empty());
        assert!(loaded_on_cd_denials(Path::new("/p"), &FakeFs::default()).is_empty());
    }
}
