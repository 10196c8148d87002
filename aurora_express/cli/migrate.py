"""``aurora-express migrate`` and ``plan``: the Lambda's migrator, from a shell.

The CLI builds the ``provider.migrations.migrator.Migrator`` the function
builds: the folder read by ``sources.from_directory`` (what an S3 prefix or
a zip of it gives), the flags checked as the resource's properties
(``--lock-timeout`` is ``LockTimeoutSeconds``, ``--placeholder`` is
``Placeholders``, ...) and turned into the same options
(``migrator.options_from``), and, with ``--cluster``, the endpoint found by
the function's own look-up and logged in to as the function does
(IAM token, TLS ``verify-full``, bounded retry). So what passes here passes
in the stack. Only two targets are the CLI's own: ``--dsn`` (a plain
connection string) and ``--local`` (a throwaway embedded PostgreSQL, whose
resulting schema is printed).

A bad flag exits 2 naming it. Every ``ProviderError`` (a changed or
out-of-order migration, a failing statement with its file and line, the
lock, the connection, a ``DB_*`` variable that does not parse) becomes a
``CliError``: its reason on stderr, exit code 1.
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
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import conninfo

from aurora_express.cli import schema_summary
from aurora_express.cli.errors import EXIT_USAGE, CliError
from provider.common.errors import InvalidProperty, ProviderError
from provider.migrations import connect, layouts, run_flags, sources
from provider.migrations.engine import Result
from provider.migrations.migrator import (
    ClusterTarget,
    Migrator,
    PlanResult,
    Source,
    Target,
    options_from,
)
from provider.migrations.model import Migration
from provider.migrations.plan import Plan
from provider.migrations.run_flags import RunSettings

# Each run flag and the property it sets (what a bad value's message names).
FLAGS = {
    "Layout": "--layout",
    "SeedMode": "--seed-mode",
    "HistoryTable": "--history-table",
    "LockTimeoutSeconds": "--lock-timeout",
    "StatementTimeoutSeconds": "--statement-timeout",
    "AllowOutOfOrder": "--allow-out-of-order",
    "KeepToolHistory": "--keep-tool-history",
    "Placeholders": "--placeholder",
}


# -- what to run -----------------------------------------------------------------


def placeholder_flags(args: argparse.Namespace) -> dict[str, str] | None:
    """``--placeholder NAME=VALUE`` flags as the ``Placeholders`` property (None when none)."""
    given: dict[str, str] = {}
    for item in getattr(args, "placeholder", None) or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CliError(f"--placeholder {item!r} must be NAME=VALUE", exit_code=EXIT_USAGE)
        given[name] = value
    return given or None


def placeholders(args: argparse.Namespace, run: RunSettings) -> dict[str, str]:
    """The run's placeholder values, with the Flyway built-ins this command line knows."""
    user = getattr(args, "username", None)
    if not user and getattr(args, "dsn", None):
        with contextlib.suppress(psycopg.ProgrammingError):
            user = conninfo.conninfo_to_dict(args.dsn).get("user")
    return layouts.placeholders_for(
        run.placeholders, user=user or "postgres", database=args.database
    )


def run_properties(args: argparse.Namespace) -> RunSettings:
    """The run's flags as the resource's properties, checked by its model; exit 2 names the flag."""
    if not args.cluster:
        extra = [f"--{n}" for n in ("endpoint", "port", "username", "region") if getattr(args, n)]
        if extra:
            raise CliError(f"{', '.join(extra)} only apply with --cluster", exit_code=EXIT_USAGE)
    raw = {
        "Layout": args.layout,
        "SeedMode": args.seed_mode,
        "HistoryTable": args.history_table,
        "LockTimeoutSeconds": args.lock_timeout,
        "StatementTimeoutSeconds": args.statement_timeout,
        "AllowOutOfOrder": args.allow_out_of_order,
        "KeepToolHistory": args.keep_tool_history,
        "Placeholders": placeholder_flags(args),
    }
    given = {k: v for k, v in raw.items() if v is not None}
    if (flags := run_flags.checked(given)) is not None:
        return flags  # what the model would return, without loading pydantic
    from provider.migrations import properties  # noqa: PLC0415 (the model's own reason)

    try:
        return properties.parse_run(given)
    except InvalidProperty as exc:
        flag = FLAGS.get(exc.prop, exc.prop)
        raise CliError(f"{flag} {exc.problem}", exit_code=EXIT_USAGE) from exc


def read_folder(path: str) -> sources.SourceFiles:
    """A folder or a ``.zip`` (``sources.from_directory``); exit 2 when it is neither."""
    try:
        return sources.from_directory(path)
    except sources.SourceMissing as exc:
        raise CliError(exc.reason, exit_code=EXIT_USAGE) from exc
    except ProviderError as exc:
        raise CliError(exc.reason) from exc


