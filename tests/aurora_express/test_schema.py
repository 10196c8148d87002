"""The JSON Schemas generated from the properties models (aurora_express/schema.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode.decode import decode_str
from jsonschema import Draft202012Validator

from aurora_express import schema

TEMPLATES = Path(__file__).parent / "lint" / "templates"


def _validator(file: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads((schema.SCHEMA_DIR / file).read_text()))


CLUSTER = "custom-aurora-express.json"
MIGRATIONS = "custom-aurora-express-migrations.json"
FILES = {"Custom::AuroraExpress": CLUSTER, "Custom::AuroraExpressMigrations": MIGRATIONS}


def _resources(name: str) -> list[tuple[str, dict[str, Any]]]:
    template, errors = decode_str((TEMPLATES / name).read_text())
    assert not errors and template is not None
    return [
        (r["Type"], r["Properties"]) for r in template["Resources"].values() if r["Type"] in FILES
    ]


def test_committed_schemas_match_the_models(tmp_path: Path) -> None:
    assert schema.main(["--check"]) == 0


def test_generation_writes_one_file_per_type(tmp_path: Path) -> None:
    assert schema.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([CLUSTER, MIGRATIONS])


@pytest.mark.parametrize("file", [CLUSTER, MIGRATIONS])
def test_schema_is_valid_draft_2020_12(file: str) -> None:
    Draft202012Validator.check_schema(json.loads((schema.SCHEMA_DIR / file).read_text()))


@pytest.mark.parametrize("name", ["good-branch-stack.yaml", "good-intrinsics.yaml"])
def test_good_template_properties_satisfy_the_schema(name: str) -> None:
    for type_name, props in _resources(name):
        errors = list(_validator(FILES[type_name]).iter_errors(props))
        assert errors == [], (type_name, [e.message for e in errors])


def test_numbers_given_as_strings_satisfy_the_schema() -> None:
    props = {"ServiceToken": "arn", "MaxCapacity": "4", "DeletionProtection": "true"}
    assert _validator(CLUSTER).is_valid(props)


def test_unknown_property_breaks_the_schema() -> None:
    assert not _validator(CLUSTER).is_valid({"ServiceToken": "arn", "MinCapcity": 1})


def test_value_out_of_range_breaks_the_schema() -> None:
    assert not _validator(CLUSTER).is_valid({"ServiceToken": "arn", "MaxCapacity": 300})


def test_missing_service_token_breaks_the_schema() -> None:
    assert not _validator(MIGRATIONS).is_valid({"ClusterIdentifier": "db"})


def test_enum_values_come_from_the_model() -> None:
    layout = json.loads((schema.SCHEMA_DIR / MIGRATIONS).read_text())["$defs"]["Layout"]
    assert "flyway" in layout["enum"] and "drizzle" in layout["enum"]
