"""The PostgreSQL wire protocol, as far as the proxy speaks it: pure encoding and parsing.

The proxy takes part only in the start of a session (protocol 3, as
PostgreSQL documents it under "Message Formats"):

- *startup packets* have no type byte: an ``Int32`` length (itself
  included) and an ``Int32`` code: ``SSLRequest``, ``GSSENCRequest``,
  ``CancelRequest`` (a process id and a secret key: 4 bytes in protocol 3.0,
  up to 256 in 3.2) or a ``StartupMessage`` (the protocol version and
  ``name\\0value\\0`` pairs);
- every later message is a type byte, an ``Int32`` length and a body.

Everything after the login is relayed as bytes and never parsed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104
CANCEL_REQUEST_CODE = 80877102
PROTOCOL_3_0 = 3 << 16
# PostgreSQL's own bound (MAX_STARTUP_PACKET_LENGTH); a longer packet is refused.
MAX_STARTUP_LENGTH = 10000
MAX_CANCEL_KEY_LENGTH = 256
# A backend message this long during a login is not PostgreSQL talking.
MAX_LOGIN_MESSAGE_LENGTH = 1 << 20

# Authentication request codes ('R' messages).
AUTH_OK = 0
AUTH_CLEARTEXT = 3
AUTH_MD5 = 5
AUTH_SASL = 10
AUTH_NAMES = {
    2: "Kerberos V5",
    AUTH_CLEARTEXT: "a cleartext password",
    AUTH_MD5: "MD5",
    7: "GSSAPI",
    9: "SSPI",
    AUTH_SASL: "SASL (SCRAM)",
}

# SQLSTATEs the proxy looks at or sends.
CANNOT_CONNECT_NOW = "57P03"  # starting up, shutting down, a standby refusing: wait
TOO_MANY_CONNECTIONS = "53300"
INVALID_PASSWORD = "28P01"  # noqa: S105 (an SQLSTATE)
INVALID_AUTHORIZATION = "28000"
CONNECTION_FAILURE = "08006"
PROTOCOL_VIOLATION = "08P01"
ADMIN_SHUTDOWN = "57P01"
IDLE_SESSION_TIMEOUT = "57P05"

_INT32 = struct.Struct("!i")
_TWO_INT32 = struct.Struct("!ii")


class ProtocolError(ValueError):
    """Bytes that are not a valid message where one was expected; the text says what."""


@dataclass(frozen=True)
class SslRequest:
    pass


@dataclass(frozen=True)
class GssEncRequest:
    pass


@dataclass(frozen=True)
class CancelRequest:
    pid: int
    key: bytes


@dataclass(frozen=True)
class Startup:
    version: int
    params: dict[str, str] = field(default_factory=dict)

    @property
    def user(self) -> str:
        return self.params.get("user", "")

    @property
    def database(self) -> str:
        # The protocol's default: the user name.
        return self.params.get("database") or self.user

    @property
    def version_text(self) -> str:
        return f"{self.version >> 16}.{self.version & 0xFFFF}"


StartupPacket = SslRequest | GssEncRequest | CancelRequest | Startup


@dataclass(frozen=True)
class Message:
    """A typed message: one byte of type and its body (without the length)."""

    type: bytes
    body: bytes

    def encode(self) -> bytes:
        return encode_message(self.type, self.body)


# -- startup packets -----------------------------------------------------------


def startup_length(header: bytes) -> int:
    """The whole packet's length from its first 4 bytes; refuses what PostgreSQL refuses."""
    if len(header) != 4:
        raise ProtocolError("a startup packet starts with a 4-byte length")
    (length,) = _INT32.unpack(header)
    if length < 8 or length > MAX_STARTUP_LENGTH:
        raise ProtocolError(f"invalid startup packet length {length}")
    return int(length)


def parse_startup_packet(packet: bytes) -> StartupPacket:
    """A whole startup packet (length included) as what it asks for."""
    if len(packet) < 8 or startup_length(packet[:4]) != len(packet):
        raise ProtocolError("truncated startup packet")
    (code,) = _INT32.unpack_from(packet, 4)
    if code == SSL_REQUEST_CODE and len(packet) == 8:
        return SslRequest()
    if code == GSSENC_REQUEST_CODE and len(packet) == 8:
        return GssEncRequest()
    if code == CANCEL_REQUEST_CODE:
        key = packet[12:]
        if len(packet) < 16 or len(key) > MAX_CANCEL_KEY_LENGTH:
            raise ProtocolError("invalid cancel request")
        (pid,) = _INT32.unpack_from(packet, 8)
        return CancelRequest(pid=int(pid), key=bytes(key))
    if code >> 16 != 3:
        raise ProtocolError(f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}")
    return Startup(version=int(code), params=_parse_params(packet[8:]))


