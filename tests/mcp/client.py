"""End-to-end client for `cordon mcp`, driven by tests/tests/sandbox_mcp.rs.

It speaks to the real server through the official MCP Python SDK (`mcp` on PyPI, pinned
in xtask/tools/mcp-requirements.txt) and, for what the SDK cannot send (malformed lines,
an old protocol version), through the raw pipe. Each scenario prints `ok NAME` when it
holds and raises otherwise; the Rust test checks that every scenario it expects printed.

Usage: client.py CONFIG_JSON SCENARIO...
CONFIG_JSON: {"server": [argv of `cordon mcp ...` with --approvals allow],
              "server_ask": [argv of `cordon mcp` where approvals are asked],
              "project": ..., "outside": ..., "home": the server's HOME,
              "user": who runs the server, "canary": ...}
"""

import asyncio
import json
import os
import subprocess
import sys
import time

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp import types

CONFIG = json.loads(sys.argv[1])
PROJECT = CONFIG["project"]
OUTSIDE = CONFIG["outside"]
HOME = CONFIG["home"]
USER = CONFIG["user"]


class Failed(Exception):
    pass


def check(condition, what, detail=None):
    if not condition:
        raise Failed(f"{what}: {detail!r}")


def text_of(result):
    return "".join(block.text for block in result.content if block.type == "text")


async def with_session(argv, scenario, elicitation=None):
    params = StdioServerParameters(command=argv[0], args=argv[1:], cwd=PROJECT)
    async with stdio_client(params, errlog=sys.stderr) as (read, write):
        async with ClientSession(read, write, elicitation_callback=elicitation) as session:
            init = await session.initialize()
            return await scenario(session, init)


