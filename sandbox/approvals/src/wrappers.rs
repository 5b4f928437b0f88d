//! Leading `NAME=value` assignments and a closed list of wrapper programs (`env`,
//! `timeout`, `nice`, `nohup`, `stdbuf`, `ionice`, `setsid`, `time`, `command`) are peeled
//! off to find the command that really runs. Each wrapper's own options are parsed
//! exactly; an option this code does not know (or one that runs a string, like
//! `env -S`) makes the call uncacheable rather than guessed at.

/// A command with its wrappers peeled off.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unwrapped {
    /// Leading assignments, exactly as written (`NAME=value`), including `env`'s.
    pub assignments: Vec<String>,
    /// The wrappers, one token list each (`["timeout", "5"]`).
    pub wrappers: Vec<Vec<String>>,
    /// The command that runs.
    pub inner: Vec<String>,
}

/// How many wrappers deep cordon looks before giving up.
const MAX_WRAPPERS: usize = 8;

/// Peels `tokens`; `Err` says why the call cannot be cached.
pub fn unwrap(tokens: &[String]) -> Result<Unwrapped, String> {
    let mut out = Unwrapped::default();
    let mut rest = tokens;
    while let Some(first) = rest.first()
        && crate::script::is_assignment(first)
    {
        out.assignments.push(first.clone());
        rest = &rest[1..];
    }
    for _ in 0..=MAX_WRAPPERS {
        let Some(first) = rest.first() else {
            return Err("assignments or a wrapper without a command".to_owned());
        };
        let used = match basename(first) {
            "env" => env(rest, &mut out.assignments)?,
            "timeout" => timeout(rest)?,
            "nice" => nice(rest)?,
            "nohup" => options_then_command(rest, &[], &[])?,
            "stdbuf" => stdbuf(rest)?,
            "ionice" => options_then_command(rest, &["-t"], &["-c", "-n"])?,
            "setsid" => options_then_command(rest, &["-f", "-w", "--fork", "--wait"], &[])?,
            "time" => options_then_command(
                rest,
                &["-p", "-v", "-q", "--portability", "--verbose", "--quiet"],
                &[],
            )?,
            "command" => options_then_command(rest, &[], &[])?,
            _ => {
                out.inner = rest.to_vec();
                return Ok(out);
            }
        };
        if used >= rest.len() {
            return Err(format!("`{}` without a command to run", basename(first)));
        }
        out.wrappers.push(rest[..used].to_vec());
        rest = &rest[used..];
    }
    Err(format!("more than {MAX_WRAPPERS} wrappers"))
}

/// The last path component.
pub(crate) fn basename(token: &str) -> &str {
    token.rsplit('/').next().unwrap_or(token)
}

/// Options from `flags` (no value) and `valued` (a value, separate or attached as
/// `-nVALUE` / `--long=VALUE`), an optional `--`; returns how many tokens the wrapper used.
fn options_then_command(
    tokens: &[String],
    flags: &[&str],
    valued: &[&str],
) -> Result<usize, String> {
    let name = basename(&tokens[0]);
    let mut index = 1;
    while let Some(token) = tokens.get(index) {
        if token == "--" {
            return Ok(index + 1);
        }
        if !token.starts_with('-') || token == "-" {
            return Ok(index);
        }
        if flags.contains(&token.as_str()) {
            index += 1;
        } else if valued.contains(&token.as_str()) {
            index += 2;
        } else if valued.iter().any(|option| {
            let attached = if option.starts_with("--") {
                format!("{option}=")
            } else {
                (*option).to_owned()
            };
            token.starts_with(&attached) && token.len() > attached.len()
        }) {
            index += 1;
        } else {
            return Err(format!(
                "`{name} {token}`: an option cordon does not unwrap"
            ));
        }
    }
    Ok(index)
}