def read_source(args: argparse.Namespace, run: RunSettings) -> Source:
    """The migrations (in order) and seeds of the command line's folders, and their layout."""
    found = read_folder(args.path)
    seed_files = read_folder(args.seeds) if args.seeds else None
    try:
        return Source.read(found, seed_files, run.layout, placeholders=placeholders(args, run))
    except ProviderError as exc:
        raise CliError(exc.reason) from exc


def applied_by() -> str:
    return f"aurora-express-cli {getpass.getuser()}@{socket.gethostname()}"


# -- targets -------------------------------------------------------------------


@dataclass(frozen=True)
class DsnTarget:
    """``--dsn``: a libpq connection string; its database is expected to exist."""

    dsn: str

    @contextmanager
    def connection(self, *, create: bool) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = psycopg.connect(self.dsn, autocommit=True, application_name="aurora-express-cli")
        except psycopg.Error as exc:
            raise CliError(f"could not connect with --dsn: {' '.join(str(exc).split())}") from exc
        with conn:
            yield conn


@dataclass(frozen=True)
class LocalTarget:
    """``--local``: a database of a running throwaway server (an ``EmbeddedPostgres``)."""

    server: Any  # the [local] extra's EmbeddedPostgres, imported only when --local runs
    database: str

    @contextmanager
    def connection(self, *, create: bool) -> Iterator[psycopg.Connection[Any]]:
        with self.server.admin(self.database) as conn:
            yield conn


@contextmanager
def _local_target(database: str) -> Iterator[LocalTarget]:
    from aurora_express.local.embedded_pg import EmbeddedPostgres  # noqa: PLC0415 (the extra)

    print("Starting a throwaway PostgreSQL 18 ...", file=sys.stderr)
    with EmbeddedPostgres() as pg:
        if database != "postgres":
            pg.create_database(database)
        yield LocalTarget(pg, database)


def _cluster_target(args: argparse.Namespace) -> ClusterTarget:
    """Logged in to as the Lambda logs in; the database made first by migrate."""
    # boto3 only here: a --dsn or --local run never loads it.
    import boto3  # noqa: PLC0415

    from aurora_express.cli import cluster_access  # noqa: PLC0415

    address = cluster_access.resolve(
        args.cluster,
        region=args.region,
        endpoint=args.endpoint,
        port=args.port,
        username=args.username,
        database=args.database,
    )
    tokens = connect.iam_tokens(boto3.client("rds", region_name=address.region))
    print(
        f"Connecting to {address.host}:{address.port} as {address.user} (IAM token, TLS)",
        file=sys.stderr,
    )
    return ClusterTarget(address, tokens, tls=cluster_access.tls_settings())


@contextmanager
def target_for(args: argparse.Namespace) -> Iterator[Target | None]:
    """The command line's target: None (plan without one) plans against an empty database."""
    if args.cluster:
        yield _cluster_target(args)
    elif args.dsn:
        yield DsnTarget(args.dsn)
    elif getattr(args, "local", False):
        with _local_target(args.database) as local:
            yield local
    else:
        yield None


def build(args: argparse.Namespace) -> tuple[Source, RunSettings]:
    """Flags checked first (exit 2), then the folders read: nothing is connected to yet."""
    props = run_properties(args)
    return read_source(args, props), props


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
        print(f"Adopted from {result.adopted_from}'s history: {', '.join(result.adopted)}")
    for warning in result.warnings:
        print(f"Warning: {warning}")
    print(f"Latest version: {result.latest_version or '(none)'}")


def migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations and due seeds; with ``--local``, print the schema after."""
    _quiet_engine_logs()
    source, props = build(args)
    options = options_from(props, applied_by=applied_by())
    the_set = source.migration_set
    print(
        f"Migrating {_describe_target(args)} with {args.path} ({source.layout} layout, "
        f"{len(the_set.migrations)} migrations, {len(the_set.seeds)} seeds)"
    )
    try:
        with target_for(args) as target:
            result = Migrator(source, target, options).migrate().result
            _print_result(result)
            if isinstance(target, LocalTarget):
                with target.connection(create=False) as conn:
                    _print_schema(conn)
    except ProviderError as exc:
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
        block(f"Applied by {current.tool}, to record", _names(current.adopt))
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
    source, props = build(args)
    options = options_from(props, applied_by=applied_by())
    try:
        with target_for(args) as target:
            planned: PlanResult = Migrator(source, target, options).plan()
    except ProviderError as exc:
        raise CliError(exc.reason) from exc
    if planned.missing_reason:
        print(f"{planned.missing_reason} migrate would create it.", file=sys.stderr)
    if args.json:
        shown = {
            **planned.plan.as_json(),
            "layout": source.layout.value,
            "problem": planned.problem,
        }
        print(json.dumps(shown, indent=2))
    else:
        print(f"Plan for {args.path} ({source.layout} layout) against {_describe_target(args)}")
        for warning in source.migration_set.warnings:
            print(f"Warning: {warning}")
        _print_plan(planned.plan, planned.problem)
    return 1 if planned.problem else 0
