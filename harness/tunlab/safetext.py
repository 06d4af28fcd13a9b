"""Guest-originated text made safe to print: on a terminal, in pytest's report, in JUnit XML.

A guest (or a broken agent) can send anything: terminal escapes (OSC titles and links, `ESC c`
resets, cursor moves), BEL, carriage returns that overwrite a FAIL line, bidi overrides, NUL
(which XML cannot carry), and megabytes of it. Every message that quotes guest output goes
through `quote` (multi-line, a capped tail) or `one_line` (for a FAIL line or a field):

- control characters other than newline and tab are shown escaped (`\\x1b`, `\\r`, `\\x07`),
  as are C1 controls, DEL, bidi controls, lone surrogates and U+FFFE/U+FFFF;
- text is capped: `quote` keeps the last `limit` characters (a marker says how many went
  before), `one_line` the first `limit` (a marker says how many were cut).
"""

from __future__ import annotations

import re

TAIL_MAX = 4096     # characters of guest text quoted in one message (the tail is kept)
ONE_LINE_MAX = 300  # characters of guest text in a one-line field

# C0 controls but \t and \n; DEL and C1; bidi embedding/override/isolate marks; surrogates
# (from "surrogateescape" decoding); the non-characters XML refuses.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
                     "\ud800-\udfff\ufffe\uffff]")
_NAMED = {"\r": "\\r", "\x1b": "\\x1b", "\x00": "\\x00", "\x07": "\\x07", "\x08": "\\x08"}


def _escape_char(m: re.Match[str]) -> str:
    c = m.group(0)
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def escape(text: str, newlines: bool = True) -> str:
    """`text` with every unsafe character shown escaped; with newlines=False, newlines and
    tabs too (for a one-line field)."""
    out = _UNSAFE.sub(_escape_char, text)
    if not newlines:
        out = out.replace("\n", "\\n").replace("\t", "\\t")
    return out


def quote(text: str | bytes, limit: int = TAIL_MAX) -> str:
    """A safe, capped tail of guest text for a multi-line message: the last `limit`
    characters (from a line start when one is near), escaped."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    if len(text) > limit:
        cut = len(text) - limit
        nl = text.find("\n", cut, cut + 200)
        if nl >= 0:
            cut = nl + 1
        text = f"[... {cut} characters before this not shown ...]\n" + text[cut:]
    return escape(text)


def one_line(text: str | bytes, limit: int = ONE_LINE_MAX) -> str:
    """Guest text as one safe line: newlines escaped, the first `limit` characters kept."""
    if isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", "replace")
    more = len(text) - limit
    if more > 0:
        return escape(text[:limit], newlines=False) + f"...[{more} more characters]"
    return escape(text, newlines=False)
