//! Trusted-root rollback protection: a state file that keeps, per pinned root, the
//! highest trusted-root version `cordon-verify` has accepted, so that a mirror cannot
//! replay an older root-signed trusted root (one without the newest release CA, or with
//! a release CA the publisher has since stopped using) or an expired one.
//!
//! What the version and the expiry are: both are signed by the offline root key. A
//! versioned `trusted_root.dsse.json` carries them as fields of the signed statement
//! (`cordon_format::RootStatement`; they cannot live in `trusted_root.json` itself
//! because sigstore-python refuses unknown fields there). A legacy envelope, made
//! before that, carries the bare trusted root, and they are derived from it:
//! `cargo xtask trust rotate` adds a release CA and never removes one, so the number of
//! release CAs is its version (the publisher's signed versions continue that series),
//! and it expires when its newest release CA does. Once a signed version has been
//! accepted for a pinned root, a legacy envelope for it is refused as a downgrade.
//!
//! The state file is JSON, written atomically (a sibling temporary file renamed over
//! it): `{"roots": {"<pinned root sha256 hex>": {"version": N, "signed": true,
//! "expires": "RFC 3339", "acceptedAt": "RFC 3339"}}}` (`signed` absent: false).

use std::path::Path;

use cordon_format::rfc3339;
use serde_json::{Value, json};
use sigstore_verify::trust_root::TrustedRoot;

use crate::exit::{Failure, FailureClass};
use crate::input::{self, MAX_JSON_BYTES};

/// The version and expiry a trusted root carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RootVersion {
    /// The signed version, or (legacy) the number of release CAs the root certifies.
    pub version: u64,
    /// When it expires (Unix seconds): signed, or (legacy) when its newest release CA
    /// stops; `None` when one has no end.
    pub expires: Option<i64>,
    /// Whether both were signed fields (a versioned envelope) rather than derived.
    pub signed: bool,
}

impl RootVersion {
    fn describe(&self) -> String {
        format!(
            "{} version {}",
            if self.signed { "signed" } else { "derived" },
            self.version
        )
    }
}

/// Derives the version and expiry of a legacy envelope's `root`.
pub(crate) fn root_version(root: &TrustedRoot) -> RootVersion {
    let version = root.certificate_authorities.len() as u64;
    let mut expires = Some(i64::MIN);
    for ca in &root.certificate_authorities {
        let end = ca
            .valid_for
            .as_ref()
            .and_then(|range| range.end.as_ref())
            .map(|end| end.as_second());
        expires = match (expires, end) {
            (Some(latest), Some(end)) => Some(latest.max(end)),
            _ => None,
        };
    }
    RootVersion {
        version,
        expires: expires.filter(|_| version > 0),
        signed: false,
    }
}

fn state_error(path: &Path, reason: impl std::fmt::Display) -> Failure {
    Failure::new(
        FailureClass::BadInput,
        format!(
            "root state {}: {reason} (it is cordon-verify's own record: remove it only if you trust the roots you will verify next)",
            path.display()
        ),
    )
}

/// Checks the trusted root proven from the pinned root `fingerprint` (read from
/// `origin`; `signed` its signed version, `None` for a legacy envelope whose version is
/// derived from `root`) against the state file at `state` at time `now` (Unix
/// seconds): refuses an expired root, one older than the highest version recorded and a
/// legacy one once a signed version was recorded, and records a newer one. Returns a
/// one-line description.
pub(crate) fn check_and_record(
    state: &Path,
    fingerprint: &[u8; 32],
    origin: &str,
    root: &TrustedRoot,
    signed: Option<RootVersion>,
    now: i64,
) -> Result<String, Failure> {
    let found = signed.unwrap_or_else(|| root_version(root));
    if let Some(expires) = found.expires
        && expires < now
    {
        return Err(Failure::new(
            FailureClass::Signature,
            format!(
                "the trusted root {origin} ({}) expired at {}{}: ask the publisher for a current one (they run `cargo xtask trust rotate --trust DIR`, which ships a new trusted_root.dsse.json) and pass it with --signed-root FILE",
                found.describe(),
                rfc3339(expires),
                if found.signed {
                    ""
                } else {
                    ", when its newest release CA did"
                },
            ),
        ));
    }
    let mut document = if state.exists() {
        let text = input::read_text(state, "root state", MAX_JSON_BYTES)?;
        serde_json::from_str::<Value>(&text)
            .map_err(|error| state_error(state, format!("not JSON: {error}")))?
    } else {
        json!({"roots": {}})
    };
    let key = hex::encode(fingerprint);
    let recorded = document
        .pointer(&format!("/roots/{key}/version"))
        .map(|version| {
            version
                .as_u64()
                .ok_or_else(|| state_error(state, format!("roots.{key}.version is not a number")))
        })
        .transpose()?;
    let recorded_signed = match document.pointer(&format!("/roots/{key}/signed")) {
        None => false,
        Some(value) => value.as_bool().ok_or_else(|| {
            state_error(state, format!("roots.{key}.signed is not true or false"))
        })?,
    };
    if let Some(recorded) = recorded {
        let accepted = document
            .pointer(&format!("/roots/{key}/acceptedAt"))
            .and_then(Value::as_str)
            .unwrap_or("an earlier run");
        if found.version < recorded {
            return Err(Failure::new(
                FailureClass::Signature,
                format!(
                    "rollback: this trusted root is version {}, older than version {recorded} accepted for the same pinned root at {accepted} (recorded in {}): {origin} is an older root-signed trusted root; verify against the newer one (--signed-root FILE)",
                    found.version,
                    state.display()
                ),
            ));
        }
        if recorded_signed && !found.signed {
            return Err(Failure::new(
                FailureClass::Signature,
                format!(
                    "downgrade: {origin} is a legacy root-signed trusted root without a signed version ({}), but signed version {recorded} was accepted for the same pinned root at {accepted} (recorded in {}): verify against the newer versioned one (--signed-root FILE)",
                    found.describe(),
                    state.display()
                ),
            ));
        }
        if found.version == recorded && found.signed == recorded_signed {
            return Ok(format!("{} (as recorded)", found.describe()));
        }
    }
    let Some(roots) = document.get_mut("roots").and_then(Value::as_object_mut) else {
        return Err(state_error(state, "no \"roots\" object"));
    };
    roots.insert(
        key,
        json!({
            "version": found.version,
            "signed": found.signed,
            "expires": found.expires.map(rfc3339),
            "acceptedAt": rfc3339(now),
        }),
    );
    write_state(state, &document)?;
    Ok(match recorded {
        Some(recorded) if recorded == found.version => {
            format!("{} (now signed; recorded)", found.describe())
        }
        Some(recorded) => format!("{} (newer than {recorded}; recorded)", found.describe()),
        None => format!("{} (first seen; recorded)", found.describe()),
    })
}

/// Writes the state atomically: a temporary sibling, flushed, renamed over it.
fn write_state(state: &Path, document: &Value) -> Result<(), Failure> {
    use std::io::Write as _;
    let fail = |error: std::io::Error| state_error(state, format!("cannot be written: {error}"));
    let parent = match state.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(fail)?;
    let name = state
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".to_owned());
    let temporary = parent.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&temporary).map_err(fail)?;
    file.write_all(format!("{document:#}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(fail)?;
    std::fs::rename(&temporary, state).map_err(fail)
}

#[cfg(test)]
mod tests;
