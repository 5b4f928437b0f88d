//! The `run_command` tool: its schema, the checks on its arguments (argv or a script,
//! a working directory inside the project, a timeout and an output cap within their
//! maxima, nothing else), and the tool result for a command that ran.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::exec::Outcome;

pub(crate) const NAME: &str = "run_command";
/// The timeout when the call names none.
pub(crate) const DEFAULT_TIMEOUT_MS: u64 = 120_000;
/// The longest timeout a call may ask for.
pub(crate) const MAX_TIMEOUT_MS: u64 = 600_000;
/// The output kept per stream when the call names no cap.
pub(crate) const DEFAULT_OUTPUT_BYTES: usize = 64 * 1024;
/// The largest output cap a call may ask for (per stream).
pub(crate) const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

const FIELDS: [&str; 5] = ["argv", "script", "cwd", "timeout_ms", "max_output_bytes"];

/// The tool as `tools/list` describes it.
pub(crate) fn definition(structured: bool) -> Value {
    let mut tool = json!({
        "name": NAME,
        "title": "Run a command in cordon's sandbox",
        "description": "Runs one command in this project inside cordon's least-privilege sandbox \
            (the user's cordon policy decides what it may read, write and reach). Give `argv` \
            (an array: program and arguments, preferred) or `script` (a plain shell script run by \
            `sh -c`), not both. Writes outside the project, secrets and undeclared network access \
            fail with the sandbox's error (EACCES, EROFS, connection refused) in stderr. A command \
            the user has not approved for this project is first shown to the user, who may allow it \
            once, always or deny it; approval cannot be given through this tool's arguments.",
        "inputSchema": {
            "type": "object",
            "properties": {
                "argv": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "description": "The program and its arguments, e.g. [\"cargo\", \"test\"]."
                },
                "script": {
                    "type": "string",
                    "description": "A shell script run as `sh -c SCRIPT` (when argv cannot say it, e.g. a pipeline)."
                },
                "cwd": {
                    "type": "string",
                    "description": "Directory to run in: relative to the project root or absolute inside it (default: the project root)."
                },
                "timeout_ms": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_TIMEOUT_MS,
                    "description": format!("Stop the command after this many milliseconds (default {DEFAULT_TIMEOUT_MS}).")
                },
                "max_output_bytes": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_OUTPUT_BYTES,
                    "description": format!("Keep at most this many bytes of stdout and of stderr each, head and tail (default {DEFAULT_OUTPUT_BYTES}).")
                }
            },
            "additionalProperties": false
        },
        "annotations": {
            "title": "Run a command in cordon's sandbox",
            "readOnlyHint": false,
            "destructiveHint": true,
            "idempotentHint": false,
            "openWorldHint": false
        }
    });
    if structured && let Value::Object(object) = &mut tool {
        object.insert("outputSchema".into(), output_schema());
    }
    tool
}

fn output_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "exit_code": {"type": ["integer", "null"], "description": "The command's exit status (null when a signal ended it)."},
            "signal": {"type": ["integer", "null"], "description": "The signal that ended cordon run, if one did."},
            "timed_out": {"type": "boolean"},
            "duration_ms": {"type": "integer"},
            "stdout": {"type": "string"},
            "stderr": {"type": "string"},
            "stdout_bytes": {"type": "integer", "description": "Bytes the command wrote to stdout (all of them, kept or not)."},
            "stderr_bytes": {"type": "integer"},
            "stdout_truncated": {"type": "boolean"},
            "stderr_truncated": {"type": "boolean"}
        },
        "required": ["exit_code", "timed_out", "stdout", "stderr", "stdout_bytes", "stderr_bytes",
                     "stdout_truncated", "stderr_truncated"]
    })
}

/// One call's arguments, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunRequest {
    /// What `cordon run` runs.
    pub(crate) argv: Vec<String>,
    /// Where (canonical, inside the project).
    pub(crate) cwd: PathBuf,
    pub(crate) timeout: Duration,
    pub(crate) max_output_bytes: usize,
}

