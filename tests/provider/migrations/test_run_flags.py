"""The CLI's run flags without pydantic: ``run_flags.checked`` agrees with the property model.

Values the model takes as they are give the same fields as
``properties.parse_run``; any value the model would refuse or convert gives
None, so that the model decides and its reason is the one shown.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from provider.migrations import properties, run_flags

ACCEPTED: list[dict[str, Any]] = [
    {},
    {"Layout": "flyway"},
    {"Layout": "auto", "SeedMode": "Always", "KeepToolHistory": False},
    {"HistoryTable": "app.history", "AllowOutOfOrder": True},
    {"LockTimeoutSeconds": 1, "StatementTimeoutSeconds": 86400},
    {"LockTimeoutSeconds": 0},  # none
    {"Placeholders": {"schema": "app", "Owner": "me"}},
    {
        "Layout": "dbmate",
        "SeedMode": "Once",
        "HistoryTable": "public.migrations",
        "LockTimeoutSeconds": 30,
        "StatementTimeoutSeconds": 600,
        "AllowOutOfOrder": False,
        "KeepToolHistory": True,
        "Placeholders": {"a": "1"},
    },
]
LEFT_TO_THE_MODEL: list[dict[str, Any]] = [
    {"Layout": "Flyway"},
    {"Layout": "rails"},
    {"SeedMode": "sometimes"},
    {"LockTimeoutSeconds": -1},
    {"StatementTimeoutSeconds": 0},
    {"LockTimeoutSeconds": 86401},
    {"StatementTimeoutSeconds": "30"},
    {"LockTimeoutSeconds": True},
    {"AllowOutOfOrder": "true"},
    {"HistoryTable": "a.b.c"},
    {"HistoryTable": ""},
    {"Placeholders": {"name": "a", "NAME": "b"}},
    {"Placeholders": {"x}": "a"}},
    {"Placeholders": {"n": 1}},
    {"Database": "app"},
]


@pytest.mark.parametrize("raw", ACCEPTED)
def test_values_the_model_takes_as_they_are_give_the_models_fields(raw: dict[str, Any]) -> None:
    flags = run_flags.checked(raw)
    model = properties.parse_run(raw)
    assert flags is not None
    for field in fields(flags):
        assert getattr(flags, field.name) == getattr(model, field.name), field.name
    assert flags.table == model.table


@pytest.mark.parametrize("raw", LEFT_TO_THE_MODEL)
def test_any_other_value_is_left_to_the_model(raw: dict[str, Any]) -> None:
    assert run_flags.checked(raw) is None


def test_the_flags_have_the_models_fields_and_defaults() -> None:
    model = properties.parse_run({})
    assert {f.name for f in fields(run_flags.RunFlags)} == set(
        properties.RunProperties.model_fields
    )
    assert run_flags.RunFlags() == run_flags.checked({})
    for field in fields(run_flags.RunFlags):
        assert getattr(run_flags.RunFlags(), field.name) == getattr(model, field.name)
