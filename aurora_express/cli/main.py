"""``aurora-express``: the developer's command line for express databases.

Commands (each has ``--help``):

- ``migrate PATH``: apply a migration folder with the engine the Lambda uses,
  to ``--cluster ID`` (IAM token and TLS), ``--dsn DSN`` or ``--local`` (a
  throwaway embedded PostgreSQL; prints the resulting schema);
- ``plan PATH``: what ``migrate`` would run, what changed, what is out of
  order, without applying anything;
- ``token --cluster ID``: a fresh IAM auth token on stdout;
- ``psql --cluster ID``: psql with a fresh token, ``verify-full`` and the CA
  bundle, the token passed through a private passfile;
- ``snapshot --cluster ID [--name NAME]``: a manual snapshot of a parent to
  branch from, waited for; its identifier on stdout;
- ``proxy --cluster ID``: a local endpoint (no TLS, no password) that logs
  in to the cluster with a fresh token per connection;
- ``env`` / ``exec --cluster ID``: the libpq variables and ``DATABASE_URL``
  for any tool, printed or set for one command;
- ``diff``: the schema difference of two databases (exit 1 when they differ);
- ``ls``: every cluster the provider owns in the region;
- ``demo``: the provider's whole lifecycle, offline.

Exit codes, for scripts: 0 success, 1 failure (the reason on stderr), 2 a
usage error (argparse's own), 130 interrupted. ``psql`` exits with psql's code.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

from aurora_express.cli import branch_parsers, extras
from aurora_express.cli.errors import CliError
from provider.common.errors import ProviderError
from provider.common.redaction import redact
from provider.migrations.database_name import database_problem

PROG = "aurora-express"

Command = Callable[[argparse.Namespace], int]
# Layout's values (provider.migrations.layouts), listed here so --help stays fast.
LAYOUTS = (
    "auto", "flyway", "drizzle", "dbmate", "golang-migrate", "goose", "prisma", "supabase",
    "liquibase", "sqitch", "atlas", "sqlx", "plain",
)  # fmt: skip


def _database(name: str) -> str:
    """``--database`` under the ``Database`` property's rule; argparse exits 2 otherwise."""
    if problem := database_problem(name):
        raise argparse.ArgumentTypeError(problem)
    return name


def _add_endpoint_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection (with --cluster)")
    group.add_argument(
        "--endpoint",
        metavar="HOST",
        help="connect to HOST instead of the cluster's endpoint (as the Endpoint property does)",
    )
    group.add_argument(
        "--port", type=int, metavar="N", help="port (default: the cluster's, else 5432)"
    )
    group.add_argument(
        "--username", metavar="USER", help="database user (default: the cluster's master user)"
    )
    group.add_argument("--region", help="AWS region (default: the AWS SDK's, from the environment)")


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="the migration folder")
    parser.add_argument("--seeds", metavar="PATH", help="a folder of seed files, run after")
    parser.add_argument(
        "--layout",
        default="auto",
        choices=LAYOUTS,
        help="the folder's layout (default: auto, detected from the folder when certain)",
    )
    parser.add_argument(
        "--placeholder",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Flyway placeholder's value, for ${NAME} (repeat for more; as Placeholders)",
    )
    parser.add_argument(
        "--database",
        default="postgres",
        type=_database,
        help="database (default: postgres; created if missing)",
    )
    parser.add_argument(
        "--history-table",
        metavar="SCHEMA.TABLE",
        help="history table (default: aurora_express.schema_migrations)",
    )
    parser.add_argument(
        "--allow-out-of-order",
        action="store_true",
        help="apply a pending migration older than the newest applied one",
    )
    parser.add_argument(
        "--keep-tool-history",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also keep the layout's tool's own history table, so the tool can take over "
        "again (default: on; as KeepToolHistory)",
    )
    parser.add_argument(
        "--lock-timeout",
        type=int,
        metavar="S",
        help="lock_timeout per migration, in seconds (LockTimeoutSeconds; default 5, 0: none)",
    )
    parser.add_argument(
        "--statement-timeout",
        type=int,
        metavar="S",
        help="statement_timeout per migration, in seconds (as StatementTimeoutSeconds)",
    )
    parser.add_argument(
        "--seed-mode",
        choices=["OnChange", "Always", "Once"],
        default="OnChange",
        help="when seeds run again (default: OnChange)",
    )


