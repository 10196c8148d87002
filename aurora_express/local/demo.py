"""``aurora-express demo``: a stack's whole lifecycle, offline, through the deployed handlers.

The handlers are the ones ``template.yaml`` deploys
(``provider.cluster.handler.handler``, ``provider.migrations.handler.handler``),
called as CloudFormation and EventBridge would call them (``aurora_express.local.simulator``):

1. Create ``Db`` (``Custom::AuroraExpress``): moto with the express extension
   keeps the cluster ``creating`` for a few seconds, as RDS does;
2. Create ``Schema`` (``Custom::AuroraExpressMigrations``) with
   ``examples/migrations`` and ``examples/seeds`` from S3, applied to an
   embedded PostgreSQL over TLS, logging in with the IAM token the handler
   makes (time is frozen so that it equals the role's password);
3. a query of the seeded rows, as an application would make it;
4. Update ``Db`` (``MaxCapacity`` 4 -> 8), in place;
5. a snapshot of the branch's cluster (``aurora-express snapshot``);
6. Create ``Db`` of a second branch's stack, restored from that snapshot
   (``SeedFrom``): the restore, then its writer, then IAM auth for its master
   user, finished in crhelper's polls (a short Lambda timeout, as a real
   restore outlives one invocation);
7. Delete that second ``Db``: ``WaitForDeletion: false`` answers once RDS has
   accepted the deletion, while the cluster is still ``deleting``;
8-9. Delete, in CloudFormation's order: ``Schema`` first, then ``Db``.

The properties are those of ``examples/branch-database.yaml`` for the
branches ``feature/ABC-123_Login`` and ``feature/XYZ-9_Search``, resolved as
CloudFormation would (every scalar a string). The migrations resource gets
the embedded server as its ``Endpoint`` and ``Port``: moto's endpoint names do
not resolve.

Everything started is stopped, and every file removed, on success, failure
or Ctrl-C (SIGTERM too). Exit code 0 when every step answered as expected.
"""

from __future__ import annotations

import contextlib
import io
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

import boto3
import psycopg
import time_machine

from aurora_express.cli import cluster_access
from aurora_express.cli import main as cli
from aurora_express.local import cfn_local
from aurora_express.local.cfn_local import REGION
from aurora_express.local.demo_output import Printer, progress
from aurora_express.local.embedded_pg import FROZEN_AT
from aurora_express.local.simulator import LifecycleSimulator, SimulationResult
from provider.cluster.naming import normalize
from provider.migrations.connect import Target

if TYPE_CHECKING:
    from aurora_express.local.demo_env import World

BRANCH = "feature/ABC-123_Login"
SECOND_BRANCH = "feature/XYZ-9_Search"
REVISION = "4f2a9c1"  # what a CI job would pass as GitSha
STACK_NAME = "db-feature-ABC-123-Login"
SECOND_STACK_NAME = "db-feature-XYZ-9-Search"
SNAPSHOT = "app-feature-abc-123-login-seed"
PROVIDER_STACK = "aurora-express"
CLUSTER_FUNCTION = f"{PROVIDER_STACK}-cluster"
MIGRATIONS_FUNCTION = f"{PROVIDER_STACK}-migrations"
CLUSTER_TYPE = "Custom::AuroraExpress"
MIGRATIONS_TYPE = "Custom::AuroraExpressMigrations"
TOTAL_STEPS = 9
POLL_SCALE = 0.01  # crhelper's one-minute poll rule fires after 0.6 s
# A real restore (cluster, then writer, then IAM auth) outlives one invocation and
# finishes in crhelper's polls; a short Lambda timeout makes the demo's take that path.
RESTORE_LAMBDA_TIMEOUT = 3.0


class DemoFailed(Exception):
    """A step did not end as it should; the message says which and why."""


def db_properties(
    max_capacity: int, branch: str = BRANCH, seed_from: str | None = None
) -> dict[str, Any]:
    """``Db``'s properties in examples/branch-database.yaml, for ``branch`` (and ``SeedFrom``)."""
    props: dict[str, Any] = {
        "ClusterIdentifier": f"app-{branch}",
        "MinCapacity": 0,
        "MaxCapacity": max_capacity,
        "SecondsUntilAutoPause": 300,
        "ExpiresAfter": "7d",
        "OnDelete": "Delete",
        "WaitForDeletion": False,
        "Tags": [{"Key": "branch", "Value": branch}, {"Key": "commit", "Value": REVISION}],
    }
    if seed_from:
        props["SourceSnapshotIdentifier"] = seed_from
    return props


