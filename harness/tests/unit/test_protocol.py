"""The host side of docs/protocol.md: encoding requests, decoding frames strictly."""

import pytest

from tunlab.errors import ProtocolError
from tunlab.protocol import MAX_FRAME, decode_frame, decode_text, encode_request, encode_value


def test_request_encoding():
    line = encode_request(7, "write", {"h": 1, "data": b"\x45\x00", "nonblock": True})
    assert line == b"TL1 7 write h=1 data=4500 nonblock=1\n"


def test_text_values_are_percent_encoded_and_decode_back():
    raw = "no such device: tun9 (100%)"
    enc = encode_value(raw)
    assert " " not in enc and enc != raw
    assert decode_text(enc) == raw
    assert encode_value("10.0.0.1/24") == "10.0.0.1/24"  # words stay readable


@pytest.mark.parametrize("verb,args", [("Bad", {}), ("open", {"Key": 1}), ("open", {"a b": 1})])
def test_bad_requests_are_refused(verb, args):
    with pytest.raises(ValueError):
        encode_request(1, verb, args)


def test_oversized_request_is_refused():
    with pytest.raises(ValueError, match="frame limit"):
        encode_request(1, "write", {"data": b"\0" * MAX_FRAME})


def test_ok_reply():
    f = decode_frame("TL1 3 ok h=2 ifname=tun0 data=0a0b")
    assert f.ok and f.id == 3 and f.int("h") == 2 and f.text("ifname") == "tun0"
    assert f.bytes("data") == b"\x0a\x0b"


def test_err_reply():
    f = decode_frame("TL1 4 err EAGAIN errno=11 msg=read%20failed")
    assert not f.ok and f.error == "EAGAIN" and f.int("errno") == 11 and f.text("msg") == "read failed"


@pytest.mark.parametrize("line", [
    "TL2 1 ok",                 # wrong version
    "TL1 x ok",                 # bad id
    "TL1 1",                    # no word
    "TL1 1 maybe",              # word not ok/err/log
    "TL1 1 ok stray",           # token without '='
    "TL1 1 ok Key=1",           # key not lowercase
    "TL1 1 err",                # err without a name
    "TL1 1 err errno=3",        # err whose name is missing
    "TL1 1 ok a=b\tc",          # control character in a value
])
def test_malformed_frames_are_named(line):
    with pytest.raises(ProtocolError):
        decode_frame(line)


def test_missing_and_bad_fields_are_protocol_errors():
    f = decode_frame("TL1 1 ok n=abc data=zz")
    with pytest.raises(ProtocolError, match="n="):
        f.int("n")
    with pytest.raises(ProtocolError, match="hex"):
        f.bytes("data")
    with pytest.raises(ProtocolError, match="no h="):
        f.int("h")
