"""One typed entry to the migration engine, built by the Lambda and the CLI alike.

A ``Migrator`` is a ``Source`` (the migrations and seeds, read and arranged
in their layout), a ``Target`` (what yields an autocommit connection to the
database) and the engine's ``Options``. Its ``plan()``, ``status()`` and
``migrate()`` return typed results whose ``as_json()`` is what a direct
invocation of the function answers. It is the only caller of the engine,
as pressly/goose's ``Provider`` is: the handler builds one from the
resource's properties (``for_resource``), the CLI from its folder and flags.

- ``plan`` and ``status`` read and create nothing: a database that does not
  exist yet is planned as an empty one (``databaseExists: false``).
- ``migrate`` creates the database when missing, then applies what is pending.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from provider.common import ownership
from provider.common.deadline import Deadline
from provider.common.errors import ProviderError
from provider.migrations import (
    connect,
    copy_data,
    endpoint,
    engine,
    guard,
    history,
    layouts,
    sources,
)
from provider.migrations.clients import Clients
from provider.migrations.engine import MigrationSet, Options, Result
from provider.migrations.history import Row, TableName
from provider.migrations.layouts import Layout
from provider.migrations.plan import Plan, make_plan
from provider.migrations.settings import MigrationsSettings, Tls
from provider.migrations.sources import SourceFiles

if TYPE_CHECKING:  # pydantic's models: validated by the caller (the handler, the CLI)
    import psycopg

    from provider.migrations.properties import MigrationsProperties
    from provider.migrations.run_flags import RunSettings

# -- the three parts -----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The migrations (in order) and seeds of a run, and the layout they were read in."""

    migration_set: MigrationSet
    layout: Layout

    @classmethod
    def read(
        cls,
        migrations: SourceFiles | None,
        seeds: SourceFiles | None = None,
        layout: Layout | str = Layout.AUTO,
        *,
        placeholders: Mapping[str, str] | None = None,
    ) -> Source:
        """Arrange the files in ``layout`` (``auto``: the one they were written for), with
        Flyway's ``placeholders``; its callbacks and the files it skipped ride along.

        ``LayoutError`` when they do not fit it.
        """
        used = Layout(layout)
        seed_list = layouts.seeds(seeds) if seeds is not None else []
        if migrations is None:
            return cls(MigrationSet([], seed_list, layout=used.value), used)
        reading = layouts.read(migrations, used, placeholders=placeholders)
        the_set = MigrationSet(
            reading.migrations,
            seed_list,
            layout=reading.layout.value,
            callbacks=reading.callbacks,
            warnings=reading.warnings,
        )
        return cls(the_set, reading.layout)


class Target(Protocol):
    """Where the migrations run: a source of autocommit connections to one database."""

    def connection(self, *, create: bool) -> AbstractContextManager[psycopg.Connection[Any]]:
        """A connection, closed on exit; with ``create``, the database is made first if missing.

        Without ``create``, a database that does not exist raises
        ``connect.DatabaseMissing``.
        """
        ...


@dataclass(frozen=True)
class ClusterTarget:
    """A cluster logged in to as the function does: an IAM token per attempt, TLS, bounded retry.

    ``tls`` and ``timeout`` default to the settings' (``connect``).
    """

    address: connect.Target
    tokens: connect.TokenSource
    tls: Tls | None = None
    timeout: float | None = None

    @contextmanager
    def connection(self, *, create: bool) -> Iterator[psycopg.Connection[Any]]:
        # The database first: it exists on every run but the first, and a connection to
        # ``postgres`` to look for it costs a TLS login (4 round trips) each time.
        try:
            conn = connect.connect(self.address, self.tokens, timeout=self.timeout, tls=self.tls)
        except connect.DatabaseMissing:
            if not create:
                raise
            connect.ensure_database(self.address, self.tokens, timeout=self.timeout, tls=self.tls)
            conn = connect.connect(self.address, self.tokens, timeout=self.timeout, tls=self.tls)
        with conn:
            yield conn