def schema_properties(w: World, cluster_identifier: str) -> dict[str, Any]:
    """``Schema``'s properties, with the embedded server as the endpoint."""
    return {
        "ClusterIdentifier": cluster_identifier,
        "Endpoint": w.pg.host,
        "Port": w.pg.port,
        "Database": "app",
        "Layout": "flyway",
        "MigrationsS3Uri": w.migrations_uri,
        "SeedsS3Uri": w.seeds_uri,
        "SeedMode": "OnChange",
        "LockTimeoutSeconds": 10,
        "Revision": REVISION,
    }


@dataclass
class Lifecycle:
    """CloudFormation for the demo stack: one simulator per resource, a shared stack id."""

    w: World
    printer: Printer
    timings: list[tuple[str, float]]
    simulators: dict[str, LifecycleSimulator]

    @classmethod
    def start(cls, w: World, printer: Printer) -> Lifecycle:
        # Imported once the environment is set: the handlers read LOG_LEVEL at import.
        from provider.cluster.handler import handler as cluster_handler  # noqa: PLC0415
        from provider.migrations.handler import handler as migrations_handler  # noqa: PLC0415

        simulators = {
            "Db": LifecycleSimulator(
                cluster_handler,
                w.collector,
                stack_name=STACK_NAME,
                logical_id="Db",
                resource_type=CLUSTER_TYPE,
                function_name=CLUSTER_FUNCTION,
                poll_scale=POLL_SCALE,
                endpoint_url=w.moto_url,
            ),
            "Schema": LifecycleSimulator(
                migrations_handler,
                w.collector,
                stack_name=STACK_NAME,
                logical_id="Schema",
                resource_type=MIGRATIONS_TYPE,
                function_name=MIGRATIONS_FUNCTION,
                poll_scale=POLL_SCALE,
                endpoint_url=w.moto_url,
            ),
        }
        # Db of another branch's stack, restored from a snapshot of this one's.
        simulators["SecondDb"] = LifecycleSimulator(
            cluster_handler,
            w.collector,
            stack_name=SECOND_STACK_NAME,
            logical_id="Db",
            resource_type=CLUSTER_TYPE,
            function_name=CLUSTER_FUNCTION,
            poll_scale=POLL_SCALE,
            endpoint_url=w.moto_url,
        )
        return cls(w, printer, [], simulators)

    def invoke(
        self,
        number: int,
        request_type: str,
        resource: str,
        properties: dict[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
        observe: Callable[[], str | None] | None = None,
        frozen: bool = False,
        lambda_timeout: float | None = None,
        stack_name: str = "",
    ) -> dict[str, Any]:
        """Send one request, show it, its progress and its response; the response body.

        ``resource`` picks the simulator (a logical id of the demo stack, or
        ``SecondDb``: ``Db`` of the second branch's stack, named by ``stack_name``).
        """
        sim = self.simulators[resource]
        logical_id = sim.logical_id
        title = f"{request_type} {logical_id} ({sim.resource_type})"
        if stack_name:
            title += f" of stack {stack_name}"
        self.printer.heading(number, TOTAL_STEPS, title)
        request_id = str(uuid.uuid4())
        event = cfn_local.request_event(
            request_type,
            sim.resource_type,
            properties,
            response_url=self.w.collector.url(request_id),
            service_token=sim.function_arn,
            stack=sim.stack_id,
            logical_id=logical_id,
            physical_id=physical_id,
            old_properties=old_properties,
            request_id=request_id,
        )
        self.printer.request(event, sim.function_name)
        if lambda_timeout is not None:
            self.printer.line(
                self.printer.dim(
                    f"  (Lambda timeout set to {lambda_timeout:g} s so that the work outlives "
                    "the first invocation and crhelper's scheduled polls finish it)"
                )
            )
        started = time.monotonic()
        with progress(self.printer, observe or (lambda: None)), _frozen_clock(frozen):
            result = sim.run(event, timeout_seconds=lambda_timeout)
        seconds = time.monotonic() - started
        body = dict(result.response or {"Status": "NO RESPONSE", "Reason": "the stack would wait"})
        self.printer.response(body, seconds)
        self.printer.line(self.printer.dim(f"    ({_invocations(result)})"))
        self.timings.append((title, seconds))
        if body.get("Status") != "SUCCESS":
            raise DemoFailed(f"{title} answered {body.get('Status')}: {body.get('Reason')}")
        return body


def _invocations(result: SimulationResult) -> str:
    polls = result.polls
    if not polls:
        return "answered within its first invocation"
    return (
        f"answered after its first invocation and {polls} scheduled "
        f"poll{'s' if polls != 1 else ''} (EventBridge rate(1 minute), played "
        f"{1 / POLL_SCALE:g}x faster)"
    )


@contextmanager
def _frozen_clock(frozen: bool) -> Iterator[None]:
    """Wall-clock time frozen at the instant the role's password was made for (IAM tokens)."""
    if not frozen:
        yield
        return
    with time_machine.travel(FROZEN_AT, tick=False):
        yield


def _cluster_status(identifier: str) -> Callable[[], str | None]:
    """What RDS (moto) shows of the cluster and its writer, as one short line."""
    rds = boto3.client("rds")

    def look() -> str | None:
        try:
            cluster = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"][0]
        except rds.exceptions.DBClusterNotFoundFault:
            return f"cluster {identifier}: does not exist"
        text = f"cluster {identifier}: {cluster.get('Status')}"
        members = cluster.get("DBClusterMembers") or []
        for member in members:
            name = member["DBInstanceIdentifier"]
            try:
                found = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"]
                text += f", writer {name}: {found[0].get('DBInstanceStatus')}"
            except rds.exceptions.DBInstanceNotFoundFault:
                text += f", writer {name}: gone"
        return text

    return look


def _history_rows(w: World) -> Callable[[], str | None]:
    """How many rows the migrations history table holds (read as the superuser)."""

    def look() -> str | None:
        try:
            with w.pg.admin("app") as conn:
                row = conn.execute(
                    "SELECT count(*) FROM aurora_express.schema_migrations"
                ).fetchone()
        except psycopg.Error:  # no database or table yet
            return None
        count = row[0] if row else 0
        return f"history table: {count} row{'' if count == 1 else 's'}"

    return look


def _query_seeded_rows(w: World, printer: Printer) -> None:
    """Log in as an application would (IAM token over verify-full) and read the seeded data."""
    printer.heading(3, TOTAL_STEPS, "Query the seeded rows (IAM token over TLS verify-full)")
    target = Target(host=w.pg.host, port=w.pg.port, user="postgres", database="app", region=REGION)
    with _frozen_clock(True):
        token = cluster_access.make_token(target)
    tls = cluster_access.tls_settings()
    with psycopg.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        dbname=target.database,
        password=token,
        sslmode=tls.sslmode,
        sslrootcert=tls.sslrootcert,
    ) as conn:
        query = "SELECT name, orders, total_cents FROM customer_totals ORDER BY name"
        printer.line(printer.dim(f"    {query}"))
        rows = conn.execute(query).fetchall()
        printer.table(["name", "orders", "total_cents"], rows)
        printer.line()
        history = (
            "SELECT version, name, kind, success FROM aurora_express.schema_migrations "
            "ORDER BY installed_rank"
        )
        printer.line(printer.dim(f"    {history}"))
        printer.table(["version", "name", "kind", "success"], conn.execute(history).fetchall())
    if not rows:
        raise DemoFailed("the seeds left customer_totals empty")


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM unwinds like Ctrl-C, so the cleanup runs for it too."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _snapshot(printer: Printer, cluster_id: str) -> str:
    """Step 5: ``aurora-express snapshot``, as a nightly job would run it; its identifier."""
    printer.heading(5, TOTAL_STEPS, f"Snapshot {cluster_id} (aurora-express snapshot)")
    argv = ["snapshot", "--cluster", cluster_id, "--name", SNAPSHOT, "--poll-seconds", "0.25"]
    printer.line(printer.dim(f"    $ aurora-express {' '.join(argv[:-2])}"))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    for text in err.getvalue().splitlines():
        printer.line(printer.dim(f"    {text}"))
    if code != 0:
        raise DemoFailed(f"aurora-express snapshot exited with {code}: {err.getvalue().strip()}")
    name = out.getvalue().strip()
    printer.line(f"    {name}")
    return name


