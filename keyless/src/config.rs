//! Sigstore `signing_config.json` v0.2 (protobuf-specs `SigningConfig`): which Fulcio,
//! Rekor logs (v1 or v2) and timestamp authorities a keyless signing run uses, chosen
//! the way sigstore-python and sigstore-rust choose them.
//!
//! A service is usable when its `validFor` window contains now and its
//! `majorApiVersion` is one this client speaks (Fulcio 1, Rekor 1 and 2, TSA 1). Logs and
//! TSAs are grouped by `operator`, and each operator contributes its highest version,
//! then its newest start. The selector picks from those: `ANY` one, `EXACT` exactly
//! `count`, `ALL` every one.

use std::path::Path;

use serde::Deserialize;

use crate::error::KeylessError;

/// The only signing-config media type this client reads.
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";

/// A service the signing run will use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The URL (a base URL for Fulcio and Rekor, the full endpoint for a TSA).
    pub url: String,
    /// The API major version.
    pub major_api_version: u32,
    /// Who runs it.
    pub operator: String,
}

/// The services chosen for one signing run.
#[derive(Debug, Clone)]
pub struct Services {
    /// The certificate authority (Fulcio).
    pub ca: Service,
    /// The transparency logs, each written once.
    pub tlogs: Vec<Service>,
    /// The timestamp authorities, each asked once.
    pub tsas: Vec<Service>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawConfig {
    media_type: String,
    #[serde(default)]
    ca_urls: Vec<RawService>,
    /// Read so that the file is checked whole; not used: tokens come from CI or a file,
    /// never from an interactive OIDC flow.
    #[serde(default)]
    #[allow(dead_code)]
    oidc_urls: Vec<RawService>,
    #[serde(default)]
    rekor_tlog_urls: Vec<RawService>,
    #[serde(default)]
    tsa_urls: Vec<RawService>,
    rekor_tlog_config: Option<RawSelector>,
    tsa_config: Option<RawSelector>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawService {
    url: String,
    major_api_version: u32,
    valid_for: RawWindow,
    #[serde(default)]
    operator: String,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    start: String,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelector {
    selector: String,
    #[serde(default)]
    count: Option<u32>,
}

impl Services {
    /// Reads `path` and chooses the services valid at `now` (seconds since the epoch).
    pub fn from_file(path: &Path, now: i64) -> Result<Self, KeylessError> {
        let text = std::fs::read_to_string(path).map_err(|error| KeylessError::Read {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string(), now)
    }

    /// Parses a signing config; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str, now: i64) -> Result<Self, KeylessError> {
        let bad = |reason: String| KeylessError::SigningConfig {
            path: origin.to_owned(),
            reason,
        };
        let raw: RawConfig = serde_json::from_str(text)
            .map_err(|error| bad(format!("not a Sigstore signing config v0.2: {error}")))?;
        if raw.media_type != SIGNING_CONFIG_MEDIA_TYPE {
            return Err(bad(format!(
                "media type {:?} is not {SIGNING_CONFIG_MEDIA_TYPE}",
                raw.media_type
            )));
        }
        let ca = usable(&raw.ca_urls, &[1], now, &bad)?
            .into_iter()
            .next()
            .ok_or_else(|| bad("no \"caUrls\" entry with majorApiVersion 1 is valid now".into()))?;
        let tlogs = select(
            usable(&raw.rekor_tlog_urls, &[1, 2], now, &bad)?,
            raw.rekor_tlog_config.as_ref(),
            "rekorTlogUrls",
            &bad,
        )?;
        let tsas = select(
            usable(&raw.tsa_urls, &[1], now, &bad)?,
            raw.tsa_config.as_ref(),
            "tsaUrls",
            &bad,
        )?;
        if tlogs.iter().any(|log| log.major_api_version == 2) && tsas.is_empty() {
            return Err(bad(
                "a Rekor v2 log is chosen but no timestamp authority is: Rekor v2 entries carry no \
                 signed time, so add a \"tsaUrls\" entry"
                    .into(),
            ));
        }
        if tlogs.is_empty() && tsas.is_empty() {
            return Err(bad(
                "neither a transparency log nor a timestamp authority is valid now: a bundle \
                 needs a trusted time"
                    .into(),
            ));
        }
        Ok(Self { ca, tlogs, tsas })
    }
}

/// The services valid at `now` with a supported version, one per operator (highest
/// version, then newest start), in the file's order of operators.
fn usable(
    services: &[RawService],
    versions: &[u32],
    now: i64,
    bad: &dyn Fn(String) -> KeylessError,
) -> Result<Vec<Service>, KeylessError> {
    let mut chosen: Vec<(Service, i64)> = Vec::new();
    for service in services {
        let start = cordon_format::parse_rfc3339(&service.valid_for.start).map_err(|error| {
            bad(format!(
                "{}: validFor.start is not RFC 3339: {error}",
                service.url
            ))
        })?;
        let end = match &service.valid_for.end {
            Some(end) => Some(cordon_format::parse_rfc3339(end).map_err(|error| {
                bad(format!(
                    "{}: validFor.end is not RFC 3339: {error}",
                    service.url
                ))
            })?),
            None => None,
        };
        if now < start || end.is_some_and(|end| now > end) {
            continue;
        }
        if !versions.contains(&service.major_api_version) {
            continue;
        }
        let candidate = Service {
            url: service.url.trim_end_matches('/').to_owned(),
            major_api_version: service.major_api_version,
            operator: service.operator.clone(),
        };
        match chosen
            .iter_mut()
            .find(|(existing, _)| existing.operator == candidate.operator)
        {
            Some(slot) => {
                if (candidate.major_api_version, start) > (slot.0.major_api_version, slot.1) {
                    *slot = (candidate, start);
                }
            }
            None => chosen.push((candidate, start)),
        }
    }
    Ok(chosen.into_iter().map(|(service, _)| service).collect())
}

fn select(
    services: Vec<Service>,
    selector: Option<&RawSelector>,
    field: &str,
    bad: &dyn Fn(String) -> KeylessError,
) -> Result<Vec<Service>, KeylessError> {
    if services.is_empty() {
        return Ok(services);
    }
    let (kind, count) = selector.map_or(("ANY", None), |s| (s.selector.as_str(), s.count));
    match kind {
        "ANY" => Ok(services.into_iter().take(1).collect()),
        "ALL" => Ok(services),
        "EXACT" => {
            let count = count.unwrap_or(0) as usize;
            if count == 0 || services.len() < count {
                return Err(bad(format!(
                    "{field}: the selector asks for EXACT {count}, and {} operator(s) are valid now",
                    services.len()
                )));
            }
            Ok(services.into_iter().take(count).collect())
        }
        other => Err(bad(format!(
            "{field}: selector {other:?} is not ANY, EXACT or ALL"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rekor: &str, tsa: &str) -> String {
        format!(
            r#"{{"mediaType":"{SIGNING_CONFIG_MEDIA_TYPE}",
            "caUrls":[{{"url":"http://ca/","majorApiVersion":1,"validFor":{{"start":"2020-01-01T00:00:00Z"}},"operator":"a"}}],
            "rekorTlogUrls":[{rekor}],"tsaUrls":[{tsa}],
            "rekorTlogConfig":{{"selector":"ANY"}},"tsaConfig":{{"selector":"ANY"}}}}"#
        )
    }

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn picks_the_highest_version_per_operator_and_skips_expired() {
        let rekor = r#"{"url":"http://v1","majorApiVersion":1,"validFor":{"start":"2021-01-01T00:00:00Z"},"operator":"a"},
            {"url":"http://v2","majorApiVersion":2,"validFor":{"start":"2025-01-01T00:00:00Z"},"operator":"a"},
            {"url":"http://old","majorApiVersion":2,"validFor":{"start":"2021-01-01T00:00:00Z","end":"2022-01-01T00:00:00Z"},"operator":"a"},
            {"url":"http://v3","majorApiVersion":3,"validFor":{"start":"2025-01-01T00:00:00Z"},"operator":"a"}"#;
        let tsa = r#"{"url":"http://tsa/api/v1/timestamp","majorApiVersion":1,"validFor":{"start":"2021-01-01T00:00:00Z"},"operator":"a"}"#;
        let services = Services::parse(&config(rekor, tsa), "c", NOW).unwrap();
        assert_eq!(services.ca.url, "http://ca");
        assert_eq!(services.tlogs.len(), 1);
        assert_eq!(services.tlogs[0].url, "http://v2");
        assert_eq!(services.tsas[0].url, "http://tsa/api/v1/timestamp");
    }

    #[test]
    fn rekor_v2_without_a_tsa_is_refused() {
        let rekor = r#"{"url":"http://v2","majorApiVersion":2,"validFor":{"start":"2025-01-01T00:00:00Z"},"operator":"a"}"#;
        let error = Services::parse(&config(rekor, ""), "c", NOW).unwrap_err();
        assert!(
            error.to_string().contains("no timestamp authority"),
            "{error}"
        );
    }

    #[test]
    fn wrong_media_type_and_unknown_fields_are_refused() {
        let text = config("", "").replace("v0.2+json", "v0.1+json");
        assert!(Services::parse(&text, "c", NOW).is_err());
        let text = config("", "").replace("\"caUrls\"", "\"caURLs\"");
        assert!(Services::parse(&text, "c", NOW).is_err());
    }
}
