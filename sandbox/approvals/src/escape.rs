//! Showing argv to a human without letting it lie: control characters, bidi controls and
//! zero-width or otherwise invisible characters are escaped as `\u{…}`, bytes that are not
//! UTF-8 as `\xNN`, and tokens that need it are quoted the way a shell would read them.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

/// True for characters a terminal does not show as themselves: C0/C1 controls, DEL,
/// bidi embeddings, overrides and isolates, zero-width and other invisible characters,
/// line/paragraph separators, variation selectors and tag characters.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}'
        | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
        | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}' | '\u{fff0}'..='\u{fffb}'
        | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e0fff}')
        // Space-like characters other than the plain space pad a shown command.
        || (c.is_whitespace() && c != ' ')
}

/// One argument, lossless: UTF-8 text as is, except `\` doubled and invisible characters
/// as `\u{…}`; bytes that are not UTF-8 as `\xNN`. Two different arguments never give the
/// same text.
pub fn lossless(arg: &OsStr) -> String {
    let mut out = String::new();
    for chunk in arg.as_bytes().utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

fn push_char(out: &mut String, c: char) {
    if c == '\\' {
        out.push_str("\\\\");
    } else if is_invisible(c) {
        out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
    } else {
        out.push(c);
    }
}

/// True when the argument is UTF-8 without invisible characters.
pub(crate) fn is_clean(arg: &OsStr) -> bool {
    arg.to_str()
        .is_some_and(|text| !text.chars().any(is_invisible))
}

/// An already-lossless token shown for a human: bare when it holds only characters no
/// shell treats specially, else in single quotes (the escapes stay visible inside).
pub(crate) fn quote(token: &str) -> String {
    let plain = !token.is_empty()
        && token.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ',' | ':' | '@' | '%' | '+' | '=')
        });
    if plain {
        token.to_owned()
    } else {
        format!("'{}'", token.replace('\'', r"'\''"))
    }
}

/// Tokens joined for display.
pub fn join(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|token| quote(token))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt as _;

    #[test]
    fn invisible_and_control_characters_are_escaped() {
        assert_eq!(
            lossless(OsStr::new("git\u{200b}status")),
            r"git\u{200b}status"
        );
        assert_eq!(lossless(OsStr::new("a\rb\tc\nd")), r"a\u{d}b\u{9}c\u{a}d");
        assert_eq!(lossless(OsStr::new("x\u{202e}y")), r"x\u{202e}y");
        assert_eq!(lossless(OsStr::new("x\u{e0041}")), r"x\u{e0041}");
        assert_eq!(lossless(OsStr::new("a\u{a0}b")), r"a\u{a0}b");
        assert_eq!(lossless(OsStr::new("back\\slash")), r"back\\slash");
        assert!(!is_clean(OsStr::new("rm\u{2060}")));
        assert!(is_clean(OsStr::new("café")));
    }

    #[test]
    fn non_utf8_bytes_are_escaped_and_distinct() {
        let raw = OsString::from_vec(vec![b'a', 0xff, b'b']);
        assert_eq!(lossless(&raw), r"a\xffb");
        // The text `a\xffb` typed literally is a different argument and shows differently.
        assert_ne!(lossless(OsStr::new(r"a\xffb")), lossless(&raw));
        assert!(!is_clean(&raw));
    }

    #[test]
    fn quoting_shows_shell_specials() {
        assert_eq!(join(&["git".into(), "status".into()]), "git status");
        assert_eq!(
            join(&["echo".into(), "a b".into(), "it's".into()]),
            r"echo 'a b' 'it'\''s'"
        );
        assert_eq!(quote(""), "''");
        assert_eq!(quote("*"), "'*'");
    }
}
