"""The proxy's listening side: one upstream login per client connection, then bytes both ways.

For each client connection:

1. its ``SSLRequest`` / ``GSSENCRequest`` are answered ``N`` (plain TCP on
   loopback), and its ``StartupMessage`` read (a ``CancelRequest`` instead is
   sent on to the upstream session it names, and the connection closed);
2. it is refused, with an ``ErrorResponse`` a client shows, when it names
   another user than the one the proxy logs in as, when the connection
   limit is reached, or when a local password is set and it gives another;
3. the proxy logs in upstream (``upstream.login_with_retry``: TLS
   verify-full, a fresh token, retries while the cluster resumes), sends the
   client ``AuthenticationOk`` and the server's greeting, and from then on
   only relays bytes, counting them;
4. the session ends when either side closes, after ``idle_timeout`` seconds
   with the server ready and the client silent, or at shutdown; one log
   line says who, where, how long and how many bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from aurora_express.proxy import protocol as pq
from aurora_express.proxy import upstream as up
from aurora_express.proxy.protocol import CancelRequest, ProtocolError, Startup

logger = logging.getLogger("aurora_express.proxy")

TokenMaker = Callable[[], Awaitable[str]]
_CHUNK = 256 * 1024
_TERMINATE = b"X\0\0\0\x04"
_TLS_HANDSHAKE = 0x16  # a client trying TLS without SSLRequest (sslnegotiation=direct)


@dataclass(frozen=True)
class Settings:
    """How the proxy listens and logs in; read once, at start."""

    upstream: up.Upstream
    address: str = "127.0.0.1"
    port: int = 5432
    database: str | None = None  # when set: every client's database, whatever it asks
    local_password: str | None = None
    max_connections: int = 100
    idle_timeout: float = 3600.0  # seconds; 0: never
    connect_within: float = 300.0  # seconds to wait for a resuming cluster
    startup_timeout: float = 30.0  # seconds for a client to send its StartupMessage
    attempt_timeout: float = up.ATTEMPT_TIMEOUT


class _Refused(Exception):
    """A client refused before its session starts: the ErrorResponse to send and why."""

    def __init__(self, error: bytes, reason: str) -> None:
        super().__init__(reason)
        self.error = error


class Session:
    """One client connection and, once logged in, its upstream connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.client_reader = reader
        self.client_writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.started = time.monotonic()
        self.user = ""
        self.database = ""
        self.bytes_in = 0  # from the client
        self.bytes_out = 0  # to the client
        self.upstream: up.Connected | None = None
        self.last_activity = time.monotonic()
        self.idle = False  # the server said ReadyForQuery and the client said nothing since
        self.end_reason = ""

    def close(self, reason: str, *, error: bytes | None = None) -> None:
        """End the session; a FATAL goes to the client (and Terminate upstream) only when idle.

        Mid-message, anything the proxy inserted would corrupt the client's
        stream, so then the connections are just closed.
        """
        if not self.end_reason:
            self.end_reason = reason
        with contextlib.suppress(Exception):
            if self.idle and error is not None:
                self.client_writer.write(error)
            if self.upstream is not None and self.idle:
                self.upstream.writer.write(_TERMINATE)
        with contextlib.suppress(Exception):
            self.client_writer.close()
        if self.upstream is not None:
            with contextlib.suppress(Exception):
                self.upstream.writer.close()


