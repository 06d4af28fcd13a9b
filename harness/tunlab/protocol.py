"""Frames of the tunlab control protocol, version 1 (docs/protocol.md).

One frame a line: ``TL1 <id> <word> [<key>=<value> ...]``. This module only encodes and
decodes; client.py does the talking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tunlab.errors import ProtocolError

MAGIC = "TL1"
MAX_FRAME = 163840
MAX_ID = 2**31 - 1

_KEY = re.compile(r"[a-z0-9_]+\Z")
_WORD = re.compile(r"[A-Za-z0-9_./:,+-]+\Z")
# An `err` frame's name: an errno name as the guest spells it (EAGAIN, E2BIG), an unknown
# number as E<n>, or one of the protocol's own names (EPROTO, EARG, ENOHANDLE, ...).
_ERR_NAME = re.compile(r"E(?:[A-Z0-9_]{1,31}|-?[0-9]{1,10})\Z")
_PRINTABLE = frozenset(range(0x21, 0x7F)) - {ord("%")}
Value = int | str | bytes | bool


def encode_value(value: Value) -> str:
    """Write a value as the protocol wants it: ints in decimal, bytes as hex, other
    strings as words when they can be, else percent-encoded text."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if _WORD.match(value):
        return value
    return "".join(chr(b) if b in _PRINTABLE else f"%{b:02X}" for b in value.encode())


def decode_text(value: str) -> str:
    """Undo percent-encoding (a word decodes to itself)."""
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), value)


def encode_request(req_id: int, verb: str, args: dict[str, Value]) -> bytes:
    if not 1 <= req_id <= MAX_ID:
        raise ValueError(f"request id {req_id} out of range")
    if not _KEY.match(verb):
        raise ValueError(f"bad verb {verb!r}")
    parts = [MAGIC, str(req_id), verb]
    for key, value in args.items():
        if not _KEY.match(key):
            raise ValueError(f"bad key {key!r}")
        parts.append(f"{key}={encode_value(value)}")
    line = " ".join(parts) + "\n"
    if len(line) > MAX_FRAME:
        raise ValueError(f"{verb} request is {len(line)} bytes, over the {MAX_FRAME}-byte frame limit")
    return line.encode()


@dataclass
class Frame:
    """A frame from the agent: a reply (`ok`/`err`) or a log line (`log`, id 0)."""

    id: int
    word: str
    fields: dict[str, str] = field(default_factory=dict)
    error: str = ""  # the error name of an `err` frame
    line: str = ""

    @property
    def ok(self) -> bool:
        return self.word == "ok"

    def int(self, key: str) -> int:
        try:
            return int(self.fields[key], 0)
        except KeyError:
            raise ProtocolError(f"reply has no {key}=: {self.line!r}") from None
        except ValueError:
            raise ProtocolError(f"reply's {key}= is not an integer: {self.line!r}") from None

    def float(self, key: str) -> float:
        try:
            return float(self.fields[key])
        except (KeyError, ValueError):
            raise ProtocolError(f"reply has no numeric {key}=: {self.line!r}") from None

    def bytes(self, key: str) -> bytes:
        try:
            return bytes.fromhex(self.fields[key])
        except KeyError:
            raise ProtocolError(f"reply has no {key}=: {self.line!r}") from None
        except ValueError:
            raise ProtocolError(f"reply's {key}= is not hex: {self.line[:200]!r}") from None

    def text(self, key: str, default: str = "") -> str:
        return decode_text(self.fields.get(key, default))


def is_frame(line: str) -> bool:
    """Lines that do not start with ``TL`` are noise, not frames."""
    return line.startswith("TL")


def decode_frame(line: str) -> Frame:
    """Parse one line (without its newline) from the agent, strictly."""
    if len(line) + 1 > MAX_FRAME:
        raise ProtocolError(f"frame of {len(line)} bytes is over the {MAX_FRAME}-byte limit")
    tokens = line.split(" ")
    if len(tokens) < 3 or tokens[0] != MAGIC:
        raise ProtocolError(f"malformed frame (want '{MAGIC} <id> <word> ...'): {line[:200]!r}")
    if not tokens[1].isdigit() or int(tokens[1]) > MAX_ID:
        raise ProtocolError(f"malformed frame id {tokens[1][:20]!r}: {line[:200]!r}")
    frame = Frame(id=int(tokens[1]), word=tokens[2], line=line)
    rest = tokens[3:]
    if frame.word == "err":
        if not rest or "=" in rest[0] or not rest[0]:
            raise ProtocolError(f"err frame without an error name: {line[:200]!r}")
        if not _ERR_NAME.match(rest[0]):
            raise ProtocolError(f"err frame's name {rest[0][:40]!r} is not an error name "
                                f"(E and capitals, digits or _): {line[:200]!r}")
        frame.error = rest[0]
        rest = rest[1:]
    elif frame.word not in ("ok", "log"):
        raise ProtocolError(f"frame word {frame.word!r} is not ok/err/log: {line[:200]!r}")
    for token in rest:
        key, sep, value = token.partition("=")
        if not sep or not _KEY.match(key) or any(ord(c) < 0x21 or ord(c) > 0x7E for c in value):
            raise ProtocolError(f"malformed token {token[:40]!r} in frame: {line[:200]!r}")
        frame.fields[key] = value
    return frame
