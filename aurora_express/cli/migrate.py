"""``aurora-express migrate`` and ``plan``: the Lambda's migration engine, from a shell.

The folder is read into the same ``SourceFiles`` an S3 prefix becomes, the
layout is the provider's (``layouts.read``, ``--placeholder`` for Flyway), and the run is
``engine.migrate``/``engine.plan`` on a connection made as the Lambda makes
it (``connect``: IAM token, TLS ``verify-full``, bounded retry), so what
passes here passes in the stack. Only the targets are the CLI's own:
``--dsn`` (a plain connection string) and ``--local`` (a throwaway embedded
PostgreSQL, whose resulting schema is printed).

Every ``ProviderError`` of the engine (a changed or out-of-order migration,
a failing statement with its file and line, the lock, the connection)
becomes a ``CliError``: its reason on stderr, exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import logging
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import psycopg
from psycopg import conninfo

from aurora_express.cli import cluster_access, schema_summary
from aurora_express.cli.errors import EXIT_USAGE, CliError
from provider.common.errors import ProviderError
from provider.migrations import connect, engine, layouts, sources
from provider.migrations.engine import MigrationSet, Options, Result
from provider.migrations.history import DEFAULT_TABLE, TableName
from provider.migrations.model import Migration
from provider.migrations.plan import Plan, SeedMode, make_plan

_SKIPPED_NAMES = (".", "__MACOSX")


# -- sources -------------------------------------------------------------------


def read_source(path: str) -> sources.SourceFiles:
    """A folder (every file below it but hidden ones) or a ``.zip``, as the S3 reader gives it."""
    root = Path(path)
    if root.is_file() and root.suffix.lower() == ".zip":
        return sources.SourceFiles(sources.unzip(root.read_bytes(), path), origin=path)
    if not root.is_dir():
        raise CliError(f"{path}: no such folder (or .zip file)", exit_code=EXIT_USAGE)
    files = {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not any(part.startswith(_SKIPPED_NAMES) for part in p.relative_to(root).parts)
    }
    return sources.SourceFiles(files, origin=path)


def placeholders(args: argparse.Namespace) -> dict[str, str]:
    """``--placeholder NAME=VALUE`` flags, with the built-ins this command line knows."""
    given: dict[str, str] = {}
    for item in getattr(args, "placeholder", None) or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CliError(f"--placeholder {item!r} must be NAME=VALUE", exit_code=EXIT_USAGE)
        if name.lower() in {n.lower() for n in given}:
            raise CliError(f"--placeholder {name} is given twice", exit_code=EXIT_USAGE)
        given[name] = value
    user = getattr(args, "username", None)
    if not user and getattr(args, "dsn", None):
        with contextlib.suppress(psycopg.ProgrammingError):
            user = conninfo.conninfo_to_dict(args.dsn).get("user")
    return layouts.placeholders_for(given, user=user or "postgres", database=args.database)


def migration_set(args: argparse.Namespace) -> tuple[MigrationSet, str]:
    """The migrations (in order) and seeds of the command line's folders, and the layout used."""
    found = read_source(args.path)
    seed_files = read_source(args.seeds) if args.seeds else None
    try:
        reading = layouts.read(found, args.layout, placeholders=placeholders(args))
        seeds: list[Migration] = layouts.seeds(seed_files) if seed_files else []
    except ProviderError as exc:
        raise CliError(exc.reason) from exc
    the_set = MigrationSet(
        reading.migrations, seeds, callbacks=reading.callbacks, warnings=reading.warnings
    )
    return the_set, str(reading.layout)


