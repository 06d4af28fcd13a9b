"""`tunlab console`: boot a guest of any target and talk to its agent by hand, or run
requests from a file or a pipe.

    agent> open pi=0
    ok h=1 ifname=tun0
    agent> help ifconfig

A line is an agent request, `verb key=value ...` (docs/protocol.md), split as a shell would
(quote a value with spaces: `send ... ` is rarely needed, but `"a b"` is sent percent-encoded),
or a console command starting with `:` (`:help` lists them). The verbs, their keys and the
keys' values are completed with Tab; `help VERB` shows the verb's row of the protocol's verb
table and its notes. Lines typed are kept in a history file (readline).

Nothing typed ends the session with a traceback: a malformed line, an unknown verb or key, an
`err` reply are one line each; a guest that crashed, hung or died is reported and ends the
session (exit status 1). Ctrl-C stops the guest at once, keeps its logs, prints one line and
exits with status 130.

Batch mode (`--batch FILE`, or requests on a stdin that is not a terminal): each line is
echoed after the prompt and run; blank lines and `#` comments are skipped; the exit status
is 1 when any request or console command failed (an `err` reply, a timeout, a bad line), 0
otherwise.

On VM targets the guest's own console line (COM1) is reachable: `:console` connects the
terminal to it until Ctrl-] (the Linux guest runs a root shell there for the console:
guest-image/linux/init, tunlab.shell=1); `:send TEXT` types a line on it and
`:expect REGEX [SECONDS]` waits for console output (both work in batch mode too);
`:monitor CMD` asks QEMU's monitor (`info registers`), `:gdb` prints how to attach gdb
(`--gdb`).
"""

from __future__ import annotations

import argparse
import cmd
import os
import re
import select
import shlex
import signal
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TextIO

from tunlab import qemu, safetext, targets
from tunlab.console import ConsoleCursor
from tunlab.errors import AgentError, TunlabError, UsageError
from tunlab.guest import Guest, new_run_dir
from tunlab.machine import MonitorUnavailable
from tunlab.paths import REPO
from tunlab.protocol import decode_text

PROTOCOL_DOC = REPO / "docs" / "protocol.md"
HISTORY_ENV = "TUNLAB_CONSOLE_HISTORY"
HISTORY_LENGTH = 1000
ESCAPE_KEY = b"\x1d"  # Ctrl-]
EXPECT_DEFAULT_S = 10.0
EXPECT_MAX_S = 600.0
TEXT_KEYS = ("msg", "text")  # reply values that are percent-encoded text

EXAMPLES = """Type agent requests as `verb key=value ...` (docs/protocol.md), e.g.
  hello
  open pi=0                      -> h=1 ifname=tun0
  ifconfig ifname=tun0 addr=10.0.0.1/32 peer=10.0.0.2 up=1
  ioctl h=1 req=TUNGETIFF
  read h=1 wait_ms=1000
  bench h=1 kind=rtt size=64 ms=1000 local=10.0.0.1 peer=10.0.0.2
`help VERB` shows a verb's arguments and reply; Tab completes verbs, keys and values."""

META_HELP = {
    "help": ":help [VERB]      this text, or a verb's arguments and reply",
    "quit": ":quit (:q, quit, exit, Ctrl-D)   power the guest off and leave",
    "logs": ":logs             where the logs are",
    "hello": ":hello            what the agent said at start-up (driver, features, verbs)",
    "tail": ":tail [N]         the last N lines of the guest console (default 20)",
    "console": ":console          VM targets: type on the guest's console line (COM1) until Ctrl-]",
    "send": ":send TEXT        VM targets: type TEXT and Enter on the console line",
    "expect": ":expect REGEX [S] wait up to S seconds (default 10) for console output matching REGEX",
    "monitor": ":monitor CMD      VM targets: a QEMU monitor command (info registers, info status)",
    "gdb": ":gdb              how to attach gdb (boot with --gdb [PORT])",
}
META_ALIASES = {"q": "quit", "exit": "quit", "h": "help", "?": "help"}


