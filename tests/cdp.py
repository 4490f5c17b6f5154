"""Headless Chromium (Debian's `chromium` package) driven through the DevTools protocol with a small
synchronous websocket client: open a page, record every request it makes and every console message
and uncaught exception, evaluate JavaScript in it, and take screenshots.

Used by tests/test_report_page_browser.py and tests/screenshots.py. Chromium is started with no
network services of its own (no sync, no component updates, no background networking) and a new,
empty profile, in its own process group, and always stopped.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--hide-scrollbars", "--remote-debugging-port=0"]


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    return path


@dataclass
class PageLog:
    requests: list[str] = field(default_factory=list)  # every URL the page requested
    console: list[tuple[str, str]] = field(default_factory=list)  # (level, text) of console messages and log entries
    exceptions: list[str] = field(default_factory=list)  # uncaught exceptions
    failed: list[str] = field(default_factory=list)  # requests that failed to load

    @property
    def errors(self) -> list[str]:
        return [text for level, text in self.console if level == "error"] + self.exceptions + self.failed


class Page:
    """One tab of a running Chromium, over its DevTools websocket."""

    def __init__(self, url: str):
        from websockets.sync.client import connect

        self._stack = contextlib.ExitStack()
        self._ws = self._stack.enter_context(connect(url, max_size=None, open_timeout=30))
        self._ids = itertools.count(1)
        self.log = PageLog()
        self._events: list[dict] = []
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def close(self) -> None:
        self._stack.close()

    def _record(self, message: dict) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Network.requestWillBeSent":
            self.log.requests.append(params["request"]["url"])
        elif method == "Network.loadingFailed":
            self.log.failed.append(f"request failed: {params.get('errorText')} ({params.get('requestId')})")
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            self.log.console.append(("error" if params.get("type") in ("error", "assert") else params.get("type"), text))
        elif method == "Log.entryAdded":
            entry = params["entry"]
            self.log.console.append((entry.get("level"), f"{entry.get('text')} {entry.get('url', '')}".strip()))
        elif method == "Runtime.exceptionThrown":
            self.log.exceptions.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        self._events.append(message)

    def call(self, method: str, timeout: float = 60, **params) -> dict:
        ident = next(self._ids)
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._record(message)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        """Until the event `method` arrives (or one that arrived since the last wait)."""
        for message in self._events:
            if message.get("method") == method:
                self._events.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                message = json.loads(self._ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            self._record(message)
            if message.get("method") == method:
                self._events.remove(message)
                return message
        raise TimeoutError(f"no {method} within {timeout} s")

    def drain(self, seconds: float) -> None:
        """Keep recording events for `seconds` (late requests, console messages)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                self._record(json.loads(self._ws.recv(timeout=max(0.05, deadline - time.monotonic()))))
            except TimeoutError:
                return

    def navigate(self, url: str, timeout: float = 60) -> None:
        self._events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired", timeout)

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluating {expression[:80]!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_until(self, expression: str, timeout: float = 60) -> None:
        """Until a JavaScript expression is true in the page (for pages that render after loading)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return
            self.drain(0.5)
        raise TimeoutError(f"{expression!r} was not true within {timeout} s")

    def resize(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)

    def screenshot(self, path: Path, width: int = 1400, height: int | None = None) -> Path:
        """A PNG of the page: `height` pixels of it, or (None) the whole document's height."""
        if height is None:
            height = int(self.evaluate("Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)")
                         or 900)
        self.resize(width, min(height, 12000))
        self.drain(0.5)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        return path


@contextlib.contextmanager
def chromium(width: int = 1400, height: int = 900):
    """A headless Chromium with a new, empty profile; yields a Page (a blank tab). Stopped after."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    proc = subprocess.Popen([chromium_path(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                             "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    page = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        import urllib.request

        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
                targets = [t for t in json.loads(response.read()) if t.get("type") == "page"]
            if targets or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        page = Page(targets[0]["webSocketDebuggerUrl"])
        yield page
    finally:
        if page is not None:
            with contextlib.suppress(Exception):
                page.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)
        shutil.rmtree(profile, ignore_errors=True)
