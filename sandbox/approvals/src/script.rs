//! `sh -c SCRIPT`: a script is decomposed into simple commands only when it is *plain*
//! (words, quotes without expansions, `&&`, `||`, `;` and `|`) and two independent parsers
//! agree on its commands: a strict recogniser written here, which accepts nothing it does
//! not fully understand, and brush-parser, a bash-compatible parser. Anything else
//! (expansions, substitutions, redirections, here-docs, globs, control flow, comments,
//! backslashes, newlines) is not plain: the call may be approved once, never cached.

use brush_parser::ast;
use brush_parser::word::WordPiece;

/// How a simple command is joined to the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joiner {
    /// `&&`
    And,
    /// `||`
    Or,
    /// `;` (or the end of the script)
    Then,
    /// `|`
    Pipe,
}

/// One simple command of a plain script: its words after quote removal, and what follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCommand {
    /// The words (quotes removed; nothing else was there to expand).
    pub words: Vec<String>,
    /// The operator after it (`Then` for the last).
    pub joiner: Joiner,
}

/// Shell keywords and reserved words: a script using them has control flow.
const RESERVED: &[&str] = &[
    "if", "then", "else", "elif", "fi", "do", "done", "case", "esac", "while", "until", "for",
    "in", "function", "select", "time", "coproc", "{", "}", "!", "[[", "]]",
];

/// Decomposes `script` when it is plain and both parsers agree; else says why not.
pub fn decompose(script: &str) -> Result<Vec<ScriptCommand>, String> {
    let strict = recognise(script)?;
    let brush = with_brush(script)?;
    if strict != brush {
        return Err(format!(
            "the two shell parsers disagree on this script ({} vs {} commands, or different words)",
            strict.len(),
            brush.len()
        ));
    }
    Ok(strict)
}

/// The strict recogniser. Unquoted text may hold only `[A-Za-z0-9_-./,:@%+=]`; single
/// quotes anything but control characters; double quotes anything but `$`, `` ` ``, `\`
/// and `!`. Operators: `&&`, `||`, `;`, `|`; blanks: space and tab.
pub(crate) fn recognise(script: &str) -> Result<Vec<ScriptCommand>, String> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = script.chars().peekable();
    let finish = |words: &mut Vec<String>, commands: &mut Vec<ScriptCommand>, joiner| {
        if words.is_empty() {
            return Err("an operator without a command before it".to_owned());
        }
        if RESERVED.contains(&words[0].as_str()) {
            return Err(format!("`{}` (control flow)", words[0]));
        }
        if is_assignment(&words[0]) {
            return Err("an assignment inside the script".to_owned());
        }
        commands.push(ScriptCommand {
            words: std::mem::take(words),
            joiner,
        });
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '&' | '|' | ';' => {
                words.extend(word.take());
                let joiner = match (c, chars.peek()) {
                    ('&', Some('&')) => {
                        chars.next();
                        Joiner::And
                    }
                    ('|', Some('|')) => {
                        chars.next();
                        Joiner::Or
                    }
                    ('|', Some('&')) => return Err("`|&`".to_owned()),
                    ('|', _) => Joiner::Pipe,
                    (';', Some(';')) => return Err("`;;`".to_owned()),
                    (';', _) => Joiner::Then,
                    _ => return Err("`&` (a background job)".to_owned()),
                };
                finish(&mut words, &mut commands, joiner)?;
            }
            '\'' => {
                let text = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) if c.is_control() => {
                            return Err("a control character inside quotes".to_owned());
                        }
                        Some(c) => text.push(c),
                        None => return Err("an unterminated single quote".to_owned()),
                    }
                }
            }
            '"' => {
                let text = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c @ ('$' | '`' | '\\' | '!')) => {
                            return Err(format!("`{c}` inside double quotes"));
                        }
                        Some(c) if c.is_control() => {
                            return Err("a control character inside quotes".to_owned());
                        }
                        Some(c) => text.push(c),
                        None => return Err("an unterminated double quote".to_owned()),
                    }
                }
            }
            // zsh expands a word-initial `=cmd` to the path of `cmd`.
            '=' if word.is_none() => return Err("`=` at the start of a word".to_owned()),
            c if c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | '.' | '/' | ',' | ':' | '@' | '%' | '+' | '=') =>
            {
                word.get_or_insert_with(String::new).push(c);
            }
            '\n' | '\r' => return Err("a line break".to_owned()),
            c if c.is_control() => return Err("a control character".to_owned()),
            c => return Err(format!("`{}` outside quotes", c.escape_default())),
        }
    }
    words.extend(word.take());
    match (words.is_empty(), commands.last()) {
        // A trailing `;` is fine; a trailing `&&`, `||` or `|` is not.
        (true, Some(last)) if last.joiner == Joiner::Then => {}
        (true, None) => return Err("an empty script".to_owned()),
        (true, Some(_)) => return Err("an operator at the end".to_owned()),
        (false, _) => finish(&mut words, &mut commands, Joiner::Then)?,
    }
    Ok(commands)
}

