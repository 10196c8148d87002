"""From validated properties to an engine run: the I/O wiring the two entry points share.

``Run`` resolves the endpoint (DescribeDBClusters when only
``ClusterIdentifier`` is given), reads the sources (inline or S3), connects
(IAM token + TLS, retried), creates the database if needed, and calls the
engine. AWS clients are passed in, so tests hand it moto's.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from typing import Any

import boto3

from provider.common.deadline import Deadline
from provider.migrations import connect, engine, layouts, sources
from provider.migrations.engine import MigrationSet, Options, Result
from provider.migrations.plan import make_plan
from provider.migrations.properties import MigrationsProperties

logger = logging.getLogger(__name__)

_ENDPOINT_REGION = re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d)\.rds\.amazonaws\.com\.?$")


@dataclass
class Clients:
    """The AWS clients a run may need, made on first use.

    Lazily, so a run with inline SQL and an ``Endpoint`` makes no AWS call but
    signing the token; remade when ``AWS_ENDPOINT_URL`` or the region change
    (moto's server, the demo). Tests may set ``rds``/``s3`` directly.
    """

    rds: Any = None
    s3: Any = None
    _key: tuple[str | None, str | None] | None = None

    def _fresh(self) -> None:
        key = (os.getenv("AWS_ENDPOINT_URL"), os.getenv("AWS_REGION"))
        if self._key is not None and key != self._key:
            self.rds = self.s3 = None
        self._key = key

    def get_rds(self) -> Any:
        self._fresh()
        if self.rds is None:
            self.rds = boto3.client("rds")
        return self.rds

    def get_s3(self) -> Any:
        self._fresh()
        if self.s3 is None:
            self.s3 = boto3.client("s3")
        return self.s3


def region_for(host: str) -> str:
    """The region in an RDS endpoint's name, else the function's own."""
    if match := _ENDPOINT_REGION.search(host):
        return match.group(1)
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def target_for(props: MigrationsProperties, clients: Clients) -> connect.Target:
    host, port = props.endpoint, props.port
    if not host:
        assert props.cluster_identifier is not None  # the model requires one of the two
        host, cluster_port = connect.lookup_endpoint(clients.get_rds(), props.cluster_identifier)
        port = port or cluster_port
    return connect.Target(host, port or 5432, props.username, props.database, region_for(host))


def migration_set(props: MigrationsProperties, clients: Clients) -> MigrationSet:
    """Read the sources and arrange them in their layout."""
    files: sources.SourceFiles | None = None
    if props.migrations is not None:
        files = sources.inline(props.migrations, "Migrations")
    elif props.migrations_s3_uri:
        files = sources.from_s3(clients.get_s3(), props.migrations_s3_uri, "MigrationsS3Uri")
    reading = None
    if files is not None:
        values = layouts.placeholders_for(
            props.placeholders, user=props.username, database=props.database
        )
        reading = layouts.read(files, props.layout, placeholders=values)
    seeds: list[Any] = []
    if props.seeds is not None:
        seeds = layouts.seeds(sources.inline(props.seeds, "Seeds"))
    elif props.seeds_s3_uri:
        seeds = layouts.seeds(sources.from_s3(clients.get_s3(), props.seeds_s3_uri, "SeedsS3Uri"))
    if reading is None:
        return MigrationSet([], seeds)
    return MigrationSet(
        reading.migrations, seeds, callbacks=reading.callbacks, warnings=reading.warnings
    )


def options_for(props: MigrationsProperties, applied_by: str, deadline: Deadline | None) -> Options:
    return Options(
        history_table=props.table,
        allow_out_of_order=props.allow_out_of_order,
        seed_mode=props.seed_mode,
        lock_timeout=props.lock_timeout_seconds,
        statement_timeout=props.statement_timeout_seconds,
        applied_by=applied_by,
        deadline=deadline,
    )


def run(
    props: MigrationsProperties,
    action: str,
    *,
    applied_by: str,
    clients: Clients,
    deadline: Deadline | None = None,
    tokens: connect.TokenSource | None = None,
) -> tuple[Result | None, dict[str, Any]]:
    """Do ``action`` (plan, status or migrate); return the engine's result (migrate) and JSON."""
    target = target_for(props, clients)
    the_set = migration_set(props, clients)
    token_source = tokens or connect.iam_tokens(clients.get_rds())
    options = options_for(props, applied_by, deadline)
    timeout = connect.connect_timeout()
    if deadline is not None:
        timeout = min(timeout, max(1.0, deadline.remaining()))
    if action == "migrate":
        connect.ensure_database(target, token_source, timeout=timeout)
        with connect.connect(target, token_source, timeout=timeout) as conn:
            result = engine.migrate(conn, the_set, options)
        return result, result.as_json()
    try:
        conn = connect.connect(target, token_source, timeout=timeout)
    except connect.DatabaseMissing:
        # Nothing applied yet: everything is pending (a plan creates nothing).
        fresh = make_plan(the_set.migrations, the_set.seeds, [], seed_mode=options.seed_mode)
        return None, {**fresh.as_json(), "problem": None, "databaseExists": False}
    with conn:
        if action == "plan":
            current = engine.plan(conn, the_set, options)
            problem = current.blocking_problem(allow_out_of_order=options.allow_out_of_order)
            return None, {**current.as_json(), "problem": problem}
        return None, engine.status(conn, the_set, options)
