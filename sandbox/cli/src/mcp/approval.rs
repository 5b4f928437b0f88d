//! Approvals through MCP: the `needs_approval` record `cordon run --approval-request`
//! writes (the decision API), the `elicitation/create` question put to the human from
//! it, the reading of the human's answer, and the tool result for a client that cannot
//! ask. Nothing here reads the tool call's arguments: only the human's answer to the
//! elicitation decides.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

/// The exit status of `cordon run` when a command needs an approval nobody gave.
pub(crate) const EXIT_NEEDS_APPROVAL: i32 = 126;
/// The channel recorded for an answer given through MCP elicitation.
pub(crate) const CHANNEL: &str = "mcp-elicitation";

/// The `needs_approval` record (the decision API's contract).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct NeedsApproval {
    pub(crate) request_id: String,
    pub(crate) shape: String,
    #[serde(default)]
    pub(crate) executable: Option<String>,
    pub(crate) cwd: String,
    #[serde(default)]
    pub(crate) capability_delta: Vec<String>,
    #[serde(default)]
    pub(crate) cacheable: bool,
    #[serde(default)]
    pub(crate) expires: Option<String>,
    #[serde(default)]
    pub(crate) decision_hash: String,
    /// Why the shape may not be cached (from the approvals store).
    #[serde(skip)]
    pub(crate) uncacheable: Option<String>,
    /// The record as written, returned to clients that cannot ask.
    #[serde(skip)]
    pub(crate) raw: Value,
}

/// Reads the record `cordon run` left at `path`: `None` when there is none (the command
/// itself exited 126), an error when one is there but is not a valid record.
pub(crate) fn read(path: &Path) -> Option<Result<NeedsApproval, String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(parse(&bytes).map_err(|error| format!("{}: {error}", path.display())))
}

pub(crate) fn parse(bytes: &[u8]) -> Result<NeedsApproval, String> {
    let raw: Value = serde_json::from_slice(bytes).map_err(|error| format!("not JSON: {error}"))?;
    if raw.get("type").and_then(Value::as_str) != Some("needs_approval") {
        return Err("not a needs_approval record (\"type\")".into());
    }
    let mut record = NeedsApproval::deserialize(&raw)
        .map_err(|error| format!("not a needs_approval record: {error}"))?;
    let id_ok = !record.request_id.is_empty()
        && record.request_id.len() <= 128
        && record
            .request_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if !id_ok {
        return Err(format!(
            "request_id {:?} is not an id cordon makes",
            escape(&record.request_id)
        ));
    }
    record.raw = raw;
    Ok(record)
}

/// The request as the approvals store holds it (what the human is shown), with the
/// record `cordon run` returned kept for clients that cannot ask.
pub(crate) fn from_store(
    request: &cordon_approvals::Request,
    record: &NeedsApproval,
) -> NeedsApproval {
    NeedsApproval {
        request_id: request.request_id.clone(),
        shape: request.shape.clone(),
        executable: request.executable.clone(),
        cwd: request.cwd.clone(),
        capability_delta: request.capability_delta.clone(),
        cacheable: request.uncacheable.is_none(),
        expires: Some(request.expires.clone()),
        decision_hash: request.decision_hash.clone(),
        uncacheable: request.uncacheable.clone(),
        raw: record.raw.clone(),
    }
}

/// Escapes what a terminal or a dialog could render misleadingly: control characters
/// (C0, DEL, C1), bidirectional overrides and isolates, and zero-width characters.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        let code = u32::from(character);
        let hidden = character.is_control()
            || matches!(code, 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x2069 | 0xFEFF);
        match character {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            _ if hidden => out.push_str(&format!("\\u{{{code:x}}}")),
            _ => out.push(character),
        }
    }
    out
}

/// The answer to offer: `always` only when the shape may be cached.
fn choices(record: &NeedsApproval) -> Vec<(&'static str, &'static str)> {
    let mut choices = vec![("once", "Allow once (this exact command, now)")];
    if record.cacheable {
        choices.push((
            "always",
            "Allow always (this command shape in this project; `cordon approvals rm` revokes)",
        ));
    }
    choices.push(("deny", "Deny"));
    choices
}

/// The `elicitation/create` parameters asking the human about `record` (`mode` is
/// named from protocol 2025-11-25 on, where elicitation has more than one).
pub(crate) fn question(record: &NeedsApproval, with_mode: bool) -> Value {
    let delta = if record.capability_delta.is_empty() {
        "none beyond the policy".to_owned()
    } else {
        record
            .capability_delta
            .iter()
            .map(|line| escape(line))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let cache_note = match (record.cacheable, &record.uncacheable) {
        (true, _) => String::new(),
        (false, Some(reason)) => format!(
            "\nIt can be allowed once only: its shape cannot be cached ({}).",
            escape(reason)
        ),
        (false, None) => "\nIt can be allowed once only: its shape cannot be cached.".to_owned(),
    };
    let message = format!(
        "cordon: an agent asks to run a command that needs your approval.\n\n\
         command:      {}\n\
         executable:   {}\n\
         directory:    {}\n\
         capabilities: {delta}\n\
         request:      {} (expires {})\n\n\
         It runs inside the sandbox whatever you answer; approving lets it start.{cache_note}",
        escape(&record.shape),
        record
            .executable
            .as_deref()
            .map_or_else(|| "(not found on PATH)".to_owned(), escape),
        escape(&record.cwd),
        escape(&record.request_id),
        record
            .expires
            .as_deref()
            .map_or_else(|| "unknown".to_owned(), escape),
    );
    let choices = choices(record);
    let mut question = json!({
        "message": message,
        "requestedSchema": {
            "type": "object",
            "properties": {
                "decision": {
                    "type": "string",
                    "title": "Decision",
                    "description": "Allow this command once, always (its shape, in this project), or deny it.",
                    "enum": choices.iter().map(|(value, _)| *value).collect::<Vec<_>>(),
                    "enumNames": choices.iter().map(|(_, label)| *label).collect::<Vec<_>>(),
                }
            },
            "required": ["decision"]
        }
    });
    if with_mode && let Value::Object(object) = &mut question {
        object.insert("mode".into(), "form".into());
    }
    question
}

/// What the human answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    Once,
    Always,
    /// Chose "deny".
    Deny,
    /// Declined the form.
    Declined,
    /// Dismissed it.
    Cancelled,
}