def options_from(
    props: RunSettings, *, applied_by: str, deadline: Deadline | None = None
) -> Options:
    """The engine's options from the run's properties (the resource's, or the CLI's flags)."""
    return Options(
        history_table=props.table,
        allow_out_of_order=props.allow_out_of_order,
        seed_mode=props.seed_mode,
        lock_timeout=props.lock_timeout_seconds or None,  # 0: none
        statement_timeout=props.statement_timeout_seconds,
        keep_tool_history=props.keep_tool_history,
        applied_by=applied_by,
        deadline=deadline,
    )


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanResult:
    """What ``migrate`` would do, and the reason it would stop (``problem``) if any.

    ``database_exists`` is False when the plan is against an empty database:
    the target's does not exist yet (``missing_reason`` says so), or there is
    no target at all.
    """

    plan: Plan
    problem: str | None
    database_exists: bool = True
    missing_reason: str | None = None

    def as_json(self) -> dict[str, Any]:
        body = {**self.plan.as_json(), "problem": self.problem}
        if not self.database_exists:
            body["databaseExists"] = False
        return body


@dataclass(frozen=True)
class StatusResult:
    """The plan and every row of the history table (none when the database does not exist)."""

    planned: PlanResult
    history_table: TableName
    history: tuple[Row, ...] = ()

    def as_json(self) -> dict[str, Any]:
        if not self.planned.database_exists:
            return self.planned.as_json()
        return {
            **self.planned.as_json(),
            "historyTable": str(self.history_table),
            "history": [row.as_json() for row in self.history],
        }


