"""A strict frame parser and a tiny client for the agent binary, for harness/tests/agent.

Self-contained on purpose: independent of the harness's own client in harness/tunlab/, so
the two check each other.
"""
import os
import re
import selectors
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
AGENT = os.environ.get("TUNLAB_AGENT", os.path.join(ROOT, "build", "agent", "tunlab-agent"))
MAX_FRAME = 163840

_KEY = re.compile(rb"[a-z0-9_]+\Z")
_VALUE = re.compile(rb"[!-~]*\Z")


class ProtocolError(Exception):
    """A frame that breaks docs/protocol.md."""


class Frame:
    def __init__(self, id, word, name=None, kv=None, raw=b""):
        self.id, self.word, self.name, self.kv, self.raw = id, word, name, kv or {}, raw

    def __getitem__(self, key):
        return self.kv[key]

    def __contains__(self, key):
        return key in self.kv

    def text(self, key):
        """A percent-encoded text value, decoded."""
        return pct_decode(self.kv[key])

    def __repr__(self):
        return "Frame(%r)" % self.raw


def pct_decode(s):
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), s)


def parse_frame(line):
    """Strictly parses one frame (bytes ending in b'\\n'); raises ProtocolError."""
    if len(line) > MAX_FRAME:
        raise ProtocolError("frame longer than MAX_FRAME")
    if not line.endswith(b"\n"):
        raise ProtocolError("no newline")
    body = line[:-1]
    if any(b < 0x20 or b > 0x7E for b in body):
        raise ProtocolError("control or non-ASCII byte")
    toks = body.split(b" ")
    if len(toks) < 3 or toks[0] != b"TL1":
        raise ProtocolError("bad magic or too few tokens")
    if not toks[1].isdigit() or not 0 <= int(toks[1]) <= 2147483647:
        raise ProtocolError("bad id")
    word = toks[2].decode()
    rest = toks[3:]
    name = None
    if word == "err":
        if not rest or not re.fullmatch(rb"E[A-Z0-9]+", rest[0]):
            raise ProtocolError("err without a name")
        name, rest = rest[0].decode(), rest[1:]
    elif word not in ("ok", "log"):
        raise ProtocolError("bad word %r" % word)
    kv = {}
    for t in rest:
        k, eq, v = t.partition(b"=")
        if not eq or not _KEY.match(k) or not _VALUE.match(v) or k.decode() in kv:
            raise ProtocolError("bad token %r" % t)
        kv[k.decode()] = v.decode()
    return Frame(int(toks[1]), word, name, kv, line)


class Agent:
    """One agent process over pipes."""

    def __init__(self, argv, stderr_path):
        self.stderr_file = open(stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr_file)
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)
        self.buf = b""
        self.next_id = 1
        self.logs = []

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_line(self, timeout=10.0):
        """The next raw line from the agent (bytes, with its newline)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sel.select(left):
                raise TimeoutError("no line from the agent within %.1f s (have %r)"
                                   % (timeout, self.buf[:200]))
            chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
            if not chunk:
                raise EOFError("agent closed its output (exit %r)" % self.proc.poll())
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line + b"\n"

    def read_frame(self, timeout=10.0, keep_logs=False):
        """The next frame, parsed strictly; log frames are collected and skipped."""
        while True:
            f = parse_frame(self.read_line(timeout))
            if f.word == "log" and not keep_logs:
                self.logs.append(f)
                continue
            return f

    def send_request(self, verb, **args):
        rid = self.next_id
        self.next_id += 1
        toks = ["TL1", str(rid), verb] + ["%s=%s" % (k, v) for k, v in args.items()]
        self.send((" ".join(toks) + "\n").encode())
        return rid

    def request(self, verb, timeout=10.0, **args):
        rid = self.send_request(verb, **args)
        f = self.read_frame(timeout)
        assert f.id == rid, "reply id %d for request %d: %r" % (f.id, rid, f.raw)
        return f

    def ok(self, verb, timeout=10.0, **args):
        f = self.request(verb, timeout, **args)
        assert f.word == "ok", "%s failed: %r" % (verb, f.raw)
        return f

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.sel.close()
        self.proc.stdout.close()
        self.stderr_file.close()
