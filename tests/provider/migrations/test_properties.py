"""Parsing CloudFormation's strings into the properties model; errors name the property."""

from __future__ import annotations

import pytest

from provider.common.errors import InvalidProperty
from provider.migrations.layouts import Layout
from provider.migrations.plan import SeedMode
from provider.migrations.properties import parse


def test_cloudformation_strings_become_numbers_and_booleans() -> None:
    props = parse(
        {
            "ServiceToken": "arn:x",
            "Endpoint": "db.example.com",
            "Port": "6543",
            "AllowOutOfOrder": "true",
            "LockTimeoutSeconds": "5",
            "StatementTimeoutSeconds": "60",
            "Layout": "drizzle",
            "SeedMode": "Always",
        }
    )
    assert props.port == 6543
    assert props.allow_out_of_order is True
    assert (props.lock_timeout_seconds, props.statement_timeout_seconds) == (5, 60)
    assert props.layout is Layout.DRIZZLE
    assert props.seed_mode is SeedMode.ALWAYS


def test_defaults_follow_the_contract() -> None:
    props = parse({"ClusterIdentifier": "db"})
    assert (props.database, props.username) == ("postgres", "postgres")
    assert props.history_table == "aurora_express.schema_migrations"
    assert props.layout is Layout.AUTO
    assert props.seed_mode is SeedMode.ON_CHANGE


@pytest.mark.parametrize(
    ("raw", "prop"),
    [
        ({"Endpoint": "x", "Colour": "blue"}, "Colour"),
        ({"Endpoint": "x", "Port": "five"}, "Port"),
        ({"Endpoint": "x", "Port": "70000"}, "Port"),
        ({"Endpoint": "x", "AllowOutOfOrder": "maybe"}, "AllowOutOfOrder"),
        ({"Endpoint": "x", "Layout": "rails"}, "Layout"),
        ({"Endpoint": "x", "SeedMode": "Sometimes"}, "SeedMode"),
        ({"Endpoint": "x", "HistoryTable": "no_schema"}, "HistoryTable"),
        ({"Endpoint": "x", "LockTimeoutSeconds": "-1"}, "LockTimeoutSeconds"),
        ({"Endpoint": "x", "MigrationsS3Uri": "https://bucket/x"}, "MigrationsS3Uri"),
        ({"Endpoint": "x", "Migrations": [{"Name": "a"}]}, "Migrations[0].Sql"),
        (
            {"Endpoint": "x", "Migrations": [{"Name": "a", "Sql": "", "Extra": "1"}]},
            "Migrations[0].Extra",
        ),
        ({"Port": "5432"}, "ClusterIdentifier"),
        ({"Endpoint": "x", "Migrations": [], "MigrationsS3Uri": "s3://b/p/"}, "MigrationsS3Uri"),
        ({"Endpoint": "x", "Seeds": [], "SeedsS3Uri": "s3://b/p/"}, "SeedsS3Uri"),
    ],
)
def test_a_bad_property_is_named_in_the_error(raw: dict[str, object], prop: str) -> None:
    with pytest.raises(InvalidProperty) as caught:
        parse(raw)
    assert caught.value.prop == prop
    assert caught.value.reason.startswith(f"Property {prop}:")
