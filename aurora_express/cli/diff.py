"""``aurora-express diff``: the schema difference of two databases.

Each side is ``--cluster ID`` (IAM token, TLS, as the Lambda connects),
``--dsn DSN``, or ``--migrations PATH`` (the folder applied by the
migrations engine to a throwaway PostgreSQL 18); the first given is the
"from" side. Both are read from the catalogs (``catalog_read``), normalized
(``catalog_text``) and compared.

Exit codes, as diff(1): 0 equal, 1 different, 2 when the schemas could not
be compared (a usage error, a database that cannot be reached, a migration
that fails), with the reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import boto3
import psycopg
from psycopg.conninfo import conninfo_to_dict

from aurora_express.cli import catalog_read, catalog_text, cluster_access
from aurora_express.cli.catalog_text import Difference, SchemaObject
from aurora_express.cli.errors import EXIT_USAGE, CliError
from aurora_express.cli.migrate import DsnTarget, LocalTarget, read_folder
from provider.common.errors import ProviderError
from provider.migrations import connect
from provider.migrations.engine import Options
from provider.migrations.migrator import ClusterTarget, Migrator, Source, Target

EXIT_EQUAL, EXIT_DIFFERENT, EXIT_TROUBLE = 0, 1, 2


@dataclass(frozen=True)
class Side:
    kind: str  # cluster, dsn, migrations
    value: str

    @property
    def label(self) -> str:
        """How the side is named in the diff: never a DSN's password."""
        if self.kind != "dsn":
            return f"{self.kind} {self.value}"
        try:
            info = conninfo_to_dict(self.value)
        except psycopg.ProgrammingError:
            return "dsn"
        host = info.get("host") or "localhost"
        port = f":{info['port']}" if info.get("port") else ""
        return f"dsn {host}{port}/{info.get('dbname') or info.get('user') or ''}".rstrip("/")


def sides_of(args: argparse.Namespace) -> tuple[Side, Side]:
    """The two sides, in the order given; usage errors exit 2."""
    given = [Side(kind, value) for kind, value in args.sides or []]
    if len(given) != 2:
        raise CliError(
            "diff needs two databases, each --cluster ID, --dsn DSN or --migrations PATH "
            f"(got {len(given)})",
            exit_code=EXIT_USAGE,
        )
    clusters = sum(side.kind == "cluster" for side in given)
    if (args.endpoint or args.endpoint_port) and clusters != 1:
        raise CliError("--endpoint and --port need exactly one --cluster", exit_code=EXIT_USAGE)
    return given[0], given[1]


class _Throwaway:
    """One embedded PostgreSQL for every ``--migrations`` side, started on first use."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack
        self._server: Any = None

    def database(self) -> tuple[Any, str]:
        if self._server is None:
            from aurora_express.local.embedded_pg import (  # noqa: PLC0415 ([local] extra)
                EmbeddedPostgres,
            )

            print("Starting a throwaway PostgreSQL 18 ...", file=sys.stderr)
            self._server = self._stack.enter_context(EmbeddedPostgres())
        return self._server, self._server.create_database()


def _apply(target: LocalTarget, path: str) -> None:
    """The folder applied as ``migrate --local`` applies it (its layout detected)."""
    found = read_folder(path)
    try:
        source = Source.read(found)
        Migrator(source, target, Options(applied_by="aurora-express diff")).migrate()
    except ProviderError as exc:
        raise CliError(f"--migrations {path}: {exc.reason}") from exc


def target_of(side: Side, args: argparse.Namespace, throwaway: _Throwaway) -> Target:
    """Where one side is read, connected to as ``migrate`` connects (migrations applied first)."""
    if side.kind == "cluster":
        address = cluster_access.resolve(
            side.value,
            region=args.region,
            endpoint=args.endpoint,
            port=args.endpoint_port,
            database=args.database,
        )
        tokens = connect.iam_tokens(boto3.client("rds", region_name=address.region))
        return ClusterTarget(address, tokens, tls=cluster_access.tls_settings())
    if side.kind == "dsn":
        return DsnTarget(side.value)
    server, name = throwaway.database()
    local = LocalTarget(server, name)
    _apply(local, side.value)
    return local


def schema_of(side: Side, args: argparse.Namespace, throwaway: _Throwaway) -> list[SchemaObject]:
    target = target_of(side, args, throwaway)
    try:
        with target.connection(create=False) as conn:
            return catalog_text.objects(catalog_read.read(conn))
    except ProviderError as exc:  # the cluster not reached, its database missing
        raise CliError(exc.reason) from exc


def compare(args: argparse.Namespace) -> Difference:
    """Read both sides and compare them; any failure is a ``CliError`` with exit code 2."""
    first, second = sides_of(args)
    try:
        with ExitStack() as stack:
            throwaway = _Throwaway(stack)
            before = schema_of(first, args, throwaway)
            after = schema_of(second, args, throwaway)
    except CliError as exc:
        raise CliError(str(exc), exit_code=EXIT_TROUBLE) from exc
    except psycopg.Error as exc:
        raise CliError(
            f"reading the catalogs failed: {' '.join(str(exc).split())}", exit_code=EXIT_TROUBLE
        ) from exc
    return catalog_text.compare(before, after, first.label, second.label)


def run(args: argparse.Namespace) -> int:
    """Print the difference (a unified diff, or ``--json``); 0 equal, 1 different."""
    difference = compare(args)
    if args.json:
        print(json.dumps(difference.as_json(), indent=2))
    elif difference.equal:
        print(
            f"No schema difference: {difference.from_label} = {difference.to_label}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(difference.diff)
    return EXIT_EQUAL if difference.equal else EXIT_DIFFERENT
