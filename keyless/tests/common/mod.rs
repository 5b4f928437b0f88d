//! The loopback stand-in (`xtask/tools/keyless-standin.mjs`: Fulcio, Rekor v1 and v2, a
//! TSA, an OIDC issuer and an Actions token endpoint on 127.0.0.1) and the independent
//! verifiers (sigstore-python 4.5.1, sigstore-js), both installed by `cargo xtask test`
//! into `target/tools`.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cordon_keyless::{HttpOptions, KeylessOptions, KeylessSigner};

pub mod tiles_facade;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn node_tools() -> PathBuf {
    let dir = root().join("target/tools/node");
    assert!(
        dir.join("node_modules/@sigstore/mock/package.json")
            .exists(),
        "the Node tools (@sigstore/mock) are not installed in {}: run `cargo xtask test` once \
         (its tests stage installs them from xtask/tools/package-lock.json)",
        dir.display()
    );
    dir
}

/// A running stand-in; killed on drop.
pub struct StandIn {
    child: Child,
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub identity: String,
    pub issuer: String,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl StandIn {
    pub fn start() -> Self {
        let node = node_tools();
        let dir = tempfile::tempdir().unwrap();
        let child = Command::new("node")
            .arg(root().join("xtask/tools/keyless-standin.mjs"))
            .arg(dir.path())
            .env("NODE_PATH", node.join("node_modules"))
            .current_dir(&node)
            .stdin(Stdio::null())
            .spawn()
            .expect("cannot run node");
        let ready = dir.path().join("ready.json");
        let started = Instant::now();
        let mut stand_in = Self {
            child,
            dir,
            port: 0,
            identity: String::new(),
            issuer: String::new(),
        };
        while !ready.exists() {
            if let Some(status) = stand_in.child.try_wait().unwrap() {
                panic!("the stand-in exited before it was ready: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the stand-in did not start in 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&ready).unwrap()).unwrap();
        stand_in.port = u16::try_from(value["port"].as_u64().unwrap()).unwrap();
        stand_in.identity = value["identity"].as_str().unwrap().to_owned();
        stand_in.issuer = value["issuer"].as_str().unwrap().to_owned();
        stand_in
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Options for signing config `name` (`v1`, `v2`, `v1_notsa`, `v2_notsa`) with the
    /// local issuer's token file, fast retries.
    pub fn options(&self, name: &str) -> KeylessOptions {
        let mut options = KeylessOptions::new(
            &self.path(&format!("signing_config_{name}.json")),
            &self.path("trusted_root.json"),
            Some(&self.path("token.jwt")),
        );
        options.http = HttpOptions {
            timeout: Duration::from_secs(20),
            attempts: 3,
            backoff: Duration::from_millis(10),
        };
        options
    }

    pub fn signer(&self, name: &str) -> KeylessSigner {
        KeylessSigner::open(&self.options(name)).unwrap()
    }

    /// Makes the next `times` requests to `path` misbehave (`fault` is the JSON of
    /// keyless-standin.mjs's `/__fault`).
    pub fn fault(&self, fault: &serde_json::Value) {
        let http = cordon_keyless::http::Http::new(HttpOptions::default());
        let body = fault.to_string();
        let answer = http
            .send(
                "the stand-in",
                "POST",
                &self.url("/__fault"),
                &[],
                cordon_keyless::http::Body::Json(body.as_bytes()),
            )
            .unwrap();
        assert_eq!(answer.status, 204);
    }
}

/// One bundle for the independent verifiers.
#[derive(serde::Serialize)]
pub struct Case {
    pub name: String,
    pub bundle: PathBuf,
    pub artifact: PathBuf,
    pub trusted_root: PathBuf,
    pub trust_config: PathBuf,
    pub identity: String,
    pub issuer: String,
}

/// sigstore-python 4.5.1's verdict: `Ok(())` or its reason.
pub fn sigstore_python(case: &Case) -> Result<(), String> {
    let bin = root().join("target/tools/venv/bin/sigstore");
    assert!(
        bin.exists(),
        "sigstore-python is not installed at {}: run `cargo xtask test` once",
        bin.display()
    );
    let output = Command::new(bin)
        .env("COLUMNS", "1000")
        .arg("--trust-config")
        .arg(&case.trust_config)
        .args(["verify", "identity", "--offline", "--cert-identity"])
        .arg(&case.identity)
        .arg("--cert-oidc-issuer")
        .arg(&case.issuer)
        .arg("--bundle")
        .arg(&case.bundle)
        .arg(&case.artifact)
        .output()
        .unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
    }
}

/// The sigstore-js verifiers installed: @sigstore/verify 3.1.1 and 4.1.3.
pub const SIGSTORE_JS: [&str; 2] = ["@sigstore/verify", "@sigstore/verify-4"];

/// sigstore-js's verdicts (xtask/tools/sigstore-js-verify.mjs with `module`), by case
/// name.
pub fn sigstore_js(module: &str, cases: &[Case], dir: &Path) -> Vec<(String, Result<(), String>)> {
    let node = node_tools();
    let list = dir.join("cases.json");
    std::fs::write(&list, serde_json::to_vec(cases).unwrap()).unwrap();
    let output = Command::new("node")
        .arg(root().join("xtask/tools/sigstore-js-verify.mjs"))
        .arg(&list)
        .env("NODE_PATH", node.join("node_modules"))
        .env("CORDON_SIGSTORE_VERIFY", module)
        .current_dir(&node)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    cases
        .iter()
        .map(|case| {
            let line = report
                .lines()
                .find(|line| line.split_whitespace().nth(1) == Some(case.name.as_str()))
                .unwrap_or_else(|| panic!("sigstore-js printed nothing for {}", case.name));
            let verdict = if line.ends_with(" accepted") {
                Ok(())
            } else {
                Err(line.to_owned())
            };
            (case.name.clone(), verdict)
        })
        .collect()
}

/// cordon-verify's verdict for a bundle file over an artifact file.
pub fn cordon_verify(case: &Case) -> Result<(), cordon_verify::Failure> {
    let root = cordon_verify::load_trusted_root(&cordon_verify::TrustSource::File(
        case.trusted_root.clone(),
    ))?;
    let bundle = cordon_verify::load_bundle(&case.bundle)?;
    cordon_verify::verify_signature(
        &root.root,
        &bundle,
        &cordon_verify::ArtifactInput::File(case.artifact.clone()),
        &cordon_verify::ExpectedSigner::Identity {
            identity: case.identity.clone(),
            issuer: case.issuer.clone(),
        },
    )
    .map(|_| ())
}
