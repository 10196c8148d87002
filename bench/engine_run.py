"""The provider's migration engine on a local folder, as the Lambda runs it: token, TLS, engine.

``python -m bench.engine_run FOLDER HOST PORT DATABASE USER CA`` is what the
bench times for the engine, the counterpart of ``dbmate up``: a fresh
interpreter imports the provider, makes an IAM token for the connection,
connects with ``verify-full`` (``DB_SSLROOTCERT`` = the test CA) to the
database, creating it if it is missing (as the handler does), and applies
the Flyway folder with ``engine.migrate``.

Only the SigV4 signer's clock is frozen, at ``aurora_express.local.embedded_pg.FROZEN_AT``,
so the token made is the role's password (``time-machine`` would do it too, but
importing it costs 80 to 170 ms, which would be charged to the engine).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# aurora_express.local.embedded_pg.FROZEN_AT, repeated: importing that module would import
# time-machine and trustme into the timed process (checked in bench.pgserver).
FROZEN_AT = dt.datetime(2026, 11, 26, 12, 0, 0, tzinfo=dt.UTC)


def read_folder(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by its ``/``-separated relative path."""
    files: dict[str, bytes] = {}
    for root, _dirs, names in os.walk(folder):
        rel = os.path.relpath(root, folder)
        for name in names:
            key = name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")
            with open(os.path.join(root, name), "rb") as fh:
                files[key] = fh.read()
    return dict(sorted(files.items()))


@contextlib.contextmanager
def frozen_signer() -> Iterator[None]:
    """SigV4 signatures (and so IAM auth tokens) made as at ``FROZEN_AT``."""
    import botocore.auth

    def frozen(remove_tzinfo: bool = True) -> dt.datetime:
        return FROZEN_AT.replace(tzinfo=None) if remove_tzinfo else FROZEN_AT

    original = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = frozen
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = original


@functools.cache
def _rds(region: str) -> Any:
    """One RDS client per process, as a warm Lambda keeps its own (``migrator.Clients``)."""
    import boto3

    return boto3.client("rds", region_name=region)


def run(folder: Path, host: str, port: int, database: str, user: str, ca: str) -> dict[str, Any]:
    """Apply ``folder`` (Flyway layout) to ``database``; return the engine's result as JSON."""
    from provider.migrations import connect, engine, layouts
    from provider.migrations.migrator import ClusterTarget
    from provider.migrations.sources import SourceFiles

    os.environ["DB_SSLROOTCERT"] = ca
    os.environ.setdefault("DB_SSLMODE", "verify-full")
    with frozen_signer():
        region = os.environ.get("AWS_REGION", "us-east-1")
        tokens = connect.iam_tokens(_rds(region))
        target = connect.Target(host=host, port=port, user=user, database=database, region=region)
        source = SourceFiles(read_folder(folder), origin=str(folder))
        migrations = engine.MigrationSet(layouts.load(source, layouts.Layout.FLYWAY))
        # As the function connects (``migrator.ClusterTarget``): the database first.
        with ClusterTarget(target, tokens, timeout=10).connection(create=True) as conn:
            result = engine.migrate(
                conn, migrations, engine.Options(applied_by="bench", keep_tool_history=False)
            )
    return result.as_json()


def main(argv: list[str]) -> int:
    folder, host, port, database, user, ca = argv
    result = run(Path(folder), host, int(port), database, user, ca)
    print(len(result["applied"]), "applied")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