impl RunRequest {
    /// Checks `arguments` against the schema and `cwd` against `project` (canonical).
    /// The error is a sentence for the model: what is wrong and what to send instead.
    pub(crate) fn parse(arguments: Option<&Value>, project: &Path) -> Result<Self, String> {
        let empty = Map::new();
        let object = match arguments {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(object)) => object,
            Some(_) => return Err("`arguments` must be an object".into()),
        };
        let unknown: Vec<&str> = object
            .keys()
            .map(String::as_str)
            .filter(|key| !FIELDS.contains(key))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "unknown argument(s) {}: run_command takes only {}; approvals are given by the user, never through arguments",
                unknown.join(", "),
                FIELDS.join(", ")
            ));
        }
        let argv = match (object.get("argv"), object.get("script")) {
            (Some(argv), None) => parse_argv(argv)?,
            (None, Some(Value::String(script))) => {
                if script.trim().is_empty() {
                    return Err("`script` is empty".into());
                }
                if script.contains('\0') {
                    return Err("`script` contains a NUL byte".into());
                }
                vec!["sh".into(), "-c".into(), script.clone()]
            }
            (None, Some(_)) => return Err("`script` must be a string".into()),
            (Some(_), Some(_)) => {
                return Err("give `argv` or `script`, not both".into());
            }
            (None, None) => {
                return Err(
                    "give `argv` (an array: program and arguments) or `script` (a shell script)"
                        .into(),
                );
            }
        };
        let cwd = match object.get("cwd") {
            None | Some(Value::Null) => project.to_path_buf(),
            Some(Value::String(cwd)) => within_project(cwd, project)?,
            Some(_) => return Err("`cwd` must be a string".into()),
        };
        let timeout_ms = bounded(object, "timeout_ms", DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS)?;
        let max_output_bytes = bounded(
            object,
            "max_output_bytes",
            DEFAULT_OUTPUT_BYTES as u64,
            MAX_OUTPUT_BYTES as u64,
        )?;
        Ok(Self {
            argv,
            cwd,
            timeout: Duration::from_millis(timeout_ms),
            max_output_bytes: usize::try_from(max_output_bytes).unwrap_or(MAX_OUTPUT_BYTES),
        })
    }
}

fn parse_argv(value: &Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        return Err("`argv` must be an array of strings, e.g. [\"ls\", \"-l\"]".into());
    };
    if items.is_empty() {
        return Err("`argv` is empty: it needs at least the program".into());
    }
    let mut argv = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let Value::String(word) = item else {
            return Err(format!("`argv[{index}]` must be a string, not {item}"));
        };
        if word.contains('\0') {
            return Err(format!("`argv[{index}]` contains a NUL byte"));
        }
        argv.push(word.clone());
    }
    if argv[0].is_empty() {
        return Err("`argv[0]` (the program) is empty".into());
    }
    Ok(argv)
}

fn within_project(raw: &str, project: &Path) -> Result<PathBuf, String> {
    if raw.contains('\0') {
        return Err("`cwd` contains a NUL byte".into());
    }
    let joined = project.join(raw);
    let canonical = joined.canonicalize().map_err(|error| {
        format!(
            "`cwd` {raw}: {error} (it must be an existing directory in the project {})",
            project.display()
        )
    })?;
    if !canonical.starts_with(project) {
        return Err(format!(
            "`cwd` {raw} is {}, outside the project {}: commands run only inside the project",
            canonical.display(),
            project.display()
        ));
    }
    if !canonical.is_dir() {
        return Err(format!("`cwd` {raw} is not a directory"));
    }
    Ok(canonical)
}

fn bounded(object: &Map<String, Value>, key: &str, default: u64, max: u64) -> Result<u64, String> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(value) => match value.as_u64() {
            Some(number) if (1..=max).contains(&number) => Ok(number),
            Some(number) if number > max => {
                Err(format!("`{key}` {number} is above the maximum {max}"))
            }
            _ => Err(format!(
                "`{key}` must be an integer from 1 to {max}, not {value}"
            )),
        },
    }
}

/// A tool result that reports a problem with the call (isError, text only).
pub(crate) fn error_result(text: impl Into<String>) -> Value {
    json!({"content": [{"type": "text", "text": text.into()}], "isError": true})
}

