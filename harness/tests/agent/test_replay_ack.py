"""--ack N (QEMU's record mode, harness/tunlab/replay.py): the agent acknowledges its input,
one ACK byte (0x06) per N bytes read, between frames, and says ack=N in hello."""


def _read_all(agent, want_frames, timeout=10.0):
    """Raw bytes from the agent until `want_frames` newlines have come."""
    got = b""
    while got.count(b"\n") < want_frames:
        got += agent.read_line(timeout)
    return got


def test_acks_every_n_bytes_read_and_hello_says_so(spawn):
    a = spawn("--ack", "16")
    a.read_frame(keep_logs=True)  # the start-up log frame
    hello = b"TL1 1 hello\n"                          # 12 bytes: no ACK yet
    nop = b"TL1 2 nop pad=" + b"x" * 25 + b"\n"       # 40 bytes: 52 in all, 3 ACKs
    a.send(hello + nop)
    raw = _read_all(a, 2)
    assert raw.count(b"\x06") == 3
    frames = raw.replace(b"\x06", b"").split(b"\n")
    assert b"ack=16" in frames[0].split(b" ")
    assert frames[1].startswith(b"TL1 2 err ")  # the whole line arrived: nop takes no pad=
    # ACKs come between frames, never inside one
    for line in raw.split(b"\n")[:2]:
        body = line.lstrip(b"\x06")
        assert b"\x06" not in body


def test_without_ack_the_agent_sends_none_and_hello_has_no_ack(spawn):
    a = spawn()
    a.read_frame(keep_logs=True)
    a.send(b"TL1 1 hello\n" + b"TL1 2 nop pad=" + b"x" * 25 + b"\n")
    raw = _read_all(a, 2)
    assert b"\x06" not in raw
    assert b" ack=" not in raw


def test_ack_out_of_range_is_a_usage_error(agent_bin):
    import subprocess
    for bad in ("-1", "4097", "x", ""):
        r = subprocess.run([agent_bin, "--stdio", "--ack", bad], input=b"", capture_output=True,
                           timeout=10)
        assert r.returncode == 2, bad
        assert b"--ack N" in r.stderr
