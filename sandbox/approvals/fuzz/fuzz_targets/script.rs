//! `sh -c SCRIPT` decomposition: never panics; whatever it accepts holds no operator,
//! quote or expansion character the strict recogniser refuses, and no empty command.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(script) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(commands) = cordon_approvals::decompose_script(script) {
        assert!(!commands.is_empty());
        for command in &commands {
            assert!(!command.words.is_empty());
        }
        for forbidden in ['$', '`', '\\', '\n', '\r', '<', '>', '(', ')', '*', '?', '~', '#'] {
            assert!(
                !script.contains(forbidden) || script.contains('\'') || script.contains('"'),
                "{script:?} was plain"
            );
        }
    }
});
