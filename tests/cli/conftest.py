"""The CLI's test bed: moto's server on loopback and a real PostgreSQL (TLS) as the endpoint.

A cluster is created in moto; the CLI looks it up with ``DescribeDBClusters``
as it would in AWS, and ``--endpoint``/``--port`` point it at the embedded
server, whose ``postgres`` role has for password the IAM token boto3 makes at
``FROZEN_AT``. Tests that log in run the CLI with time frozen there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from aurora_express.local.embedded_pg import EmbeddedPostgres
from aurora_express.local.moto_express import express_semantics

CLUSTER = "app-feature-abc-123-login"


@pytest.fixture(scope="session")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        server.create_role("postgres", server.iam_token("postgres"))
        yield server


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _reset(moto_url: str) -> None:
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=5).close()


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """boto3 pointed at a freshly reset moto server; its URL.

    moto's state lives in this process, shared with ``mock_aws`` tests
    elsewhere: it is reset after the test too, so nothing of it leaks.
    """
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    _reset(moto_url)
    yield moto_url
    _reset(moto_url)


@pytest.fixture
def cluster(aws: str) -> Iterator[dict[str, Any]]:
    """An express cluster in moto (created as the provider creates it), as RDS describes it."""
    rds = boto3.client("rds")
    with express_semantics(create_seconds=0, delete_seconds=0):
        rds.create_db_cluster(
            DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", WithExpressConfiguration=True
        )
        yield dict(rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0])


@pytest.fixture
def tls_to(pg: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch) -> EmbeddedPostgres:
    """TLS settings that trust the embedded server's test CA (as DB_SSLROOTCERT does)."""
    monkeypatch.setenv("DB_SSLROOTCERT", str(pg.ca_path))
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    return pg


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A fresh folder under the system temp folder that the server's user can traverse.

    (pytest's ``tmp_path`` sits below a 0700 folder, out of reach of ``nobody``.)
    """
    path = Path(tempfile.mkdtemp(prefix="aex-test."))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def processes_in(folder: Path) -> list[str]:
    """Processes whose working directory or command line lies in ``folder``.

    PostgreSQL's postmaster and every backend have the data folder as their
    working directory, so a server left running shows up here.
    """
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if cwd.startswith(str(folder)) or str(folder) in cmdline:
            found.append(f"{proc.name}: {cmdline.strip()} (cwd {cwd})")
    return found


def endpoint_args(pg: EmbeddedPostgres) -> list[str]:
    return ["--endpoint", pg.host, "--port", str(pg.port)]


def clean_env() -> dict[str, str]:
    """The environment for a CLI subprocess: the suite's fake AWS settings, no real ones."""
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_PROFILE")}
