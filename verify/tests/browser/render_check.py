#!/usr/bin/env python3
"""Opens an HTML file in headless Chromium over the DevTools protocol (on a pipe, no
network port) at a 1280x800 viewport and prints, as one JSON object: the console errors,
exceptions and log errors the page caused, the document title, the verdict element's box
and the viewport, the number of script, link and event-handler elements, and whether the
screenshot (PNG) and the PDF print were written.

usage: render_check.py PAGE.html SCREENSHOT.png PRINT.pdf
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

WIDTH, HEIGHT = 1280, 800

PROBE = r"""
JSON.stringify((() => {
  const box = (selector) => {
    const element = document.querySelector(selector);
    if (!element) return null;
    const r = element.getBoundingClientRect();
    return {top: r.top, left: r.left, bottom: r.bottom, right: r.right};
  };
  const handlers = [...document.querySelectorAll('*')].filter(
    (element) => [...element.attributes].some((a) => a.name.toLowerCase().startsWith('on'))).length;
  return {
    title: document.title,
    verdict: box('#verdict'),
    verdictWord: box('#verdict .word'),
    verdictText: (document.querySelector('#verdict .word') || {}).textContent || null,
    viewport: {width: window.innerWidth, height: window.innerHeight},
    scrollY: window.scrollY,
    scripts: document.scripts.length,
    links: document.querySelectorAll('a[href], [src], link, iframe, object, embed, img').length,
    handlers: handlers,
    bodyText: document.body.innerText.length,
  };
})())
"""


def main():
    page, screenshot, pdf = sys.argv[1:4]
    chromium = next(
        (path for path in map(shutil.which, ["chromium", "chromium-browser", "google-chrome"]) if path),
        None,
    )
    if chromium is None:
        print(json.dumps({"error": "no chromium on PATH: install Debian's chromium (.ci/run does)"}))
        return 3
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()

    # The fds chromium reads (3) and writes (4); moved out of the way first so that
    # neither dup2 overwrites the other's source.
    def plumb():
        read_end, write_end = os.dup(to_child_r), os.dup(from_child_w)
        os.dup2(read_end, 3)
        os.dup2(write_end, 4)
        os.set_inheritable(3, True)
        os.set_inheritable(4, True)

    profile = tempfile.mkdtemp(prefix="cordon-report-chromium-")
    log = open(os.path.join(profile, "chromium.log"), "wb")
    process = subprocess.Popen(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
            f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-component-update", "--disable-default-apps", "--hide-scrollbars",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=False, preexec_fn=plumb,
    )
    os.close(to_child_r)
    os.close(from_child_w)
    writer = os.fdopen(to_child_w, "wb", buffering=0)
    reader = os.fdopen(from_child_r, "rb", buffering=0)
    buffered = b""
    events = []
    next_id = [0]

    def receive():
        nonlocal buffered
        while b"\0" not in buffered:
            chunk = reader.read(65536)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            buffered += chunk
        message, buffered = buffered.split(b"\0", 1)
        return json.loads(message)

    def call(method, params=None, session=None):
        next_id[0] += 1
        message = {"id": next_id[0], "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        writer.write(json.dumps(message).encode() + b"\0")
        while True:
            reply = receive()
            if reply.get("id") == next_id[0]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            events.append(reply)

    def wait_for(method):
        for index, event in enumerate(events):
            if event.get("method") == method:
                return events.pop(index)
        while True:
            event = receive()
            if event.get("method") == method:
                return event
            events.append(event)

    result = {}
    try:
        target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"]:
            call(domain, session=session)
        call("Emulation.setDeviceMetricsOverride",
             {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
             session=session)
        url = "file://" + os.path.abspath(page)
        call("Page.navigate", {"url": url}, session=session)
        wait_for("Page.loadEventFired")
        probe = call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True}, session=session)
        result = json.loads(probe["result"]["value"])
        shot = call("Page.captureScreenshot", {"format": "png"}, session=session)
        with open(screenshot, "wb") as out:
            out.write(base64.b64decode(shot["data"]))
        printed = call("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True},
                       session=session)
        with open(pdf, "wb") as out:
            out.write(base64.b64decode(printed["data"]))
        # Events that arrived while the calls ran.
        errors = []
        for event in events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.exceptionThrown":
                errors.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:500])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                errors.append("console " + params["type"] + ": " + json.dumps(params.get("args", []))[:500])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
                entry = params["entry"]
                errors.append(f"log {entry.get('level')} ({entry.get('source')}): {entry.get('text', '')[:500]}")
        result["errors"] = errors
        result["screenshot"] = os.path.getsize(screenshot)
        result["pdf"] = os.path.getsize(pdf)
        try:
            call("Browser.close")
        except RuntimeError:
            pass
    except Exception as error:
        log.flush()
        with open(os.path.join(profile, "chromium.log"), "rb") as text:
            tail = text.read()[-3000:].decode("utf-8", "replace")
        print(json.dumps({"error": f"{type(error).__name__}: {error}", "chromiumLog": tail}))
        return 4
    finally:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
