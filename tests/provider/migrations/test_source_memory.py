"""Peak memory of a run on the largest source a 1024 MB function accepts, in a child process.

Peak memory is no timing: it is asserted. Measured (32.7 MB accepted): INSERT lines
peak at 385 MB, a zip of spaces at 279 MB, the runtime's own 61 MB included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import psycopg
import pytest

from aurora_express.local.embedded_pg import EmbeddedPostgres
from provider.migrations import sources
from tests.support.migrations import tables
from tests.support.postgres import USER

Conn = psycopg.Connection[Any]

ROOT = Path(__file__).resolve().parents[3]
MEMORY_MB = 1024
CAP = sources.max_source_bytes({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB)})
ROW = "INSERT INTO rows (id, name, price) VALUES (1, 'some name here', 12.5);\n"
TABLE = "CREATE TABLE rows (id int, name text, price numeric);\n"


def inserts(size: int) -> bytes:
    """``size`` bytes of SQL: a table, then INSERT lines (padded with spaces to the byte)."""
    lines = (size - len(TABLE)) // len(ROW)
    body = TABLE + ROW * lines
    return (body + " " * (size - len(body))).encode()


def spaces(size: int) -> bytes:
    """``size`` bytes, nearly all spaces, around one statement: a tiny zip, a big source."""
    return (TABLE + " " * (size - len(TABLE))).encode()


def write_zip(path: Path, sql: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("V1__rows.sql", sql)
    return path


def run(pg: EmbeddedPostgres, db: str, source: Path) -> dict[str, Any]:
    conninfo = pg.tls_conninfo(USER, "", db)
    del conninfo["password"]  # from the environment, never on a command line
    done = subprocess.run(
        [sys.executable, "-m", "tests.provider.migrations.source_memory_process",
         json.dumps({"conninfo": conninfo, "zip": str(source)})],
        cwd=ROOT,
        env={**os.environ, "PGPASSWORD": pg.iam_token(USER),
             "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB)},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(done.stderr[-3000:])
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.parametrize("shape", [inserts, spaces], ids=["insert-lines", "spaces"])
def test_the_largest_accepted_source_peaks_under_60_percent_of_the_function(
    pg: EmbeddedPostgres, db: str, tmp_path: Path, shape: Any
) -> None:
    figures = run(pg, db, write_zip(tmp_path / "db.zip", shape(CAP)))
    assert figures["applied"] == ["V1__rows.sql"]
    assert figures["peak_mb"] < 0.6 * MEMORY_MB


@pytest.mark.parametrize("shape", [inserts, spaces], ids=["insert-lines", "spaces"])
def test_one_byte_over_is_refused_before_anything_runs(
    pg: EmbeddedPostgres, db: str, tmp_path: Path, shape: Any, admin: Conn
) -> None:
    figures = run(pg, db, write_zip(tmp_path / "db.zip", shape(CAP + 1)))
    assert tables(admin) == set()
    assert figures["refused"].startswith(
        f"MigrationsS3Uri: s3://app/db.zip holds more than {sources.megabytes(CAP)}"
    )
    assert "function's 1024 MB of memory" in figures["refused"]
