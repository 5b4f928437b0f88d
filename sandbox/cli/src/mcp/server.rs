//! The MCP session over stdio: the read loop (one message per line), the lifecycle
//! (`initialize` with version and capability negotiation, `ping`), `tools/list`,
//! `tools/call` on a worker thread per call, `notifications/cancelled`, and the
//! server's own requests to the client (`elicitation/create`) with their responses
//! routed back. Standard output carries protocol messages only; logs go to stderr.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::{Value, json};

use super::call::{self, Config};
use super::exec::Cancel;
use super::protocol::{
    self, INVALID_PARAMS, INVALID_REQUEST, Line, MAX_LINE_BYTES, METHOD_NOT_FOUND, Message,
    NOT_INITIALIZED, RequestId, RpcError,
};
use super::tool;

/// The protocol version cordon speaks first (the first with elicitation and
/// structured tool output).
pub(crate) const PROTOCOL_VERSION: &str = "2025-06-18";
/// Every version cordon answers in: a client asking for one of them gets it back. The
/// older two have neither elicitation nor structured content, and cordon leaves them
/// out there; 2025-11-25 changes nothing this server uses.
const PROTOCOL_VERSIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// At most this many calls run at once.
const MAX_RUNNING: usize = 16;

/// The client, as `initialize` described it.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// The negotiated protocol version.
    pub(crate) protocol: &'static str,
    /// It declared `elicitation` (form mode) and the version has it.
    pub(crate) elicitation: bool,
    /// Its `clientInfo.name`, for logs.
    pub(crate) name: String,
}

impl Client {
    /// Whether tool results may carry `structuredContent` (2025-06-18 on).
    pub(crate) fn structured(&self) -> bool {
        self.protocol >= "2025-06-18"
    }
}

/// Why a request the server sent got no result.
#[derive(Debug)]
pub(crate) enum RequestFailure {
    /// The client answered with an error.
    Rpc(RpcError),
    /// The call that needed the answer was cancelled.
    Cancelled,
    /// The client went away.
    Closed,
}

/// The client as the server talks to it: writes one message per line, and waits for
/// the answers to its own requests.
pub(crate) struct Peer {
    output: Mutex<Box<dyn Write + Send>>,
    pending: Mutex<HashMap<u64, mpsc::Sender<Result<Value, RpcError>>>>,
    next_id: AtomicU64,
    broken: AtomicBool,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer").finish_non_exhaustive()
    }
}

impl Peer {
    fn new(output: Box<dyn Write + Send>) -> Self {
        Self {
            output: Mutex::new(output),
            pending: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            broken: AtomicBool::new(false),
        }
    }

    /// Writes one message and its newline (serde_json's compact form has no raw newline).
    pub(crate) fn send(&self, message: &Value) {
        let mut line = message.to_string().into_bytes();
        line.push(b'\n');
        let mut output = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        let written = output.write_all(&line).and_then(|()| output.flush());
        if let Err(error) = written
            && !self.broken.swap(true, Ordering::SeqCst)
        {
            eprintln!("cordon mcp: cannot write to the client: {error}");
        }
    }

