"""Connections to the cluster: an IAM auth token per attempt, TLS verify-full, bounded retry.

- Every attempt makes a fresh token (``generate_db_auth_token`` for that
  host, port, user and region; valid 15 minutes), used as the password and
  never logged.
- TLS is ``verify-full`` against certifi's bundle: the express gateway shows
  a certificate from a public CA, and psycopg's binary wheel does not read
  the system store. ``DB_SSLMODE`` and ``DB_SSLROOTCERT`` override both
  (``provider.migrations.settings``).
- A paused express cluster takes up to ~15 s to resume and a new cluster's
  name may not resolve at once, so connection failures are retried with
  jittered backoff within a bound (``DB_CONNECT_TIMEOUT_SECONDS``, default
  300), then reported with the last error. Authentication failures are not
  retried: no amount of waiting fixes a missing ``rds-db:connect``.
"""

from __future__ import annotations

import logging
import re
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


def _retryable(exc: Exception) -> bool:
    if not isinstance(exc, psycopg.OperationalError):
        return False
    text = str(exc)
    return not (_PERMANENT.search(text) or _NO_DATABASE.search(text))


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
    attempt_no = 0
    last: Exception | None = None
    import stamina  # noqa: PLC0415 (with tenacity, ~10 ms: --dsn connects without it)

    try:
        for attempt in stamina.retry_context(
            on=_retryable,
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
    raise ConnectFailed(
        f"Could not connect to {target.host}:{target.port} as {target.user} "
        f"after {attempt_no} attempts: {message}"
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