/// `NAME=...` with a valid shell name.
pub(crate) fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The same decomposition read from brush-parser's syntax tree: only lists of and-or
/// lists of pipelines of simple commands whose words are plain text, single-quoted text
/// or double-quoted plain text.
fn with_brush(script: &str) -> Result<Vec<ScriptCommand>, String> {
    let options = brush_parser::ParserOptions {
        enable_extended_globbing: false,
        posix_mode: false,
        sh_mode: false,
        tilde_expansion_at_word_start: true,
        tilde_expansion_after_colon: true,
        parser_impl: brush_parser::ParserImpl::Peg,
    };
    let mut parser = brush_parser::Parser::new(std::io::Cursor::new(script), &options);
    let program = parser
        .parse_program()
        .map_err(|error| format!("brush-parser: {error}"))?;
    let mut commands: Vec<ScriptCommand> = Vec::new();
    for complete in &program.complete_commands {
        for ast::CompoundListItem(and_or, separator) in &complete.0 {
            if matches!(separator, ast::SeparatorOperator::Async) {
                return Err("`&` (a background job)".to_owned());
            }
            let mut pipelines = vec![(None, &and_or.first)];
            for next in &and_or.additional {
                pipelines.push(match next {
                    ast::AndOr::And(pipeline) => (Some(Joiner::And), pipeline),
                    ast::AndOr::Or(pipeline) => (Some(Joiner::Or), pipeline),
                });
            }
            for (joiner, pipeline) in pipelines {
                if let Some(joiner) = joiner
                    && let Some(last) = commands.last_mut()
                {
                    last.joiner = joiner;
                }
                if pipeline.timed.is_some() || pipeline.bang {
                    return Err("`time` or `!` before a pipeline".to_owned());
                }
                for (index, command) in pipeline.seq.iter().enumerate() {
                    if index > 0
                        && let Some(last) = commands.last_mut()
                    {
                        last.joiner = Joiner::Pipe;
                    }
                    commands.push(ScriptCommand {
                        words: simple_words(command, &options)?,
                        joiner: Joiner::Then,
                    });
                }
            }
        }
    }
    if commands.is_empty() {
        return Err("an empty script".to_owned());
    }
    Ok(commands)
}

fn simple_words(
    command: &ast::Command,
    options: &brush_parser::ParserOptions,
) -> Result<Vec<String>, String> {
    let ast::Command::Simple(simple) = command else {
        return Err("a compound command or function".to_owned());
    };
    if simple.prefix.is_some() {
        return Err("an assignment or redirection before the command".to_owned());
    }
    let mut words = Vec::new();
    let name = simple
        .word_or_name
        .as_ref()
        .ok_or_else(|| "a command without a name".to_owned())?;
    words.push(plain_word(&name.value, options)?);
    for item in simple.suffix.iter().flat_map(|suffix| &suffix.0) {
        match item {
            ast::CommandPrefixOrSuffixItem::Word(word) => {
                words.push(plain_word(&word.value, options)?);
            }
            _ => return Err("a redirection or process substitution".to_owned()),
        }
    }
    Ok(words)
}

fn plain_word(raw: &str, options: &brush_parser::ParserOptions) -> Result<String, String> {
    let pieces = brush_parser::word::parse(raw, options).map_err(|error| error.to_string())?;
    let mut text = String::new();
    for piece in pieces {
        match piece.piece {
            WordPiece::Text(part) | WordPiece::SingleQuotedText(part) => text.push_str(&part),
            WordPiece::DoubleQuotedSequence(inner) => {
                for piece in inner {
                    match piece.piece {
                        WordPiece::Text(part) => text.push_str(&part),
                        _ => return Err("an expansion inside double quotes".to_owned()),
                    }
                }
            }
            _ => return Err("an expansion, escape or substitution".to_owned()),
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        decompose(script)
            .unwrap_or_else(|why| panic!("{script:?} not plain: {why}"))
            .into_iter()
            .map(|command| command.words)
            .collect()
    }

    #[test]
    fn plain_scripts_decompose_with_both_parsers_agreeing() {
        assert_eq!(words("git status"), [["git", "status"]]);
        assert_eq!(
            words("git status && cargo test -p x || echo 'no luck'; ls | wc -l"),
            vec![
                vec!["git", "status"],
                vec!["cargo", "test", "-p", "x"],
                vec!["echo", "no luck"],
                vec!["ls"],
                vec!["wc", "-l"],
            ]
        );
        assert_eq!(words(r#"echo "a b"c'd'"#), [["echo", "a bcd"]]);
        assert_eq!(words("ls;"), [["ls"]]);
        let joiners: Vec<Joiner> = decompose("a && b || c ; d | e")
            .unwrap()
            .iter()
            .map(|c| c.joiner)
            .collect();
        assert_eq!(
            joiners,
            [
                Joiner::And,
                Joiner::Or,
                Joiner::Then,
                Joiner::Pipe,
                Joiner::Then
            ]
        );
    }

    #[test]
    fn anything_beyond_plain_is_refused() {
        for script in [
            "echo $(rm -rf ~)",
            "echo `id`",
            "echo \"$HOME\"",
            "git${IFS}status",
            "r\\m -rf x",
            "cat <<EOF\nx\nEOF",
            "git status\nrm -rf ~",
            "git status\r\nrm -rf ~",
            "git status \\\nrm x",
            "ls > out",
            "ls 2>&1",
            "ls &",
            "(ls)",
            "{ ls; }",
            "if true; then ls; fi",
            "for x in a; do ls; done",
            "FOO=bar ls",
            "PAGER=x git log",
            "ls *.rs",
            "ls ~",
            "echo {a,b}",
            "ls # comment",
            "! ls",
            "time ls",
            "echo $'\\x72m'",
            "ls |& cat",
            "ls &&",
            "&& ls",
            "",
            "echo 'unterminated",
            "echo \"a\\\"b\"",
            "echo \"!x\"",
            "ls\u{200b}",
            "echo 'a\rb'",
            "=curl x",
            "cat <(ls)",
        ] {
            assert!(decompose(script).is_err(), "{script:?} was taken as plain");
        }
    }
}
