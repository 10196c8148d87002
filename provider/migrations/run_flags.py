"""The run's properties from values already typed (the CLI's flags), without pydantic.

``properties.RunProperties`` is the rule for ``Layout``, ``SeedMode``,
``HistoryTable``, the timeouts, the two switches and ``Placeholders``.
Importing pydantic and building the property models costs a fresh process
tens of milliseconds, most of a no-op ``migrate --dsn``. ``checked`` gives a
``RunFlags`` equal, field by field, to what ``properties.parse_run`` returns
when every value is one the model takes as it is (an enum's value, an ``int``
in range, a ``bool``, a table name that parses, placeholder names that
differ); for anything else it gives None, and the caller asks the model,
whose reason a refused value gets (``aurora_express.cli.migrate``).
``RunSettings`` is what both have in common, what ``migrator.options_from``
reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from provider.common.errors import InvalidProperty
from provider.migrations.history import DEFAULT_TABLE, TableName
from provider.migrations.layouts.common import Layout
from provider.migrations.plan import SeedMode

TIMEOUT_RANGE = range(1, 86400 + 1)  # StatementTimeoutSeconds
LOCK_TIMEOUT_RANGE = range(0, 86400 + 1)  # LockTimeoutSeconds: 0 is none
# A few seconds: an ALTER waiting on another session's lock would otherwise hold up every
# reader queued behind it, for as long as that session lasts. A timeout is retried.
DEFAULT_LOCK_TIMEOUT_SECONDS = 5
_LAYOUTS = frozenset(layout.value for layout in Layout)
_SEED_MODES = frozenset(mode.value for mode in SeedMode)


class RunSettings(Protocol):
    """A run's properties, read: ``RunProperties`` (validated by pydantic) or ``RunFlags``."""

    @property
    def layout(self) -> Layout: ...
    @property
    def seed_mode(self) -> SeedMode: ...
    @property
    def history_table(self) -> str: ...
    @property
    def lock_timeout_seconds(self) -> int | None: ...
    @property
    def statement_timeout_seconds(self) -> int | None: ...
    @property
    def allow_out_of_order(self) -> bool: ...
    @property
    def keep_tool_history(self) -> bool: ...
    @property
    def placeholders(self) -> dict[str, str] | None: ...
    @property
    def table(self) -> TableName: ...


@dataclass(frozen=True)
class RunFlags:
    """``RunProperties``' fields and defaults, for values checked by ``checked``."""

    layout: Layout = Layout.AUTO
    seed_mode: SeedMode = SeedMode.ON_CHANGE
    history_table: str = DEFAULT_TABLE
    lock_timeout_seconds: int = DEFAULT_LOCK_TIMEOUT_SECONDS
    statement_timeout_seconds: int | None = None
    allow_out_of_order: bool = False
    keep_tool_history: bool = True
    placeholders: dict[str, str] | None = None

    @property
    def table(self) -> TableName:
        return TableName.parse(self.history_table)


def check_placeholders(placeholders: Mapping[str, str] | None) -> None:
    """Names as Flyway reads them between ``${`` and ``}``: case-insensitive, so once each."""
    seen: dict[str, str] = {}
    for name in placeholders or {}:
        if not name or "}" in name or "${" in name:
            raise InvalidProperty("Placeholders", f"{name!r} is not a placeholder name")
        if name.lower() in seen:
            raise InvalidProperty(
                "Placeholders",
                f"{seen[name.lower()]!r} and {name!r} are one placeholder (names ignore case)",
            )
        seen[name.lower()] = name


def _timeout(value: object) -> bool:
    return type(value) is int and value in TIMEOUT_RANGE


def _lock_timeout(value: object) -> bool:
    return type(value) is int and value in LOCK_TIMEOUT_RANGE


def _placeholders(value: object) -> bool:
    if not isinstance(value, dict):
        return False
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        return False
    try:
        check_placeholders(value)
    except InvalidProperty:
        return False
    return True


def _table(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        TableName.parse(value)
    except InvalidProperty:
        return False
    return True


# Each property: its field, and whether a value is one the model takes unchanged.
_ACCEPTS: dict[str, tuple[str, Callable[[object], bool]]] = {
    "Layout": ("layout", lambda v: isinstance(v, str) and v in _LAYOUTS),
    "SeedMode": ("seed_mode", lambda v: isinstance(v, str) and v in _SEED_MODES),
    "HistoryTable": ("history_table", _table),
    "LockTimeoutSeconds": ("lock_timeout_seconds", _lock_timeout),
    "StatementTimeoutSeconds": ("statement_timeout_seconds", _timeout),
    "AllowOutOfOrder": ("allow_out_of_order", lambda v: type(v) is bool),
    "KeepToolHistory": ("keep_tool_history", lambda v: type(v) is bool),
    "Placeholders": ("placeholders", _placeholders),
}


def checked(raw: Mapping[str, object]) -> RunFlags | None:
    """``raw`` (run properties by name) as ``RunFlags``; None when the model must decide."""
    values: dict[str, object] = {}
    for prop, value in raw.items():
        accepts = _ACCEPTS.get(prop)
        if accepts is None or not accepts[1](value):
            return None
        values[accepts[0]] = value
    if isinstance(layout := values.get("layout"), str):
        values["layout"] = Layout(layout)
    if isinstance(mode := values.get("seed_mode"), str):
        values["seed_mode"] = SeedMode(mode)
    return RunFlags(**values)  # type: ignore[arg-type]
