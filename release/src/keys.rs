//! ECDSA P-256 signing keys (aws-lc-rs, the crypto provider the sigstore crates already
//! use): generation, PKCS#8 PEM files written 0600, and the key identifiers Sigstore
//! derives from them (SHA-256 of the DER SubjectPublicKeyInfo).
//!
//! Private key bytes never reach a log line, an error message or `Debug` output.

use std::fmt;
use std::path::Path;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};
use sha2::{Digest, Sha256};

use crate::fsutil::{self, FsError};

/// The environment variable holding the passphrase that encrypts the trust keys.
pub const PASSPHRASE_ENV: &str = "CORDON_TRUST_PASSPHRASE";

fn passphrase_from_env() -> Option<String> {
    std::env::var(PASSPHRASE_ENV)
        .ok()
        .filter(|value| !value.is_empty())
}

/// Encrypts PKCS#8 DER as PBES2 (scrypt N=2^15 r=8 p=1, AES-256-CBC).
fn encrypt(pkcs8_der: &[u8], passphrase: &str) -> Result<Vec<u8>, KeyError> {
    let mut salt = [0_u8; 16];
    let mut iv = [0_u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| KeyError::Crypto("no randomness"))?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| KeyError::Crypto("no randomness"))?;
    let scrypt = pkcs8::pkcs5::scrypt::Params::new(15, 8, 1, 32)
        .map_err(|_| KeyError::Crypto("scrypt parameters"))?;
    let parameters = pkcs8::pkcs5::pbes2::Parameters::scrypt_aes256cbc(scrypt, &salt, &iv)
        .map_err(|_| KeyError::Crypto("PBES2 parameters"))?;
    let info = pkcs8::PrivateKeyInfo::try_from(pkcs8_der)
        .map_err(|_| KeyError::Crypto("generated key is not PKCS#8"))?;
    let document = info
        .encrypt_with_params(parameters, passphrase)
        .map_err(|_| KeyError::Crypto("PKCS#8 encryption failed"))?;
    Ok(document.as_bytes().to_vec())
}

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Reading or writing the key file failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// The file is not a PKCS#8 PEM ECDSA P-256 private key.
    #[error(
        "{path} is not a PKCS#8 ECDSA P-256 private key ({reason}); restore it from backup or re-create the trust directory"
    )]
    Invalid {
        /// The key file.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The key is encrypted and no passphrase was given.
    #[error("{path} is encrypted: set {PASSPHRASE_ENV} to its passphrase")]
    NeedPassphrase {
        /// The key file.
        path: String,
    },
    /// The passphrase does not decrypt the key.
    #[error("{path}: the passphrase in {PASSPHRASE_ENV} does not decrypt this key")]
    WrongPassphrase {
        /// The key file.
        path: String,
    },
    /// The crypto provider failed (out of entropy, ...).
    #[error("crypto provider failure: {0}")]
    Crypto(&'static str),
}

/// An ECDSA P-256 / SHA-256 private key.
pub struct SigningKey {
    pair: EcdsaKeyPair,
    spki_der: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &hex::encode(self.key_id()))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh random key; returns it with its PKCS#8 DER encoding (to be stored).
    pub fn generate() -> Result<(Self, Vec<u8>), KeyError> {
        let document = EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &SystemRandom::new(),
        )
        .map_err(|_| KeyError::Crypto("cannot generate an ECDSA P-256 key"))?;
        let pkcs8 = document.as_ref().to_vec();
        let key =
            Self::from_pkcs8(&pkcs8).map_err(|_| KeyError::Crypto("generated key is unusable"))?;
        Ok((key, pkcs8))
    }

    /// A key from PKCS#8 DER.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<Self, &'static str> {
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8)
            .map_err(|_| "not an ECDSA P-256 PKCS#8 key")?;
        let spki_der = pair
            .public_key()
            .as_der()
            .map_err(|_| "cannot encode its public key")?
            .as_ref()
            .to_vec();
        Ok(Self { pair, spki_der })
    }

    /// Generates a key and stores it at `path` (PKCS#8 PEM, mode 0600, atomically),
    /// encrypted when [`PASSPHRASE_ENV`] is set.
    pub fn create(path: &Path) -> Result<Self, KeyError> {
        Self::create_with(path, passphrase_from_env().as_deref())
    }

    /// [`SigningKey::create`] with an explicit passphrase (`None`: unencrypted).
    pub fn create_with(path: &Path, passphrase: Option<&str>) -> Result<Self, KeyError> {
        let (key, pkcs8) = Self::generate()?;
        let pem = match passphrase {
            None => fsutil::pem_encode("PRIVATE KEY", &pkcs8),
            Some(passphrase) => {
                fsutil::pem_encode("ENCRYPTED PRIVATE KEY", &encrypt(&pkcs8, passphrase)?)
            }
        };
        fsutil::write_atomic(path, pem.as_bytes(), 0o600)?;
        Ok(key)
    }

    /// Loads the key stored at `path`, decrypting it with [`PASSPHRASE_ENV`] if it is
    /// encrypted.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        Self::load_with(path, passphrase_from_env().as_deref())
    }

    /// [`SigningKey::load`] with an explicit passphrase.
    pub fn load_with(path: &Path, passphrase: Option<&str>) -> Result<Self, KeyError> {
        let bytes = fsutil::read(path)?;
        let invalid = |reason| KeyError::Invalid {
            path: path.display().to_string(),
            reason,
        };
        let text = String::from_utf8(bytes).map_err(|_| invalid("not UTF-8 PEM"))?;
        if let Some(encrypted) = fsutil::pem_decode("ENCRYPTED PRIVATE KEY", &text) {
            let passphrase = passphrase.ok_or_else(|| KeyError::NeedPassphrase {
                path: path.display().to_string(),
            })?;
            let info = pkcs8::EncryptedPrivateKeyInfo::try_from(encrypted.as_slice())
                .map_err(|_| invalid("malformed encrypted PKCS#8"))?;
            let document = info
                .decrypt(passphrase)
                .map_err(|_| KeyError::WrongPassphrase {
                    path: path.display().to_string(),
                })?;
            return Self::from_pkcs8(document.as_bytes()).map_err(invalid);
        }
        let der = fsutil::pem_decode("PRIVATE KEY", &text)
            .ok_or_else(|| invalid("no PRIVATE KEY PEM block"))?;
        Self::from_pkcs8(&der).map_err(invalid)
    }

    /// Signs `message` (ECDSA P-256 over SHA-256, ASN.1 DER signature).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair
            .sign(&SystemRandom::new(), message)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| KeyError::Crypto("ECDSA signing failed"))
    }

    /// Signs a SHA-256 digest computed elsewhere (the ECDSA signature over the message
    /// it is the digest of).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<Vec<u8>, KeyError> {
        let digest =
            aws_lc_rs::digest::Digest::import_less_safe(digest, &aws_lc_rs::digest::SHA256)
                .map_err(|_| KeyError::Crypto("invalid SHA-256 digest"))?;
        self.pair
            .sign_digest(&digest)
            .map(|signature| signature.as_ref().to_vec())
            .map_err(|_| KeyError::Crypto("ECDSA signing failed"))
    }

    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo: the Rekor v1 / CT log id.
    pub fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }
}