# -- the protocol's verb table --------------------------------------------------------------
@dataclass
class VerbDoc:
    name: str
    args: str = ""     # the table's arguments cell
    reply: str = ""    # its reply-keys cell
    notes: str = ""    # the verb's own section or bullet, if the document has one
    keys: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)


_ROW = re.compile(r"^\|\s*`([a-z0-9_]+)`\s*\|(.*)\|(.*)\|\s*$")
_KEY = re.compile(r"(?<![a-z0-9_])([a-z0-9_]+)=")
_ENUM = re.compile(r"(?<![a-z0-9_])([a-z0-9_]+)=([A-Za-z0-9_]+(?:\\?\|[A-Za-z0-9_]+)*)")
_IOCTL = re.compile(r"\b((?:TUN|SIOC|FIO|TIOC)[A-Z0-9]{2,})\b")


def _cell(text: str) -> str:
    return text.replace("\\|", "|").replace("`", "").strip()


def load_verbs(doc: Path = PROTOCOL_DOC) -> dict[str, VerbDoc]:
    """The verb table of docs/protocol.md: arguments, reply keys, the keys each verb takes
    and the values the table spells out (`kind=write|read|rtt`); {} when the document is
    not there (an installed copy without docs)."""
    try:
        text = doc.read_text()
    except OSError:
        return {}
    verbs: dict[str, VerbDoc] = {}
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("| verb |")), len(lines))
    for line in lines[start:]:
        if not line.startswith("|"):
            break  # the end of the verb table
        m = _ROW.match(line)
        if not m or m.group(1) in verbs:
            continue
        v = VerbDoc(m.group(1), _cell(m.group(2)), _cell(m.group(3)))
        for key in _KEY.findall(m.group(2)):
            if key not in v.keys:
                v.keys.append(key)
        for key, vals in _ENUM.findall(m.group(2)):
            for val in re.split(r"\\?\|", vals):
                v.values.setdefault(key, [])
                if val not in v.values[key]:
                    v.values[key].append(val)
        verbs[v.name] = v
    if "ioctl" in verbs:
        names = sorted(set(_IOCTL.findall(text)))
        verbs["ioctl"].values["req"] = names
    # Notes: a `### verb` section (up to the next heading) or a `- **verb** -- ...` bullet.
    for name, v in verbs.items():
        sec = re.search(rf"^### {re.escape(name)}\b[^\n]*\n(.*?)(?=^#|\Z)", text, re.M | re.S)
        bullet = re.search(rf"^- \*\*{re.escape(name)}\*\* --(.*?)(?=^- |^#|^\n|\Z)", text, re.M | re.S)
        found = sec.group(1) if sec else bullet.group(1) if bullet else ""
        v.notes = " ".join(found.split())
    return verbs


def wrap(text: str, width: int = 88, indent: str = "  ") -> str:
    words, lines, cur = text.split(), [], indent
    for w in words:
        if len(cur) + len(w) + 1 > width and cur.strip():
            lines.append(cur.rstrip())
            cur = indent
        cur += w + " "
    if cur.strip():
        lines.append(cur.rstrip())
    return "\n".join(lines)


