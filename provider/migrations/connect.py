"""Connections to the cluster: an IAM auth token per attempt, TLS verify-full, bounded retry.

- Every attempt makes a fresh token (``generate_db_auth_token`` for that
  host, port, user and region; valid 15 minutes), used as the password and
  never logged.
- TLS is ``verify-full`` against certifi's bundle: the express gateway shows
  a certificate from a public CA, and psycopg's binary wheel does not read
  the system store. ``DB_SSLMODE`` and ``DB_SSLROOTCERT`` override both
  (``provider.migrations.settings``).
- A paused express cluster takes up to ~15 s to resume and a new cluster's
  name may not resolve at once, so timeouts, name resolution failures and
  dropped connections are retried with jittered backoff within a bound
  (``DB_CONNECT_TIMEOUT_SECONDS``, default 300), then reported with the last
  error. What waiting cannot fix fails at once, with the setting to change
  (``classify``): a refused login, a TLS setting the server or libpq rejects,
  a CA bundle that is not there. A refused connection means nothing listens
  (a wrong ``Port``), or a server restarting: it is retried for a few
  seconds from the first refusal, not for the whole bound (5 s on a loopback
  address, a local server restarting; 30 s elsewhere, a gateway brought back),
  then final. A login refused with ``57P03`` (a server starting up, a
  cluster resuming) is transient: retried for the whole bound.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from provider.common.errors import ProviderError
from provider.common.redaction import redact
from provider.migrations import settings
from provider.migrations.settings import Tls

logger = logging.getLogger(__name__)

ATTEMPT_TIMEOUT = 10  # seconds for one TCP + TLS + auth handshake
APPLICATION_NAME = "aurora-express-migrations"

TokenSource = Callable[[str, int, str, str], str]


@dataclass(frozen=True)
class Target:
    """Where to log in: host, port, user, database, and the region the token is signed for."""

    host: str
    port: int
    user: str
    database: str
    region: str


class ConnectFailed(ProviderError):
    """No connection within the bound; the reason carries the last error."""


class DatabaseMissing(ConnectFailed):
    """The server answered that the database does not exist."""


# libpq reports a refused login as text only (no SQLSTATE on a failed connect);
# these will not heal by waiting. A missing database is told apart.
_PERMANENT = re.compile(
    r"authentication failed|no pg_hba\.conf entry|role \".*\" does not exist|"
    r"permission denied|certificate verify failed|does not match host name",
    re.I,
)
_NO_DATABASE = re.compile(r"database \".*\" does not exist")
_REFUSED = re.compile(r"connection refused", re.I)
# libpq's words for a TLS setting it or the server will not take (the setting, and why).
_TLS_SETTING = (
    (re.compile(r"invalid sslmode value", re.I), "DB_SSLMODE", "is not an sslmode libpq knows"),
    (
        re.compile(r"server does not support SSL", re.I),
        "DB_SSLMODE",
        "asks for TLS, which the server does not offer",
    ),
    (
        re.compile(
            r"root certificate file .* does not exist|could not read root certificate", re.I
        ),
        "DB_SSLROOTCERT",
        "names no readable CA bundle",
    ),
    (
        re.compile(r"certificate verify failed|does not match host name", re.I),
        "DB_SSLROOTCERT",
        "does not verify the server's certificate (or DB_SSLMODE is stricter than it can be)",
    ),
)
# How long refusals are taken for a server coming back, from the first one.
REFUSED_GRACE = 30.0
LOOPBACK_REFUSED_GRACE = 5.0
VERIFYING_MODES = ("verify-ca", "verify-full")


class Failure(enum.Enum):
    """What a failed connection attempt says about the next one."""

    TRANSIENT = "transient"  # retried within the bound
    REFUSED = "refused"  # nothing listens: retried for a grace period only
    PERMANENT = "permanent"  # final at once
    NO_DATABASE = "no database"  # final at once, told apart


def classify(text: str) -> Failure:
    """What libpq's message ``text`` (no SQLSTATE on a failed connect) means for retrying."""
    if _NO_DATABASE.search(text):
        return Failure.NO_DATABASE
    if _PERMANENT.search(text) or any(pattern.search(text) for pattern, _, _ in _TLS_SETTING):
        return Failure.PERMANENT
    if _REFUSED.search(text):
        return Failure.REFUSED
    return Failure.TRANSIENT


