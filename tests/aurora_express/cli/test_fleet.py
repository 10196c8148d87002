"""``aurora-express ls``: the provider's clusters in a region, judged as the reaper judges them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from aurora_express.cli.fleet import entries, human_age, stack_name
from aurora_express.cli.main import main
from aurora_express.local.moto_express import express_semantics
from provider.cluster import naming
from provider.cluster.plan import ClusterState
from provider.reaper.classify import GONE, StackLookup

REGION, ACCOUNT = "us-east-1", "123456789012"
TEMPLATE = json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}})


class Fleet:
    """Stacks and clusters in moto, as the provider would have left them."""

    def __init__(self) -> None:
        self.rds = boto3.client("rds", region_name=REGION)
        self.cfn = boto3.client("cloudformation", region_name=REGION)

    def stack(self, name: str, *, deleted: bool = False) -> str:
        stack_id = str(self.cfn.create_stack(StackName=name, TemplateBody=TEMPLATE)["StackId"])
        if deleted:
            self.cfn.delete_stack(StackName=stack_id)
        return stack_id

    def cluster(self, identifier: str, tags: dict[str, str]) -> None:
        self.rds.create_db_cluster(
            DBClusterIdentifier=identifier,
            Engine="aurora-postgresql",
            WithExpressConfiguration=True,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        time.sleep(0.01)  # creation times in order

    def owned(self, identifier: str, stack_id: str, **more: str) -> None:
        self.cluster(identifier, {**naming.ownership_tags(stack_id, "Db"), **more})


@pytest.fixture
def fleet(aws: str) -> Any:
    with express_semantics(create_seconds=0, delete_seconds=0):
        yield Fleet()


def _ls(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["ls", *args]) == 0
    return capsys.readouterr().out


def test_ls_lists_only_owned_clusters_oldest_first_with_their_stacks_fate(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    live = fleet.stack("app-main")
    fleet.owned("old-main", live)
    fleet.cluster("someone-elses", {"team": "payments"})
    fleet.owned(
        "left-behind", fleet.stack("app-pr-7", deleted=True), **{naming.ON_DELETE_TAG: "Retain"}
    )
    fleet.owned("never-was", f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/ghost/0000")
    fleet.owned("elsewhere", f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/far/0000")
    rows = json.loads(_ls(capsys, "--json"))
    assert [r["identifier"] for r in rows] == ["old-main", "left-behind", "never-was", "elsewhere"]
    by_id = {r["identifier"]: r for r in rows}
    assert by_id["old-main"]["stack_name"] == "app-main"
    assert by_id["old-main"]["stack_id"] == live
    assert by_id["old-main"]["logical_id"] == "Db"
    assert [by_id[i]["stack_exists"] for i in ("old-main", "left-behind", "never-was")] == [
        True,
        False,
        False,
    ]
    assert by_id["left-behind"]["stack_status"] == "DELETE_COMPLETE"
    assert by_id["left-behind"]["on_delete"] == "Retain"
    assert by_id["elsewhere"]["stack_exists"] is None
    assert by_id["elsewhere"]["stack_status"] == "stack in another region or account"
    assert [by_id[i]["reaper"] for i in ("old-main", "left-behind", "elsewhere")] == [
        "keep",
        "orphan",
        "keep",
    ]
    assert by_id["old-main"]["status"] == "available"
    assert by_id["old-main"]["age_seconds"] >= 0
    assert (by_id["old-main"]["min_capacity"], by_id["old-main"]["max_capacity"]) == (0.0, 16.0)
    assert by_id["old-main"]["seconds_until_auto_pause"] == 300


def test_ls_shows_expiry_and_calls_an_expired_cluster_so(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    live = fleet.stack("app")
    past = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    fleet.owned("stale", live, **{naming.EXPIRES_AT_TAG: past})
    row = json.loads(_ls(capsys, "--json"))[0]
    assert (row["expires_at"], row["reaper"]) == (past, "expired")


def test_ls_prints_an_aligned_table(fleet: Fleet, capsys: pytest.CaptureFixture[str]) -> None:
    fleet.owned("db-one", fleet.stack("app-one"))
    fleet.owned("db-two", fleet.stack("app-two", deleted=True))
    lines = _ls(capsys).splitlines()
    assert lines[0].split() == [
        "CLUSTER", "STACK", "LOGICAL", "ID", "STATUS", "AGE", "EXPIRES", "AT", "ON", "DELETE",
        "CAPACITY", "STACK", "EXISTS", "REAPER",
    ]  # fmt: skip
    assert lines[1].split()[:4] == ["db-one", "app-one", "Db", "available"]
    assert "0-16 ACU, pause 5m" in lines[1]
    assert lines[1].split()[-2:] == ["yes", "keep"]
    assert lines[2].split()[-2:] == ["no", "orphan"]
    column = lines[0].index("STATUS")
    assert all(line[column:].startswith("available") for line in lines[1:])


def test_ls_with_no_owned_cluster_says_so_and_exits_0(
    fleet: Fleet, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet.cluster("theirs", {})
    assert _ls(capsys) == "No cluster in us-east-1 carries the provider's ownership tags.\n"


# -- pure -------------------------------------------------------------------------


def _state(identifier: str, created: float | None, **tags: str) -> ClusterState:
    return ClusterState(
        identifier,
        "available",
        created_at=created,
        tags={naming.OWNER_STACK_TAG: f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/s/1",
              naming.OWNER_LOGICAL_TAG: "Db", **tags},
    )  # fmt: skip


def test_entries_look_each_stack_up_through_the_given_lookup() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    asked: list[str] = []

    def lookup(stack_id: str) -> StackLookup:
        asked.append(stack_id)
        return GONE

    found = entries(
        [_state("a", now.timestamp() - 60), _state("b", now.timestamp() - 3600), _state("c", None)],
        lookup,
        region=REGION,
        account=ACCOUNT,
        now=now,
    )
    assert [e.identifier for e in found] == ["b", "a", "c"]
    assert [e.stack_exists for e in found] == [False, False, False]
    assert len(asked) == 3


def test_a_foreign_cluster_is_not_an_entry() -> None:
    bare = ClusterState("x", "available", tags={"team": "t"})
    assert (
        entries([bare], lambda _: GONE, region=REGION, account=ACCOUNT, now=datetime.now(UTC)) == []
    )


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (None, "?"),
        (5, "5s"),
        (125, "2m"),
        (3 * 3600 + 1200, "3h 20m"),
        (2 * 86400 + 4 * 3600, "2d 4h"),
    ],
)
def test_human_age(seconds: float | None, shown: str) -> None:
    assert human_age(seconds) == shown


def test_stack_name_is_read_from_the_arn() -> None:
    arn = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/app-pr-7/1b2c-3d4e"
    assert stack_name(arn) == "app-pr-7"
    assert stack_name("not-an-arn") == "not-an-arn"