def _add_target_options(
    parser: argparse.ArgumentParser, *, required: bool, local: bool = True
) -> None:
    target = parser.add_mutually_exclusive_group(required=required)
    target.add_argument(
        "--cluster", metavar="ID", help="an express cluster: IAM auth token and TLS, as the Lambda"
    )
    target.add_argument(
        "--dsn", metavar="DSN", help="a libpq connection string or postgresql:// URL"
    )
    if local:
        target.add_argument(
            "--local",
            action="store_true",
            help="a throwaway embedded PostgreSQL 18, removed when the command ends",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Work with Aurora PostgreSQL express clusters and their migrations.",
        epilog="Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    migrate = commands.add_parser(
        "migrate",
        help="apply a migration folder (and seeds) with the Lambda's engine",
        description=(
            "Apply the pending migrations of PATH, then the seeds, with the same engine "
            "as Custom::AuroraExpressMigrations. With --local, against a throwaway "
            "PostgreSQL, and the resulting schema is printed."
        ),
    )
    _add_source_options(migrate)
    _add_target_options(migrate, required=True)
    _add_endpoint_options(migrate)
    migrate.set_defaults(run=_run_migrate)

    plan = commands.add_parser(
        "plan",
        help="show what migrate would do, without applying anything",
        description=(
            "What would run, what changed since it was applied, and what is out of "
            "order. Without a target, against an empty database. Exits 1 when migrate "
            "would fail (changed or out-of-order migrations)."
        ),
    )
    _add_source_options(plan)
    _add_target_options(plan, required=False, local=False)
    _add_endpoint_options(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(run=_run_plan)

    token = commands.add_parser(
        "token",
        help="print a fresh IAM auth token for a cluster",
        description=(
            "Print an IAM auth token (valid 15 minutes) for the cluster's endpoint, port "
            "and user, to use as the password over TLS."
        ),
    )
    token.add_argument("--cluster", metavar="ID", required=True, help="the cluster identifier")
    _add_endpoint_options(token)
    token.set_defaults(run=_run_token)

    psql = commands.add_parser(
        "psql",
        help="open psql on a cluster with a fresh token",
        description=(
            "Run psql against the cluster with sslmode=verify-full and the CA bundle. The "
            "token goes through a private passfile (mode 0600) removed when psql exits; it "
            "is never on a command line or in another process's environment. Arguments "
            "after -- go to psql."
        ),
    )
    psql.add_argument("--cluster", metavar="ID", required=True, help="the cluster identifier")
    psql.add_argument(
        "--database", default="postgres", type=_database, help="database (default: postgres)"
    )
    _add_endpoint_options(psql)
    psql.add_argument("psql_args", nargs=argparse.REMAINDER, help="arguments for psql, after --")
    psql.set_defaults(run=_run_psql)

    snapshot = commands.add_parser(
        "snapshot",
        help="take a manual snapshot of a cluster, wait for it, print its id",
        description=(
            "Take a cluster snapshot (of staging, say, nightly) for branch databases to "
            "restore from (SourceSnapshotIdentifier), wait until it is available, and print "
            "its identifier. Progress goes to stderr."
        ),
    )
    snapshot.add_argument("--cluster", metavar="ID", required=True, help="the cluster identifier")
    snapshot.add_argument(
        "--name", metavar="NAME", help="the snapshot identifier (default: <cluster>-<UTC time>)"
    )
    snapshot.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        metavar="S",
        help="how long to wait for it, in seconds (default: 3600)",
    )
    snapshot.add_argument("--poll-seconds", type=float, default=5.0, help=argparse.SUPPRESS)
    snapshot.add_argument("--region", help="AWS region (default: the AWS SDK's)")
    snapshot.set_defaults(run=_run_snapshot)

    branch_parsers.add_commands(commands)

    demo = commands.add_parser(
        "demo",
        help="the provider's whole lifecycle, offline",
        description=(
            "Create a cluster (moto with express semantics), apply examples/ migrations "
            "and seeds to an embedded PostgreSQL over TLS with an IAM token, update the "
            "capacity, and delete the stack, through the real Lambda handlers."
        ),
    )
    demo.add_argument(
        "--creating-seconds",
        type=float,
        default=3.0,
        metavar="S",
        help="how long the emulated cluster stays 'creating' (default: 3)",
    )
    demo.add_argument(
        "--verbose", action="store_true", help="show the handlers' JSON log lines too"
    )
    demo.set_defaults(run=_run_demo)
    return parser


# Each command's module is imported when it runs (hence the PLC0415 waivers):
# `--help` and `token` stay fast, and no command pays for another's imports
# (moto and its web framework, the embedded server, the migration engine).


def _run_migrate(args: argparse.Namespace) -> int:
    if args.local:
        extras.require("local", "migrate --local")
    from aurora_express.cli import migrate as cli_migrate  # noqa: PLC0415

    return cli_migrate.migrate(args)


def _run_plan(args: argparse.Namespace) -> int:
    from aurora_express.cli import migrate as cli_migrate  # noqa: PLC0415

    return cli_migrate.plan(args)


def _run_token(args: argparse.Namespace) -> int:
    from aurora_express.cli import cluster as cli_cluster  # noqa: PLC0415

    return cli_cluster.token(args)


def _run_psql(args: argparse.Namespace) -> int:
    from aurora_express.cli import cluster as cli_cluster  # noqa: PLC0415

    return cli_cluster.psql(args)


def _run_snapshot(args: argparse.Namespace) -> int:
    from aurora_express.cli import snapshot as cli_snapshot  # noqa: PLC0415

    return cli_snapshot.snapshot(args)


def _run_demo(args: argparse.Namespace) -> int:
    extras.require("local", "demo")
    from aurora_express.local import demo  # noqa: PLC0415

    return demo.run(creating_seconds=args.creating_seconds, verbose=args.verbose)


class Terminated(SystemExit):
    """SIGTERM or SIGHUP: unwind like Ctrl-C, so every ``with`` cleans up (servers, files).

    A ``SystemExit`` (exit code 128+N if it got past ``main``): psycopg cancels the
    running query on the server for it, as for Ctrl-C, so the session's statement and its
    advisory lock end with the CLI instead of when the statement would have finished.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


_TERMINATING = (signal.SIGTERM, signal.SIGHUP)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv``, run the command, and map its outcome to an exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Command = args.run
    previous = {signum: signal.signal(signum, _terminate) for signum in _TERMINATING}
    try:
        return run(args)
    except CliError as exc:
        print(f"{PROG}: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except ProviderError as exc:  # the engine's own reasons (a bad zip, a changed migration)
        print(f"{PROG}: error: {redact(exc.reason)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"{PROG}: terminated ({signal.Signals(exc.signum).name})", file=sys.stderr)
        return 128 + exc.signum
    except Exception as exc:
        # A bug or an unforeseen failure: one line by default, the traceback on request.
        if os.environ.get("AURORA_EXPRESS_DEBUG"):
            raise
        detail = redact(" ".join(str(exc).split()))
        print(
            f"{PROG}: error: unexpected {type(exc).__name__}: {detail} "
            "(set AURORA_EXPRESS_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