class Human:
    """Answers elicitations from a script of answers, and remembers the questions."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.questions = []

    async def __call__(self, context, params):
        self.questions.append(params)
        action, decision = self.answers.pop(0)
        content = {"decision": decision} if decision is not None else None
        return types.ElicitResult(action=action, content=content)


# --- scenarios with approvals allowed (what the sandbox does) ---------------------------


async def basics(session, init):
    check(init.server_info.name == "cordon", "server name", init.server_info)
    check(init.protocol_version == "2025-11-25", "negotiated version", init.protocol_version)
    check(init.capabilities.tools is not None, "tools capability", init.capabilities)
    tools = (await session.list_tools()).tools
    check([tool.name for tool in tools] == ["run_command"], "one tool", tools)
    schema = tools[0].input_schema
    check(set(schema["properties"]) == {"argv", "script", "cwd", "timeout_ms", "max_output_bytes"},
          "input schema", schema)
    check(tools[0].output_schema is not None, "output schema", tools[0])
    await session.send_ping()
    print("ok initialize-and-list")


async def allowed(session, init):
    result = await session.call_tool("run_command", {"argv": ["cat", "README"]})
    check(not result.is_error, "cat README is not an error", result)
    check(result.structured_content["exit_code"] == 0, "exit 0", result.structured_content)
    check(result.structured_content["stdout"] == "readme\n", "stdout", result.structured_content)
    result = await session.call_tool("run_command", {"script": "pwd; echo err >&2", "cwd": "src"})
    check(result.structured_content["stdout"].strip().endswith("/project/src"), "cwd src",
          result.structured_content)
    check(result.structured_content["stderr"] == "err\n", "stderr apart", result.structured_content)
    print("ok allowed-command")


async def denied_write(session, init):
    target = os.path.join(OUTSIDE, "pwned")
    result = await session.call_tool("run_command", {"argv": ["touch", target]})
    check(result.is_error, "a write outside the project fails", result)
    stderr = result.structured_content["stderr"]
    check("Read-only file system" in stderr or "Permission denied" in stderr,
          "the sandbox's error is visible", stderr)
    check(not os.path.exists(target), "nothing written outside", target)
    result = await session.call_tool("run_command", {"script": "cat ~/.ssh/id_rsa; cat .env"})
    check(CONFIG["canary"] not in text_of(result), "no secret in the output", text_of(result))
    print("ok denied-write")


async def cwd_outside(session, init):
    for cwd in [OUTSIDE, "..", "src/../../outside"]:
        result = await session.call_tool("run_command", {"argv": ["pwd"], "cwd": cwd})
        check(result.is_error, f"cwd {cwd} refused", result)
        check("outside the project" in text_of(result), "the reason is given", text_of(result))
    print("ok cwd-outside-refused")


async def timeout(session, init):
    started = time.monotonic()
    result = await session.call_tool("run_command", {"argv": ["sleep", "30"], "timeout_ms": 500})
    elapsed = time.monotonic() - started
    check(result.is_error and result.structured_content["timed_out"], "timed out", result)
    check(elapsed < 10, "stopped soon after the deadline", elapsed)
    result = await session.call_tool("run_command", {"argv": ["true"], "timeout_ms": 10**9})
    check(result.is_error and "above the maximum" in text_of(result), "timeout max", result)
    print("ok timeout")


async def truncation(session, init):
    script = "head -c 200000 /dev/zero | tr '\\0' a; head -c 100 /dev/zero | tr '\\0' b >&2"
    result = await session.call_tool("run_command", {"script": script, "max_output_bytes": 1000})
    content = result.structured_content
    check(content["stdout_bytes"] == 200000 and content["stdout_truncated"], "stdout capped", content)
    check(len(content["stdout"]) < 1200, "kept about the cap", len(content["stdout"]))
    check("bytes left out of 200000" in content["stdout"], "marked", content["stdout"][:600])
    check(content["stderr"] == "b" * 100 and not content["stderr_truncated"], "stderr whole", content)
    print("ok truncation")


async def cancellation(session, init):
    marker = os.path.join(PROJECT, "cancelled-marker")
    script = "sleep 3; touch cancelled-marker"
    try:
        await session.call_tool("run_command", {"script": script}, read_timeout_seconds=1)
        raise Failed("the call should have timed out on the client side")
    except Failed:
        raise
    except Exception:
        pass  # the SDK gave up and sent notifications/cancelled
    await asyncio.sleep(4)
    check(not os.path.exists(marker), "the cancelled command was stopped", marker)
    result = await session.call_tool("run_command", {"argv": ["true"]})
    check(not result.is_error, "the server goes on after a cancellation", result)
    print("ok cancellation")


async def no_approval_from_arguments(session, init):
    result = await session.call_tool("run_command", {"argv": ["true"], "approved": True})
    check(result.is_error and "never through arguments" in text_of(result), "refused", result)
    print("ok approval-fields-refused")


# --- scenarios where approvals are asked ------------------------------------------------


def approvals_recorded():
    """The approval records of the project's transcript (cordon's state directory)."""
    state = os.path.join(HOME, ".local/state/cordon")
    records = []
    for project in os.listdir(state):
        with open(os.path.join(state, project, "transcript.jsonl")) as transcript:
            records += [json.loads(line) for line in transcript]
    return [record for record in records if record["type"] == "approval"]


def recorded(state, shape, scope=None):
    return any(record["state"] == state and record["shape"] == shape
               and record.get("channel") == "mcp-elicitation" and record.get("approver") == USER
               and record.get("scope") == scope
               for record in approvals_recorded())


def needs_approval(result):
    content = result.structured_content or {}
    return result.is_error and content.get("type") == "needs_approval"


async def elicitation_accepted():
    human = Human(("accept", "once"), ("accept", "deny"))
    marker = os.path.join(PROJECT, "approved-once")

    async def scenario(session, init):
        result = await session.call_tool("run_command", {"argv": ["touch", "approved-once"]})
        check(not result.is_error, "runs once accepted", result)
        check(os.path.exists(marker), "it ran", marker)
        question = human.questions[0]
        check("touch approved-once" in question.message, "the shape is shown", question.message)
        enum = question.requested_schema["properties"]["decision"]["enum"]
        check("once" in enum and "deny" in enum, "the choices", enum)
        os.remove(marker)
        # A "once" grant is used up: the same command asks again (answered deny here).
        result = await session.call_tool("run_command", {"argv": ["touch", "approved-once"]})
        check(result.is_error and "denied by the user" in text_of(result), "asked again", result)
        check(not os.path.exists(marker), "not run when denied", marker)
        check(len(human.questions) == 2, "asked twice", human.questions)
        check(recorded("granted", "touch approved-once", "once"), "the grant is transcribed",
              approvals_recorded())
        check(recorded("denied", "touch approved-once"), "the denial is transcribed",
              approvals_recorded())

    await with_session(CONFIG["server_ask"], scenario, elicitation=human)
    print("ok elicitation-accepted")


async def elicitation_always():
    human = Human(("accept", "always"))

    async def scenario(session, init):
        for _ in range(2):
            result = await session.call_tool("run_command", {"argv": ["ls", "src"]})
            check(not result.is_error and "hello.c" in result.structured_content["stdout"],
                  "runs", result)
        check(len(human.questions) == 1, "asked once, then remembered", human.questions)
        check(recorded("granted", "ls src", "always"), "transcribed", approvals_recorded())

    await with_session(CONFIG["server_ask"], scenario, elicitation=human)
    print("ok elicitation-always")


async def elicitation_declined():
    human = Human(("decline", None), ("cancel", None), ("cancel", None))

    async def scenario(session, init):
        result = await session.call_tool("run_command", {"argv": ["touch", "declined"]})
        check(result.is_error and "denied by the user" in text_of(result), "declined", result)
        # A decline is recorded: the same command is refused without asking again.
        result = await session.call_tool("run_command", {"argv": ["touch", "declined"]})
        check(result.is_error and "denied" in text_of(result), "stays denied", result)
        check(len(human.questions) == 1, "not asked again", human.questions)
        # A dismissed question decides nothing: asked again next time.
        for asked in [2, 3]:
            result = await session.call_tool("run_command", {"argv": ["touch", "dismissed"]})
            check(result.is_error and "denied by the user" in text_of(result), "dismissed", result)
            check(len(human.questions) == asked, "asked each time", human.questions)
        for name in ["declined", "dismissed"]:
            check(not os.path.exists(os.path.join(PROJECT, name)), "not run", name)
        check(recorded("denied", "touch declined"), "the decline is transcribed",
              approvals_recorded())
        check(not recorded("denied", "touch dismissed"), "a dismissal is not a decision",
              approvals_recorded())

    await with_session(CONFIG["server_ask"], scenario, elicitation=human)
    print("ok elicitation-declined")


async def elicitation_absent():
    marker = os.path.join(PROJECT, "absent")

    async def scenario(session, init):
        result = await session.call_tool("run_command", {"argv": ["touch", "absent"]})
        check(needs_approval(result), "the needs_approval record comes back", result)
        record = result.structured_content
        check(record["request_id"] and "touch absent" in record["shape"], "record", record)
        # Nothing the model sends decides: not in arguments, not in _meta.
        result = await session.call_tool("run_command", {"argv": ["touch", "absent"]},
                                         meta={"approved": True, "decision": "always"})
        check(needs_approval(result), "_meta changes nothing", result)
        result = await session.call_tool("run_command", {"argv": ["touch", "absent"],
                                                         "approved": True})
        check(result.is_error, "arguments change nothing", result)
        check(not os.path.exists(marker), "never ran", marker)

    await with_session(CONFIG["server_ask"], scenario)
    print("ok elicitation-absent")


# --- raw pipe ---------------------------------------------------------------------------


def raw(argv, lines, expect):
    """Sends `lines`, closes stdin, and returns the `expect` JSON lines read back."""
    process = subprocess.Popen(argv, cwd=PROJECT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
    out, _ = process.communicate("".join(line + "\n" for line in lines).encode(), timeout=60)
    check(process.returncode == 0, "the server ends cleanly at end of input", process.returncode)
    messages = [json.loads(line) for line in out.decode().splitlines()]
    check(len(messages) == expect, "one answer per request", messages)
    return messages


def malformed():
    init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {}, "clientInfo": {"name": "raw"}}})
    messages = raw(CONFIG["server"], [
        '{"jsonrpc":"2.0","id":0,"method":"tools/list"}',
        "this is not json",
        "[1, 2]",
        '{"jsonrpc":"1.0","id":7,"method":"ping"}',
        init,
        '{"jsonrpc":"2.0","method":"notifications/initialized"}',
        '{"jsonrpc":"2.0","id":2,"method":"ping"}',
        '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"rm_everything"}}',
        '{"jsonrpc":"2.0","id":4,"method":"resources/list"}',
        '{"jsonrpc":"2.0","id":5,"method":"tools/list"}',
    ], expect=9)
    codes = [message.get("error", {}).get("code") for message in messages]
    check(codes == [-32002, -32700, -32600, -32600, None, None, -32602, -32601, None], "codes", codes)
    check(messages[3]["id"] == 7, "the id is echoed when readable", messages[3])
    check(messages[4]["result"]["protocolVersion"] == "2024-11-05", "old version", messages[4])
    tool = messages[8]["result"]["tools"][0]
    check("outputSchema" not in tool, "no structured output before 2025-06-18", tool)
    print("ok malformed-messages")


def server_stopped():
    """SIGTERM to the server (a host stopping it) stops the command it is running."""
    init = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw"}}})
    call = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": "run_command", "arguments": {"script": "sleep 3; touch stopped-marker"}}})
    process = subprocess.Popen(CONFIG["server"], cwd=PROJECT, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    process.stdin.write((init + "\n").encode())
    process.stdin.flush()
    check("result" in json.loads(process.stdout.readline()), "initialized", None)
    process.stdin.write((call + "\n").encode())
    process.stdin.flush()
    time.sleep(1)
    process.terminate()
    check(process.wait(timeout=10) == 128 + 15, "the server ends on SIGTERM", process.returncode)
    time.sleep(3)
    check(not os.path.exists(os.path.join(PROJECT, "stopped-marker")), "the command was stopped",
          None)
    print("ok server-stopped")


SCENARIOS = {
    "initialize-and-list": lambda: with_session(CONFIG["server"], basics),
    "allowed-command": lambda: with_session(CONFIG["server"], allowed),
    "denied-write": lambda: with_session(CONFIG["server"], denied_write),
    "cwd-outside-refused": lambda: with_session(CONFIG["server"], cwd_outside),
    "timeout": lambda: with_session(CONFIG["server"], timeout),
    "truncation": lambda: with_session(CONFIG["server"], truncation),
    "cancellation": lambda: with_session(CONFIG["server"], cancellation),
    "approval-fields-refused": lambda: with_session(CONFIG["server"], no_approval_from_arguments),
    "elicitation-accepted": elicitation_accepted,
    "elicitation-always": elicitation_always,
    "elicitation-declined": elicitation_declined,
    "elicitation-absent": elicitation_absent,
}


async def main(names):
    for name in names:
        if name == "malformed-messages":
            malformed()
        elif name == "server-stopped":
            server_stopped()
        else:
            await SCENARIOS[name]()
        sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[2:]))
