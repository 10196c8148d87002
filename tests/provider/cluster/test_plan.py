"""Update planning and the next step (pure): properties + observed cluster -> action."""

from __future__ import annotations

from typing import Any

import pytest

from provider.cluster import naming, plan
from provider.cluster.plan import ClusterState, Step
from provider.cluster.properties import ClusterProperties, parse
from provider.common.errors import InvalidProperty

TOKEN = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f"}
STACK = "arn:aws:cloudformation:us-east-1:123456789012:stack/app/1"


def props(**values: Any) -> ClusterProperties:
    return parse({**TOKEN, **values})


def state(**values: Any) -> ClusterState:
    base: dict[str, Any] = {
        "identifier": "db",
        "status": "available",
        "arn": "arn:aws:rds:eu-west-1:111122223333:cluster:db",
        "resource_id": "cluster-ABC",
        "master_username": "postgres",
        "engine_version": "16.4",
        "scaling": {"MinCapacity": 0.0, "MaxCapacity": 16.0, "SecondsUntilAutoPause": 300},
        "backup_retention": 1,
        "instances": {"db-instance-1": "available"},
    }
    return ClusterState(**{**base, **values})


# -- replacement ----------------------------------------------------------------


def test_no_change_is_in_place() -> None:
    assert plan.replacement_property(props(), props(), "db-1") is None


def test_a_new_cluster_identifier_replaces() -> None:
    old, new = props(ClusterIdentifier="a"), props(ClusterIdentifier="b")
    assert plan.replacement_property(old, new, "a") == "ClusterIdentifier"


def test_an_identifier_that_normalizes_to_the_current_one_is_in_place() -> None:
    old, new = props(ClusterIdentifier="my-db"), props(ClusterIdentifier="My_DB")
    assert plan.replacement_property(old, new, "my-db") is None


def test_removing_the_cluster_identifier_replaces_with_a_derived_one() -> None:
    assert plan.replacement_property(props(ClusterIdentifier="a"), props(), "a") == (
        "ClusterIdentifier"
    )


def test_a_new_master_username_replaces() -> None:
    old, new = props(MasterUsername="postgres"), props(MasterUsername="app")
    assert plan.replacement_property(old, new, "db-1") == "MasterUsername"


@pytest.mark.parametrize(
    "change",
    [
        {"MaxCapacity": "8"},
        {"MinCapacity": "1"},
        {"SecondsUntilAutoPause": "600"},
        {"EngineVersion": "16.6"},
        {"EnableDataApi": "true"},
        {"BackupRetentionPeriod": "7"},
        {"DeletionProtection": "true"},
        {"Tags": [{"Key": "a", "Value": "b"}]},
        {"OnDelete": "Retain"},
        {"ExpiresAfter": "7d"},
    ],
)
def test_every_other_property_changes_in_place(change: dict[str, Any]) -> None:
    assert plan.replacement_property(props(), props(**change), "db-1") is None


# -- modifications --------------------------------------------------------------


def test_a_cluster_matching_the_properties_needs_no_modification() -> None:
    assert plan.modifications(props(), state()) == {}


def test_unset_properties_keep_the_express_defaults() -> None:
    assert plan.modifications(props(), state(backup_retention=5)) == {}


def test_scaling_changes_send_the_whole_configuration() -> None:
    changes = plan.modifications(props(MaxCapacity="8"), state())
    assert changes == {
        "ServerlessV2ScalingConfiguration": {
            "MinCapacity": 0.0,
            "MaxCapacity": 8.0,
            "SecondsUntilAutoPause": 300,
        }
    }


def test_the_data_api_is_enabled_by_modification() -> None:
    assert plan.modifications(props(EnableDataApi="true"), state()) == {"EnableHttpEndpoint": True}


def test_deletion_protection_follows_the_property() -> None:
    assert plan.modifications(props(), state(deletion_protection=True)) == {
        "DeletionProtection": False
    }


def test_a_minor_version_change_is_a_plain_modification() -> None:
    assert plan.modifications(props(EngineVersion="16.6"), state()) == {"EngineVersion": "16.6"}


def test_a_major_version_given_as_its_number_matches_any_minor() -> None:
    assert plan.modifications(props(EngineVersion="16"), state()) == {}


def test_a_major_version_change_needs_allow_major_version_upgrade() -> None:
    with pytest.raises(InvalidProperty) as caught:
        plan.modifications(props(EngineVersion="17.4"), state())
    assert caught.value.prop == "EngineVersion"
    assert "AllowMajorVersionUpgrade" in caught.value.reason


def test_an_allowed_major_version_change_says_so_to_rds() -> None:
    changes = plan.modifications(
        props(EngineVersion="17.4", AllowMajorVersionUpgrade="true"), state()
    )
    assert changes == {"EngineVersion": "17.4", "AllowMajorVersionUpgrade": True}


