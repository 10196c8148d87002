"""Property validation (pure): CloudFormation's strings in, InvalidProperty naming it out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from provider.cluster.properties import ClusterProperties, parse
from provider.common.errors import InvalidProperty

TOKEN = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f"}


def props(**values: Any) -> ClusterProperties:
    return parse({**TOKEN, **values})


def problem(**values: Any) -> InvalidProperty:
    with pytest.raises(InvalidProperty) as caught:
        parse({**TOKEN, **values})
    return caught.value


def test_defaults_follow_the_contract() -> None:
    p = props()
    assert (p.MasterUsername, p.OnDelete, p.EnableDataApi, p.DeletionProtection) == (
        "postgres",
        "Delete",
        False,
        False,
    )
    assert p.ClusterIdentifier is None and p.scaling == {} and p.Tags == []


def test_strings_are_read_as_the_numbers_and_booleans_they_mean() -> None:
    p = props(
        MinCapacity="0.5",
        MaxCapacity="4",
        SecondsUntilAutoPause="300",
        BackupRetentionPeriod="7",
        DeletionProtection="true",
        EnableDataApi="false",
        AllowMajorVersionUpgrade="true",
        ServiceTimeout="600",
    )
    assert p.scaling == {"MinCapacity": 0.5, "MaxCapacity": 4.0, "SecondsUntilAutoPause": 300}
    assert p.BackupRetentionPeriod == 7 and p.ServiceTimeout == 600
    assert p.DeletionProtection is True and p.EnableDataApi is False
    assert p.AllowMajorVersionUpgrade is True


def test_expires_after_reads_hours_and_days() -> None:
    assert props(ExpiresAfter="72h").expires_after == timedelta(hours=72)
    assert props(ExpiresAfter="7d").expires_after == timedelta(days=7)


def test_the_cluster_identifier_is_normalized() -> None:
    assert props(ClusterIdentifier="feature/ABC-123_Login").normalized_identifier == (
        "feature-abc-123-login"
    )


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("MinCapacity", "-0.5"),
        ("MinCapacity", "256.5"),
        ("MinCapacity", "0.3"),
        ("MinCapacity", "lots"),
        ("MaxCapacity", "0.5"),
        ("MaxCapacity", "257"),
        ("MaxCapacity", "NaN"),
        ("SecondsUntilAutoPause", "299"),
        ("SecondsUntilAutoPause", "86401"),
        ("SecondsUntilAutoPause", "300.5"),
        ("BackupRetentionPeriod", "0"),
        ("BackupRetentionPeriod", "36"),
        ("DeletionProtection", "maybe"),
        ("EnableDataApi", "2"),
        ("AllowMajorVersionUpgrade", "yes please"),
        ("OnDelete", "Destroy"),
        ("ExpiresAfter", "soon"),
        ("ExpiresAfter", "0h"),
        ("ExpiresAfter", "400d"),
        ("ClusterIdentifier", "123_/-"),
        ("ClusterIdentifier", ""),
        ("MasterUsername", "1admin"),
        ("MasterUsername", "rdsadmin"),
        ("MasterUsername", "a" * 64),
        ("EngineVersion", "latest"),
        ("ServiceTimeout", "0"),
        ("ServiceTimeout", "3601"),
        ("Tags", "env=dev"),
        ("Tags", [{"Key": "aws:owner", "Value": "x"}]),
        ("Tags", [{"Key": "aurora-express:stack-id", "Value": "x"}]),
        ("Tags", [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]),
        ("Tags", [{"Key": "a", "Value": "1", "Extra": "x"}]),
        ("Tags", [{"Key": f"k{i}", "Value": ""} for i in range(48)]),
    ],
)
def test_a_bad_value_is_refused_naming_its_property(prop: str, value: Any) -> None:
    error = problem(**{prop: value})
    assert error.prop == prop
    assert error.reason.startswith(f"Property {prop}: ")
    assert len(error.reason) < 240


def test_an_unknown_property_is_refused_by_name() -> None:
    error = problem(MaxCapcity="4")
    assert error.prop == "MaxCapcity"
    assert "not a property" in error.reason


def test_max_capacity_below_min_capacity_is_refused() -> None:
    error = problem(MinCapacity="8", MaxCapacity="4")
    assert error.prop == "MaxCapacity"
    assert "MinCapacity" in error.reason


def test_a_missing_service_token_is_refused() -> None:
    with pytest.raises(InvalidProperty) as caught:
        parse({})
    assert caught.value.prop == "ServiceToken"


def test_service_timeout_is_a_known_property() -> None:
    assert props(ServiceTimeout="1800").ServiceTimeout == 1800


def test_user_tags_keep_their_order_and_values() -> None:
    p = props(Tags=[{"Key": "team", "Value": "data"}, {"Key": "env", "Value": ""}])
    assert p.user_tags == {"team": "data", "env": ""}