/// Reads an `elicitation/create` result. Anything but a well-formed acceptance of an
/// offered choice counts as a refusal.
pub(crate) fn answer(result: &Value, record: &NeedsApproval) -> Answer {
    match result.get("action").and_then(Value::as_str) {
        Some("accept") => {
            let decision = result
                .get("content")
                .and_then(|content| content.get("decision"))
                .and_then(Value::as_str);
            let offered = choices(record);
            match decision {
                Some(choice) if !offered.iter().any(|(value, _)| *value == choice) => {
                    Answer::Declined
                }
                Some("once") => Answer::Once,
                Some("always") => Answer::Always,
                _ => Answer::Deny,
            }
        }
        Some("decline") => Answer::Declined,
        _ => Answer::Cancelled,
    }
}

/// The tool result when the client cannot ask its human: the record, for the host (or
/// the user, with `cordon approve`) to decide outside the model's reach.
pub(crate) fn unanswered(record: &NeedsApproval, structured: bool, why: &str) -> Value {
    let text = format!(
        "cordon: not run: this command needs the user's approval ({why}).\n\
         command: {}\n\
         The user approves with `cordon approve {}` (or `--always`) in a terminal; then call \
         run_command again with the same arguments. Request record: {}",
        escape(&record.shape),
        record.request_id,
        record.raw
    );
    let mut result = json!({"content": [{"type": "text", "text": text}], "isError": true});
    if structured && let Value::Object(object) = &mut result {
        object.insert("structuredContent".into(), record.raw.clone());
    }
    result
}

/// The tool result when the human said no.
pub(crate) fn denied(record: &NeedsApproval, how: &str) -> Value {
    json!({
        "content": [{"type": "text", "text": format!(
            "cordon: not run: denied by the user ({how}): {}",
            escape(&record.shape)
        )}],
        "isError": true
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(cacheable: bool) -> NeedsApproval {
        let raw = json!({
            "type": "needs_approval", "request_id": "r-1", "shape": "git push\u{202e}x",
            "argv": ["git", "push"], "executable": "/usr/bin/git", "cwd": "/p",
            "capability_delta": ["network.allow github.com:443"], "cacheable": cacheable,
            "expires": "2026-12-02T07:00:00Z", "decision_hash": "sha256:00",
            "approve_with": "cordon approve r-1"
        });
        parse(raw.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn records_are_checked() {
        assert!(parse(b"{").is_err());
        assert!(parse(br#"{"type":"other","request_id":"a","shape":"x","cwd":"/"}"#).is_err());
        let bad_id = br#"{"type":"needs_approval","request_id":"../x","shape":"x","cwd":"/"}"#;
        assert!(parse(bad_id).unwrap_err().contains("not an id"));
        assert_eq!(record(true).request_id, "r-1");
    }

    #[test]
    fn the_question_escapes_what_it_shows_and_offers_always_only_when_cacheable() {
        let question = question(&record(true), true);
        assert_eq!(question["mode"], "form");
        let message = question["message"].as_str().unwrap();
        assert!(message.contains("git push\\u{202e}x"), "{message}");
        assert!(message.contains("network.allow github.com:443"));
        let choices = &question["requestedSchema"]["properties"]["decision"]["enum"];
        assert_eq!(choices, &json!(["once", "always", "deny"]));
        let once_only = super::question(&record(false), false);
        assert!(once_only.get("mode").is_none());
        assert_eq!(
            once_only["requestedSchema"]["properties"]["decision"]["enum"],
            json!(["once", "deny"])
        );
    }

    #[test]
    fn only_a_well_formed_acceptance_of_an_offered_choice_allows() {
        let cacheable = record(true);
        let not_cacheable = record(false);
        let accept = |choice: Value| json!({"action": "accept", "content": {"decision": choice}});
        assert_eq!(answer(&accept(json!("once")), &cacheable), Answer::Once);
        assert_eq!(answer(&accept(json!("always")), &cacheable), Answer::Always);
        assert_eq!(
            answer(&accept(json!("always")), &not_cacheable),
            Answer::Declined
        );
        assert_eq!(answer(&accept(json!("deny")), &cacheable), Answer::Deny);
        assert_eq!(answer(&accept(json!("yes")), &cacheable), Answer::Declined);
        assert_eq!(answer(&accept(json!(true)), &cacheable), Answer::Deny);
        assert_eq!(
            answer(&json!({"action": "accept"}), &cacheable),
            Answer::Deny
        );
        assert_eq!(
            answer(&json!({"action": "decline"}), &cacheable),
            Answer::Declined
        );
        assert_eq!(
            answer(&json!({"action": "cancel"}), &cacheable),
            Answer::Cancelled
        );
        assert_eq!(answer(&json!({}), &cacheable), Answer::Cancelled);
    }

    #[test]
    fn escape_shows_hidden_characters() {
        assert_eq!(
            escape("a\u{1b}[2Jb\u{200b}c\td"),
            "a\\u{1b}[2Jb\\u{200b}c\\td"
        );
        assert_eq!(escape("plain é"), "plain é");
    }
}
