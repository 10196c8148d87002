"""``aurora-express env`` and ``exec``: a cluster's connection settings for any tool.

Tools that read libpq's variables (psql, pg_dump, dbmate) or a
``DATABASE_URL`` (drizzle-kit, Prisma, node-postgres) get the endpoint, the
master user, TLS ``verify-full`` with the CA bundle, and a fresh IAM token
(valid 15 minutes) as the password.

``env`` prints them (the token included: that is what it is asked for);
``exec`` replaces itself with the command, the variables in its environment
only: never on a command line, never in this shell. The command's exit code
is therefore exec's.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Mapping
from urllib.parse import quote

from aurora_express.cli import cluster_access
from aurora_express.cli.errors import EXIT_USAGE, CliError
from provider.migrations.connect import Target
from provider.migrations.settings import Tls

# What a tool could otherwise pick up from the caller's shell instead of ours.
_SHADOWING = ("PGPASSFILE", "PGSERVICE", "PGSERVICEFILE", "PGHOSTADDR", "PGOPTIONS")
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


def database_url(target: Target, token: str, tls: Tls, *, style: str = "libpq") -> str:
    """``postgresql://user:token@host:port/db?sslmode=...&sslrootcert=...``, every part encoded.

    ``style="prisma"`` says the same in the words Prisma's own engine reads
    (it knows ``sslmode`` only up to ``require``; ``sslcert`` names the CA and
    ``sslaccept=strict`` refuses a certificate that does not verify).
    """
    host = f"[{target.host}]" if ":" in target.host else target.host
    root = quote(tls.sslrootcert, safe="/")
    if style == "prisma":
        query = f"sslmode=require&sslcert={root}&sslaccept=strict"
    else:
        query = f"sslmode={quote(tls.sslmode)}&sslrootcert={root}"
    return (
        f"postgresql://{quote(target.user, safe='')}:{quote(token, safe='')}@{host}:"
        f"{target.port}/{quote(target.database, safe='')}?{query}"
    )


def variables(target: Target, token: str, tls: Tls, *, style: str = "libpq") -> dict[str, str]:
    """The environment a tool needs to log in to ``target`` with ``token``, in a stable order."""
    return {
        "PGHOST": target.host,
        "PGPORT": str(target.port),
        "PGUSER": target.user,
        "PGDATABASE": target.database,
        "PGSSLMODE": tls.sslmode,
        "PGSSLROOTCERT": tls.sslrootcert,
        "PGPASSWORD": token,
        "DATABASE_URL": database_url(target, token, tls, style=style),
    }


def _dotenv_value(value: str) -> str:
    # Single quotes are literal in every dotenv reader (node's, python-dotenv, Prisma's).
    if "'" not in value and "\n" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def render(values: Mapping[str, str], fmt: str, cluster: str) -> str:
    """The variables as ``export`` lines (``sh``), a ``.env`` file (``dotenv``) or JSON."""
    if fmt == "json":
        return json.dumps(dict(values), indent=2) + "\n"
    note = (
        f"# aurora-express env for cluster {cluster}: PGPASSWORD is an IAM auth token, "
        "valid 15 minutes\n"
    )
    if fmt == "dotenv":
        return note + "".join(f"{k}={_dotenv_value(v)}\n" for k, v in values.items())
    return note + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values.items())


def _target(args: argparse.Namespace) -> Target:
    return cluster_access.resolve(
        args.cluster,
        region=args.region,
        endpoint=args.endpoint,
        port=args.endpoint_port,
        username=args.username,
        database=args.database,
    )


def _values(args: argparse.Namespace) -> dict[str, str]:
    target = _target(args)
    return variables(
        target,
        cluster_access.make_token(target),
        cluster_access.tls_settings(),
        style=args.url_style,
    )


def env(args: argparse.Namespace) -> int:
    """Print the variables, for ``eval "$(aurora-express env ...)"`` or a ``.env`` file."""
    sys.stdout.write(render(_values(args), args.format, args.cluster))
    return 0


def child_environment(values: Mapping[str, str], base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without what could shadow the cluster's settings, plus ``values``."""
    kept = {k: v for k, v in base.items() if k not in _SHADOWING}
    return {**kept, **values}


def command_of(argv: list[str]) -> list[str]:
    """The command after ``--``; a usage error when there is none."""
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        raise CliError(
            "exec needs a command: aurora-express exec --cluster ID -- COMMAND ...",
            exit_code=EXIT_USAGE,
        )
    return command


def exec_(args: argparse.Namespace) -> int:
    """Become the command, with the variables in its environment; its exit code is ours."""
    command = command_of(list(args.command_argv))
    environment = child_environment(_values(args), os.environ)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, environment)  # noqa: S606 (the user's own command)
    except FileNotFoundError as exc:
        raise CliError(f"{command[0]}: command not found", exit_code=EXIT_NOT_FOUND) from exc
    except PermissionError as exc:
        raise CliError(f"{command[0]}: permission denied", exit_code=EXIT_NOT_EXECUTABLE) from exc
    except OSError as exc:
        raise CliError(
            f"{command[0]}: {exc.strerror or exc}", exit_code=EXIT_NOT_EXECUTABLE
        ) from exc
    return 0  # pragma: no cover (execvpe does not return)
