//! JSON-RPC 2.0 as MCP's stdio transport uses it: one message per line (UTF-8, no
//! embedded newlines), each a request, a notification or a response. This module
//! reads lines with a size cap, classifies them, and builds the messages the server
//! sends; it knows nothing of MCP's methods.

use std::io::{self, BufRead};

use serde_json::{Map, Number, Value};

/// Invalid JSON.
pub(crate) const PARSE_ERROR: i64 = -32700;
/// Valid JSON that is not a JSON-RPC 2.0 message.
pub(crate) const INVALID_REQUEST: i64 = -32600;
/// A method the server does not have.
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
/// A method's parameters are wrong.
pub(crate) const INVALID_PARAMS: i64 = -32602;
/// A request other than `initialize` or `ping` before `initialize` (LSP's code).
pub(crate) const NOT_INITIALIZED: i64 = -32002;

/// The longest line read (a message above it is answered with an error and skipped).
pub(crate) const MAX_LINE_BYTES: usize = 4 << 20;

/// A request id: a string or an integer (MCP forbids `null`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum RequestId {
    Number(Number),
    String(String),
}

impl RequestId {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(text) => Some(Self::String(text.clone())),
            Value::Number(number) if number.is_i64() || number.is_u64() => {
                Some(Self::Number(number.clone()))
            }
            _ => None,
        }
    }

    pub(crate) fn to_value(&self) -> Value {
        match self {
            Self::Number(number) => Value::Number(number.clone()),
            Self::String(text) => Value::String(text.clone()),
        }
    }
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
    pub(crate) data: Option<Value>,
}

impl RpcError {
    pub(crate) fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    fn to_value(&self) -> Value {
        let mut object = Map::new();
        object.insert("code".into(), self.code.into());
        object.insert("message".into(), self.message.clone().into());
        if let Some(data) = &self.data {
            object.insert("data".into(), data.clone());
        }
        Value::Object(object)
    }

    fn from_value(value: &Value) -> Self {
        Self {
            code: value.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
                .to_owned(),
            data: value.get("data").cloned(),
        }
    }
}

/// One message received.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    Request {
        id: RequestId,
        method: String,
        params: Option<Value>,
    },
    Notification {
        method: String,
        params: Option<Value>,
    },
    Response {
        id: RequestId,
        outcome: Result<Value, RpcError>,
    },
}

/// A line that is not a message the server can take: the error to answer with, under
/// the id the line carried when one could be read (`null` otherwise).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Invalid {
    pub(crate) id: Value,
    pub(crate) error: RpcError,
}

impl Invalid {
    fn new(id: Value, code: i64, message: impl Into<String>) -> Self {
        Self {
            id,
            error: RpcError::new(code, message),
        }
    }

    /// The error response to send.
    pub(crate) fn answer(&self) -> Value {
        error_response(self.id.clone(), &self.error)
    }
}

/// Classifies one line (without its newline).
pub(crate) fn parse(line: &[u8]) -> Result<Message, Invalid> {
    let value: Value = serde_json::from_slice(line).map_err(|error| {
        Invalid::new(
            Value::Null,
            PARSE_ERROR,
            format!("not JSON ({error}): each line must hold one JSON-RPC 2.0 message"),
        )
    })?;
    let Value::Object(object) = value else {
        let what = if value.is_array() {
            "a batch (an array): MCP 2025-06-18 has no batches, send one message per line"
        } else {
            "not a JSON object: a JSON-RPC 2.0 message is an object"
        };
        return Err(Invalid::new(Value::Null, INVALID_REQUEST, what));
    };
    let raw_id = object.get("id");
    let id = raw_id.and_then(RequestId::from_value);
    let echo = id.as_ref().map_or(Value::Null, RequestId::to_value);
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(Invalid::new(
            echo,
            INVALID_REQUEST,
            "\"jsonrpc\" must be \"2.0\"",
        ));
    }
    if let (Some(raw), None) = (raw_id, &id) {
        return Err(Invalid::new(
            Value::Null,
            INVALID_REQUEST,
            format!("\"id\" must be a string or an integer, not {raw}"),
        ));
    }
    let params = object.get("params").cloned();
    if let Some(params) = &params
        && !params.is_object()
        && !params.is_array()
    {
        return Err(Invalid::new(
            echo,
            INVALID_REQUEST,
            "\"params\" must be an object",
        ));
    }
    match (object.get("method"), id) {
        (Some(Value::String(method)), Some(id)) => Ok(Message::Request {
            id,
            method: method.clone(),
            params,
        }),
        (Some(Value::String(method)), None) => Ok(Message::Notification {
            method: method.clone(),
            params,
        }),
        (Some(_), _) => Err(Invalid::new(
            echo,
            INVALID_REQUEST,
            "\"method\" must be a string",
        )),
        (None, Some(id)) => match (object.get("result"), object.get("error")) {
            (Some(result), None) => Ok(Message::Response {
                id,
                outcome: Ok(result.clone()),
            }),
            (None, Some(error)) if error.is_object() => Ok(Message::Response {
                id,
                outcome: Err(RpcError::from_value(error)),
            }),
            _ => Err(Invalid::new(
                echo,
                INVALID_REQUEST,
                "a response needs exactly one of \"result\" and \"error\" (an object)",
            )),
        },
        (None, None) => Err(Invalid::new(
            Value::Null,
            INVALID_REQUEST,
            "neither a request (\"method\") nor a response (\"id\" with \"result\" or \"error\")",
        )),
    }
}

