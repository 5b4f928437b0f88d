//! Fulcio v2 `POST /api/v2/signingCert`: the identity token and the ephemeral public key
//! with its proof of possession (a signature over the token's subject, or email for email
//! issuers) in, a certificate chain with one embedded SCT out. Only the embedded-SCT
//! form is accepted: a bundle v0.3 carries the leaf alone, so a detached SCT would be
//! lost. The SCT itself is checked against the trusted root's CT logs when the finished
//! bundle is verified, before anything is written.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use cordon_release::SigningKey;

use crate::error::KeylessError;
use crate::http::{Body, Http};
use crate::oidc::IdentityToken;

const SERVICE: &str = "Fulcio";

/// Asks the CA at `base_url` for a certificate for `key`; returns the leaf, DER.
pub fn signing_certificate(
    http: &Http,
    base_url: &str,
    token: &IdentityToken,
    key: &SigningKey,
) -> Result<Vec<u8>, KeylessError> {
    let url = format!("{base_url}/api/v2/signingCert");
    let proof = key.sign(token.challenge().as_bytes())?;
    let request = json!({
        "credentials": {"oidcIdentityToken": token.jwt()},
        "publicKeyRequest": {
            "publicKey": {"algorithm": "ECDSA", "content": cordon_release::pem_encode("PUBLIC KEY", key.spki_der())},
            "proofOfPossession": STANDARD.encode(proof),
        },
    });
    let body = request.to_string();
    let answer = http.send(SERVICE, "POST", &url, &[], Body::Json(body.as_bytes()))?;
    let invalid = |reason: &str| KeylessError::Protocol {
        service: SERVICE.into(),
        url: url.clone(),
        reason: reason.to_owned(),
    };
    if answer.status == 409 {
        return Err(invalid(
            "HTTP 409 Conflict is not an answer to a certificate request",
        ));
    }
    let value: serde_json::Value =
        serde_json::from_slice(&answer.body).map_err(|_| invalid("the body is not JSON"))?;
    if value.get("signedCertificateDetachedSct").is_some() {
        return Err(invalid(
            "the certificate has a detached SCT; a bundle v0.3 needs the SCT embedded in the certificate",
        ));
    }
    let chain = value
        .pointer("/signedCertificateEmbeddedSct/chain/certificates")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| invalid("no signedCertificateEmbeddedSct.chain.certificates"))?;
    let leaf_pem = chain
        .first()
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| invalid("the certificate chain is empty"))?;
    let leaf = cordon_release::pem_decode("CERTIFICATE", leaf_pem)
        .ok_or_else(|| invalid("the first certificate is not PEM"))?;
    let spki = cordon_release::certificate_spki(&leaf)
        .map_err(|error| invalid(&format!("the leaf certificate does not parse: {error}")))?;
    if spki != key.spki_der() {
        return Err(invalid("the leaf certificate is for another public key"));
    }
    Ok(leaf)
}
