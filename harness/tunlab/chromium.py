"""Load a local HTML page in headless Chromium (Debian's `chromium`) through the DevTools
protocol over a pipe (--remote-debugging-pipe: no port, no network, stdlib only): a
full-page screenshot, and every console error, uncaught exception and failed load.

Chromium runs with a fresh --user-data-dir, no sandbox (root in a container), no GPU, no
network services (QUIC, background networking, component updates, sync)."""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tunlab.errors import TunlabError

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio"]
WIDTH = 1400


def binary() -> str:
    """The Chromium to run ("" when none is installed)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return ""


@dataclass
class PageLoad:
    screenshot: Path
    errors: list[str] = field(default_factory=list)   # console errors, exceptions, failed loads
    messages: list[str] = field(default_factory=list)  # every console message, for the record
    title: str = ""
    links: list[str] = field(default_factory=list)     # every a[href] and img[src], resolved


class ChromiumError(TunlabError):
    """Chromium is missing, or did not load the page (the command line says why, exit 1)."""


class _Pipe:
    """The DevTools protocol on fds 3 (to Chromium) and 4 (from it), NUL-terminated JSON."""

    def __init__(self, proc: subprocess.Popen, w: int, r: int, timeout: float) -> None:
        self.proc, self.w, self.r = proc, w, r
        self.deadline = time.monotonic() + timeout
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, session: str = "", **params: Any) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise ChromiumError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str) -> dict[str, Any]:
        for i, m in enumerate(self.events):
            if m.get("method") == method:
                return self.events.pop(i)
        while True:
            m = self._read()
            if m.get("method") == method:
                return m
            self.events.append(m)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise ChromiumError("no answer from Chromium in time")
            ready, _, _ = select.select([self.r], [], [], left)
            if ready:
                chunk = os.read(self.r, 1 << 20)
                if not chunk:
                    raise ChromiumError(f"Chromium closed the pipe (exit {self.proc.poll()})")
                self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)


def _describe(event: dict[str, Any]) -> str | None:
    """The error an event reports, or None."""
    method, p = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
        return "console." + p["type"] + ": " + " ".join(str(a.get("value", a.get("description", "")))
                                                        for a in p.get("args", []))
    if method == "Runtime.exceptionThrown":
        d = p.get("exceptionDetails", {})
        return "exception: " + (d.get("exception", {}).get("description") or d.get("text", ""))
    if method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
        e = p["entry"]
        return f"{e.get('source', 'log')}: {e.get('text', '')} {e.get('url', '')}".strip()
    if method == "Network.loadingFailed" and not p.get("canceled"):
        return f"load failed: {p.get('errorText', '')} ({p.get('type', '')})"
    return None


def load(page: Path, screenshot: Path, timeout: float = 90.0) -> PageLoad:
    """Open `page` (a file) in headless Chromium; save a full-page PNG to `screenshot`."""
    exe = binary()
    if not exe:
        raise ChromiumError("Chromium is not installed (apt-get install chromium)")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tunlab-chromium-") as profile:
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # the child's fd 3 reads our commands, its fd 4 writes the answers (3 and 4 are open
        # here: os.pipe() just took the lowest free descriptors; pass_fds keeps them open there)
        def child_fds() -> None:
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)
        log = open(Path(profile) / "stderr.log", "wb")
        proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-pipe",
                                 f"--window-size={WIDTH},900", "about:blank"],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                preexec_fn=child_fds, pass_fds=(3, 4))
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        pipe = _Pipe(proc, to_chrome_w, from_chrome_r, timeout)
        try:
            return _drive(pipe, page, screenshot)
        except ChromiumError as e:
            log.flush()
            tail = (Path(profile) / "stderr.log").read_text(errors="replace")[-2000:]
            raise ChromiumError(f"{e}\nChromium's stderr:\n{tail}") from None
        finally:
            try:
                os.write(to_chrome_w, json.dumps({"id": 10**6, "method": "Browser.close"}).encode() + b"\0")
            except OSError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(to_chrome_w)
            os.close(from_chrome_r)
            log.close()


def _drive(pipe: _Pipe, page: Path, screenshot: Path) -> PageLoad:
    target = pipe.send("Target.createTarget", url="about:blank")["targetId"]
    s = pipe.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        pipe.send(f"{domain}.enable", s)
    pipe.send("Page.navigate", s, url=page.absolute().as_uri())
    pipe.wait_event("Page.loadEventFired")
    time.sleep(0.3)  # late console messages
    pipe.send("Runtime.evaluate", s, expression="1")  # drain what came before this answer
    metrics = pipe.send("Page.getLayoutMetrics", s)
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    height = min(int(size["height"]) + 1, 16000)
    pipe.send("Emulation.setDeviceMetricsOverride", s, width=WIDTH, height=height,
              deviceScaleFactor=1, mobile=False)
    shot = pipe.send("Page.captureScreenshot", s, format="png", captureBeyondViewport=True)
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    found = pipe.send("Runtime.evaluate", s, returnByValue=True, expression=(
        "JSON.stringify({title: document.title, links: [...document.querySelectorAll('a[href]')]"
        ".map(a => a.href).concat([...document.querySelectorAll('img[src]')].map(i => i.src))})"))
    info = json.loads(found["result"]["value"])
    result = PageLoad(screenshot, title=info["title"], links=info["links"])
    for ev in pipe.events:
        err = _describe(ev)
        if err:
            result.errors.append(err)
        if ev.get("method") == "Runtime.consoleAPICalled":
            result.messages.append(f"{ev['params'].get('type')}: " + " ".join(
                str(a.get("value", "")) for a in ev["params"].get("args", [])))
    return result