/// Reads a request id (as `notifications/cancelled` names one).
pub(crate) fn parse_id(value: &Value) -> Option<RequestId> {
    RequestId::from_value(value)
}

/// A message: `jsonrpc` and the given members.
fn message(members: [(&str, Value); 2]) -> Value {
    let mut object = Map::new();
    object.insert("jsonrpc".into(), "2.0".into());
    for (key, value) in members {
        object.insert(key.into(), value);
    }
    Value::Object(object)
}

/// A success response.
pub(crate) fn response(id: &RequestId, result: Value) -> Value {
    message([("id", id.to_value()), ("result", result)])
}

/// An error response (`id` is `null` when the request's id could not be read).
pub(crate) fn error_response(id: Value, error: &RpcError) -> Value {
    message([("id", id), ("error", error.to_value())])
}

/// A request from the server to the client.
pub(crate) fn request(id: u64, method: &str, params: Value) -> Value {
    let mut request = message([("id", id.into()), ("method", method.into())]);
    if let Value::Object(object) = &mut request {
        object.insert("params".into(), params);
    }
    request
}

/// A notification.
pub(crate) fn notification(method: &str, params: Value) -> Value {
    message([("method", method.into()), ("params", params)])
}

/// What one read from the input gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Line {
    /// One line, without its newline (and without a `\r` before it).
    Text(Vec<u8>),
    /// A line longer than the cap (its length so far); it was skipped to its end.
    TooLong(usize),
    /// End of input.
    End,
}

/// Reads the next line of at most `cap` bytes, skipping empty lines.
pub(crate) fn read_line(input: &mut impl BufRead, cap: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    let mut length = 0usize;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            // A last line without its newline still counts.
            return Ok(match (length, length > cap) {
                (0, _) => Line::End,
                (_, true) => Line::TooLong(length),
                (_, false) => Line::Text(trim_cr(line)),
            });
        }
        let (chunk, found) = match available.iter().position(|&byte| byte == b'\n') {
            Some(end) => (&available[..end], true),
            None => (available, false),
        };
        length = length.saturating_add(chunk.len());
        if length <= cap {
            line.extend_from_slice(chunk);
        } else {
            line = Vec::new();
        }
        let consumed = chunk.len() + usize::from(found);
        input.consume(consumed);
        if found {
            if length > cap {
                return Ok(Line::TooLong(length));
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                line.clear();
                length = 0;
                continue;
            }
            return Ok(Line::Text(trim_cr(line)));
        }
    }
}

fn trim_cr(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn invalid(line: &str) -> Invalid {
        match parse(line.as_bytes()) {
            Err(invalid) => invalid,
            Ok(message) => panic!("{line} parsed as {message:?}"),
        }
    }

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        let request = parse(br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).unwrap();
        assert_eq!(
            request,
            Message::Request {
                id: RequestId::Number(7.into()),
                method: "ping".into(),
                params: None
            }
        );
        let note = parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert!(matches!(note, Message::Notification { .. }));
        let ok = parse(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#).unwrap();
        assert!(matches!(ok, Message::Response { outcome: Ok(_), .. }));
        let err = parse(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}"#).unwrap();
        match err {
            Message::Response {
                outcome: Err(error),
                ..
            } => assert_eq!((error.code, error.message.as_str()), (-1, "no")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_lines_get_the_right_code_and_the_id_when_readable() {
        assert_eq!(invalid("{not json").error.code, PARSE_ERROR);
        assert_eq!(invalid("{not json").id, Value::Null);
        assert_eq!(invalid("[]").error.code, INVALID_REQUEST);
        assert!(invalid("[]").error.message.contains("batch"));
        assert_eq!(invalid("42").error.code, INVALID_REQUEST);
        let wrong_version = invalid(r#"{"jsonrpc":"1.0","id":3,"method":"ping"}"#);
        assert_eq!(
            (wrong_version.error.code, wrong_version.id),
            (INVALID_REQUEST, json!(3))
        );
        assert_eq!(
            invalid(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#)
                .error
                .code,
            INVALID_REQUEST
        );
        assert_eq!(
            invalid(r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#)
                .error
                .code,
            INVALID_REQUEST
        );
        assert_eq!(
            invalid(r#"{"jsonrpc":"2.0","id":1,"method":5}"#).id,
            json!(1)
        );
        assert_eq!(
            invalid(r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#)
                .error
                .code,
            INVALID_REQUEST
        );
        assert_eq!(
            invalid(r#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#)
                .error
                .code,
            INVALID_REQUEST
        );
        assert_eq!(invalid(r#"{"jsonrpc":"2.0"}"#).error.code, INVALID_REQUEST);
        assert_eq!(invalid("\u{7f}\u{0}").error.code, PARSE_ERROR);
        let answer = invalid("{").answer();
        assert_eq!(answer["id"], Value::Null);
        assert_eq!(answer["error"]["code"], PARSE_ERROR);
    }

    #[test]
    fn lines_are_capped_and_the_reader_resynchronises() {
        let input = b"{\"a\":1}\r\n\n   \n0123456789abcdef\nshort\nlast";
        let mut reader = io::BufReader::with_capacity(4, &input[..]);
        let mut lines = Vec::new();
        loop {
            match read_line(&mut reader, 10).unwrap() {
                Line::End => break,
                line => lines.push(line),
            }
        }
        assert_eq!(
            lines,
            vec![
                Line::Text(b"{\"a\":1}".to_vec()),
                Line::TooLong(16),
                Line::Text(b"short".to_vec()),
                Line::Text(b"last".to_vec()),
            ]
        );
    }
}
