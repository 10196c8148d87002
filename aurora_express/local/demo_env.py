"""The demo's world: everything it starts, in one ``ExitStack`` that stops it all.

- a private workspace folder that becomes the process's temp folder, so the
  embedded server's files (and its cached binaries and template) go nowhere
  else and are removed at the end;
- the environment the handlers see: fake credentials, one region, boto3
  pointed at the emulated AWS, the test CA as ``DB_SSLROOTCERT``;
- moto's server on loopback, with the project's express extension;
- the ``ResponseURL`` endpoint (``cfn_local.ResponseCollector``);
- an embedded PostgreSQL 18 with TLS whose ``postgres`` role's password is the
  IAM token boto3 makes for it at ``FROZEN_AT``;
- the example migrations and seeds uploaded to an S3 bucket in moto.

Leaving the ``with`` block by any route (success, an error, Ctrl-C) undoes
each of these in reverse order; one failing undo does not stop the others.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
from moto.server import ThreadedMotoServer

from aurora_express.cli.errors import CliError
from aurora_express.local import moto_express
from aurora_express.local.cfn_local import OFFLINE_AWS_ENV, REGION, ResponseCollector
from aurora_express.local.demo_output import Printer
from aurora_express.local.embedded_pg import EmbeddedPostgres

BUCKET = "aurora-express-demo-sources"
MODIFY_SECONDS = 1.0  # a capacity change leaves the cluster 'modifying' this long
DELETE_SECONDS = 4.0  # a deleted cluster stays 'deleting' this long
SNAPSHOT_SECONDS = 1.0  # a manual snapshot stays 'creating' this long
_INTERRUPTS = (signal.SIGINT, signal.SIGTERM)
# examples/ in a checkout (a link), the same files in an installed wheel.
EXAMPLES = Path(__file__).resolve().parent / "sample"


@dataclass
class World:
    """What the demo's steps use."""

    moto_url: str
    collector: ResponseCollector
    pg: EmbeddedPostgres
    migrations_uri: str
    seeds_uri: str
    workspace: Path


def _environment(workspace: Path, verbose: bool) -> dict[str, str]:
    return {
        # Read when the handlers are imported: their JSON logs only with --verbose.
        "LOG_LEVEL": "INFO" if verbose else "WARNING",
        **OFFLINE_AWS_ENV,
        "TMPDIR": str(workspace),
        # The handlers wait in short steps (the real default is 1 s per look).
        "AURORA_EXPRESS_POLL_SECONDS": "0.25",
    }


@contextmanager
def _workspace() -> Iterator[Path]:
    """A fresh folder (readable by the unprivileged server user) used as the temp folder."""
    path = Path(tempfile.mkdtemp(prefix="aex-demo."))
    previous = tempfile.tempdir
    try:
        path.chmod(0o755)
        tempfile.tempdir = str(path)
        yield path
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def _step(printer: Printer, text: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    printer.line(f"  ✓ {text}" + printer.dim(f"  ({time.monotonic() - started:.1f} s)"))


def _quiet_libraries(verbose: bool) -> None:
    # werkzeug logs each request moto serves, botocore and crhelper chat at INFO:
    # none of it is the handlers' own log, which --verbose shows.
    for name in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("crhelper").setLevel(logging.INFO if verbose else logging.ERROR)


@contextmanager
def _moto_server(creating_seconds: float) -> Iterator[str]:
    with moto_express.express_semantics(
        create_seconds=creating_seconds,
        modify_seconds=MODIFY_SECONDS,
        delete_seconds=DELETE_SECONDS,
        snapshot_seconds=SNAPSHOT_SECONDS,
    ):
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()
            if server._server is not None:  # stop() leaves the listening socket open
                server._server.server_close()


def _upload(folder: Path, prefix: str) -> int:
    s3 = boto3.client("s3")
    count = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        s3.put_object(
            Bucket=BUCKET,
            Key=f"{prefix}{path.relative_to(folder).as_posix()}",
            Body=path.read_bytes(),
        )
        count += 1
    return count


def _ignore_interrupts(saved: dict[int, Any]) -> None:
    """Ignore SIGINT/SIGTERM (main thread only), keeping the handlers in ``saved``."""
    try:
        for sig in _INTERRUPTS:
            saved[sig] = signal.signal(sig, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals are not ours to change
        pass


def _restore_interrupts(saved: dict[int, Any]) -> None:
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@contextmanager
def world(
    printer: Printer, *, creating_seconds: float, verbose: bool, revision: str
) -> Iterator[World]:
    """Start everything the demo needs; stop and remove all of it on the way out.

    ``revision`` names the S3 folder the examples go to, as CI's ``GitSha`` would.
    """
    if not (EXAMPLES / "migrations").is_dir():
        raise CliError(f"{EXAMPLES}/migrations not found: the package is incomplete; reinstall it")
    saved_handlers: dict[int, Any] = {}
    with ExitStack() as stack:
        stack.callback(_restore_interrupts, saved_handlers)
        workspace = stack.enter_context(_workspace())
        stack.enter_context(mock.patch.dict(os.environ, _environment(workspace, verbose)))
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "DB_SSLMODE"):
            os.environ.pop(name, None)
        _quiet_libraries(verbose)

        with _step(
            printer,
            f"emulated AWS: moto with the express extension "
            f"(clusters stay 'creating' {creating_seconds:g} s)",
        ):
            moto_url = stack.enter_context(_moto_server(creating_seconds))
            os.environ["AWS_ENDPOINT_URL"] = moto_url
        printer.line(printer.dim(f"      {moto_url}"))

        with _step(printer, "CloudFormation's ResponseURL and EventBridge, played locally"):
            collector = stack.enter_context(ResponseCollector())

        with _step(printer, "PostgreSQL 18 with TLS (test CA), standing in for the cluster"):
            pg = stack.enter_context(EmbeddedPostgres())
            # Only the token the handler will make (at the frozen instant) opens it.
            pg.create_role("postgres", pg.iam_token("postgres", region=REGION))
            os.environ["DB_SSLROOTCERT"] = str(pg.ca_path)
        printer.line(printer.dim(f"      {pg.host}:{pg.port}, hostssl scram-sha-256 only"))

        base = f"app/{revision}/"
        with _step(printer, f"examples/ uploaded to s3://{BUCKET}/{base}"):
            boto3.client("s3").create_bucket(Bucket=BUCKET)
            count = _upload(EXAMPLES / "migrations", f"{base}migrations/")
            count += _upload(EXAMPLES / "seeds", f"{base}seeds/")
        printer.line(printer.dim(f"      {count} files: migrations/ (flyway layout) and seeds/"))

        # Unwinding runs callbacks last-in first-out: this one first, so that a
        # second Ctrl-C cannot cut the cleanup short; the very first one, last,
        # restores the handlers.
        stack.callback(_ignore_interrupts, saved_handlers)
        yield World(
            moto_url=moto_url,
            collector=collector,
            pg=pg,
            migrations_uri=f"s3://{BUCKET}/{base}migrations/",
            seeds_uri=f"s3://{BUCKET}/{base}seeds/",
            workspace=workspace,
        )