def setting_hint(text: str) -> str:
    """The setting to change when ``text`` is a TLS failure ("" otherwise), put before
    libpq's long message so that a shortened reason still shows it."""
    for pattern, name, why in _TLS_SETTING:
        if pattern.search(text):
            return f" (check {name}: it {why})"
    return ""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost``, 127.0.0.0/8, ::1, or a socket path."""
    if host.startswith("/") or host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_problem(tls: Tls) -> str | None:
    """Why ``tls`` cannot work, whatever the server (checked before any attempt), or None."""
    if tls.sslmode not in settings.SSL_MODES:
        return f"DB_SSLMODE must be one of {', '.join(settings.SSL_MODES)}, not {tls.sslmode!r}."
    # libpq needs the bundle to verify; without it every attempt fails alike.
    verifies = tls.sslmode in VERIFYING_MODES and tls.sslrootcert != "system"
    if verifies and not (os.path.isfile(tls.sslrootcert) and os.access(tls.sslrootcert, os.R_OK)):
        return (
            f"DB_SSLROOTCERT names {tls.sslrootcert}, which is not a readable file; "
            f"sslmode={tls.sslmode} needs a CA bundle (or DB_SSLROOTCERT=system)."
        )
    return None


def iam_tokens(rds: Any) -> TokenSource:
    """A token source backed by an RDS client (boto3 signs locally; no network call)."""

    def token(host: str, port: int, user: str, region: str) -> str:
        return str(
            rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user, Region=region)
        )

    return token


def tls_settings() -> dict[str, str]:
    """``sslmode`` and ``sslrootcert`` from the settings: verify-full with certifi's bundle."""
    return settings.current().tls.as_params()


def connect_timeout() -> float:
    """How long connecting is retried, from the settings (``DB_CONNECT_TIMEOUT_SECONDS``)."""
    return settings.current().connect_timeout


@dataclass
class _RetryPolicy:
    """Which failed attempts are worth another (stamina's ``on``): transient ones, and
    refusals within a grace period of the first (``grace``: by the host, if not given)."""

    host: str
    grace: float | None = None
    refused_since: float | None = None

    def __call__(self, exc: Exception) -> bool:
        if not isinstance(exc, psycopg.OperationalError):
            return False
        kind = classify(str(exc))
        if kind is Failure.TRANSIENT:
            return True
        if kind is not Failure.REFUSED:
            return False
        grace = self.grace
        if grace is None:
            grace = LOOPBACK_REFUSED_GRACE if is_loopback(self.host) else REFUSED_GRACE
        now = time.monotonic()
        if self.refused_since is None:
            self.refused_since = now
        return now - self.refused_since < grace


def connect(
    target: Target,
    tokens: TokenSource,
    *,
    database: str | None = None,
    timeout: float | None = None,
    tls: Tls | None = None,
) -> psycopg.Connection[Any]:
    """An autocommit connection to ``database`` (default: the target's database).

    Retried with a new token on transient failures for ``timeout`` seconds;
    ``timeout`` and ``tls`` default to the settings'.
    """
    dbname = database or target.database
    bound = connect_timeout() if timeout is None else timeout
    tls = tls or settings.current().tls
    if problem := tls_problem(tls):
        raise ConnectFailed(problem)
    attempt_no = 0
    last: Exception | None = None
    import stamina  # noqa: PLC0415 (with tenacity, ~10 ms: --dsn connects without it)

    try:
        for attempt in stamina.retry_context(
            on=_RetryPolicy(target.host),
            attempts=None,
            timeout=bound,
            wait_initial=0.5,
            wait_max=8.0,
            wait_jitter=1.0,
        ):
            with attempt:
                attempt_no += 1
                try:
                    return psycopg.connect(
                        host=target.host,
                        port=target.port,
                        user=target.user,
                        password=tokens(target.host, target.port, target.user, target.region),
                        dbname=dbname,
                        connect_timeout=ATTEMPT_TIMEOUT,
                        application_name=APPLICATION_NAME,
                        autocommit=True,
                        sslmode=tls.sslmode,
                        sslrootcert=tls.sslrootcert,
                    )
                except psycopg.OperationalError as exc:
                    last = exc
                    logger.warning(
                        "Connection attempt %d to %s:%s failed: %s",
                        attempt_no,
                        target.host,
                        target.port,
                        redact(str(exc).strip()),
                    )
                    raise
    except psycopg.OperationalError as exc:
        last = exc
    message = redact(" ".join(str(last).split())) if last else "no attempt was made"
    if last is not None and _NO_DATABASE.search(str(last)):
        raise DatabaseMissing(f"Database {dbname} does not exist on {target.host}.")
    hint = setting_hint(str(last)) if last is not None else ""
    if last is not None and classify(str(last)) is Failure.REFUSED:
        hint = " (check Endpoint and Port: nothing accepts connections there)"
    raise ConnectFailed(
        f"Could not connect to {target.host}:{target.port} as {target.user} "
        f"after {attempt_no} attempts{hint}: {message}"
    )


def ensure_database(
    target: Target, tokens: TokenSource, *, timeout: float | None = None, tls: Tls | None = None
) -> bool:
    """Create the target's database when missing (connected to ``postgres``); True if created."""
    if target.database == "postgres":
        return False
    with connect(target, tokens, database="postgres", timeout=timeout, tls=tls) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (target.database,)
        ).fetchone()
        if found:
            return False
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target.database)))
        except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
            return False  # another run made it meanwhile
        except psycopg.Error as exc:
            raise ProviderError(
                f"Could not create database {target.database}: {exc.sqlstate} "
                f"{' '.join(str(exc).split())}"
            ) from exc
    logger.info("Created database %s", target.database)
    return True
