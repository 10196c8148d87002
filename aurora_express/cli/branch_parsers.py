"""The parsers of the commands for working with a branch database: proxy, env, exec, diff, ls.

Kept apart from ``main`` so its module stays small; like ``main``, this
imports nothing but argparse at module level (each command's module is
imported when it runs, so ``--help`` stays fast).
"""

from __future__ import annotations

import argparse
from typing import Any

from aurora_express.cli import extras


def _add_cluster_lookup(parser: argparse.ArgumentParser, *, port_flag: str = "--port") -> None:
    parser.add_argument("--cluster", metavar="ID", required=True, help="the cluster identifier")
    group = parser.add_argument_group("connection")
    group.add_argument(
        "--endpoint", metavar="HOST", help="connect to HOST instead of the cluster's endpoint"
    )
    group.add_argument(
        port_flag,
        type=int,
        metavar="N",
        dest="endpoint_port",
        help="the cluster's port (default: the cluster's, else 5432)",
    )
    group.add_argument(
        "--username", metavar="USER", help="database user (default: the cluster's master user)"
    )
    group.add_argument("--region", help="AWS region (default: the AWS SDK's, from the environment)")


def add_commands(commands: Any) -> None:
    """Add ``proxy``, ``env``, ``exec``, ``diff`` and ``ls`` to the CLI's subparsers."""
    proxy = commands.add_parser(
        "proxy",
        help="a local endpoint that logs in to a cluster with fresh tokens",
        description=(
            "Listen on 127.0.0.1:PORT for PostgreSQL clients (no TLS, no password, unless "
            "--local-password) and open each upstream connection with a fresh IAM token over "
            "TLS verify-full, waiting while the cluster resumes. A client must connect as the "
            "proxy's user (the cluster's master user, or --username). Runs until SIGINT or "
            "SIGTERM, then closes every session and exits 0."
        ),
    )
    _add_cluster_lookup(proxy, port_flag="--endpoint-port")
    proxy.add_argument(
        "--port", type=int, default=5432, metavar="N", help="local port (default 5432; 0: any)"
    )
    proxy.add_argument(
        "--address",
        default="127.0.0.1",
        help="local address (default 127.0.0.1; anything else is warned about)",
    )
    proxy.add_argument(
        "--database", metavar="DB", help="the database of every client (default: the client's)"
    )
    proxy.add_argument(
        "--local-password",
        metavar="PW",
        help="a password clients must give (also AURORA_EXPRESS_PROXY_PASSWORD)",
    )
    proxy.add_argument(
        "--max-connections", type=int, default=100, metavar="N", help="(default 100)"
    )
    proxy.add_argument(
        "--idle-timeout",
        type=float,
        default=3600.0,
        metavar="S",
        help="close a session idle this long (default 3600; 0: never)",
    )
    proxy.add_argument(
        "--connect-timeout",
        type=float,
        metavar="S",
        help="how long to wait for a resuming cluster (default DB_CONNECT_TIMEOUT_SECONDS, 300)",
    )
    proxy.add_argument("--verbose", action="store_true", help="log each login and cancel too")
    proxy.set_defaults(run=_run_proxy)

    for name, summary in (
        ("env", "print PGHOST, PGPASSWORD (a fresh token), DATABASE_URL, ... for a cluster"),
        ("exec", "run a command with those variables set (the token only in its environment)"),
    ):
        parser = commands.add_parser(
            name,
            help=summary,
            description=(
                "The libpq variables (PGHOST, PGPORT, PGUSER, PGDATABASE, PGSSLMODE, "
                "PGSSLROOTCERT, PGPASSWORD) and DATABASE_URL for the cluster, with a fresh IAM "
                "token (valid 15 minutes) as the password and sslmode=verify-full."
                + (
                    " exec runs COMMAND with them and exits with its exit code."
                    if name == "exec"
                    else ""
                )
            ),
        )
        _add_cluster_lookup(parser)
        parser.add_argument("--database", default="postgres", help="database (default postgres)")
        parser.add_argument(
            "--url-style",
            choices=["libpq", "prisma"],
            default="libpq",
            help="DATABASE_URL's TLS parameters: libpq's (node-postgres, drizzle-kit, psql; "
            "default) or Prisma's engine's (sslmode=require&sslcert=CA&sslaccept=strict)",
        )
        if name == "env":
            parser.add_argument(
                "--format",
                choices=["sh", "dotenv", "json"],
                default="sh",
                help="sh: export lines for eval (default); dotenv: a .env file; json",
            )
            parser.set_defaults(run=_run_env)
        else:
            parser.add_argument(
                "command_argv",
                nargs=argparse.REMAINDER,
                metavar="-- COMMAND ...",
                help="the command",
            )
            parser.set_defaults(run=_run_exec)

    diff = commands.add_parser(
        "diff",
        help="the schema difference of two databases",
        description=(
            "Compare the schemas of two databases, each given by --cluster ID, --dsn DSN or "
            "--migrations PATH (applied to a throwaway PostgreSQL), in the order given: "
            "tables, columns, indexes, constraints, views, functions, sequences, types, "
            "extensions and grants, from the catalogs. Prints a unified diff (or --json). "
            "Exit 0 when equal, 1 when different, 2 when they could not be compared."
        ),
    )
    for flag, what in (
        ("--cluster", "an express cluster (IAM token, TLS)"),
        ("--dsn", "a libpq connection string or postgresql:// URL"),
        ("--migrations", "a migration folder, applied to a throwaway PostgreSQL 18"),
    ):
        diff.add_argument(
            flag,
            metavar="ID" if flag == "--cluster" else ("DSN" if flag == "--dsn" else "PATH"),
            dest="sides",
            action=_SideAction,
            help=what,
        )
    diff.add_argument(
        "--database", default="postgres", help="database on a --cluster (default postgres)"
    )
    diff.add_argument(
        "--endpoint", metavar="HOST", help="with one --cluster: connect to HOST instead"
    )
    diff.add_argument(
        "--port", type=int, metavar="N", dest="endpoint_port", help="with --endpoint: its port"
    )
    diff.add_argument("--region", help="AWS region (default: the AWS SDK's)")
    diff.add_argument("--json", action="store_true", help="print the difference as JSON")
    diff.set_defaults(run=_run_diff, sides=None)

    ls = commands.add_parser(
        "ls",
        help="every cluster the provider owns in the region",
        description=(
            "Every cluster carrying the provider's ownership tags: identifier, owning stack "
            "and logical id, status, age, expires-at, OnDelete, capacity, and whether its "
            "stack still exists; oldest first."
        ),
    )
    ls.add_argument("--region", help="AWS region (default: the AWS SDK's)")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(run=_run_ls)