/// Verifies an ECDSA P-256 SHA-256 ASN.1 signature against a DER SPKI.
pub fn verify(spki_der: &[u8], message: &[u8], signature_der: &[u8]) -> bool {
    let Some(point) = spki_point(spki_der) else {
        return false;
    };
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
        .verify(message, signature_der)
        .is_ok()
}

/// The uncompressed EC point inside a P-256 SPKI (its trailing 65 bytes).
fn spki_point(spki_der: &[u8]) -> Option<&[u8]> {
    use x509_cert::der::Decode as _;
    let spki = x509_cert::spki::SubjectPublicKeyInfoRef::from_der(spki_der).ok()?;
    spki.subject_public_key.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sign() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let key = SigningKey::create(&path).unwrap();
        let again = SigningKey::load(&path).unwrap();
        assert_eq!(key.spki_der(), again.spki_der());
        let signature = again.sign(b"hello").unwrap();
        assert!(verify(key.spki_der(), b"hello", &signature));
        assert!(!verify(key.spki_der(), b"hellO", &signature));
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn encrypted_keys_need_the_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let key = SigningKey::create_with(&path, Some("correct horse")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let again = SigningKey::load_with(&path, Some("correct horse")).unwrap();
        assert_eq!(key.spki_der(), again.spki_der());
        let missing = SigningKey::load_with(&path, None).unwrap_err().to_string();
        assert!(missing.contains(PASSPHRASE_ENV), "{missing}");
        assert!(matches!(
            SigningKey::load_with(&path, Some("wrong")),
            Err(KeyError::WrongPassphrase { .. })
        ));
    }

    #[test]
    fn garbage_key_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        std::fs::write(&path, "nope").unwrap();
        let error = SigningKey::load(&path).unwrap_err().to_string();
        assert!(error.contains("k.pem"), "{error}");
    }
}