@dataclass(frozen=True)
class MigrateResult:
    """What one ``migrate`` applied: the engine's record of the run, and what a run stopped
    by its deadline (``complete: false``) left to apply, in order (``remaining``)."""

    result: Result
    remaining: tuple[dict[str, Any], ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {**self.result.as_json(), "remaining": list(self.remaining)}


# -- the migrator ----------------------------------------------------------------------


@dataclass(frozen=True)
class Migrator:
    """A source, a target and options; ``target`` None plans against an empty database."""

    source: Source
    target: Target | None
    options: Options

    def plan(self) -> PlanResult:
        """What ``migrate`` would do now: reads the history, writes nothing, takes no lock."""
        if self.target is None:
            return self._against_empty(None)
        try:
            with self.target.connection(create=False) as conn:
                current = engine.plan(conn, self.source.migration_set, self.options)
        except connect.DatabaseMissing as exc:
            return self._against_empty(exc.reason)
        return self._planned(current)

    def status(self) -> StatusResult:
        """The plan and the history rows."""
        table = self.options.history_table
        if self.target is None:
            return StatusResult(self._against_empty(None), table)
        try:
            with self.target.connection(create=False) as conn:
                current = engine.plan(conn, self.source.migration_set, self.options)
                rows = history.read(conn, table)
        except connect.DatabaseMissing as exc:
            return StatusResult(self._against_empty(exc.reason), table)
        return StatusResult(self._planned(current), table, tuple(rows))

    def migrate(self) -> MigrateResult:
        """Create the database if missing, then apply what is pending (``ProviderError`` stops)."""
        if self.target is None:
            raise ProviderError("There is no database to migrate.")
        with self.target.connection(create=True) as conn:
            result = engine.migrate(conn, self.source.migration_set, self.options)
            if result.complete:
                return MigrateResult(result)
            # Read back, not derived: the history says what the next run will find to do.
            left = engine.plan(conn, self.source.migration_set, self.options).as_json()
            return MigrateResult(result, (*left["pending"], *left["seeds"]))

    def _planned(self, current: Plan) -> PlanResult:
        allowed = self.options.allow_out_of_order
        problem = current.blocking_problem(allow_out_of_order=allowed)
        return PlanResult(current, problem or self._unrunnable(current))

    def _against_empty(self, reason: str | None) -> PlanResult:
        the_set = self.source.migration_set
        fresh = make_plan(the_set.migrations, the_set.seeds, [], seed_mode=self.options.seed_mode)
        problem = self._unrunnable(fresh)
        return PlanResult(fresh, problem, database_exists=False, missing_reason=reason)

    def _unrunnable(self, current: Plan) -> str | None:
        """What of the plan cannot run (a psql meta-command, COPY without rows), as migrate
        would refuse it."""
        hooks = [c.script for c in self.source.migration_set.callbacks]
        return copy_data.first_refusal([*current.pending, *current.seeds], hooks)


# -- built from the resource's properties (the Lambda) ---------------------------------


def resource_target(
    props: MigrationsProperties,
    settings: MigrationsSettings,
    clients: Clients,
    *,
    deadline: Deadline | None = None,
    tokens: connect.TokenSource | None = None,
    stack: str | None = None,
    direct: bool = False,
) -> ClusterTarget:
    """``Endpoint``, or the endpoint of ``ClusterIdentifier`` (DescribeDBClusters), logged in to,
    once ``guard`` agrees that the cluster is the provider's."""
    host, port = props.endpoint, props.port
    region = settings.region
    offline = ownership.offline()
    if props.cluster_identifier or not guard.stands_in(host, offline=offline):
        rds = clients.get_rds(settings.aws)
        found = (
            endpoint.lookup(rds, props.cluster_identifier)
            if props.cluster_identifier
            else endpoint.find_serving(
                clients.get_rds_in(settings.aws, endpoint.region_for(host or "", region)),
                host or "",
            )
        )
        guard.check(
            found,
            cluster_identifier=props.cluster_identifier,
            endpoint=props.endpoint,
            stack=stack,
            direct=direct,
            offline=offline,
        )
        assert found is not None  # guard.check refuses a missing cluster
        if not host:
            host, port, region = found.require_host(), port or found.port, found.region
    assert host is not None
    timeout = settings.connect_timeout
    if deadline is not None:
        # Connecting may use the invocation's time up to its hard end: the first migration
        # may still start then (``InvocationDeadline``).
        timeout = min(timeout, max(1.0, deadline.hard.remaining()))
    region = endpoint.region_for(host, region)
    port = port or endpoint.DEFAULT_PORT
    address = connect.Target(host, port, props.username, props.database, region)
    token_source = tokens or connect.iam_tokens(clients.get_rds(settings.aws))
    return ClusterTarget(address, token_source, tls=settings.tls, timeout=timeout)


def resource_source(
    props: MigrationsProperties,
    settings: MigrationsSettings,
    clients: Clients,
    *,
    deadline: Deadline | None = None,
    request_id: str | None = None,
) -> Source:
    """The migrations and seeds the properties name (inline, S3 prefix or S3 zip), arranged
    (an S3 prefix read before ``deadline``, once for the polls of ``request_id``)."""
    migrations: SourceFiles | None = None
    if props.migrations is not None:
        migrations = sources.inline(props.migrations, "Migrations")
    elif props.migrations_s3_uri:
        migrations = sources.from_s3(
            clients.get_s3(settings.aws),
            props.migrations_s3_uri,
            "MigrationsS3Uri",
            deadline=deadline,
            request_id=request_id,
        )
    seeds: SourceFiles | None = None
    if props.seeds is not None:
        seeds = sources.inline(props.seeds, "Seeds")
    elif props.seeds_s3_uri:
        seeds = sources.from_s3(
            clients.get_s3(settings.aws),
            props.seeds_s3_uri,
            "SeedsS3Uri",
            deadline=deadline,
            request_id=request_id,
        )
    values = layouts.placeholders_for(
        props.placeholders, user=props.username, database=props.database
    )
    return Source.read(migrations, seeds, props.layout, placeholders=values)


def for_resource(
    props: MigrationsProperties,
    settings: MigrationsSettings,
    clients: Clients,
    *,
    applied_by: str,
    deadline: Deadline | None = None,
    tokens: connect.TokenSource | None = None,
    stack: str | None = None,
    direct: bool = False,
    request_id: str | None = None,
) -> Migrator:
    """The migrator a ``Custom::AuroraExpressMigrations`` resource's properties describe
    (``stack``: what a ``direct`` invocation names as the cluster's owner).

    The endpoint is resolved before the sources are read; no migration
    starts past ``deadline``, nor does connecting outlast it.
    """
    target = resource_target(
        props, settings, clients, deadline=deadline, tokens=tokens, stack=stack, direct=direct
    )
    source = resource_source(props, settings, clients, deadline=deadline, request_id=request_id)
    return Migrator(source, target, options_from(props, applied_by=applied_by, deadline=deadline))