def options(args: argparse.Namespace) -> Options:
    """The engine's options from the command line; usage errors exit 2."""
    if not args.cluster:
        given = [f"--{n}" for n in ("endpoint", "port", "username", "region") if getattr(args, n)]
        if given:
            raise CliError(f"{', '.join(given)} only apply with --cluster", exit_code=EXIT_USAGE)
    for name in ("lock_timeout", "statement_timeout"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise CliError(f"{flag} must be at least 1 second", exit_code=EXIT_USAGE)
    try:
        table = TableName.parse(args.history_table or DEFAULT_TABLE, "--history-table")
    except ProviderError as exc:
        raise CliError(exc.reason, exit_code=EXIT_USAGE) from exc
    return Options(
        history_table=table,
        allow_out_of_order=args.allow_out_of_order,
        seed_mode=SeedMode(args.seed_mode),
        lock_timeout=args.lock_timeout,
        statement_timeout=args.statement_timeout,
        applied_by=f"aurora-express-cli {getpass.getuser()}@{socket.gethostname()}",
    )


# -- targets -------------------------------------------------------------------


@contextmanager
def _cluster_connection(
    args: argparse.Namespace, *, create: bool
) -> Iterator[psycopg.Connection[Any]]:
    """Connected as the Lambda connects; the database made first when ``create`` (migrate)."""
    target = cluster_access.resolve(
        args.cluster,
        region=args.region,
        endpoint=args.endpoint,
        port=args.port,
        username=args.username,
        database=args.database,
    )
    tokens = connect.iam_tokens(boto3.client("rds", region_name=target.region))
    print(
        f"Connecting to {target.host}:{target.port} as {target.user} (IAM token, TLS)",
        file=sys.stderr,
    )
    if create:
        connect.ensure_database(target, tokens)
    with connect.connect(target, tokens) as conn:
        yield conn


@contextmanager
def _dsn_connection(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    try:
        conn = psycopg.connect(dsn, autocommit=True, application_name="aurora-express-cli")
    except psycopg.Error as exc:
        raise CliError(f"could not connect with --dsn: {' '.join(str(exc).split())}") from exc
    with conn:
        yield conn


@contextmanager
def _local_connection(database: str) -> Iterator[psycopg.Connection[Any]]:
    from aurora_express.local.embedded_pg import EmbeddedPostgres  # noqa: PLC0415 (dev extra)

    print("Starting a throwaway PostgreSQL 18 ...", file=sys.stderr)
    with EmbeddedPostgres() as pg:
        if database != "postgres":
            pg.create_database(database)
        with pg.admin(database) as conn:
            yield conn


@contextmanager
def target_connection(
    args: argparse.Namespace, *, create: bool = False
) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the command line's target; errors as ``CliError``.

    ``create`` makes a cluster's missing database first (migrate does; plan only reads).
    """
    try:
        if args.cluster:
            with _cluster_connection(args, create=create) as conn:
                yield conn
        elif args.dsn:
            with _dsn_connection(args.dsn) as conn:
                yield conn
        else:
            with _local_connection(args.database) as conn:
                yield conn
    except connect.DatabaseMissing:
        raise  # plan reads a missing database as an empty one
    except ProviderError as exc:
        raise CliError(exc.reason) from exc


def _describe_target(args: argparse.Namespace) -> str:
    if args.cluster:
        return f"cluster {args.cluster}"
    if args.dsn:
        return "the --dsn database"
    return "a throwaway PostgreSQL" if getattr(args, "local", False) else "an empty database"


def _quiet_engine_logs() -> None:
    # The engine's log lines are the Lambda's log; the CLI prints its own summary
    # and the failure's reason. Connection retries (connect's WARNING lines) still
    # show while a paused cluster wakes up.
    logging.basicConfig(level=logging.WARNING, format="  %(message)s", stream=sys.stderr)
    logging.getLogger("provider.migrations.engine").setLevel(logging.CRITICAL)


# -- migrate -------------------------------------------------------------------


def _print_result(result: Result) -> None:
    for label, items in (("Applied", result.applied), ("Seeds applied", result.seeds_applied)):
        print(f"{label}: {len(items)}")
        for item in items:
            shown = item.version and item.version != item.name  # plain: the name is the version
            version = f"  (version {item.version})" if shown else ""
            print(f"    {item.name}{version}  {item.milliseconds} ms")
    if result.adopted:
        print(f"Adopted from drizzle-kit's history: {', '.join(result.adopted)}")
    for warning in result.warnings:
        print(f"Warning: {warning}")
    print(f"Latest version: {result.latest_version or '(none)'}")


def migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations and due seeds; with ``--local``, print the schema after."""
    _quiet_engine_logs()
    the_set, layout = migration_set(args)
    opts = options(args)
    print(
        f"Migrating {_describe_target(args)} with {args.path} ({layout} layout, "
        f"{len(the_set.migrations)} migrations, {len(the_set.seeds)} seeds)"
    )
    try:
        with target_connection(args, create=True) as conn:
            result = engine.migrate(conn, the_set, opts)
            _print_result(result)
            if args.local:
                _print_schema(conn)
    except ProviderError as exc:  # the engine's, or a database missing after all
        raise CliError(exc.reason) from exc
    return 0


def _print_schema(conn: psycopg.Connection[Any]) -> None:
    print()
    print("Schema after the migrations:")
    for line in list(schema_summary.summarize(conn)) or ["(empty)"]:
        print(f"    {line}")


# -- plan ----------------------------------------------------------------------


def _names(items: list[Migration]) -> list[str]:
    return [m.name for m in items]


def _print_plan(current: Plan, problem: str | None) -> None:
    def block(title: str, names: list[str], note: str = "") -> None:
        print(f"{title}: {len(names)}{note}")
        for name in names:
            print(f"    {name}")

    block(
        "Applied",
        _names(current.applied),
        f" (latest version {current.latest_version})" if current.latest_version else "",
    )
    print(f"Would run: {len(current.pending)}")
    for m in current.pending:
        shown = m.version and m.version != m.name  # plain layout: the name is the version
        kind = f"version {m.version}" if shown else m.kind.value
        mode = "" if m.transactional else ", outside a transaction"
        print(f"    {m.name}  ({kind}{mode})")
    block("Seeds that would run", _names(current.seeds))
    if current.adopt:
        block("Applied by drizzle-kit, to record", _names(current.adopt))
    if current.changed:
        block("Changed since applied", _names(current.changed))
    if current.out_of_order:
        block("Out of order (older than applied ones)", _names(current.out_of_order))
    if current.missing:
        block("Applied but missing from the source", [r.name for r in current.missing])
    print()
    print(f"migrate would stop: {problem}" if problem else "migrate would succeed")


def plan(args: argparse.Namespace) -> int:
    """Show what ``migrate`` would do; exit 1 when it would stop (changed, out of order)."""
    _quiet_engine_logs()
    the_set, layout = migration_set(args)
    opts = options(args)
    current: Plan | None = None
    if args.cluster or args.dsn:
        try:
            with target_connection(args) as conn:
                current = engine.plan(conn, the_set, opts)
        except connect.DatabaseMissing as exc:
            print(f"{exc.reason} migrate would create it.", file=sys.stderr)
    if current is None:  # an empty database: everything runs
        current = make_plan(the_set.migrations, the_set.seeds, [], seed_mode=opts.seed_mode)
    problem = current.blocking_problem(allow_out_of_order=opts.allow_out_of_order)
    if args.json:
        print(json.dumps({**current.as_json(), "layout": layout, "problem": problem}, indent=2))
    else:
        print(f"Plan for {args.path} ({layout} layout) against {_describe_target(args)}")
        for warning in the_set.warnings:
            print(f"Warning: {warning}")
        _print_plan(current, problem)
    return 1 if problem else 0
