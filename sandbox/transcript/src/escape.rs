//! Text for the transcript and for a reviewer's screen: a lossless encoding of operating
//! system strings (argv is bytes, JSON is Unicode) and an escaping of everything a
//! terminal would hide or reorder (control, bidi and zero-width characters).

use std::ffi::OsStr;
use std::fmt::Write as _;

/// Encodes `value` as a string from which its bytes can be recovered exactly: a
/// backslash becomes `\\`, a byte that is not part of valid UTF-8 becomes `\xNN`; all
/// else is kept. Two different byte strings never give the same text.
pub fn lossless(value: &OsStr) -> String {
    let mut out = String::with_capacity(value.len());
    for chunk in value.as_encoded_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// The bytes [`lossless`] encoded, or `None` when `text` is not such an encoding.
pub fn lossless_bytes(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.extend_from_slice(&rest.as_bytes()[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('\\') {
            out.push(b'\\');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('x') {
            let hex = tail.get(..2)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            rest = &tail[2..];
        } else {
            return None;
        }
    }
    out.extend_from_slice(rest.as_bytes());
    Some(out)
}

/// `text` made safe to print on a terminal: control characters (C0, DEL, C1), bidi
/// controls, zero-width and other invisible format characters become `\u{XXXX}` (and a
/// backslash that could start such an escape stays as it is: the output is for reading,
/// [`lossless`] is for recovering bytes).
pub fn for_display(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if hidden(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// A [`lossless`] word for a reader: its text with [`for_display`] escapes, and its
/// bytes that are not UTF-8 as `\xNN` (a text that is not a lossless encoding is
/// escaped as it is).
pub fn display_lossless(text: &str) -> String {
    let Some(bytes) = lossless_bytes(text) else {
        return for_display(text);
    };
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&for_display(chunk.valid()));
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// A character a terminal does not show as itself: controls, bidi overrides and
/// isolates, zero-width characters, and the other invisible format characters.
fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            u32::from(c),
            0x00ad // soft hyphen
            | 0x034f // combining grapheme joiner
            | 0x061c // Arabic letter mark
            | 0x115f..=0x1160 // Hangul fillers
            | 0x17b4..=0x17b5
            | 0x180b..=0x180f // Mongolian selectors and vowel separator
            | 0x200b..=0x200f // zero-width space, (non-)joiner, LRM, RLM
            | 0x2028..=0x202e // line/paragraph separators, bidi embeddings and overrides
            | 0x205f..=0x206f // word joiner, invisible operators, bidi isolates
            | 0x3164 // Hangul filler
            | 0xfe00..=0xfe0f // variation selectors
            | 0xfeff // zero-width no-break space (BOM)
            | 0xffa0
            | 0xfff0..=0xfffb // interlinear annotation, specials
            | 0x1d173..=0x1d17a
            | 0xe0000..=0xe0fff // tags and variation selectors supplement
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt as _;

    #[test]
    fn lossless_keeps_utf8_and_escapes_invalid_bytes_injectively() {
        let cases: [&[u8]; 6] = [
            b"plain",
            "caf\u{e9}".as_bytes(),
            b"a\xffb",
            b"a\\xffb",
            b"\\",
            b"\x80\x80\\x",
        ];
        let mut seen = std::collections::HashSet::new();
        for bytes in cases {
            let text = lossless(OsStr::from_bytes(bytes));
            assert_eq!(lossless_bytes(&text).as_deref(), Some(bytes), "{text}");
            assert!(seen.insert(text), "two byte strings share one encoding");
        }
        assert_eq!(lossless(OsStr::from_bytes(b"a\xffb")), "a\\xffb");
        assert_eq!(lossless(OsStr::from_bytes(b"a\\xffb")), "a\\\\xffb");
        assert_eq!(lossless_bytes("bad\\q"), None);
        assert_eq!(lossless_bytes("bad\\x4"), None);
    }

    #[test]
    fn display_escapes_controls_bidi_and_zero_width() {
        assert_eq!(for_display("ls -la"), "ls -la");
        assert_eq!(for_display("a\x1b[2Jb"), "a\\u{001b}[2Jb");
        assert_eq!(for_display("x\u{202e}gpj.exe"), "x\\u{202e}gpj.exe");
        assert_eq!(for_display("r\u{200b}m"), "r\\u{200b}m");
        assert_eq!(for_display("a\u{2066}b\u{2069}"), "a\\u{2066}b\\u{2069}");
        assert_eq!(for_display("one\ntwo\r"), "one\\ntwo\\r");
        assert_eq!(for_display("\u{85}\u{7f}"), "\\u{0085}\\u{007f}");
        assert_eq!(for_display("\u{feff}x"), "\\u{feff}x");
        assert_eq!(for_display("日本語 é"), "日本語 é");
        assert_eq!(
            display_lossless("a\\\\b\\xff\u{202e}"),
            "a\\b\\xff\\u{202e}"
        );
    }
}