def _second_branch(life: Lifecycle, snapshot: str) -> None:
    """Steps 6 and 7: a branch restored from the first's snapshot, then its fast Delete."""
    props = db_properties(max_capacity=4, branch=SECOND_BRANCH, seed_from=snapshot)
    identifier = normalize(str(props["ClusterIdentifier"]))
    watch = _cluster_status(identifier)
    created = life.invoke(
        6,
        "Create",
        "SecondDb",
        props,
        observe=watch,
        lambda_timeout=RESTORE_LAMBDA_TIMEOUT,
        stack_name=SECOND_STACK_NAME,
    )
    restored_from = (created.get("Data") or {}).get("RestoredFrom", "")
    if not str(restored_from).startswith(f"snapshot:{snapshot}@"):
        raise DemoFailed(f"the second branch's RestoredFrom is {restored_from!r}")
    life.invoke(
        7,
        "Delete",
        "SecondDb",
        props,
        physical_id=str(created["PhysicalResourceId"]),
        observe=watch,
        stack_name=SECOND_STACK_NAME,
    )
    _still_deleting(life.printer, watch)


def _still_deleting(printer: Printer, watch: Callable[[], str | None]) -> None:
    """After a Delete with WaitForDeletion false: RDS carries on without the stack."""
    now = watch() or ""
    printer.line(
        printer.dim("    (WaitForDeletion: false: answered while RDS goes on; now ") + now + ")"
    )
    if "deleting" not in now and "does not exist" not in now:
        raise DemoFailed(f"after a fast Delete the cluster is not being deleted: {now}")


