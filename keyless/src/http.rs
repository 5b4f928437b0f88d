//! The one HTTP client of the keyless signer: blocking `ureq` over rustls (aws-lc-rs
//! provider, Mozilla roots), with per-service timeouts, bounded retries with back-off on
//! 5xx, 429 and transport failures, capped response bodies, and an error for every
//! unexpected answer that names the service, the URL and the status.

use std::sync::Arc;
use std::time::Duration;

use crate::error::KeylessError;

/// Largest response body read from any service (a Fulcio chain or a Rekor entry is a few
/// KiB; a TSA response under 10 KiB).
const MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
/// How much of an error body is quoted in an error message.
const QUOTED_BODY_CHARS: usize = 300;

/// Retry and timeout settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Total time for one attempt (connect, send, receive). Rekor v2 holds the request
    /// until a checkpoint covers the entry, so this must stay well above 20 s for it.
    pub timeout: Duration,
    /// Attempts for a request that fails with 5xx, 429 or a transport error.
    pub attempts: u32,
    /// The first back-off; it doubles after each failed attempt (a `Retry-After` of at
    /// most 30 s is honoured instead).
    pub backoff: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            attempts: 4,
            backoff: Duration::from_millis(500),
        }
    }
}

/// A server's answer with a status the caller decides about (2xx and 409).
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, if any (Rekor v1 409).
    pub location: Option<String>,
    /// The `x-log-index` header, if any (Rekor v2 409).
    pub log_index: Option<String>,
    /// The body.
    pub body: Vec<u8>,
    /// The `Retry-After` header in seconds, capped at 30 s.
    retry_after: Option<Duration>,
}

/// A request body and its media type.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// No body (GET).
    None,
    /// `application/json`.
    Json(&'a [u8]),
    /// Any other media type.
    Raw(&'a str, &'a [u8]),
}

/// The HTTP client.
#[derive(Debug, Clone)]
pub struct Http {
    agent: ureq::Agent,
    options: HttpOptions,
}

impl Http {
    /// A client with these options.
    pub fn new(options: HttpOptions) -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::WebPki)
            .unversioned_rustls_crypto_provider(provider)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(options.timeout))
            .user_agent(concat!("cordon-keyless/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Self { agent, options }
    }

    /// Sends a request, retrying transient failures, and returns a 2xx or 409 answer;
    /// any other status is an error naming `service`, `url` and the server's message.
    pub fn send(
        &self,
        service: &str,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Answer, KeylessError> {
        let mut backoff = self.options.backoff;
        let attempts = self.options.attempts.max(1);
        for attempt in 1..=attempts {
            let last = attempt == attempts;
            match self.once(method, url, headers, body) {
                Ok(answer) if (200..300).contains(&answer.status) || answer.status == 409 => {
                    return Ok(answer);
                }
                Ok(answer) => {
                    let transient = answer.status == 429 || answer.status >= 500;
                    if !transient || last {
                        return Err(KeylessError::Status {
                            service: service.to_owned(),
                            url: url.to_owned(),
                            status: answer.status,
                            message: quote(&answer.body),
                            attempts: attempt,
                        });
                    }
                    std::thread::sleep(answer.retry_after.unwrap_or(backoff));
                }
                Err(error) => {
                    if last {
                        return Err(KeylessError::Transport {
                            service: service.to_owned(),
                            url: url.to_owned(),
                            reason: error.to_string(),
                            attempts: attempt,
                        });
                    }
                    std::thread::sleep(backoff);
                }
            }
            backoff = backoff.saturating_mul(2);
        }
        unreachable!("the last attempt returns")
    }

    fn once(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Answer, ureq::Error> {
        let mut response = match (method, body) {
            ("GET", _) => {
                let mut request = self.agent.get(url);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                request.call()?
            }
            (_, body) => {
                let mut request = self.agent.post(url);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                match body {
                    Body::None => request.send_empty()?,
                    Body::Json(bytes) => request.content_type("application/json").send(bytes)?,
                    Body::Raw(media_type, bytes) => request.content_type(media_type).send(bytes)?,
                }
            }
        };
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        };
        let status = response.status().as_u16();
        let location = header("location");
        let log_index = header("x-log-index");
        let retry = header("retry-after");
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()?;
        Ok(Answer {
            status,
            location,
            log_index,
            body,
            retry_after: retry
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map(|seconds| Duration::from_secs(seconds.min(30))),
        })
    }
}

/// The server's message: a gRPC-gateway / Rekor `{"code","message"}` body's `message`, or
/// the start of the body.
fn quote(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(message) = value.get("message").and_then(serde_json::Value::as_str)
    {
        return message.chars().take(QUOTED_BODY_CHARS).collect();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(empty body)".to_owned()
    } else {
        text.chars().take(QUOTED_BODY_CHARS).collect()
    }
}
