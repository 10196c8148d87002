"""The proxy's side towards the cluster: TLS verify-full, the token as the password, retries.

One login is: TCP to the endpoint, ``SSLRequest``, TLS with the CA bundle
and the host name checked (never anything less), the client's
``StartupMessage`` (user and database as the proxy decides), then the
password the server asks for: the IAM token, in cleartext, which is what the
express gateway asks for (over TLS). The server's answers up to its first
``ReadyForQuery`` are kept, to be passed to the client in one piece.

What waiting can fix is retried, with a fresh token each time, until a
deadline: a refused or reset TCP connection, a name that does not resolve
yet, a timeout, and ``57P03`` (a server starting up, or an express cluster
resuming from auto-pause). What it cannot fix is reported at once: a
certificate that does not verify, a server without TLS, a refused login.
"""

from __future__ import annotations

import asyncio
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aurora_express.proxy import protocol as pq
from aurora_express.proxy.protocol import CancelRequest, Message, Startup

ATTEMPT_TIMEOUT = 10.0  # seconds for one TCP + TLS + login


@dataclass(frozen=True)
class Upstream:
    """Where the proxy logs in: the cluster's endpoint, and the user the token is for."""

    host: str
    port: int
    user: str


class NotYet(Exception):
    """A failure waiting may fix (the cluster resuming, a name not out yet); retried."""


class LoginFailed(Exception):
    """A failure waiting will not fix, in the proxy's words (TLS, an unsupported request)."""


class LoginRefused(Exception):
    """The server refused the login; ``fields`` is its ``ErrorResponse``, for the client."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields.get("M", "login refused"))
        self.fields = fields

    @property
    def sqlstate(self) -> str:
        return self.fields.get("C", "")


@dataclass
class Connected:
    """An upstream session, logged in and ready for queries."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    greeting: bytes  # AuthenticationOk .. ReadyForQuery (and any NegotiateProtocolVersion first)
    key: CancelRequest | None  # the server's BackendKeyData
    attempts: int = 1
    parameters: dict[str, str] = field(default_factory=dict)


def tls_context(rootcert: str) -> ssl.SSLContext:
    """verify-full: the certificate chains to ``rootcert`` and names the host; TLS 1.2 or later.

    ``system`` (libpq's word for it) means the operating system's store.
    """
    if rootcert == "system":
        context = ssl.create_default_context()
    else:
        context = ssl.create_default_context(cafile=rootcert)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


async def _read_message(reader: asyncio.StreamReader) -> Message:
    type_, length = pq.message_header(await reader.readexactly(5))
    return Message(type_, await reader.readexactly(length))