class Proxy:
    """The listening proxy; ``start``, then ``close`` (which ends every session)."""

    def __init__(
        self,
        settings: Settings,
        context: ssl.SSLContext,
        tokens: TokenMaker,
        *,
        log: logging.Logger = logger,
    ) -> None:
        self.settings = settings
        self._context = context
        self._tokens = tokens
        self._log = log
        self._server: asyncio.Server | None = None
        self._sessions: dict[Session, asyncio.Task[Any] | None] = {}  # every live connection
        self._admitted: set[Session] = set()  # what the connection limit counts
        self._keys: dict[tuple[int, bytes], Session] = {}
        self._closing = False
        self.sessions_served = 0

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.settings.address, self.settings.port, limit=_CHUNK
        )

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """Where the proxy listens (the real port when 0 was asked for)."""
        if self._server is None:
            return []
        return [(str(s.getsockname()[0]), int(s.getsockname()[1])) for s in self._server.sockets]

    @property
    def port(self) -> int:
        return self.addresses[0][1]

    @property
    def active(self) -> int:
        """Client sessions admitted and not yet ended."""
        return len(self._admitted)

    async def close(self, *, timeout: float = 10.0) -> None:
        """Stop listening, end every session, and wait for their handlers to finish."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        # A server notices a closed connection only when it next reads or writes:
        # a running query is cancelled first, or it would run on to its end.
        busy = [
            s.upstream.key
            for s in self._sessions
            if s.upstream is not None and s.upstream.key is not None and not s.idle
        ]
        if busy:
            await asyncio.gather(
                *(up.cancel(self.settings.upstream, self._context, key) for key in busy),
                return_exceptions=True,
            )
        shutdown = pq.encode_error(
            pq.ADMIN_SHUTDOWN, "terminating connection because the proxy is shutting down"
        )
        for session, task in list(self._sessions.items()):
            session.close("proxy shut down", error=shutdown)
            if session.upstream is None and task is not None:
                task.cancel()  # still logging in (perhaps waiting for the cluster)
        tasks = {t for t in self._sessions.values() if t is not None}
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout)
            for task in late:
                task.cancel()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._server.wait_closed()

    # -- one connection --------------------------------------------------------

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(reader, writer)
        self._sessions[session] = asyncio.current_task()
        try:
            await self._serve(session)
        except asyncio.CancelledError:
            session.end_reason = session.end_reason or "proxy shut down"
        except Exception as exc:  # a bug or an unforeseen failure ends this session only
            session.end_reason = session.end_reason or f"error: {type(exc).__name__}: {exc}"
            self._log.debug("session %s failed", session.peer, exc_info=True)
        finally:
            session.close(session.end_reason or "closed")
            self._forget(session)

    def _forget(self, session: Session) -> None:
        self._sessions.pop(session, None)
        self._admitted.discard(session)
        up_conn = session.upstream
        if up_conn is not None and up_conn.key is not None:
            self._keys.pop((up_conn.key.pid, up_conn.key.key), None)
        if session.end_reason == "cancel request":
            return  # said in its own line
        self._log.info(
            "%s user=%s database=%s %.1fs in=%dB out=%dB: %s",
            session.peer,
            session.user,
            session.database,
            time.monotonic() - session.started,
            session.bytes_in,
            session.bytes_out,
            session.end_reason,
        )

    async def _serve(self, session: Session) -> None:
        try:
            async with asyncio.timeout(self.settings.startup_timeout):
                packet = await self._read_startup(session)
        except TimeoutError:
            session.end_reason = "no startup message in time"
            return
        except (ProtocolError, asyncio.IncompleteReadError, ConnectionError) as exc:
            self._log.debug("%s: not a PostgreSQL client: %s", session.peer, exc)
            if isinstance(exc, ProtocolError):
                session.client_writer.write(pq.encode_error(pq.PROTOCOL_VIOLATION, str(exc)))
            session.end_reason = "invalid startup"
            return
        if packet is None:
            return
        if isinstance(packet, CancelRequest):
            await self._forward_cancel(session, packet)
            return
        session.user = packet.user
        session.database = self.settings.database or packet.database
        try:
            await self._admit(session, packet)
            await self._login(session, packet)
        except _Refused as refused:
            session.client_writer.write(refused.error)
            session.end_reason = f"refused: {refused}"
            with contextlib.suppress(ConnectionError):
                await session.client_writer.drain()
            return
        await self._relay(session)

    async def _read_startup(self, session: Session) -> Startup | CancelRequest | None:
        """The client's StartupMessage or CancelRequest, after declining TLS and GSS."""
        reader, writer = session.client_reader, session.client_writer
        for _ in range(3):  # SSLRequest, GSSENCRequest, then the real thing
            header = await reader.readexactly(4)
            if header[0] == _TLS_HANDSHAKE:
                self._log.info(
                    "%s: the client started TLS directly (sslnegotiation=direct); "
                    "the proxy takes plain connections only",
                    session.peer,
                )
                session.end_reason = "direct TLS refused"
                return None
            length = pq.startup_length(header)
            packet = pq.parse_startup_packet(header + await reader.readexactly(length - 4))
            if isinstance(packet, pq.SslRequest | pq.GssEncRequest):
                writer.write(b"N")
                continue
            return packet
        raise ProtocolError("too many negotiation requests")

    async def _forward_cancel(self, session: Session, request: CancelRequest) -> None:
        session.end_reason = "cancel request"
        target = self._keys.get((request.pid, request.key))
        if target is None:  # as PostgreSQL: an unknown key is ignored, silently
            self._log.debug("%s: cancel request for no known session", session.peer)
            return
        try:
            await up.cancel(self.settings.upstream, self._context, request)
        except (up.NotYet, up.LoginFailed, OSError, TimeoutError) as exc:
            self._log.info("%s: could not forward a cancel request: %s", target.peer, exc)
            return
        self._log.info("%s: cancel request forwarded to its upstream session", target.peer)

    async def _admit(self, session: Session, startup: Startup) -> None:
        expected = self.settings.upstream.user
        if startup.user != expected:
            raise _Refused(
                pq.encode_error(
                    pq.INVALID_AUTHORIZATION,
                    f'this proxy logs in as "{expected}" only, not "{startup.user}"',
                    hint=f"connect as user {expected}, or start the proxy with "
                    f"--username {startup.user}",
                ),
                f"user {startup.user!r} is not {expected!r}",
            )
        if self._closing:
            raise _Refused(
                pq.encode_error(pq.ADMIN_SHUTDOWN, "the proxy is shutting down"), "shutting down"
            )
        if len(self._admitted) >= self.settings.max_connections:
            raise _Refused(
                pq.encode_error(
                    pq.TOO_MANY_CONNECTIONS,
                    f"too many connections through the proxy "
                    f"(limit {self.settings.max_connections})",
                    hint="close some, or start the proxy with a larger --max-connections",
                ),
                "connection limit reached",
            )
        self._admitted.add(session)
        if self.settings.local_password is not None:
            await self._check_local_password(session, self.settings.local_password)

    async def _check_local_password(self, session: Session, expected: str) -> None:
        session.client_writer.write(pq.cleartext_password_request())
        try:
            type_, length = pq.message_header(await session.client_reader.readexactly(5))
            body = await session.client_reader.readexactly(length)
        except (ProtocolError, asyncio.IncompleteReadError) as exc:
            raise _Refused(b"", "no password given") from exc
        given = pq.parse_password(body) if type_ == b"p" else ""
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise _Refused(
                pq.encode_error(
                    pq.INVALID_PASSWORD,
                    f'password authentication failed for user "{session.user}"',
                    hint="the proxy's local password (--local-password or "
                    "AURORA_EXPRESS_PROXY_PASSWORD), not a token",
                ),
                "wrong local password",
            )

    async def _login(self, session: Session, startup: Startup) -> None:
        settings = self.settings
        params = {k: v for k, v in startup.params.items() if k not in ("user", "database")}
        upstream_startup = Startup(
            startup.version,
            {"user": settings.upstream.user, "database": session.database, **params},
        )

        def waiting(attempt: int, reason: str, wait: float) -> None:
            self._log.info(
                "%s: %s:%s not ready (%s); attempt %d failed, retrying in %.1f s",
                session.peer,
                settings.upstream.host,
                settings.upstream.port,
                reason,
                attempt,
                wait,
            )

        where = f"{settings.upstream.host}:{settings.upstream.port}"
        try:
            connected = await up.login_with_retry(
                settings.upstream,
                self._context,
                upstream_startup,
                self._tokens,
                within=settings.connect_within,
                attempt_timeout=settings.attempt_timeout,
                on_retry=waiting,
            )
        except up.NotYet as exc:
            raise _Refused(
                pq.encode_error(pq.CONNECTION_FAILURE, f"could not reach {where}: {exc}"),
                f"upstream unreachable: {exc}",
            ) from exc
        except up.LoginFailed as exc:
            raise _Refused(
                pq.encode_error(pq.CONNECTION_FAILURE, f"could not log in to {where}: {exc}"),
                f"upstream login failed: {exc}",
            ) from exc
        except up.LoginRefused as exc:
            fields = dict(exc.fields)
            if exc.sqlstate in (pq.INVALID_PASSWORD, pq.INVALID_AUTHORIZATION):
                fields.setdefault(
                    "H",
                    f"the proxy logged in with an IAM auth token for {settings.upstream.user}: "
                    "the AWS identity needs rds-db:connect for that user",
                )
            raise _Refused(
                pq.encode_error_fields(fields), f"refused upstream: {exc.sqlstate} {exc}"
            ) from exc
        session.upstream = connected
        if self._closing:
            raise _Refused(
                pq.encode_error(pq.ADMIN_SHUTDOWN, "the proxy is shutting down"), "shutting down"
            )
        if connected.key is not None:
            self._keys[(connected.key.pid, connected.key.key)] = session
        self.sessions_served += 1
        session.client_writer.write(connected.greeting)
        session.bytes_out += len(connected.greeting)
        session.idle = True
        tls = connected.writer.get_extra_info("ssl_object")
        self._log.debug(
            "%s: logged in to %s as %s (database %s, %s, attempt %d, server %s)",
            session.peer,
            where,
            settings.upstream.user,
            session.database,
            tls.version() if tls is not None else "no TLS",
            connected.attempts,
            connected.parameters.get("server_version", "?"),
        )

    # -- relaying --------------------------------------------------------------

    async def _relay(self, session: Session) -> None:
        """Bytes both ways until either side closes (or the watchdog or shutdown ends it).

        The streams used for the login hand their transports to two ``_Relay``
        protocols: each chunk is written on as it arrives, in the same
        callback, with no task to wake per chunk (the per-query cost).
        """
        connected = session.upstream
        if connected is None:
            return
        ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        # Stream writers type their transports write-only; sockets read too.
        client = cast(asyncio.Transport, session.client_writer.transport)
        server_side = cast(asyncio.Transport, connected.writer.transport)
        to_server = _Relay(session, server_side, upstream_bound=True, ended=ended)
        to_client = _Relay(session, client, upstream_bound=False, ended=ended)
        # Whatever the streams read ahead is not lost (there is none, normally:
        # a client waits for ReadyForQuery, a server for the next query).
        early_client, early_server = _buffered(session.client_reader), _buffered(connected.reader)
        client.set_protocol(to_server)
        server_side.set_protocol(to_client)
        for transport in (client, server_side):
            transport.resume_reading()
        if early_client:
            to_server.data_received(early_client)
        if early_server:
            to_client.data_received(early_server)
        watchdog = None
        if self.settings.idle_timeout > 0:
            watchdog = asyncio.create_task(self._watch_idle(session))
        try:
            reason = await ended
        finally:
            if watchdog is not None:
                watchdog.cancel()
                await asyncio.gather(watchdog, return_exceptions=True)
        if not session.end_reason:
            session.end_reason = reason

    async def _watch_idle(self, session: Session) -> None:
        limit = self.settings.idle_timeout
        while True:
            await asyncio.sleep(min(limit, 5.0) / 2)
            if session.idle and time.monotonic() - session.last_activity >= limit:
                session.close(
                    f"idle for {limit:g} s",
                    error=pq.encode_error(
                        pq.IDLE_SESSION_TIMEOUT,
                        f"terminating connection: idle for {limit:g} s (the proxy's "
                        "--idle-timeout)",
                    ),
                )
                return


