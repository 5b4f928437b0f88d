//! cordon-audit's parsers of untrusted input, as `cordon-verify report` uses them: a
//! RustSec advisory file, a VEX document, a licence policy and an SBOM. Errors, never
//! panics; whatever parses is evaluated too (matching, licence expressions, NTIA).
#![no_main]

use std::path::Path;

use cordon_audit::sbom::Sbom;
use cordon_audit::{Advisory, LicencePolicy, Vex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(advisory) = Advisory::parse(Path::new("fuzz/RUSTSEC.md"), text) {
        let _ = advisory.affects(&semver::Version::new(1, 2, 3));
        let _ = advisory.label();
        let _ = advisory.fixed_in();
    }
    if let Ok(vex) = Vex::parse(Path::new("fuzz/vex.json"), text) {
        let _ = vex.statements.len();
    }
    if let Ok(policy) = LicencePolicy::parse(Path::new("fuzz/policy.toml"), text) {
        let _ = policy.evaluate(Some("MIT OR (Apache-2.0 AND GPL-2.0-only WITH Classpath-exception-2.0)"));
    }
    let permissive = LicencePolicy::parse(Path::new("p.toml"), "allow = [\"MIT\"]\n");
    if let Ok(policy) = permissive {
        let _ = policy.evaluate(Some(text));
    }
    if let Ok(sbom) = Sbom::parse(Path::new("fuzz/sbom.json"), text) {
        let _ = sbom.ntia().conformant();
    }
});