def _lifecycle(w: World, printer: Printer) -> list[tuple[str, float]]:
    life = Lifecycle.start(w, printer)
    db_props = db_properties(max_capacity=4)
    watch = _cluster_status(normalize(str(db_props["ClusterIdentifier"])))
    created = life.invoke(1, "Create", "Db", db_props, observe=watch)
    cluster_id = str(created["PhysicalResourceId"])
    attributes = created.get("Data") or {}
    schema_props = schema_properties(w, str(attributes.get("ClusterIdentifier", cluster_id)))
    schema = life.invoke(2, "Create", "Schema", schema_props, observe=_history_rows(w), frozen=True)
    started = time.monotonic()
    _query_seeded_rows(w, printer)
    life.timings.append(("Query the seeded rows", time.monotonic() - started))
    bigger = db_properties(max_capacity=8)
    updated = life.invoke(
        4, "Update", "Db", bigger, physical_id=cluster_id, old_properties=db_props, observe=watch
    )
    if updated["PhysicalResourceId"] != cluster_id:
        raise DemoFailed("a capacity change replaced the cluster instead of modifying it")
    started = time.monotonic()
    snapshot = _snapshot(printer, cluster_id)
    life.timings.append(("Snapshot Db", time.monotonic() - started))
    _second_branch(life, snapshot)
    life.invoke(
        8,
        "Delete",
        "Schema",
        schema_props,
        physical_id=str(schema["PhysicalResourceId"]),
        frozen=True,
    )
    life.invoke(9, "Delete", "Db", bigger, physical_id=cluster_id, observe=watch)
    _still_deleting(printer, watch)
    return life.timings


def run(*, creating_seconds: float = 3.0, verbose: bool = False) -> int:
    """Run the demo; 0 when the whole lifecycle succeeded, 1 when a step failed."""
    printer = Printer()
    started = time.monotonic()
    printer.line(printer.bold("aurora-express demo: a branch database's whole lifecycle, offline"))
    printer.line(
        printer.dim(
            f"  stack {STACK_NAME}, branch {BRANCH}, as examples/branch-database.yaml "
            "declares it; every scalar property a string, as CloudFormation sends it"
        )
    )
    printer.line()
    printer.line(printer.bold("Starting"))
    # moto takes seconds to import: the banner shows first.
    from aurora_express.local.demo_env import world  # noqa: PLC0415

    try:
        with _sigterm_as_interrupt():
            with world(
                printer, creating_seconds=creating_seconds, verbose=verbose, revision=REVISION
            ) as w:
                timings = _lifecycle(w, printer)
                printer.line()
                printer.line(printer.bold("Stopping"))
                stopping = time.monotonic()
            gone = "removed" if not w.workspace.exists() else "NOT removed"
            printer.line(
                f"  ✓ moto, the ResponseURL endpoint and PostgreSQL stopped; {w.workspace} {gone}"
                + printer.dim(f"  ({time.monotonic() - stopping:.1f} s)")
            )
    except DemoFailed as exc:
        printer.line()
        printer.line(printer.status("FAILED") + f"  {exc}")
        printer.line(printer.dim("  everything the demo started has been stopped and removed"))
        return 1
    printer.line()
    printer.line(printer.bold("Time per step"))
    printer.table(["step", "seconds"], [(t, f"{s:.1f}") for t, s in timings])
    printer.line()
    printer.line(
        printer.status("SUCCESS")
        + f"  the whole lifecycle in {time.monotonic() - started:.1f} s, offline"
    )
    return 0
