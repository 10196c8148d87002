"""Flyway: placeholders and SQL callbacks (versions and repeatables: tests/migrations)."""

from __future__ import annotations

import pytest

from provider.migrations import layouts
from provider.migrations.callbacks import Event
from provider.migrations.layouts import LayoutError
from tests.support.layouts import files


def test_a_placeholder_is_replaced_with_its_value_whatever_the_case() -> None:
    source = files({"V1__schema.sql": "CREATE SCHEMA ${Tenant};"})
    (m,) = layouts.load(source, placeholders={"tenant": "acme"})
    assert m.sql == "CREATE SCHEMA acme;"


def test_a_placeholder_without_a_value_fails_naming_it_the_file_and_the_fix() -> None:
    source = files({"V1__a.sql": "SELECT 1;\nCREATE SCHEMA ${tenant};"})
    with pytest.raises(
        LayoutError,
        match=r"V1__a\.sql line 2 uses the placeholder \$\{tenant\}, which has no value: "
        r"give it a value in Placeholders \(CLI: --placeholder tenant=\.\.\.\)",
    ):
        layouts.load(source)


def test_flyways_built_ins_have_their_values() -> None:
    text = (
        "-- ${flyway:filename} ${flyway:table} ${flyway:defaultSchema}\n"
        "SELECT '${flyway:user}@${flyway:database}';"
    )
    values = layouts.placeholders_for(None, user="app_user", database="app")
    (m,) = layouts.load(files({"sql/V1__a.sql": text}), placeholders=values)
    assert m.sql == "-- V1__a.sql flyway_schema_history public\nSELECT 'app_user@app';"


def test_an_unknown_built_in_fails_naming_the_ones_there_are() -> None:
    with pytest.raises(LayoutError, match=r"\$\{flyway:workingDirectory\}.*built-ins are"):
        layouts.load(files({"V1__a.sql": "SELECT '${flyway:workingDirectory}';"}))


def test_the_checksum_is_of_the_text_before_its_placeholders_are_replaced() -> None:
    source = files({"V1__a.sql": "CREATE SCHEMA ${tenant};"})
    (acme,) = layouts.load(source, placeholders={"tenant": "acme"})
    (other,) = layouts.load(source, placeholders={"tenant": "other"})
    assert acme.checksum == other.checksum


def test_an_unclosed_placeholder_fails() -> None:
    with pytest.raises(LayoutError, match="no '}' closes"):
        layouts.load(files({"V1__a.sql": "SELECT '${oops';"}))


def test_callbacks_are_read_apart_in_name_order_and_are_no_migrations() -> None:
    source = files(
        {
            "V1__a.sql": "SELECT 1;",
            "beforeMigrate.sql": "SET search_path = app;",
            "afterMigrate__b_grants.sql": "GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;",
            "afterMigrate__a_analyze.sql": "ANALYZE;",
            "beforeEachMigrate.sql": "SELECT 0;",
        }
    )
    reading = layouts.read(source)
    assert [m.name for m in reading.migrations] == ["V1__a.sql"]
    assert [(c.event, c.script.name) for c in reading.callbacks] == [
        (Event.AFTER_MIGRATE, "afterMigrate__a_analyze.sql"),
        (Event.AFTER_MIGRATE, "afterMigrate__b_grants.sql"),
        (Event.BEFORE_EACH_MIGRATE, "beforeEachMigrate.sql"),
        (Event.BEFORE_MIGRATE, "beforeMigrate.sql"),
    ]


def test_a_callback_of_an_event_not_supported_fails_naming_it() -> None:
    source = files({"V1__a.sql": "", "afterVersioned.sql": "SELECT 1;"})
    with pytest.raises(
        LayoutError, match=r"afterVersioned\.sql is a Flyway afterVersioned callback"
    ):
        layouts.load(source)


def test_callbacks_of_other_commands_are_ignored_as_migrate_ignores_them() -> None:
    source = files({"V1__a.sql": "", "beforeClean.sql": "SELECT 1;", "afterInfo.sql": ""})
    reading = layouts.read(source)
    assert (len(reading.migrations), reading.callbacks) == (1, [])


def test_a_script_conf_can_take_a_migration_out_of_its_transaction() -> None:
    source = files(
        {"V2__i.sql": "SELECT 1;", "V2__i.sql.conf": "# per-script\nexecuteInTransaction=false\n"}
    )
    (m,) = layouts.load(source)
    assert not m.transactional


def test_a_script_conf_key_not_supported_fails_naming_it() -> None:
    source = files({"V2__i.sql": "SELECT 1;", "V2__i.sql.conf": "shouldExecute=false\n"})
    with pytest.raises(
        LayoutError, match=r"V2__i\.sql\.conf line 1: shouldExecute is not supported"
    ):
        layouts.load(source)
