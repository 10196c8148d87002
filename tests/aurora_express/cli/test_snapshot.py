"""``aurora-express snapshot``: a manual snapshot of a parent, waited for, its id on stdout."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import moto
import pytest

from aurora_express.cli.main import main
from aurora_express.cli.snapshot import default_name
from aurora_express.local.moto_express import ExpressSemantics, express_semantics

CLUSTER = "staging"


@pytest.fixture
def express(monkeypatch: pytest.MonkeyPatch) -> Iterator[ExpressSemantics]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with moto.mock_aws(), express_semantics(create_seconds=0.1, delete_seconds=0.1) as live:
        yield live


@pytest.fixture
def rds(express: ExpressSemantics) -> Any:
    return boto3.client("rds", region_name="us-east-1")


@pytest.fixture
def staging(rds: Any) -> str:
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", WithExpressConfiguration=True
    )
    end = time.monotonic() + 5
    while rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]["Status"] != (
        "available"
    ):
        assert time.monotonic() < end
        time.sleep(0.02)
    return CLUSTER


def snapshot_status(rds: Any, name: str) -> str:
    found = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=name)
    return str(found["DBClusterSnapshots"][0]["Status"])


def test_snapshot_prints_the_id_of_an_available_snapshot(
    staging: str, rds: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["snapshot", "--cluster", staging, "--name", "staging-nightly"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out == "staging-nightly\n"
    assert snapshot_status(rds, "staging-nightly") == "available"


def test_snapshot_waits_until_rds_shows_it_available(
    staging: str, rds: Any, express: ExpressSemantics, capsys: pytest.CaptureFixture[str]
) -> None:
    express.set_timings(snapshot_seconds=0.3)
    code = main(["snapshot", "--cluster", staging, "--name", "nightly", "--poll-seconds", "0.02"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "snapshot nightly: creating" in captured.err
    assert "snapshot nightly: available" in captured.err
    assert snapshot_status(rds, "nightly") == "available"


def test_without_a_name_the_snapshot_is_named_for_the_cluster_and_the_time(
    staging: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshot", "--cluster", staging]) == 0
    assert re.fullmatch(r"staging-\d{8}-\d{6}\n", capsys.readouterr().out)


def test_the_default_name_fits_rds_for_the_longest_cluster() -> None:
    name = default_name("a" * 63, datetime(2025, 6, 1, 3, 0, tzinfo=UTC))
    assert len(name) == 63 and name.endswith("-20250601-030000")


def test_the_cluster_is_found_by_the_name_a_template_gave_it(
    rds: Any, capsys: pytest.CaptureFixture[str], express: ExpressSemantics
) -> None:
    rds.create_db_cluster(
        DBClusterIdentifier="app-main", Engine="aurora-postgresql", WithExpressConfiguration=True
    )
    time.sleep(0.15)
    assert main(["snapshot", "--cluster", "app-Main", "--name", "s1"]) == 0
    assert capsys.readouterr().out == "s1\n"


def test_a_name_rds_cannot_hold_is_a_usage_error(
    staging: str, rds: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshot", "--cluster", staging, "--name", "nightly_2025"]) == 2
    assert "--name 'nightly_2025' is not a snapshot identifier" in capsys.readouterr().err
    assert rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"] == []


def test_a_missing_cluster_fails_with_exit_1(
    express: ExpressSemantics, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshot", "--cluster", "nope"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "no cluster 'nope'" in captured.err


def test_a_cluster_not_available_fails_saying_so(
    rds: Any, express: ExpressSemantics, capsys: pytest.CaptureFixture[str]
) -> None:
    express.set_timings(create_seconds=30)
    rds.create_db_cluster(
        DBClusterIdentifier="young", Engine="aurora-postgresql", WithExpressConfiguration=True
    )
    assert main(["snapshot", "--cluster", "young"]) == 1
    assert "cluster 'young' is creating" in capsys.readouterr().err


def test_a_taken_name_fails_naming_the_aws_error(
    staging: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["snapshot", "--cluster", staging, "--name", "s1"]) == 0
    assert main(["snapshot", "--cluster", staging, "--name", "s1"]) == 1
    err = capsys.readouterr().err
    assert "CreateDBClusterSnapshot for staging failed (DBClusterSnapshotAlreadyExistsFault)" in err


def test_a_snapshot_still_creating_at_the_timeout_fails_saying_it_goes_on(
    staging: str, express: ExpressSemantics, capsys: pytest.CaptureFixture[str]
) -> None:
    express.set_timings(snapshot_seconds=60)
    code = main(
        [
            "snapshot",
            "--cluster",
            staging,
            "--name",
            "slow",
            "--timeout",
            "0.1",
            "--poll-seconds",
            "0.02",
        ]
    )
    assert code == 1
    assert "snapshot slow is still creating after 0.1 s" in capsys.readouterr().err
