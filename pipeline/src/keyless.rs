//! The release's second, keyless signature (public-good Fulcio, Rekor and a TSA, or any
//! Sigstore deployment a `signing_config.json` names): the `keyless` key of
//! `[workspace.metadata.cordon]`, the caller's overrides ([`KeylessRequest`]), and the
//! hook through which the caller supplies the signer ([`KeylessSigning`]). This crate
//! holds no HTTP client: the signer comes from the caller (cargo xtask uses
//! `cordon-keyless`). With keyless settings, `publish` writes `<file>.keyless.sigstore.json`
//! beside every `<file>.sigstore.json` in the same all-or-nothing release directory.

use std::fmt;
use std::path::{Path, PathBuf};

use cordon_release::{BundleSigner, SignError};
use serde_json::Value;

use crate::error::ErrorKind;

/// Where keyless signing's configuration lives, as absolute paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeylessSettings {
    /// A Sigstore `signing_config.json` (v0.2): the CA, the Rekor log(s), the TSA(s).
    pub signing_config: PathBuf,
    /// The `trusted_root.json` every keyless bundle is verified against before it is
    /// written (what consumers verify with).
    pub trusted_root: PathBuf,
    /// A file holding the OIDC identity token; `None`: the CI's ambient token.
    pub identity_token: Option<PathBuf>,
}

/// The caller's keyless choice (command-line flags): sign keyless, each field given
/// overriding the table's `keyless.<field>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeylessRequest {
    /// Overrides `keyless.signing-config`.
    pub signing_config: Option<PathBuf>,
    /// Overrides `keyless.trusted-root`.
    pub trusted_root: Option<PathBuf>,
    /// Overrides `keyless.identity-token`.
    pub identity_token: Option<PathBuf>,
}

/// How the caller signs keyless. The pipeline calls [`KeylessSigning::preflight`] in
/// `check` (before the build: nothing is built for a keyless run that cannot start) and
/// [`KeylessSigning::open`] in `sign` (after the build: a Fulcio certificate lives ten
/// minutes).
pub trait KeylessSigning: fmt::Debug + Send + Sync {
    /// Checks the settings (files readable and valid, a token at hand) without asking
    /// any service.
    fn preflight(&self, settings: &KeylessSettings) -> Result<(), SignError>;
    /// Fetches the token and certificate and returns the signer.
    fn open(&self, settings: &KeylessSettings) -> Result<Box<dyn BundleSigner>, SignError>;
}

const KEYS: [&str; 3] = ["signing-config", "trusted-root", "identity-token"];

/// Reads the table's `keyless` value (paths relative to the workspace `root`); `None`
/// when absent. Strict: every error names the key.
pub(crate) fn settings(
    manifest: &Path,
    root: &Path,
    value: Option<&Value>,
) -> Result<Option<KeylessRequest>, ErrorKind> {
    let error = |key: &str, problem: &str| ErrorKind::Config {
        file: manifest.to_owned(),
        key: key.to_owned(),
        problem: problem.to_owned(),
    };
    let fields = match value {
        None => return Ok(None),
        Some(Value::Object(fields)) => fields,
        Some(_) => {
            return Err(error(
                "keyless",
                "must be a table { signing-config = \"FILE\", trusted-root = \"FILE\", \
                 identity-token = \"FILE\" } (paths relative to the workspace root; \
                 identity-token is optional)",
            ));
        }
    };
    if let Some(unknown) = fields.keys().find(|key| !KEYS.contains(&key.as_str())) {
        return Err(error(
            &format!("keyless.{unknown}"),
            &format!("unknown key; the keys are {}", KEYS.join(", ")),
        ));
    }
    let path = |key: &str| -> Result<Option<PathBuf>, ErrorKind> {
        match fields.get(key) {
            None => Ok(None),
            Some(Value::String(text)) if !text.trim().is_empty() => {
                let relative = Path::new(text);
                if relative.is_absolute() {
                    return Err(error(
                        &format!("keyless.{key}"),
                        &format!("{text:?} must be relative to the workspace root"),
                    ));
                }
                Ok(Some(root.join(relative)))
            }
            Some(_) => Err(error(
                &format!("keyless.{key}"),
                "must be a non-empty path string",
            )),
        }
    };
    let request = KeylessRequest {
        signing_config: path("signing-config")?,
        trusted_root: path("trusted-root")?,
        identity_token: path("identity-token")?,
    };
    for (key, given) in [
        ("signing-config", &request.signing_config),
        ("trusted-root", &request.trusted_root),
    ] {
        if given.is_none() {
            return Err(error(
                &format!("keyless.{key}"),
                "missing: keyless signing needs both signing-config and trusted-root",
            ));
        }
    }
    Ok(Some(request))
}