# -- the loop -------------------------------------------------------------------------------
class ConsoleShell(cmd.Cmd):
    """The command loop over a booted guest. `onecmd` never raises for what a line says;
    it returns True when the session should end. `failures` counts failed lines."""

    prompt = "agent> "

    def __init__(self, guest: Guest, stdin: TextIO | None = None, stdout: TextIO | None = None,
                 shell_note: str = "", verbs: dict[str, VerbDoc] | None = None,
                 is_vm: bool | None = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        self.guest = guest
        self.out: TextIO = stdout or sys.stdout
        self.shell_note = shell_note
        self.docs = load_verbs() if verbs is None else verbs
        caps = [c for c in guest.hello.get("caps", "").split(",") if c]
        self.verbs = sorted(set(caps) | set(self.docs)) if caps else sorted(self.docs)
        self.caps = set(caps)
        self.is_vm = (targets.get(guest.spec.target).uses_vm if is_vm is None else is_vm)
        self.failures = 0
        self.lines_run = 0
        self.ended = False      # the guest broke or ended: the session is over
        self.raw_console = False  # while :console runs, console lines are not echoed
        self._cursor: ConsoleCursor | None = None

    # -- output -----------------------------------------------------------------------------
    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def echo_console(self, line: str) -> None:
        """The console watcher's echo: a guest console line (already made safe)."""
        if not self.raw_console:
            self.say(f"| {line}")

    def fail(self, text: str) -> bool:
        self.failures += 1
        self.say(text)
        return False

    # -- dispatch ---------------------------------------------------------------------------
    def emptyline(self) -> bool:  # cmd.Cmd would repeat the last command
        return False

    def onecmd(self, line: str) -> bool:
        line = line.strip()
        if not line or line.startswith("#"):
            return False
        if line == "EOF":
            self.say("")
            return True
        self.lines_run += 1
        try:
            if line.startswith("?"):
                return self.meta("help", line[1:].strip())
            if line.startswith(":"):
                name, _, rest = line[1:].partition(" ")
                return self.meta(name or "help", rest.strip())
            word, _, rest = line.partition(" ")
            if word in ("help", "quit", "exit"):
                return self.meta(word, rest.strip())
            return self.request(line)
        except TunlabError as e:
            return self.guest_failed(e)
        except (OSError, ValueError, UnicodeError) as e:
            return self.fail(f"tunlab: {type(e).__name__}: {safetext.one_line(str(e))}")
        except Exception as e:  # noqa: BLE001 - no line typed may end the session with a traceback
            return self.fail(f"tunlab console: internal error on that line: {type(e).__name__}: "
                             f"{safetext.one_line(str(e))}")

    def guest_failed(self, e: TunlabError) -> bool:
        """A failure of the guest or its channel: reported; the session ends when the guest
        can no longer be used."""
        self.failures += 1
        self.say(f"tunlab: {e}")
        if self.guest.broken or not self.guest._alive_quietly():
            self.say("tunlab console: the guest cannot be used any more; stopping it")
            self.ended = True
            return True
        return False

    def request(self, line: str) -> bool:
        try:
            words = shlex.split(line)
        except ValueError as e:
            return self.fail(f"cannot read that line: {e} (quote as in a shell)")
        verb, tokens = words[0], words[1:]
        if not re.fullmatch(r"[a-z0-9_]+", verb):
            return self.fail(f"{safetext.one_line(verb, 60)!s}: not a verb (verbs are lower-case "
                             f"words; `:help` lists them and the console commands)")
        fields: dict[str, str] = {}
        for t in tokens:
            key, sep, value = t.partition("=")
            if not sep or not re.fullmatch(r"[a-z0-9_]+", key):
                return self.fail(f"{safetext.one_line(t, 60)}: arguments are key=value with a "
                                 f"lower-case key (`help {verb}`)")
            if key in fields:
                return self.fail(f"{key}= given twice")
            fields[key] = value
        try:
            reply = self.guest.agent.request(verb, **fields)
        except AgentError as e:
            self.failures += 1
            self.say(f"err {e.name}" + (f" errno={e.errno}" if e.errno is not None else "") +
                     (f" msg={e.msg}" if e.msg else ""))
            return False
        self.say(" ".join(["ok"] + [f"{k}={safetext.one_line(decode_text(v), 1000) if k in TEXT_KEYS else v}"
                                    for k, v in reply.fields.items()]))
        return verb == "poweroff"  # the guest is going away

    # -- console commands -------------------------------------------------------------------
    def meta(self, name: str, arg: str) -> bool:
        name = META_ALIASES.get(name, name)
        fn: Callable[[str], bool] | None = getattr(self, f"meta_{name}", None)
        if name not in META_HELP or fn is None:
            return self.fail(f":{safetext.one_line(name, 40)}: no such console command "
                             f"(:help lists them)")
        return fn(arg)

    def meta_quit(self, arg: str) -> bool:
        return True

    def meta_logs(self, arg: str) -> bool:
        self.say(str(self.guest.run_dir))
        return False

    def meta_hello(self, arg: str) -> bool:
        self.say(" ".join(f"{k}={v}" for k, v in self.guest.hello.items()))
        return False

    def meta_help(self, arg: str) -> bool:
        topic = arg.strip().lstrip(":")
        if not topic:
            self.say(EXAMPLES)
            self.say("\nverbs:")
            self.columnize(self.verbs, 88)
            self.say("\nconsole commands:")
            for text in META_HELP.values():
                self.say("  " + text)
            if self.shell_note:
                self.say(f"\n{self.shell_note}")
            return False
        topic = META_ALIASES.get(topic, topic)
        if topic in META_HELP and topic not in self.docs:
            self.say(META_HELP[topic])
            return False
        doc = self.docs.get(topic)
        if doc is None:
            if topic in self.caps:
                self.say(f"{topic}: the agent offers it; docs/protocol.md has no row for it")
                return False
            return self.fail(f"{safetext.one_line(topic, 40)}: no such verb or console command "
                             f"(`:help` lists them)")
        self.say(f"{doc.name} {'' if doc.args in ('—', '-') else doc.args}".rstrip())
        self.say(f"  reply: ok {'' if doc.reply in ('—', '-') else doc.reply}".rstrip())
        if doc.notes:
            self.say(wrap(doc.notes[:1500] + (" ..." if len(doc.notes) > 1500 else "")))
        if self.caps and topic not in self.caps:
            self.say(f"  (this agent does not offer {topic}: its hello lists {len(self.caps)} verbs)")
        return False

    def meta_tail(self, arg: str) -> bool:
        n = int(arg) if arg.strip().isdigit() else 20
        assert self.guest.watcher is not None
        self.say(self.guest.watcher.tail(max(1, min(n, 400))))
        return False

    def _vm_only(self, what: str) -> bool:
        if self.is_vm:
            return True
        self.fail(f":{what}: the {self.guest.spec.target} target's guest is a host process: it "
                  f"has no console line or QEMU (its console is the agent's stderr: :tail)")
        return False

    def meta_gdb(self, arg: str) -> bool:
        if not self._vm_only("gdb"):
            return False
        line = qemu.gdb_command(self.guest.spec)
        if not line:
            return self.fail("no gdb stub: boot with --gdb [PORT] (tunlab console --gdb)")
        self.say(line)
        return False

    def meta_monitor(self, arg: str) -> bool:
        if not self._vm_only("monitor"):
            return False
        if not arg:
            return self.fail(":monitor needs a command, e.g. `:monitor info registers`")
        try:
            self.say(safetext.escape(self.guest.machine.monitor(arg, 10.0 * self.guest.timeouts.scale)).rstrip())
        except MonitorUnavailable as e:
            return self.fail(f":monitor: {e}")
        return False

    def cursor(self) -> ConsoleCursor:
        if self._cursor is None:
            assert self.guest.watcher is not None
            self._cursor = ConsoleCursor(self.guest.watcher, self.guest._alive_quietly)
        return self._cursor

    def meta_send(self, arg: str) -> bool:
        if not self._vm_only("send"):
            return False
        self.cursor()  # output from now on can be expected
        assert self.guest.watcher is not None
        self.guest.watcher.send(arg.encode() + b"\r")
        return False

    def meta_expect(self, arg: str) -> bool:
        if not self._vm_only("expect"):
            return False
        try:
            words = shlex.split(arg)
        except ValueError as e:
            return self.fail(f":expect: {e}")
        if not words or len(words) > 2:
            return self.fail(":expect REGEX [SECONDS]")
        try:
            rx = re.compile(words[0])
            timeout = float(words[1]) if len(words) > 1 else EXPECT_DEFAULT_S
        except (re.error, ValueError) as e:
            return self.fail(f":expect: {e}")
        if not 0 < timeout <= EXPECT_MAX_S:
            return self.fail(f":expect: SECONDS must be above 0 and at most {EXPECT_MAX_S:.0f}")
        cur = self.cursor()
        m = cur.expect(rx, timeout * self.guest.timeouts.scale, f"/{safetext.one_line(words[0], 80)}/")
        start = cur.text.rfind("\n", 0, m.start()) + 1
        end = cur.text.find("\n", m.end())
        self.say("expect: " + safetext.one_line(cur.text[start:end if end >= 0 else len(cur.text)]))
        return False

    def meta_console(self, arg: str) -> bool:
        """Connect the terminal to the guest's console line until Ctrl-]."""
        if not self._vm_only("console"):
            return False
        fd = self.stdin.fileno() if hasattr(self.stdin, "fileno") else -1
        if fd < 0 or not os.isatty(fd):
            return self.fail(":console needs a terminal; in batch mode use :send and :expect")
        import termios
        import tty
        watcher = self.guest.watcher
        assert watcher is not None
        self.say("[console: what you type goes to the guest's COM1; Ctrl-] returns to agent>]")
        old = termios.tcgetattr(fd)
        self.raw_console = True
        offset = watcher.stream_end
        ended = ""
        try:
            tty.setraw(fd)
            watcher.send(b"\r")  # a fresh prompt
            while not ended:
                text, offset, _gap = watcher.read_stream(offset)
                if text:
                    self.out.write(safetext.escape(text).replace("\n", "\r\n"))
                    self.out.flush()
                if watcher.eof or not self.guest._alive_quietly():
                    ended = "the console ended"
                    break
                r, _, _ = select.select([fd], [], [], 0.05)
                if r:
                    data = os.read(fd, 1024)
                    if not data:
                        break
                    if ESCAPE_KEY in data:
                        data = data[:data.index(ESCAPE_KEY)]
                        ended = "left"
                    if data:
                        watcher.send(data)
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, old)
            self.raw_console = False
        self.say(f"\n[console: {ended or 'left'}]")
        if ended == "the console ended":
            self.guest.check_alive()
        return False

    # -- completion -------------------------------------------------------------------------
    def completions(self, line: str, text: str) -> list[str]:
        """What Tab offers for `text`, the word under the cursor, in `line` (the text up to
        the cursor)."""
        before = line[:len(line) - len(text)]
        words = before.split()
        if not words:
            names = self.verbs + ["help"] + [f":{m}" for m in META_HELP]
            return [n + " " for n in names if n.startswith(text)]
        first = words[0]
        if first in ("help", ":help", "?", ":h") and len(words) == 1:
            return [n + " " for n in self.verbs + [f":{m}" for m in META_HELP] if n.startswith(text)]
        if first.startswith(":") or first not in self.docs:
            return []
        doc = self.docs[first]
        if "=" in text:
            key, _, val = text.partition("=")
            return [f"{key}={v} " for v in doc.values.get(key, []) if v.startswith(val)]
        used = {w.partition("=")[0] for w in words[1:]}
        return [f"{k}=" for k in doc.keys if k not in used and k.startswith(text)]

    def complete(self, text: str, state: int) -> str | None:
        if state == 0:
            import readline
            line = readline.get_line_buffer()[:readline.get_endidx()].lstrip()
            try:
                self.completion_matches = self.completions(line, text)
            except Exception:  # noqa: BLE001 - a completer must never raise into readline
                self.completion_matches = []
        try:
            return self.completion_matches[state]
        except IndexError:
            return None

    # -- loops ------------------------------------------------------------------------------
    def interactive(self) -> None:
        """The readline loop (with history) until :quit, EOF or a broken guest."""
        history = history_path()
        try:
            import readline
            readline.set_completer_delims(" \t\n")
            readline.set_history_length(HISTORY_LENGTH)
            if history is not None and history.exists():
                readline.read_history_file(str(history))
        except (ImportError, OSError):
            readline = None  # type: ignore[assignment]
        try:
            self.cmdloop()
        finally:
            if readline is not None and history is not None:
                try:
                    history.parent.mkdir(parents=True, exist_ok=True)
                    readline.write_history_file(str(history))
                except OSError:
                    pass

    def batch(self, lines: Iterable[str]) -> None:
        """Run lines from a file or a pipe, each echoed after the prompt."""
        for raw in lines:
            line = raw.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            self.say(f"{self.prompt}{safetext.one_line(line, 2000)}")
            if self.onecmd(line):
                return