def _buffered(reader: asyncio.StreamReader) -> bytes:
    """What a stream read ahead and its reader has not taken (asyncio offers no peek)."""
    buffer = getattr(reader, "_buffer", None)
    if not buffer:
        return b""
    data = bytes(buffer)
    buffer.clear()
    return data


class _Relay(asyncio.Protocol):
    """One direction: what arrives on a transport is written to ``peer``, counted.

    Flow control is the pair's: when ``peer``'s write buffer is full, asyncio
    tells the protocol of ``peer`` (the other ``_Relay``) to pause writing,
    which pauses reading on *its* peer, the transport this data comes from.
    """

    def __init__(
        self,
        session: Session,
        peer: asyncio.Transport,
        *,
        upstream_bound: bool,
        ended: asyncio.Future[str],
    ) -> None:
        self._session = session
        self._peer = peer
        self._upstream_bound = upstream_bound
        self._ended = ended

    def data_received(self, data: bytes) -> None:
        session = self._session
        self._peer.write(data)
        session.last_activity = time.monotonic()
        if self._upstream_bound:
            session.bytes_in += len(data)
            session.idle = False
        else:
            session.bytes_out += len(data)
            session.idle = pq.ends_ready_for_query(data)

    def _end(self) -> None:
        if not self._ended.done():
            self._ended.set_result("client closed" if self._upstream_bound else "server closed")

    def eof_received(self) -> bool | None:
        self._end()
        return None  # close this side; the session closes the other

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()

    def pause_writing(self) -> None:
        self._peer.pause_reading()

    def resume_writing(self) -> None:
        self._peer.resume_reading()


async def run_until(proxy: Proxy, stop: asyncio.Event) -> None:
    """Serve until ``stop`` is set, then close every session."""
    await proxy.start()
    try:
        await stop.wait()
    finally:
        await proxy.close()