async def open_tls(
    upstream: Upstream, context: ssl.SSLContext
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TLS stream to the endpoint, after PostgreSQL's ``SSLRequest``."""
    try:
        reader, writer = await asyncio.open_connection(upstream.host, upstream.port)
    except OSError as exc:  # refused, reset, unreachable, a name that does not resolve
        raise NotYet(f"{exc.strerror or exc}") from exc
    try:
        writer.write(pq.encode_ssl_request())
        answer = await reader.readexactly(1)
        if answer != b"S":
            raise LoginFailed(
                f"{upstream.host}:{upstream.port} does not accept TLS (answered {answer!r})"
            )
        await writer.start_tls(context, server_hostname=upstream.host)
    except ssl.SSLCertVerificationError as exc:
        writer.close()
        raise LoginFailed(
            f"the certificate of {upstream.host} does not verify: {exc.verify_message}"
        ) from exc
    except (ssl.SSLError, OSError, asyncio.IncompleteReadError) as exc:
        writer.close()
        raise NotYet(f"TLS with {upstream.host} failed: {exc}") from exc
    except BaseException:
        writer.close()
        raise
    return reader, writer


async def login(
    upstream: Upstream, context: ssl.SSLContext, startup: Startup, password: str
) -> Connected:
    """One login attempt (no retry, no timeout of its own)."""
    reader, writer = await open_tls(upstream, context)
    try:
        return await _authenticate(reader, writer, startup, password)
    except BaseException:
        writer.close()
        raise


async def _authenticate(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, startup: Startup, password: str
) -> Connected:
    writer.write(pq.encode_startup(startup))
    before: list[bytes] = []  # NegotiateProtocolVersion, notices: before AuthenticationOk
    while True:
        message = await _read_login_message(reader)
        if message.type == b"R":
            code = pq.authentication_code(message.body)
            if code == pq.AUTH_OK:
                break
            if code != pq.AUTH_CLEARTEXT:
                asked = pq.AUTH_NAMES.get(code, f"authentication method {code}")
                raise LoginFailed(
                    f"the server asked for {asked}; the proxy sends the IAM token as a "
                    "cleartext password over TLS, as the express gateway asks"
                )
            writer.write(pq.encode_password(password))
        elif message.type in (b"v", b"N"):
            before.append(message.encode())
        else:
            raise LoginFailed(f"unexpected message {message.type!r} before authentication")
    return await _greeting(reader, writer, [*before, message.encode()])


async def _read_login_message(reader: asyncio.StreamReader) -> Message:
    """The next message; an ErrorResponse raised (``57P03`` as ``NotYet``)."""
    try:
        message = await _read_message(reader)
    except asyncio.IncompleteReadError as exc:
        raise NotYet("the server closed the connection during the login") from exc
    if message.type == b"E":
        fields = pq.parse_fields(message.body)
        if fields.get("C") == pq.CANNOT_CONNECT_NOW:
            raise NotYet(f"{pq.CANNOT_CONNECT_NOW} {fields.get('M', '')}".strip())
        raise LoginRefused(fields)
    return message


async def _greeting(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sent: list[bytes]
) -> Connected:
    """After AuthenticationOk: parameters and the cancel key, up to ReadyForQuery."""
    key: CancelRequest | None = None
    parameters: dict[str, str] = {}
    while True:
        message = await _read_login_message(reader)
        sent.append(message.encode())
        if message.type == b"K":
            key = pq.parse_backend_key(message.body)
        elif message.type == b"S":
            name, _, value = message.body.rstrip(b"\0").partition(b"\0")
            parameters[name.decode(errors="replace")] = value.decode(errors="replace")
        elif message.type == b"Z":
            return Connected(reader, writer, b"".join(sent), key, parameters=parameters)


@dataclass(frozen=True)
class Backoff:
    """Jittered exponential waits between attempts: 0.5 s, 1 s, 2 s, ... at most 8 s."""

    initial: float = 0.5
    maximum: float = 8.0
    jitter: float = 0.5

    def delay(self, attempt: int, rand: float) -> float:
        """The wait after failed attempt number ``attempt`` (1-based); ``rand`` in [0, 1)."""
        base = min(self.maximum, self.initial * 2.0 ** max(0, attempt - 1))
        return base + self.jitter * rand


async def login_with_retry(
    upstream: Upstream,
    context: ssl.SSLContext,
    startup: Startup,
    tokens: Callable[[], Awaitable[str]],
    *,
    within: float,
    attempt_timeout: float = ATTEMPT_TIMEOUT,
    backoff: Backoff | None = None,
    on_retry: Callable[[int, str, float], None] | None = None,
) -> Connected:
    """Log in, retrying ``NotYet`` with a fresh token each attempt, for ``within`` seconds.

    Raises the last ``NotYet`` when time is up, and ``LoginFailed`` /
    ``LoginRefused`` at once.
    """
    schedule = backoff or Backoff()
    deadline = time.monotonic() + within
    attempt = 0
    while True:
        attempt += 1
        left = deadline - time.monotonic()
        try:
            password = await tokens()
        except Exception as exc:  # no credentials, an expired session: waiting will not help
            raise LoginFailed(
                f"could not make an IAM auth token: {type(exc).__name__}: {exc}"
            ) from exc
        try:
            async with asyncio.timeout(max(0.1, min(attempt_timeout, left))):
                connected = await login(upstream, context, startup, password)
        except TimeoutError:
            failure = NotYet(f"no answer within {attempt_timeout:g} s")
        except NotYet as exc:
            failure = exc
        else:
            connected.attempts = attempt
            return connected
        wait = schedule.delay(attempt, random.random())  # noqa: S311 (jitter, not a secret)
        if time.monotonic() + wait > deadline:
            raise NotYet(f"{failure} (gave up after {attempt} attempts in {within:g} s)")
        if on_retry is not None:
            on_retry(attempt, str(failure), wait)
        await asyncio.sleep(wait)


async def cancel(
    upstream: Upstream, context: ssl.SSLContext, request: CancelRequest, *, timeout: float = 10.0
) -> None:
    """Send ``request`` to the server over TLS, as libpq sends one; the server just closes."""
    async with asyncio.timeout(timeout):
        reader, writer = await open_tls(upstream, context)
        try:
            writer.write(pq.encode_cancel(request))
            await writer.drain()
            await reader.read(1)  # the server closes once it has read the request
        finally:
            writer.close()
