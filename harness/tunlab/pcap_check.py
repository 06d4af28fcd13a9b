"""What tcpdump and tshark make of tunlab's captures (tunlab/pcap.py): every frame of every
capture under a log directory decoded, counted per framing. A frame is *decoded* when the
tool shows an IPv4 or IPv6 packet; some frames are not whole packets on purpose and are
counted apart, each by what its comment says: a write the driver refused (W3's 1-3 byte
header-mode writes, W2's packet one byte over the limit), a read into a short buffer (O4's
10-byte head), and a write of bytes that are no IP packet (W2's zeroes, which the driver
takes and the stack drops). Anything else a tool cannot decode is *undecodable*.

    PYTHONPATH=harness python3 -m tunlab.pcap_check build/test-logs/<run>
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tunlab.pcap import read_capture

CAPTURE = "packets.pcap"
_TS = re.compile(r"^\d\d:\d\d:\d\d\.\d+ ")


def decode_tcpdump(path: Path) -> list[str]:
    """tcpdump's line for each frame (-nn -r; continuation lines dropped). Raises
    RuntimeError when tcpdump cannot read the file."""
    res = subprocess.run(["tcpdump", "-nn", "-r", str(path)], capture_output=True, text=True,
                         timeout=120)
    if res.returncode != 0 or "tcpdump:" in res.stderr:
        raise RuntimeError(f"tcpdump -r {path}: exit {res.returncode}: {res.stderr.strip()}")
    return [_TS.sub("", line) for line in res.stdout.splitlines() if _TS.match(line)]


def classify_tcpdump(line: str) -> str:
    """"IP" or "IP6" (a packet decoded), "truncated" (an IP packet cut short), or
    "undecodable" (no IP packet found: an unknown family, a header too short, ...)."""
    word = line.split(" ", 1)[0]
    if word not in ("IP", "IP6"):
        return "undecodable"
    if "[|" in line or "truncated" in line or "bad-hlen" in line:
        return "truncated"
    return word


def decode_tshark(path: Path) -> list[dict[str, object]]:
    """tshark's view of each frame: its IP layer ("ip", "ipv6" or ""), whether it is
    malformed, its direction ("in", "out", "") and its comment."""
    res = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-E", "separator=\t",
                          "-e", "frame.protocols", "-e", "_ws.malformed", "-e",
                          "frame.packet_flags_direction", "-e", "frame.comment"],
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"tshark -r {path}: exit {res.returncode}: {res.stderr.strip()}")
    rows = []
    for line in res.stdout.splitlines():
        protos, malformed, flags, comment = (line.split("\t") + [""] * 4)[:4]
        layers = protos.split(":")
        ip = "ipv6" if "ipv6" in layers else "ip" if "ip" in layers else ""
        direction = {1: "in", 2: "out"}.get(int(flags, 16) & 3 if flags else 0, "")
        rows.append({"ip": ip, "malformed": bool(malformed), "direction": direction,
                     "comment": comment})
    return rows


def on_purpose(comment: str, direction: str) -> str:
    """Why a frame is not a whole IP packet on purpose, from its comment and direction ("" if
    it should be one): a write the driver refused, a read into a short buffer, or a write
    of something that is no IP packet (W2 writes zeroes; the driver takes them, the stack
    drops them). A packet *read* from the device that is no IP packet is no excuse."""
    if "the write failed" in comment:
        return "refused"
    if "-byte buffer" in comment:
        return "short read"
    if "not an IP packet" in comment and direction == "in":
        return "not IP"
    return ""


@dataclass
class Survey:
    files: int = 0
    counts: dict[str, Counter] = field(default_factory=dict)  # framing -> verdict -> frames
    problems: list[str] = field(default_factory=list)         # undecodable frames, unreadable files
    tshark: bool = False

    def add(self, framing: str, verdict: str) -> None:
        self.counts.setdefault(framing, Counter())[verdict] += 1

    def total(self, verdict: str) -> int:
        return sum(c[verdict] for c in self.counts.values())

    def table(self) -> str:
        verdicts = ["decoded", "refused", "short read", "not IP", "undecodable"]
        lines = [f"{self.files} captures, tcpdump{' and tshark' if self.tshark else ''}; frames per framing:",
                 f"{'framing':<10}" + "".join(f"{v:>13}" for v in verdicts)]
        for framing in sorted(self.counts):
            lines.append(f"{framing:<10}" + "".join(f"{self.counts[framing][v]:>13}" for v in verdicts))
        lines.append(f"{'all':<10}" + "".join(f"{self.total(v):>13}" for v in verdicts))
        return "\n".join(lines + self.problems)


def survey(root: Path, tshark: bool | None = None) -> Survey:
    """Every capture under `root` through tcpdump (and tshark when installed, or when
    `tshark` says so), frame by frame against what our reader says the frame is."""
    use_tshark = bool(shutil.which("tshark")) if tshark is None else tshark
    s = Survey(tshark=use_tshark)
    for path in sorted(root.rglob(CAPTURE)):
        s.files += 1
        try:
            cap = read_capture(path)
            lines = decode_tcpdump(path)
            rows = decode_tshark(path) if use_tshark else None
        except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as e:
            s.problems.append(f"{path}: {e}")
            continue
        if len(lines) != len(cap.packets) or (rows is not None and len(rows) != len(cap.packets)):
            s.problems.append(f"{path}: {len(cap.packets)} frames, tcpdump shows {len(lines)}"
                              + (f", tshark {len(rows)}" if rows is not None else ""))
            continue
        for i, (p, line) in enumerate(zip(cap.packets, lines)):
            framing = cap.interfaces[p.interface].name.rsplit(" ", 1)[-1]
            why = on_purpose(p.comment, p.direction)
            seen = classify_tcpdump(line)
            bad = seen not in ("IP", "IP6")
            if rows is not None:
                r = rows[i]
                bad = bad or not r["ip"] or bool(r["malformed"])
                if r["direction"] != p.direction:
                    s.problems.append(f"{path} frame {i + 1}: tshark's direction {r['direction']!r}, "
                                      f"recorded {p.direction!r}")
            if not bad:
                s.add(framing, "decoded")
            elif why:
                s.add(framing, why)
            else:
                s.add(framing, "undecodable")
                s.problems.append(f"{path} frame {i + 1} ({framing}, {p.direction or '?'}): "
                                  f"tcpdump: {line!r}; comment: {p.comment!r}")
    return s


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("usage: PYTHONPATH=harness python3 -m tunlab.pcap_check LOG_DIR (a --tunlab-logs "
              "directory: every packets.pcap under it)", file=sys.stderr)
        return 2
    s = survey(Path(argv[0]))
    print(s.table())
    return 1 if s.problems or not s.files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