# -- tags -----------------------------------------------------------------------


def test_desired_tags_are_the_users_the_ownership_tags_and_on_delete() -> None:
    tags = plan.desired_tags(
        props(Tags=[{"Key": "team", "Value": "data"}], OnDelete="Retain"), STACK, "Db", 0.0
    )
    assert tags == {
        "team": "data",
        naming.OWNER_STACK_TAG: STACK,
        naming.OWNER_LOGICAL_TAG: "Db",
        naming.ON_DELETE_TAG: "Retain",
    }


def test_expires_after_adds_an_expiry_tag_counted_from_the_request() -> None:
    tags = plan.desired_tags(props(ExpiresAfter="72h"), STACK, "Db", 0.0)
    assert tags[naming.EXPIRES_AT_TAG] == "1970-01-04T00:00:00Z"


def test_tag_changes_add_what_differs_and_remove_only_what_the_template_had() -> None:
    old = props(Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    desired = {"a": "9", naming.OWNER_STACK_TAG: STACK}
    observed = {"a": "1", "b": "2", "someone-else": "x", naming.OWNER_STACK_TAG: STACK}
    assert plan.tag_changes(old, desired, observed) == ({"a": "9"}, ["b"])


def test_dropping_expires_after_removes_the_expiry_tag() -> None:
    observed = {naming.EXPIRES_AT_TAG: "2030-01-01T00:00:00Z"}
    assert plan.tag_changes(props(), {}, observed) == ({}, [naming.EXPIRES_AT_TAG])


# -- next step ------------------------------------------------------------------


def test_a_creating_cluster_is_waited_for() -> None:
    assert plan.next_step(props(), state(status="creating")).step is Step.WAIT


def test_a_writer_still_creating_is_waited_for() -> None:
    nxt = plan.next_step(props(), state(instances={"db-instance-1": "creating"}))
    assert nxt.step is Step.WAIT


def test_a_cluster_without_its_writer_yet_is_waited_for() -> None:
    assert plan.next_step(props(), state(instances={})).step is Step.WAIT


def test_pending_modifications_are_waited_for() -> None:
    nxt = plan.next_step(props(), state(pending={"EngineVersion": "16.6"}))
    assert nxt.step is Step.WAIT


def test_an_available_cluster_that_differs_is_modified() -> None:
    nxt = plan.next_step(props(EnableDataApi="true"), state())
    assert nxt.step is Step.MODIFY and nxt.modify == {"EnableHttpEndpoint": True}


def test_an_available_matching_cluster_is_done() -> None:
    assert plan.next_step(props(), state()).step is Step.DONE


@pytest.mark.parametrize("status", ["failed", "incompatible-parameters", "storage-full"])
def test_a_cluster_in_a_failed_state_fails(status: str) -> None:
    nxt = plan.next_step(props(), state(status=status))
    assert nxt.step is Step.FAIL and status in nxt.why


def test_a_writer_in_a_failed_state_fails() -> None:
    nxt = plan.next_step(props(), state(instances={"db-instance-1": "failed"}))
    assert nxt.step is Step.FAIL


def test_a_vanished_cluster_fails() -> None:
    assert plan.next_step(props(), None).step is Step.FAIL


# -- answers --------------------------------------------------------------------


def test_attributes_name_the_iam_db_user_of_the_master_user() -> None:
    attributes = plan.attributes(state())
    assert attributes["IamDbUserArn"] == (
        "arn:aws:rds-db:eu-west-1:111122223333:dbuser:cluster-ABC/postgres"
    )
    assert attributes["InstanceIdentifier"] == "db-instance-1"
    assert set(attributes) == {
        "ClusterIdentifier",
        "RestoredFrom",
        "ClusterArn",
        "ClusterResourceId",
        "Endpoint",
        "ReaderEndpoint",
        "Port",
        "MasterUsername",
        "EngineVersion",
        "InstanceIdentifier",
        "IamDbUserArn",
    }


def test_create_args_hold_only_what_express_accepts_at_creation() -> None:
    args = plan.create_args(
        "db", props(EngineVersion="16.6", EnableDataApi="true", MaxCapacity="4"), {}
    )
    assert args["WithExpressConfiguration"] is True and args["Engine"] == "aurora-postgresql"
    assert "EngineVersion" not in args and "EnableHttpEndpoint" not in args
    assert args["ServerlessV2ScalingConfiguration"] == {"MaxCapacity": 4.0}


def test_the_final_snapshot_name_is_stable_for_one_request() -> None:
    assert plan.final_snapshot_id("db", 0.0) == "db-final-19700101000000"