    /// Sends a request and waits for its answer; when `cancel` is set first, tells the
    /// client the request is abandoned.
    pub(crate) fn request(
        &self,
        method: &str,
        params: Value,
        cancel: &Cancel,
    ) -> Result<Value, RequestFailure> {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let (sender, receiver) = mpsc::channel();
        self.pending_map().insert(id, sender);
        self.send(&protocol::request(id, method, params));
        loop {
            match receiver.recv_timeout(Duration::from_millis(50)) {
                Ok(outcome) => return outcome.map_err(RequestFailure::Rpc),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(RequestFailure::Closed),
                Err(mpsc::RecvTimeoutError::Timeout) if cancel.is_cancelled() => {
                    self.pending_map().remove(&id);
                    self.send(&protocol::notification(
                        "notifications/cancelled",
                        json!({"requestId": id, "reason": "the tool call that asked was cancelled"}),
                    ));
                    return Err(RequestFailure::Cancelled);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    fn pending_map(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<u64, mpsc::Sender<Result<Value, RpcError>>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deliver(&self, id: &RequestId, outcome: Result<Value, RpcError>) {
        let sender = match id {
            RequestId::Number(number) => number
                .as_u64()
                .and_then(|id| self.pending_map().remove(&id)),
            RequestId::String(_) => None,
        };
        match sender {
            Some(sender) => {
                let _ = sender.send(outcome);
            }
            None => eprintln!(
                "cordon mcp: a response to request {} that is not pending (ignored)",
                id.to_value()
            ),
        }
    }

    /// Ends every wait: the client is gone.
    fn close(&self) {
        self.pending_map().clear();
    }
}

/// Whether the client can ask its user a form: it declared `elicitation` (2025-11-25:
/// `{}` means form mode, `{"url": {}}` alone has no form) in a version that has it.
fn can_elicit(initialize: &Value, protocol: &str) -> bool {
    initialize
        .get("capabilities")
        .and_then(|capabilities| capabilities.get("elicitation"))
        .is_some_and(|elicitation| {
            elicitation.is_object()
                && (elicitation.get("form").is_some() || elicitation.get("url").is_none())
        })
        && protocol >= "2025-06-18"
}

/// The calls running, each with its cancellation flag.
#[derive(Debug, Clone, Default)]
pub(crate) struct Running(Arc<Mutex<HashMap<RequestId, Arc<Cancel>>>>);

impl Running {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RequestId, Arc<Cancel>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stops every running call (their commands are killed).
    pub(crate) fn cancel_all(&self) {
        for cancel in self.lock().values() {
            cancel.cancel();
        }
    }

    /// Waits until no call runs, at most `limit`; whether none does.
    pub(crate) fn wait_idle(&self, limit: Duration) -> bool {
        let until = std::time::Instant::now() + limit;
        while !self.lock().is_empty() {
            if std::time::Instant::now() >= until {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

/// One session: serves `input` until it ends, then stops what still runs.
pub(crate) fn serve(
    input: impl BufRead,
    output: Box<dyn Write + Send>,
    config: Config,
    running: Running,
) -> io::Result<()> {
    let mut session = Session {
        peer: Arc::new(Peer::new(output)),
        config: Arc::new(config),
        client: None,
        running,
        workers: Vec::new(),
    };
    let mut input = input;
    loop {
        match protocol::read_line(&mut input, MAX_LINE_BYTES)? {
            Line::End => break,
            Line::TooLong(length) => session.peer.send(&protocol::error_response(
                Value::Null,
                &RpcError::new(
                    INVALID_REQUEST,
                    format!("a message of {length} bytes is above the limit of {MAX_LINE_BYTES}"),
                ),
            )),
            Line::Text(line) => match protocol::parse(&line) {
                Ok(message) => session.handle(message),
                Err(invalid) => {
                    eprintln!("cordon mcp: malformed message: {}", invalid.error.message);
                    session.peer.send(&invalid.answer());
                }
            },
        }
        session.workers.retain(|worker| !worker.is_finished());
    }
    session.shut_down();
    Ok(())
}

struct Session {
    peer: Arc<Peer>,
    config: Arc<Config>,
    client: Option<Arc<Client>>,
    running: Running,
    workers: Vec<JoinHandle<()>>,
}

impl Session {
    fn handle(&mut self, message: Message) {
        match message {
            Message::Request { id, method, params } => {
                if let Some(result) = self.request(&id, &method, params) {
                    let answer = match result {
                        Ok(result) => protocol::response(&id, result),
                        Err(error) => protocol::error_response(id.to_value(), &error),
                    };
                    self.peer.send(&answer);
                }
            }
            Message::Notification { method, params } => self.notification(&method, params.as_ref()),
            Message::Response { id, outcome } => self.peer.deliver(&id, outcome),
        }
    }

    /// Answers a request, or returns `None` when a worker will.
    fn request(
        &mut self,
        id: &RequestId,
        method: &str,
        params: Option<Value>,
    ) -> Option<Result<Value, RpcError>> {
        match (method, &self.client) {
            ("ping", _) => Some(Ok(json!({}))),
            ("initialize", None) => Some(self.initialize(params.as_ref())),
            ("initialize", Some(_)) => {
                Some(Err(RpcError::new(INVALID_REQUEST, "already initialized")))
            }
            (_, None) => Some(Err(RpcError::new(
                NOT_INITIALIZED,
                format!("{method} before initialize: send initialize first"),
            ))),
            ("tools/list", Some(client)) => Some(Ok(
                json!({"tools": [tool::definition(client.structured())]}),
            )),
            ("tools/call", Some(client)) => {
                let client = Arc::clone(client);
                self.call(id, &client, params)
            }
            _ => Some(Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!(
                    "method {method} not found: cordon mcp serves initialize, ping, tools/list and tools/call"
                ),
            ))),
        }
    }

    fn initialize(&mut self, params: Option<&Value>) -> Result<Value, RpcError> {
        let params =
            params.ok_or_else(|| RpcError::new(INVALID_PARAMS, "initialize needs params"))?;
        let requested = params
            .get("protocolVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                RpcError::new(
                    INVALID_PARAMS,
                    "initialize: protocolVersion (a string) is missing",
                )
            })?;
        // The client's version when cordon speaks it, else cordon's own (the client
        // then decides whether it can go on).
        let protocol = PROTOCOL_VERSIONS
            .iter()
            .find(|version| **version == requested)
            .copied()
            .unwrap_or(PROTOCOL_VERSION);
        let elicitation = can_elicit(params, protocol);
        let name = params
            .get("clientInfo")
            .and_then(|info| info.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("an unnamed client")
            .to_owned();
        eprintln!(
            "cordon mcp: {name} connected (protocol {protocol}, {}); project {}",
            if elicitation {
                "can ask its user"
            } else {
                "cannot ask its user: approvals go back as needs_approval"
            },
            self.config.project.display()
        );
        self.client = Some(Arc::new(Client {
            protocol,
            elicitation,
            name,
        }));
        Ok(json!({
            "protocolVersion": protocol,
            "capabilities": {"tools": {"listChanged": false}},
            "serverInfo": {
                "name": "cordon",
                "title": "cordon sandbox",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "instructions": format!(
                "Run shell commands with the run_command tool: each runs in cordon's least-privilege \
                 sandbox in the project {}. Commands the user has not approved are shown to the user first.",
                self.config.project.display()
            ),
        }))
    }

    fn call(
        &mut self,
        id: &RequestId,
        client: &Arc<Client>,
        params: Option<Value>,
    ) -> Option<Result<Value, RpcError>> {
        let params = params.unwrap_or(Value::Null);
        let name = params.get("name").and_then(Value::as_str);
        if name != Some(tool::NAME) {
            let what = name.map_or_else(
                || "no tool name".to_owned(),
                |name| format!("unknown tool {name:?}"),
            );
            return Some(Err(RpcError::new(
                INVALID_PARAMS,
                format!("{what}: the only tool is {}", tool::NAME),
            )));
        }
        let cancel = Arc::new(Cancel::default());
        {
            let mut running = self.running.lock();
            if running.contains_key(id) {
                return Some(Err(RpcError::new(
                    INVALID_REQUEST,
                    format!(
                        "request id {} is already in use by a running call",
                        id.to_value()
                    ),
                )));
            }
            if running.len() >= MAX_RUNNING {
                return Some(Ok(tool::error_result(format!(
                    "cordon mcp: {MAX_RUNNING} commands are already running; wait for one to end"
                ))));
            }
            running.insert(id.clone(), Arc::clone(&cancel));
        }
        let context = call::Context {
            config: Arc::clone(&self.config),
            peer: Arc::clone(&self.peer),
            client: Arc::clone(client),
        };
        let running = self.running.clone();
        let peer = Arc::clone(&self.peer);
        let id = id.clone();
        let worker = thread::spawn(move || {
            let arguments = params.get("arguments");
            let result = call::run_command(&context, arguments, &cancel);
            running.lock().remove(&id);
            // A cancelled call gets no response (the client stopped waiting).
            if let Some(result) = result
                && !cancel.is_cancelled()
            {
                peer.send(&protocol::response(&id, result));
            }
        });
        self.workers.push(worker);
        None
    }

    fn notification(&mut self, method: &str, params: Option<&Value>) {
        match method {
            "notifications/cancelled" => {
                let id = params
                    .and_then(|params| params.get("requestId"))
                    .and_then(protocol::parse_id);
                let running = self.running.lock();
                // Not running (already answered, or never a call): nothing to stop.
                if let Some(cancel) = id.as_ref().and_then(|id| running.get(id)) {
                    eprintln!("cordon mcp: call cancelled by the client");
                    cancel.cancel();
                }
            }
            "notifications/initialized"
            | "notifications/roots/list_changed"
            | "notifications/progress" => {}
            other => eprintln!("cordon mcp: notification {other} ignored"),
        }
    }

    /// The input ended: stop every command and every wait for the client.
    fn shut_down(self) {
        self.running.cancel_all();
        self.peer.close();
        for worker in self.workers {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Standard output, kept.
    #[derive(Debug, Clone, Default)]
    struct Kept(Arc<Mutex<Vec<u8>>>);

    impl Write for Kept {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Serves `lines` (no tool call reaches a child here) and returns every message out.
    fn session(lines: &[String]) -> Vec<Value> {
        let mut input = lines.join("\n").into_bytes();
        input.push(b'\n');
        let kept = Kept::default();
        let nowhere = PathBuf::from("/nonexistent");
        let config = Config {
            exe: nowhere.clone(),
            project: PathBuf::from("/"),
            layer_flags: Vec::new(),
            state_dir: nowhere.clone(),
            approver: "tester".into(),
            transcript: (nowhere.clone(), nowhere),
        };
        serve(
            io::Cursor::new(input),
            Box::new(kept.clone()),
            config,
            Running::default(),
        )
        .unwrap();
        let bytes = kept.0.lock().unwrap().clone();
        String::from_utf8(bytes)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn initialize(version: &str) -> String {
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t"}}})
        .to_string()
    }

    fn line(id: u64, method: &str, params: &Value) -> String {
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
    }

    #[test]
    fn versions_are_negotiated_and_old_ones_get_no_structured_output() {
        for (asked, answered) in [
            ("2025-06-18", "2025-06-18"),
            ("2025-11-25", "2025-11-25"),
            ("2024-11-05", "2024-11-05"),
            ("2099-01-01", PROTOCOL_VERSION),
        ] {
            let out = session(&[initialize(asked), line(2, "tools/list", &json!({}))]);
            assert_eq!(out[0]["result"]["protocolVersion"], answered, "{asked}");
            let tool = &out[1]["result"]["tools"][0];
            assert_eq!(tool["name"], "run_command");
            assert_eq!(tool.get("outputSchema").is_some(), answered >= "2025-06-18");
        }
    }

    #[test]
    fn the_lifecycle_is_enforced_and_every_request_is_answered() {
        let out = session(&[
            line(1, "tools/list", &json!({})),
            line(2, "ping", &json!({})),
            initialize("2025-06-18"),
            initialize("2025-06-18"),
            line(3, "resources/list", &json!({})),
            line(4, "tools/call", &json!({"name": "rm_rf"})),
            line(5, "tools/call", &json!({})),
            json!({"jsonrpc": "2.0", "id": 99, "result": {}}).to_string(),
            json!({"jsonrpc": "2.0", "method": "notifications/whatever"}).to_string(),
            json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                   "params": {"requestId": 42}})
            .to_string(),
            "x".repeat(MAX_LINE_BYTES + 1),
            line(6, "ping", &json!({})),
        ]);
        let codes: Vec<(Value, Option<i64>)> = out
            .iter()
            .map(|message| (message["id"].clone(), message["error"]["code"].as_i64()))
            .collect();
        assert_eq!(
            codes,
            vec![
                (json!(1), Some(NOT_INITIALIZED)),
                (json!(2), None),
                (json!(1), None),
                (json!(1), Some(INVALID_REQUEST)),
                (json!(3), Some(METHOD_NOT_FOUND)),
                (json!(4), Some(INVALID_PARAMS)),
                (json!(5), Some(INVALID_PARAMS)),
                (Value::Null, Some(INVALID_REQUEST)),
                (json!(6), None),
            ]
        );
    }

    #[test]
    fn elicitation_is_used_only_when_declared_for_forms_in_a_version_that_has_it() {
        let with = |elicitation: Value| json!({"capabilities": {"elicitation": elicitation}});
        assert!(can_elicit(&with(json!({})), "2025-06-18"));
        assert!(can_elicit(
            &with(json!({"form": {}, "url": {}})),
            "2025-11-25"
        ));
        assert!(!can_elicit(&with(json!({"url": {}})), "2025-11-25"));
        assert!(!can_elicit(&with(json!(true)), "2025-06-18"));
        assert!(!can_elicit(&with(json!({})), "2025-03-26"));
        assert!(!can_elicit(&json!({"capabilities": {}}), "2025-06-18"));
    }
}
