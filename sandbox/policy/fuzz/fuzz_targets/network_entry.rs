//! Network entries and decisions on arbitrary names: never panic; whatever parses prints
//! back to an entry that parses the same; a decision on a name that is not canonical is
//! always a denial, even under `allow: ["*"]`.
#![no_main]

use cordon_policy::network::{
    Destination, HostPattern, Network, NetworkEntry, Target, parse_entry, resolve_network,
};
use cordon_policy::{Layer, NetworkMode, PolicyFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(entry) = parse_entry(text) {
        if let Target::Host(pattern) = &entry.target {
            let printed = match entry.port {
                Some(port) => format!("{pattern}:{port}"),
                None => pattern.to_string(),
            };
            let again = parse_entry(&printed).expect("a printed entry parses");
            assert_eq!(again, entry, "{printed}");
            if let HostPattern::Exact(name) | HostPattern::Suffix(name) = pattern {
                assert!(name.bytes().all(|b| b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'.'
                    || b == b'-'
                    || b == b'_'));
            }
        }
    }
    let global = PolicyFile {
        version: 1,
        network: Some(Network {
            mode: Some(NetworkMode::Proxy),
            allow: vec![NetworkEntry::unplaced("*"), NetworkEntry::unplaced("*:22")],
            ..Network::default()
        }),
        ..PolicyFile::default()
    };
    let layers = [(Layer::Global, "global".to_owned(), &global)];
    let plan = resolve_network(&layers, &mut Vec::new()).expect("the fixed layer resolves");
    for port in [None, Some(22), Some(443)] {
        let decision = plan.decide(Destination::Name(text), port);
        let canonical = !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || b == b'.'
                || b == b'-'
                || b == b'_'
                || b == b':');
        if !canonical {
            assert!(!decision.allowed, "{text:?} {decision:?}");
        }
    }
});
