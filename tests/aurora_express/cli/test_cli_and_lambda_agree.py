"""The CLI and the Lambda build the same migrator: same folder, same plan; same flags, same rules.

The Lambda reads the folder from an S3 prefix (moto) and answers a direct
``plan``; the CLI reads it from disk and prints ``plan --json``; both look
at the same real PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import time_machine
from moto import mock_aws
from psycopg.conninfo import make_conninfo

from aurora_express.cli import cluster_access
from aurora_express.cli.errors import CliError
from aurora_express.cli.main import main
from aurora_express.local.cfn_local import LambdaContext
from aurora_express.local.embedded_pg import FROZEN_AT, EmbeddedPostgres
from provider.migrations import handler
from provider.migrations.migrator import Clients
from provider.migrations.plan import Plan

USER = "migrator"
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PLAN_KEYS = list(Plan().as_json())


@pytest.fixture(scope="module")
def pg() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres() as server:
        server.create_role(USER, server.iam_token(USER))
        yield server


@pytest.fixture
def db(pg: EmbeddedPostgres) -> Iterator[str]:
    name = pg.create_database()
    yield name
    pg.drop_database(name)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """examples/migrations and examples/seeds, with what an editor and macOS leave beside them."""
    migrations = Path(shutil.copytree(EXAMPLES / "migrations", tmp_path / "migrations"))
    seeds = Path(shutil.copytree(EXAMPLES / "seeds", tmp_path / "seeds"))
    (migrations / "V3__draft.sql~").write_text("CREATE TABLE draft (id int);\n")
    (migrations / ".DS_Store").write_bytes(b"\x00")
    (seeds / "._01_customers.sql").write_bytes(b"AppleDouble")
    return migrations, seeds


@pytest.fixture
def lambda_env(pg: EmbeddedPostgres, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's view: TLS to the test CA, RDS tokens signed with the suite's keys."""
    monkeypatch.setenv("DB_SSLROOTCERT", str(pg.ca_path))
    monkeypatch.delenv("DB_SSLMODE", raising=False)
    monkeypatch.setattr(handler, "clients", Clients(rds=boto3.client("rds")))


def upload(s3: Any, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            key = f"{prefix}/{path.relative_to(folder).as_posix()}"
            s3.put_object(Bucket="app", Key=key, Body=path.read_bytes())


def lambda_plan(pg: EmbeddedPostgres, db: str, migrations: Path, seeds: Path) -> dict[str, Any]:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="app")
        upload(s3, migrations, "db")
        upload(s3, seeds, "seeds")
        event = {
            "Action": "plan",
            "Endpoint": pg.host,
            "Port": pg.port,
            "Username": USER,
            "Database": db,
            "MigrationsS3Uri": "s3://app/db/",
            "SeedsS3Uri": "s3://app/seeds/",
        }
        with time_machine.travel(FROZEN_AT, tick=False):
            answer = handler.handler(event, LambdaContext())
    assert answer is not None and answer["Status"] == "SUCCESS", answer
    return answer


def cli_plan(
    capsys: pytest.CaptureFixture[str], pg: EmbeddedPostgres, db: str, migrations: Path, seeds: Path
) -> tuple[int, dict[str, Any]]:
    dsn = make_conninfo(**pg.admin_conninfo(db))
    code = main(["plan", str(migrations), "--seeds", str(seeds), "--dsn", dsn, "--json"])
    return code, json.loads(capsys.readouterr().out)


def plan_part(shown: dict[str, Any]) -> dict[str, Any]:
    return {key: shown[key] for key in [*PLAN_KEYS, "problem"]}


