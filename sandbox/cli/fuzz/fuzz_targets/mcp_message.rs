//! `cordon mcp`'s input: any bytes, read as capped lines and classified as JSON-RPC
//! messages. Never panic; every line is a message or an error answer, and every answer
//! is one line of JSON.
#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../src/mcp/protocol.rs"]
mod protocol;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = std::io::BufReader::with_capacity(7, data);
    loop {
        match protocol::read_line(&mut input, 64) {
            Ok(protocol::Line::End) | Err(_) => break,
            Ok(protocol::Line::TooLong(length)) => assert!(length > 64),
            Ok(protocol::Line::Text(line)) => {
                assert!(line.len() <= 64 && !line.contains(&b'\n'));
                if let Err(invalid) = protocol::parse(&line) {
                    let answer = invalid.answer().to_string();
                    assert!(!answer.contains('\n'));
                    assert!(serde_json::from_str::<serde_json::Value>(&answer).is_ok());
                }
            }
        }
    }
    let _ = protocol::parse(data);
});
