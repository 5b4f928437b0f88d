//! Trusted-root rollback protection: a state file that keeps, per pinned root, the
//! highest trusted-root version `cordon-verify` has accepted, so that a mirror cannot
//! replay an older root-signed trusted root (one without the newest release CA, or with
//! a release CA the publisher has since stopped using) or an expired one.
//!
//! What the version and the expiry are: both come from the root-signed trusted root
//! itself, so only the offline root key can change them. `cargo xtask trust rotate`
//! adds a release CA and never removes one (old releases must keep verifying), so the
//! number of release CAs the root certifies is its version; the root expires when its
//! newest release CA does, since nothing can be signed after that. (They are derived
//! rather than written as extra fields because sigstore-python refuses unknown fields
//! in `trusted_root.json`, which the same bytes must stay.)
//!
//! The state file is JSON, written atomically (a sibling temporary file renamed over
//! it): `{"roots": {"<pinned root sha256 hex>": {"version": N, "expires": "RFC 3339",
//! "acceptedAt": "RFC 3339"}}}`.

use std::path::Path;

use cordon_format::rfc3339;
use serde_json::{Value, json};
use sigstore_verify::trust_root::TrustedRoot;

use crate::exit::{Failure, FailureClass};
use crate::input::{self, MAX_JSON_BYTES};

/// The version and expiry a trusted root carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RootVersion {
    /// The number of release CAs the root certifies.
    pub version: u64,
    /// When its newest release CA stops (Unix seconds); `None` when one has no end.
    pub expires: Option<i64>,
}

/// Reads the version and expiry of `root`.
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

/// Checks `root` (proven from the pinned root `fingerprint`) against the state file at
/// `state` at time `now` (Unix seconds): refuses an expired root or one older than the
/// highest version recorded, and records a newer one. Returns a one-line description.
pub(crate) fn check_and_record(
    state: &Path,
    fingerprint: &[u8; 32],
    root: &TrustedRoot,
    now: i64,
) -> Result<String, Failure> {
    let found = root_version(root);
    if let Some(expires) = found.expires
        && expires < now
    {
        return Err(Failure::new(
            FailureClass::Signature,
            format!(
                "the trusted root (version {}) expired at {}, when its newest release CA did: the publisher must run `cargo xtask trust rotate` and ship the new trusted_root.dsse.json",
                found.version,
                rfc3339(expires)
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
    if let Some(recorded) = recorded {
        if found.version < recorded {
            let accepted = document
                .pointer(&format!("/roots/{key}/acceptedAt"))
                .and_then(Value::as_str)
                .unwrap_or("an earlier run");
            return Err(Failure::new(
                FailureClass::Signature,
                format!(
                    "rollback: this trusted root is version {}, older than version {recorded} accepted for the same pinned root at {accepted} (recorded in {}): verify against the newer root-signed trusted root (--signed-root FILE)",
                    found.version,
                    state.display()
                ),
            ));
        }
        if found.version == recorded {
            return Ok(format!("version {} (as recorded)", found.version));
        }
    }
    let Some(roots) = document.get_mut("roots").and_then(Value::as_object_mut) else {
        return Err(state_error(state, "no \"roots\" object"));
    };
    roots.insert(
        key,
        json!({
            "version": found.version,
            "expires": found.expires.map(rfc3339),
            "acceptedAt": rfc3339(now),
        }),
    );
    write_state(state, &document)?;
    Ok(match recorded {
        Some(recorded) => format!(
            "version {} (newer than {recorded}; recorded)",
            found.version
        ),
        None => format!("version {} (first seen; recorded)", found.version),
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