@pytest.mark.usefixtures("lambda_env")
def test_the_cli_and_the_lambda_plan_a_fresh_database_alike(
    pg: EmbeddedPostgres,
    db: str,
    folders: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, cli = cli_plan(capsys, pg, db, *folders)
    lam = lambda_plan(pg, db, *folders)
    assert code == 0
    assert plan_part(cli) == plan_part(lam)
    assert [m["name"] for m in cli["pending"]] == [
        "V1__create_customers.sql",
        "V2__create_orders.sql",
        "V2.1__index_orders_by_customer.sql",
        "R__customer_totals_view.sql",
    ]
    assert [s["name"] for s in cli["seeds"]] == ["01_customers.sql", "02_orders.sql"]
    assert list(cli) == [*PLAN_KEYS, "layout", "problem"]
    assert cli["layout"] == "flyway"


@pytest.mark.usefixtures("lambda_env")
def test_the_cli_and_the_lambda_see_the_same_pending_changed_and_out_of_order(
    pg: EmbeddedPostgres,
    db: str,
    folders: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    migrations, seeds = folders
    dsn = make_conninfo(**pg.admin_conninfo(db))
    assert main(["migrate", str(migrations), "--seeds", str(seeds), "--dsn", dsn]) == 0
    capsys.readouterr()
    (migrations / "V1__create_customers.sql").write_text("-- edited\nSELECT 1;\n")
    (migrations / "V1.5__late.sql").write_text("CREATE TABLE late (id int);\n")
    (migrations / "V3__next.sql").write_text("CREATE TABLE next (id int);\n")
    code, cli = cli_plan(capsys, pg, db, migrations, seeds)
    lam = lambda_plan(pg, db, migrations, seeds)
    assert code == 1
    assert plan_part(cli) == plan_part(lam)
    assert [m["name"] for m in cli["changed"]] == ["V1__create_customers.sql"]
    assert cli["outOfOrder"] == ["V1.5__late.sql"]
    assert cli["problem"].startswith("V1__create_customers.sql was changed")


# -- the CLI's flags: the resource's rules, its own words ------------------------------------


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--lock-timeout", "-1"], "--lock-timeout must be an integer number of seconds from 0"),
        (["--statement-timeout", "90000"], "--statement-timeout must be an integer number of"),
        (["--history-table", "no-dot"], "--history-table must be schema.table"),
    ],
)
def test_a_flag_out_of_the_propertys_range_exits_2_naming_the_flag(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(EXAMPLES / "migrations"), *flags]) == 2
    assert capsys.readouterr().err.startswith(f"aurora-express: error: {message}")


def test_a_bad_flag_is_reported_before_the_folder_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", str(tmp_path / "missing"), "--lock-timeout", "-1"]) == 2
    assert "--lock-timeout" in capsys.readouterr().err


# -- the cluster look-up: the function's, in the CLI's words -----------------------------------


@pytest.fixture
def moto_cluster() -> Iterator[Any]:
    with mock_aws():
        rds = boto3.client("rds", region_name="us-east-1")
        rds.create_db_cluster(
            DBClusterIdentifier="feature-abc-123-login",
            Engine="aurora-postgresql",
            MasterUsername="admin",
            MasterUserPassword="unused-with-iam",
        )
        yield rds


def test_the_cli_finds_a_cluster_with_the_functions_look_up(moto_cluster: Any) -> None:
    described = moto_cluster.describe_db_clusters()["DBClusters"][0]
    target = cluster_access.resolve("feature/ABC-123_Login", region="us-east-1", database="app")
    assert (target.host, target.port) == (described["Endpoint"], described["Port"])
    assert (target.user, target.database, target.region) == ("admin", "app", "us-east-1")
    overridden = cluster_access.resolve(
        "feature-abc-123-login", region="us-east-1", endpoint="localhost", port=6543, username="u"
    )
    assert (overridden.host, overridden.port, overridden.user) == ("localhost", 6543, "u")


def test_an_unknown_cluster_is_reported_in_the_clis_words(moto_cluster: Any) -> None:
    with pytest.raises(CliError) as caught:
        cluster_access.resolve("nope", region="us-east-1")
    assert str(caught.value) == "no cluster 'nope' in us-east-1 (DBClusterNotFoundFault)"


def test_a_bad_tls_variable_exits_1_naming_it(
    moto_cluster: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DB_SSLMODE", "on")
    argv = ["plan", str(EXAMPLES / "migrations"), "--cluster", "feature-abc-123-login"]
    assert main([*argv, "--region", "us-east-1"]) == 1
    err = capsys.readouterr().err
    assert "environment variable DB_SSLMODE must be one of disable, allow" in err