/// The tool result for a command that ran (or was stopped).
pub(crate) fn ran(outcome: &Outcome, structured: bool) -> Value {
    let status = match (outcome.timed_out, outcome.code, outcome.signal) {
        (true, ..) => format!(
            "timed out after {} ms and was stopped",
            outcome.duration.as_millis()
        ),
        (false, Some(code), _) => format!("exit status {code}"),
        (false, None, Some(signal)) => format!("killed by signal {signal}"),
        (false, None, None) => "ended without a status".to_owned(),
    };
    let mut text = status;
    for (name, captured) in [("stdout", &outcome.stdout), ("stderr", &outcome.stderr)] {
        let note = if captured.truncated {
            format!(" ({} bytes, truncated)", captured.total_bytes)
        } else {
            String::new()
        };
        text.push_str(&format!("\n--- {name}{note} ---\n{}", captured.text));
    }
    let mut result = json!({
        "content": [{"type": "text", "text": text}],
        "isError": outcome.timed_out || outcome.code != Some(0),
    });
    if structured && let Value::Object(object) = &mut result {
        object.insert(
            "structuredContent".into(),
            json!({
                "exit_code": outcome.code,
                "signal": outcome.signal,
                "timed_out": outcome.timed_out,
                "duration_ms": u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
                "stdout": outcome.stdout.text,
                "stderr": outcome.stderr.text,
                "stdout_bytes": outcome.stdout.total_bytes,
                "stderr_bytes": outcome.stderr.total_bytes,
                "stdout_truncated": outcome.stdout.truncated,
                "stderr_truncated": outcome.stderr.truncated,
            }),
        );
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        std::fs::create_dir_all(project.join("src")).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        let project = project.canonicalize().unwrap();
        (dir, project)
    }

    fn parse(arguments: &Value, project: &Path) -> Result<RunRequest, String> {
        RunRequest::parse(Some(arguments), project)
    }

    #[test]
    fn argv_and_script_and_defaults() {
        let (_dir, project) = project();
        let request = parse(&json!({"argv": ["ls", "-l"]}), &project).unwrap();
        assert_eq!(request.argv, ["ls", "-l"]);
        assert_eq!(request.cwd, project);
        assert_eq!(request.timeout, Duration::from_millis(DEFAULT_TIMEOUT_MS));
        assert_eq!(request.max_output_bytes, DEFAULT_OUTPUT_BYTES);
        let script = parse(&json!({"script": "echo a | wc -c", "cwd": "src"}), &project).unwrap();
        assert_eq!(script.argv, ["sh", "-c", "echo a | wc -c"]);
        assert_eq!(script.cwd, project.join("src"));
    }

    #[test]
    fn wrong_arguments_say_what_to_send() {
        let (dir, project) = project();
        let cases = [
            (json!({}), "give `argv`"),
            (json!({"argv": ["a"], "script": "b"}), "not both"),
            (json!({"argv": []}), "empty"),
            (json!({"argv": "ls -l"}), "array of strings"),
            (json!({"argv": ["ls", 3]}), "`argv[1]`"),
            (json!({"argv": ["ls\u{0}"]}), "NUL"),
            (json!({"argv": [""]}), "program"),
            (json!({"script": " "}), "empty"),
            (json!({"argv": ["ls"], "timeout_ms": 0}), "from 1 to"),
            (
                json!({"argv": ["ls"], "timeout_ms": 600_001}),
                "above the maximum 600000",
            ),
            (json!({"argv": ["ls"], "max_output_bytes": -5}), "from 1 to"),
            (
                json!({"argv": ["ls"], "cwd": "missing"}),
                "existing directory",
            ),
            (json!({"argv": ["ls"], "cwd": ".."}), "outside the project"),
            (
                json!({"argv": ["ls"], "cwd": "src/../../outside"}),
                "outside the project",
            ),
            (
                json!({"argv": ["ls"], "cwd": dir.path().join("outside").to_str().unwrap()}),
                "outside the project",
            ),
            (
                json!({"argv": ["ls"], "approved": true}),
                "never through arguments",
            ),
            (
                json!({"argv": ["ls"], "decision": "always"}),
                "unknown argument(s) decision",
            ),
        ];
        for (arguments, expected) in cases {
            let error = parse(&arguments, &project).unwrap_err();
            assert!(error.contains(expected), "{arguments}: {error}");
        }
        assert!(RunRequest::parse(Some(&json!([1])), &project).is_err());
    }

    #[test]
    fn a_symlink_out_of_the_project_is_outside() {
        let (dir, project) = project();
        std::os::unix::fs::symlink(dir.path().join("outside"), project.join("link")).unwrap();
        let error = parse(&json!({"argv": ["ls"], "cwd": "link"}), &project).unwrap_err();
        assert!(error.contains("outside the project"), "{error}");
    }

    #[test]
    fn the_schema_names_every_field_the_parser_takes() {
        let tool = definition(true);
        let properties = tool["inputSchema"]["properties"].as_object().unwrap();
        let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut fields = FIELDS.to_vec();
        fields.sort_unstable();
        assert_eq!(names, fields);
        assert!(definition(false).get("outputSchema").is_none());
    }
}