fn env(tokens: &[String], assignments: &mut Vec<String>) -> Result<usize, String> {
    let mut index = 1;
    while let Some(token) = tokens.get(index) {
        match token.as_str() {
            "-S" | "--split-string" => {
                return Err("`env -S` splits a string into a command".to_owned());
            }
            t if t.starts_with("--split-string")
                || (t.starts_with('-') && !t.starts_with("--") && t.contains('S')) =>
            {
                return Err("`env -S` splits a string into a command".to_owned());
            }
            "-i" | "--ignore-environment" | "-" => index += 1,
            "-u" | "--unset" => index += 2,
            t if t.starts_with("--unset=") || (t.starts_with("-u") && t.len() > 2) => index += 1,
            "--" => {
                index += 1;
                break;
            }
            t if crate::script::is_assignment(t) => {
                assignments.push(t.to_owned());
                index += 1;
            }
            t if t.starts_with('-') => {
                return Err(format!("`env {t}`: an option cordon does not unwrap"));
            }
            _ => break,
        }
    }
    // Assignments may also follow `--`.
    while let Some(token) = tokens.get(index)
        && crate::script::is_assignment(token)
    {
        assignments.push(token.clone());
        index += 1;
    }
    Ok(index)
}

fn timeout(tokens: &[String]) -> Result<usize, String> {
    let used = options_then_command(
        tokens,
        &["--preserve-status", "--foreground", "-v", "--verbose"],
        &["-s", "--signal", "-k", "--kill-after"],
    )?;
    // The duration.
    match tokens.get(used) {
        Some(duration) if duration.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
            Ok(used + 1)
        }
        _ => Err("`timeout` without a duration".to_owned()),
    }
}

fn nice(tokens: &[String]) -> Result<usize, String> {
    // The historical `nice -5 cmd` form.
    if let Some(second) = tokens.get(1)
        && second.len() > 1
        && second.starts_with('-')
        && second[1..].chars().all(|c| c.is_ascii_digit())
    {
        return Ok(2);
    }
    options_then_command(tokens, &[], &["-n", "--adjustment"])
}

fn stdbuf(tokens: &[String]) -> Result<usize, String> {
    options_then_command(
        tokens,
        &[],
        &["-i", "-o", "-e", "--input", "--output", "--error"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peel(line: &str) -> Result<Unwrapped, String> {
        let tokens: Vec<String> = line.split(' ').map(str::to_owned).collect();
        unwrap(&tokens)
    }

    #[test]
    fn wrappers_and_assignments_are_peeled_exactly() {
        let u =
            peel("LANG=C env -i -u X TZ=UTC timeout -s KILL 5 nice -n 3 nohup git status").unwrap();
        assert_eq!(u.assignments, ["LANG=C", "TZ=UTC"]);
        assert_eq!(u.inner, ["git", "status"]);
        assert_eq!(
            u.wrappers,
            vec![
                vec!["env", "-i", "-u", "X", "TZ=UTC"],
                vec!["timeout", "-s", "KILL", "5"],
                vec!["nice", "-n", "3"],
                vec!["nohup"],
            ]
        );
        let u = peel("/usr/bin/stdbuf -oL ionice -c 3 time -p setsid -w command -- ls -l").unwrap();
        assert_eq!(u.inner, ["ls", "-l"]);
        assert_eq!(u.wrappers.len(), 5);
        assert_eq!(peel("nice -5 make").unwrap().inner, ["make"]);
        assert_eq!(
            peel("timeout --kill-after=3 1.5 make").unwrap().inner,
            ["make"]
        );
    }

    #[test]
    fn string_splitting_and_unknown_options_are_refused() {
        for line in [
            "env -S rm -rf ~",
            "env --split-string=rm x",
            "env -iS rm",
            "env -C /tmp ls",
            "timeout --bogus 5 ls",
            "timeout ls",
            "nice --bogus ls",
            "time -o out ls",
            "command -p ls",
            "setsid -c ls",
            "ionice -p 1",
            "env",
            "FOO=1",
            "timeout 5",
        ] {
            assert!(peel(line).is_err(), "{line:?} was unwrapped");
        }
    }
}
