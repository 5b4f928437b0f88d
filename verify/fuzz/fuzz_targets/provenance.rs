//! The SLSA provenance policy over arbitrary statements: errors, never panics.
#![no_main]

use cordon_verify::{
    GITHUB_ACTIONS_ISSUER, ProvenanceExpectations as Expectations, SignerClaims, builder_matches,
    check_provenance_statement, normalize_repository, signer_matches,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let signer = SignerClaims {
        issuer: Some(GITHUB_ACTIONS_ISSUER.to_owned()),
        identity: Some(
            "https://github.com/example/tool/.github/workflows/release.yml@refs/tags/v1".to_owned(),
        ),
        source_repository_uri: Some("https://github.com/example/tool".to_owned()),
        source_repository_ref: Some("refs/tags/v1".to_owned()),
        source_repository_digest: None,
        build_signer_uri: None,
        runner_environment: Some("github-hosted".to_owned()),
        build_trigger: Some("push".to_owned()),
    };
    let expected = Expectations {
        source_uri: "github.com/example/tool".to_owned(),
        source_tag: Some("v1".to_owned()),
        builder_id: Some("https://github.com/example/tool/.github/workflows/release.yml".to_owned()),
        ..Expectations::default()
    };
    let _ = check_provenance_statement(data, Some(&signer), &expected);
    let _ = check_provenance_statement(data, None, &expected);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = normalize_repository(text);
        let _ = builder_matches(text, "https://github.com/a/b/.github/workflows/c.yml");
        let _ = signer_matches(text, "https://github.com/a/*/.github/workflows/c.yml@refs/tags/v*");
        let _ = signer_matches("https://github.com/a/b/.github/workflows/c.yml@refs/tags/v1", text);
    }
});
