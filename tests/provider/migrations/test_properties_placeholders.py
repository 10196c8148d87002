"""The Placeholders property: parsed, checked, given to the Flyway reader with the built-ins."""

from __future__ import annotations

import pytest

from provider.common.errors import InvalidProperty
from provider.migrations import migrator, properties
from provider.migrations.settings import MigrationsSettings


def props(**extra: object) -> properties.MigrationsProperties:
    return properties.parse({"Endpoint": "db.example", "Database": "app", **extra})


def test_placeholders_are_a_map_of_strings() -> None:
    assert props(Placeholders={"tenant": "acme"}).placeholders == {"tenant": "acme"}


def test_a_placeholders_value_that_is_not_a_string_is_refused_naming_the_property() -> None:
    with pytest.raises(InvalidProperty, match=r"Placeholders"):
        props(Placeholders={"tenant": ["a"]})


def test_two_names_differing_only_in_case_are_one_placeholder() -> None:
    with pytest.raises(InvalidProperty, match=r"Placeholders.*'tenant' and 'TENANT' are one"):
        props(Placeholders={"tenant": "a", "TENANT": "b"})


def test_the_run_replaces_placeholders_and_flyways_user_and_database() -> None:
    given = props(
        Username="app_user",
        Placeholders={"Tenant": "acme"},
        Migrations=[
            {"Name": "V1__a.sql", "Sql": "CREATE SCHEMA ${tenant} AUTHORIZATION ${flyway:user};"}
        ],
    )
    source = migrator.resource_source(given, MigrationsSettings(), migrator.Clients())
    assert source.migration_set.migrations[0].sql == "CREATE SCHEMA acme AUTHORIZATION app_user;"


def test_an_unknown_layout_names_every_layout_there_is() -> None:
    with pytest.raises(
        InvalidProperty, match=r"goose, prisma, supabase, liquibase, sqitch, atlas, sqlx"
    ):
        props(Layout="alembic")