def _parse_params(data: bytes) -> dict[str, str]:
    # name\0value\0 ... \0: every string ends with a zero byte, and the list with one more.
    if not data.endswith(b"\0"):
        raise ProtocolError("startup parameters are not terminated")
    if data == b"\0":
        return {}
    if not data.endswith(b"\0\0"):
        raise ProtocolError("startup parameters are not terminated")
    parts = data[:-2].split(b"\0")
    if len(parts) % 2:
        raise ProtocolError("a startup parameter has no value")
    try:
        texts = [p.decode("utf-8") for p in parts]
    except UnicodeDecodeError as exc:
        raise ProtocolError("startup parameters are not UTF-8") from exc
    names, values = texts[0::2], texts[1::2]
    if any(not name for name in names):
        raise ProtocolError("a startup parameter has an empty name")
    return dict(zip(names, values, strict=True))


def encode_startup(startup: Startup) -> bytes:
    body = b"".join(
        name.encode() + b"\0" + value.encode() + b"\0" for name, value in startup.params.items()
    )
    payload = _INT32.pack(startup.version) + body + b"\0"
    return _INT32.pack(len(payload) + 4) + payload


def encode_ssl_request() -> bytes:
    return _TWO_INT32.pack(8, SSL_REQUEST_CODE)


def encode_cancel(request: CancelRequest) -> bytes:
    payload = _TWO_INT32.pack(CANCEL_REQUEST_CODE, request.pid) + request.key
    return _INT32.pack(len(payload) + 4) + payload


# -- typed messages ------------------------------------------------------------


def encode_message(type_: bytes, body: bytes) -> bytes:
    return type_ + _INT32.pack(len(body) + 4) + body


def message_header(header: bytes, *, limit: int = MAX_LOGIN_MESSAGE_LENGTH) -> tuple[bytes, int]:
    """(type, body length) from a message's first 5 bytes."""
    if len(header) != 5:
        raise ProtocolError("a message starts with a type byte and a 4-byte length")
    (length,) = _INT32.unpack_from(header, 1)
    if length < 4 or length > limit:
        raise ProtocolError(f"invalid length {length} for message {header[:1]!r}")
    return header[:1], int(length) - 4


def authentication_code(body: bytes) -> int:
    """The request code of an ``Authentication`` ('R') message."""
    if len(body) < 4:
        raise ProtocolError("authentication message too short")
    return int(_INT32.unpack_from(body)[0])


def authentication_ok() -> bytes:
    return encode_message(b"R", _INT32.pack(AUTH_OK))


def cleartext_password_request() -> bytes:
    return encode_message(b"R", _INT32.pack(AUTH_CLEARTEXT))


def encode_password(password: str) -> bytes:
    """A ``PasswordMessage``: the cleartext password, as a gateway asks for a token."""
    return encode_message(b"p", password.encode() + b"\0")


def parse_password(body: bytes) -> str:
    if not body.endswith(b"\0"):
        raise ProtocolError("password message is not terminated")
    return body[:-1].decode("utf-8", errors="replace")


def parse_fields(body: bytes) -> dict[str, str]:
    """The fields of an ``ErrorResponse`` or ``NoticeResponse`` by their one-letter code."""
    fields: dict[str, str] = {}
    for part in body.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", errors="replace")
    return fields


def encode_error(
    code: str,
    message: str,
    *,
    severity: str = "FATAL",
    detail: str | None = None,
    hint: str | None = None,
) -> bytes:
    """An ``ErrorResponse`` as a server would send it."""
    fields = [("S", severity), ("V", severity), ("C", code), ("M", message)]
    fields += [(k, v) for k, v in (("D", detail), ("H", hint)) if v]
    body = b"".join(k.encode() + v.encode() + b"\0" for k, v in fields) + b"\0"
    return encode_message(b"E", body)


def encode_error_fields(fields: dict[str, str]) -> bytes:
    """An ``ErrorResponse`` carrying ``fields`` as they are (an upstream error, passed on)."""
    body = b"".join(k.encode() + v.encode() + b"\0" for k, v in fields.items()) + b"\0"
    return encode_message(b"E", body)


def parse_backend_key(body: bytes) -> CancelRequest:
    """``BackendKeyData``: what a ``CancelRequest`` for this session must carry."""
    if len(body) < 8 or len(body) > 4 + MAX_CANCEL_KEY_LENGTH:
        raise ProtocolError("invalid BackendKeyData")
    (pid,) = _INT32.unpack_from(body)
    return CancelRequest(pid=int(pid), key=bytes(body[4:]))


def ends_ready_for_query(chunk: bytes) -> bool:
    """Whether ``chunk`` (the latest bytes from the server) ends with a ``ReadyForQuery``.

    Used for the idle timeout without parsing the stream: a session whose
    server last said "ready" and whose client has said nothing since is idle.
    """
    return len(chunk) >= 6 and chunk[-6:-1] == b"Z\0\0\0\x05" and chunk[-1:] in (b"I", b"T", b"E")
