"""``aurora-express proxy``: a local PostgreSQL endpoint that logs in to the cluster for you.

Any client connects to ``127.0.0.1:PORT`` without TLS or a password (or with
the local password); the proxy opens each upstream connection to the
cluster with a fresh IAM token, TLS ``verify-full``, the endpoint and master
user from ``DescribeDBClusters``, and waits while the cluster resumes. Long
sessions (Drizzle Studio, DBeaver, a dev server) keep working past the
token's 15 minutes, because every new connection gets a new token.

Runs until SIGINT or SIGTERM, then closes every session and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import os
import signal
import ssl
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import boto3

from aurora_express.cli import cluster_access
from aurora_express.cli.errors import EXIT_USAGE, CliError
from aurora_express.proxy import server, upstream
from provider.common.redaction import redact
from provider.migrations import connect
from provider.migrations.connect import Target

PASSWORD_ENV = "AURORA_EXPRESS_PROXY_PASSWORD"  # noqa: S105 (a variable name)
_STOPPING = (signal.SIGINT, signal.SIGTERM)


class _Redacting(logging.Filter):
    """No token reaches the terminal, whatever a message carries (the proxy logs none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _check_options(args: argparse.Namespace) -> None:
    for flag, value, least in (
        ("--port", args.port, 0),
        ("--max-connections", args.max_connections, 1),
    ):
        if value < least:
            raise CliError(f"{flag} must be at least {least}", exit_code=EXIT_USAGE)
    if args.port > 65535:
        raise CliError("--port must be at most 65535", exit_code=EXIT_USAGE)
    for flag, seconds in (
        ("--idle-timeout", args.idle_timeout),
        ("--connect-timeout", args.connect_timeout),
    ):
        if seconds is not None and seconds < 0:
            raise CliError(f"{flag} must be 0 or more seconds", exit_code=EXIT_USAGE)
    mode = cluster_access.tls_settings().sslmode
    if mode != "verify-full":
        raise CliError(
            f"the proxy always verifies the cluster's certificate (verify-full); "
            f"DB_SSLMODE={mode} is not honoured here: unset it",
            exit_code=EXIT_USAGE,
        )


def token_maker(target: Target) -> Callable[[], asyncio.Future[str]]:
    """A fresh IAM token per call, made off the event loop (boto3 signs locally)."""
    sign = connect.iam_tokens(boto3.client("rds", region_name=target.region))

    def make() -> asyncio.Future[str]:
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(
            None, sign, target.host, target.port, target.user, target.region
        )

    return make


def _configure_logging(verbose: bool) -> logging.Logger:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    handler.addFilter(_Redacting())
    log = server.logger
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
    return log


def settings_from(args: argparse.Namespace, target: Target) -> server.Settings:
    password = args.local_password or os.environ.get(PASSWORD_ENV) or None
    within = connect.connect_timeout() if args.connect_timeout is None else args.connect_timeout
    return server.Settings(
        upstream=upstream.Upstream(target.host, target.port, target.user),
        address=args.address,
        port=args.port,
        database=args.database,
        local_password=password,
        max_connections=args.max_connections,
        idle_timeout=args.idle_timeout,
        connect_within=within,
    )


def run(args: argparse.Namespace) -> int:
    """Look the cluster up, listen, serve until SIGINT/SIGTERM; 0 after a clean shutdown."""
    _check_options(args)
    target = cluster_access.resolve(
        args.cluster,
        region=args.region,
        endpoint=args.endpoint,
        port=args.endpoint_port,
        username=args.username,
        database=args.database or "postgres",
    )
    cluster_access.make_token(target)  # fails now, not at the first client, without credentials
    tls = cluster_access.tls_settings()
    context = upstream.tls_context(tls.sslrootcert)
    settings = settings_from(args, target)
    log = _configure_logging(args.verbose)
    if not is_loopback(settings.address):
        print(
            f"aurora-express: warning: listening on {settings.address}, not loopback: anyone "
            f"who reaches this port gets a session as {target.user}"
            + ("" if settings.local_password else " without a password (see --local-password)"),
            file=sys.stderr,
        )
    return asyncio.run(_serve(settings, context, token_maker(target), log, args.cluster))


@contextmanager
def _stopping_on(signals: tuple[signal.Signals, ...], stop: asyncio.Event) -> Iterator[None]:
    """``signals`` set ``stop`` while the block runs; the handlers they had come back after.

    asyncio's own removal leaves SIGINT at Python's default and the rest at SIG_DFL: a
    caller's handler (or an ignored SIGINT, which its children inherit) would be lost.
    """
    loop = asyncio.get_running_loop()
    previous = {signum: signal.getsignal(signum) for signum in signals}
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            loop.remove_signal_handler(signum)
            if handler is not None:  # None: set outside Python, which cannot restore it
                signal.signal(signum, handler)


async def _serve(
    settings: server.Settings,
    context: ssl.SSLContext,
    tokens: Callable[[], asyncio.Future[str]],
    log: logging.Logger,
    cluster: str,
) -> int:
    stop = asyncio.Event()
    with _stopping_on(_STOPPING, stop):
        proxy = server.Proxy(settings, context, tokens, log=log)
        try:
            await proxy.start()
        except OSError as exc:
            raise CliError(
                f"cannot listen on {settings.address}:{settings.port}: {exc.strerror or exc}"
            ) from exc
        where = ", ".join(f"{host}:{port}" for host, port in proxy.addresses)
        up_ = settings.upstream
        database = settings.database or "postgres"
        print(
            f"aurora-express proxy: listening on {where} for cluster {cluster} "
            f"({up_.host}:{up_.port} as {up_.user}, TLS verify-full); "
            f"connect with postgresql://{up_.user}@{proxy.addresses[0][0]}:{proxy.port}/{database}",
            file=sys.stderr,
            flush=True,
        )
        await stop.wait()
        log.info("shutting down: closing %d sessions", proxy.active)
        await proxy.close()
        log.info("stopped after %d sessions", proxy.sessions_served)
        return 0