/// The settings a release signs keyless with: the table's, each field overridden by
/// the caller's `request`; `None` when neither asks for keyless signing.
pub(crate) fn resolve(
    manifest: &Path,
    table: Option<&KeylessRequest>,
    request: Option<&KeylessRequest>,
) -> Result<Option<KeylessSettings>, ErrorKind> {
    if table.is_none() && request.is_none() {
        return Ok(None);
    }
    let field = |pick: fn(&KeylessRequest) -> &Option<PathBuf>| {
        request
            .and_then(|request| pick(request).clone())
            .or_else(|| table.and_then(|table| pick(table).clone()))
    };
    let missing = |key: &str, flag: &str| ErrorKind::Config {
        file: manifest.to_owned(),
        key: format!("keyless.{key}"),
        problem: format!("keyless signing was asked for but no {key} is given ({flag})"),
    };
    Ok(Some(KeylessSettings {
        signing_config: field(|r| &r.signing_config)
            .ok_or_else(|| missing("signing-config", "--signing-config"))?,
        trusted_root: field(|r| &r.trusted_root)
            .ok_or_else(|| missing("trusted-root", "--trusted-root"))?,
        identity_token: field(|r| &r.identity_token),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: &Value) -> Result<Option<KeylessRequest>, String> {
        settings(Path::new("/w/Cargo.toml"), Path::new("/w"), Some(value))
            .map_err(|error| error.to_string())
    }

    #[test]
    fn the_table_is_read_relative_to_the_workspace_and_strictly() {
        let request = read(&json!({
            "signing-config": "ci/signing_config.json",
            "trusted-root": "ci/trusted_root.json",
        }))
        .unwrap()
        .unwrap();
        assert_eq!(
            request.signing_config.as_deref(),
            Some(Path::new("/w/ci/signing_config.json"))
        );
        assert_eq!(request.identity_token, None);
        for (value, key) in [
            (json!("yes"), "] keyless: must be a table"),
            (
                json!({"signing-config": "a", "trusted-root": "b", "token": "c"}),
                "keyless.token: unknown key; the keys are signing-config, trusted-root, identity-token",
            ),
            (
                json!({"signing-config": "/abs", "trusted-root": "b"}),
                "keyless.signing-config: \"/abs\" must be relative",
            ),
            (
                json!({"signing-config": "a", "trusted-root": 3}),
                "keyless.trusted-root: must be a non-empty path string",
            ),
            (
                json!({"signing-config": "a"}),
                "keyless.trusted-root: missing",
            ),
        ] {
            let error = read(&value).unwrap_err();
            assert!(
                error.contains("/w/Cargo.toml") && error.contains(key),
                "{error}"
            );
        }
    }

    #[test]
    fn flags_override_the_table_field_by_field() {
        let manifest = Path::new("/w/Cargo.toml");
        assert_eq!(resolve(manifest, None, None).unwrap(), None);
        let table = KeylessRequest {
            signing_config: Some("/w/sc.json".into()),
            trusted_root: Some("/w/tr.json".into()),
            identity_token: Some("/w/token".into()),
        };
        let flags = KeylessRequest {
            trusted_root: Some("/elsewhere/tr.json".into()),
            ..KeylessRequest::default()
        };
        let settings = resolve(manifest, Some(&table), Some(&flags))
            .unwrap()
            .unwrap();
        assert_eq!(settings.signing_config, Path::new("/w/sc.json"));
        assert_eq!(settings.trusted_root, Path::new("/elsewhere/tr.json"));
        assert_eq!(
            settings.identity_token.as_deref(),
            Some(Path::new("/w/token"))
        );
        let error = resolve(manifest, None, Some(&flags))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("keyless.signing-config") && error.contains("--signing-config"),
            "{error}"
        );
    }
}
