"""The proxy's PostgreSQL protocol, on bytes: what it parses, what it refuses, what it sends."""

from __future__ import annotations

import struct

import pytest

from aurora_express.proxy import protocol as pq
from aurora_express.proxy.protocol import CancelRequest, Message, ProtocolError, Startup


def packet(code: int, payload: bytes = b"") -> bytes:
    return struct.pack("!ii", len(payload) + 8, code) + payload


def test_ssl_request_is_recognized() -> None:
    assert pq.parse_startup_packet(packet(80877103)) == pq.SslRequest()


def test_gssenc_request_is_recognized() -> None:
    assert pq.parse_startup_packet(packet(80877104)) == pq.GssEncRequest()


def test_startup_message_gives_the_protocol_version_and_parameters() -> None:
    raw = packet(196608, b"user\0postgres\0database\0app\0options\0-c x=1\0\0")
    parsed = pq.parse_startup_packet(raw)
    assert parsed == Startup(196608, {"user": "postgres", "database": "app", "options": "-c x=1"})
    assert isinstance(parsed, Startup)
    assert parsed.version_text == "3.0"


def test_database_defaults_to_the_user_as_the_protocol_says() -> None:
    parsed = pq.parse_startup_packet(packet(196608, b"user\0alice\0\0"))
    assert isinstance(parsed, Startup)
    assert parsed.database == "alice"


def test_startup_message_round_trips() -> None:
    startup = Startup(196610, {"user": "u", "database": "d", "application_name": "x"})
    assert pq.parse_startup_packet(pq.encode_startup(startup)) == startup


def test_cancel_request_of_protocol_3_0_has_a_4_byte_key() -> None:
    raw = packet(80877102, struct.pack("!i", 4242) + b"\x01\x02\x03\x04")
    assert pq.parse_startup_packet(raw) == CancelRequest(4242, b"\x01\x02\x03\x04")


def test_cancel_request_of_protocol_3_2_keeps_its_longer_key() -> None:
    key = bytes(range(32))
    request = CancelRequest(7, key)
    assert pq.parse_startup_packet(pq.encode_cancel(request)) == request


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (struct.pack("!i", 4), "invalid startup packet length 4"),
        (struct.pack("!i", 10001), "invalid startup packet length 10001"),
    ],
)
def test_startup_length_out_of_bounds_is_refused(raw: bytes, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        pq.startup_length(raw)


def test_protocol_2_is_refused() -> None:
    with pytest.raises(ProtocolError, match=r"unsupported frontend protocol 2\.0"):
        pq.parse_startup_packet(packet(2 << 16, b"user\0x\0\0"))


@pytest.mark.parametrize(
    "params",
    [b"user\0postgres\0", b"user\0x", b"user\0postgres\0database\0\0", b"\0x\0\0"],
)
def test_malformed_parameters_are_refused(params: bytes) -> None:
    with pytest.raises(ProtocolError):
        pq.parse_startup_packet(packet(196608, params))


def test_a_truncated_packet_is_refused() -> None:
    with pytest.raises(ProtocolError, match="truncated"):
        pq.parse_startup_packet(packet(196608, b"user\0x\0\0")[:-3])


def test_password_message_carries_the_password_zero_terminated() -> None:
    assert pq.encode_password("tok=en") == b"p\0\0\0\x0btok=en\0"
    assert pq.parse_password(b"tok=en\0") == "tok=en"


def test_message_header_gives_the_type_and_body_length() -> None:
    assert pq.message_header(b"R\0\0\0\x08") == (b"R", 4)


def test_an_absurd_message_length_during_login_is_refused() -> None:
    with pytest.raises(ProtocolError, match="invalid length"):
        pq.message_header(b"R" + struct.pack("!i", 1 << 30))


def test_authentication_requests_are_told_apart() -> None:
    assert pq.authentication_code(struct.pack("!i", 3)) == pq.AUTH_CLEARTEXT
    assert pq.authentication_code(struct.pack("!i", 10) + b"SCRAM-SHA-256\0\0") == pq.AUTH_SASL
    assert pq.authentication_ok() == b"R\0\0\0\x08\0\0\0\0"


def test_error_response_round_trips_its_fields() -> None:
    raw = pq.encode_error("57P03", "not yet", detail="resuming", hint="wait")
    message = Message(raw[:1], raw[5:])
    assert message.type == b"E"
    assert pq.parse_fields(message.body) == {
        "S": "FATAL",
        "V": "FATAL",
        "C": "57P03",
        "M": "not yet",
        "D": "resuming",
        "H": "wait",
    }
    assert pq.encode_error_fields(pq.parse_fields(message.body)) == raw


def test_backend_key_data_becomes_the_cancel_request_it_allows() -> None:
    assert pq.parse_backend_key(struct.pack("!i", 99) + b"abcd") == CancelRequest(99, b"abcd")


def test_ready_for_query_at_the_end_of_a_chunk_means_idle() -> None:
    assert pq.ends_ready_for_query(b"...C\0\0\0\x0dSELECT 1\0Z\0\0\0\x05I")
    assert pq.ends_ready_for_query(b"Z\0\0\0\x05T")
    assert not pq.ends_ready_for_query(b"Z\0\0\0\x05I" + b"D\0\0\0\x0b")
    assert not pq.ends_ready_for_query(b"Z\0\0\0\x05")