class _SideAction(argparse.Action):
    """``--cluster``/``--dsn``/``--migrations`` in the order given: the two sides of a diff."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        sides = list(getattr(namespace, self.dest, None) or [])
        sides.append(((option_string or "").lstrip("-"), str(values)))
        setattr(namespace, self.dest, sides)


# Each command's module is imported when it runs (hence the PLC0415 waivers).


def _run_proxy(args: argparse.Namespace) -> int:
    from aurora_express.cli import proxy as cli_proxy  # noqa: PLC0415

    return cli_proxy.run(args)


def _run_env(args: argparse.Namespace) -> int:
    from aurora_express.cli import env as cli_env  # noqa: PLC0415

    return cli_env.env(args)


def _run_exec(args: argparse.Namespace) -> int:
    from aurora_express.cli import env as cli_env  # noqa: PLC0415

    return cli_env.exec_(args)


def _run_diff(args: argparse.Namespace) -> int:
    if any(kind == "migrations" for kind, _ in args.sides or []):
        extras.require("local", "diff --migrations")
    from aurora_express.cli import diff as cli_diff  # noqa: PLC0415

    return cli_diff.run(args)


def _run_ls(args: argparse.Namespace) -> int:
    from aurora_express.cli import fleet  # noqa: PLC0415

    return fleet.run(args)