def history_path() -> Path | None:
    """TUNLAB_CONSOLE_HISTORY (empty: no history file), default ~/.tunlab_console_history."""
    value = os.environ.get(HISTORY_ENV)
    if value is None:
        return Path.home() / ".tunlab_console_history"
    return Path(value) if value.strip() else None


# -- the command ----------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = textwrap.fill("Boot a guest of any target and give an agent prompt: a line is a request "
                     "(`verb key=value ...`, docs/protocol.md) or a console command (`:help`). "
                     "Ctrl-C kills the guest, keeps its logs and exits with status 130.", 80)
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = ("requests: `help VERB` shows a verb's arguments and reply; Tab completes verbs, "
                "keys and values;\n  history in ~/.tunlab_console_history "
                f"(env {HISTORY_ENV}; empty: none)\nconsole commands:\n"
                + "\n".join("  " + text for text in META_HELP.values())
                + "\nbatch mode (--batch FILE, or a pipe): each line echoed and run; exit status "
                  "1 when one failed")
    p.add_argument("--batch", metavar="FILE", help="run the requests in FILE ('-': standard "
                   "input) and leave; exit status 1 when one failed (requests on a standard "
                   "input that is not a terminal are run the same way)")


def main(args: argparse.Namespace, cfg: "object") -> int:
    """tunlab console. `cfg` is the run configuration (runconfig.RunConfig)."""
    batch_file = getattr(args, "batch", None)
    source: TextIO | None = None
    if batch_file and batch_file != "-":
        try:
            source = open(batch_file, encoding="utf-8", errors="replace")
        except OSError as e:
            raise UsageError(f"--batch {batch_file}: {e.strerror or e}") from None
    elif batch_file == "-" or not sys.stdin.isatty():
        source = sys.stdin
    if source is None and signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # A person at the terminal stops the guest with Ctrl-C, even when tunlab was started
        # with SIGINT ignored (as `cmd &` in a shell without job control starts it).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    plan = targets.plan(cfg)  # type: ignore[arg-type]
    spec, shell_note = plan.target.with_console_shell(plan.spec)
    # In batch mode the console goes to stderr, so stdout is the requests and replies.
    shown = sys.stderr if source is not None else sys.stdout
    print(f"tunlab console: booting the {cfg.target} guest ({plan.accel}); console lines "  # type: ignore[attr-defined]
          f"are shown with '| '", file=shown, flush=True)
    run_dir = new_run_dir(spec.target)
    holder: list[ConsoleShell] = []

    def echo(line: str) -> None:
        if holder:
            holder[0].echo_console(line)
        elif source is None:
            print(f"| {line}", flush=True)
        else:
            print(f"| {line}", file=sys.stderr, flush=True)

    guest: Guest | None = None
    try:
        guest = Guest.boot(spec, backend=plan.backend, accel=plan.accel, run_dir=run_dir, echo=echo)
        shell = ConsoleShell(guest, shell_note=shell_note)
        if source is not None:
            shell.echo_console = lambda line: print(f"| {line}", file=sys.stderr, flush=True)  # type: ignore[method-assign]
        holder.append(shell)
        hello = " ".join(f"{k}={v}" for k, v in guest.hello.items() if k != "caps")
        print(f"agent ready after {guest.boot_seconds:.2f} s: {hello}", file=shown, flush=True)
        if source is None:
            shell.say(EXAMPLES + "\n`:help` lists the verbs and the console commands."
                      + (f"\n{shell_note}" if shell_note else ""))
            shell.interactive()
        else:
            shell.batch(source)
        status = 1 if shell.ended or (source is not None and shell.failures) else 0
        if source is not None:
            print(f"tunlab console: {shell.lines_run} line(s) run, {shell.failures} failed",
                  file=sys.stderr, flush=True)
        how = guest.stop()
        print(f"guest {how}; logs in {run_dir}", file=shown, flush=True)
        return status
    except KeyboardInterrupt:
        how = guest.stop() if guest is not None else "killed (interrupted)"
        print(f"\ntunlab console: interrupted; guest {how}; logs in {run_dir}", file=sys.stderr,
              flush=True)
        return 130
    finally:
        if guest is not None:
            guest.stop()  # whatever ended the session (idempotent)
        if source is not None and source is not sys.stdin:
            source.close()
