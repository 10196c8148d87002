"""The properties of ``Custom::AuroraExpressMigrations``, parsed from what CloudFormation sends.

CloudFormation hands every scalar over as a string (``"5432"``, ``"true"``);
pydantic's lax mode reads those as the numbers and booleans they mean. An
unknown property, a wrong type or a value out of range becomes
``InvalidProperty`` naming the property, before any network call.
"""

from __future__ import annotations

import re
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from provider.common.errors import InvalidProperty
from provider.migrations.database_name import database_problem
from provider.migrations.history import DEFAULT_TABLE, TableName
from provider.migrations.layouts import Layout
from provider.migrations.plan import SeedMode
from provider.migrations.run_flags import DEFAULT_LOCK_TIMEOUT_SECONDS, check_placeholders

_IDENTIFIER = re.compile(r"^[^\x00]{1,63}$")

# What each property takes, in the words a FAILED reason uses ("must be ..., not ...").
EXPECTED = {
    "ServiceTimeout": "an integer number of seconds from 1 to 3600",
    "ClusterIdentifier": "a cluster identifier",
    "Endpoint": "a host name",
    "Port": "an integer from 1 to 65535",
    "Database": "a database name of 1 to 63 bytes",
    "Username": "a user name of 1 to 63 characters",
    "Migrations": "a list of {Name, Sql} objects",
    "Seeds": "a list of {Name, Sql} objects",
    "MigrationsS3Uri": "an s3://bucket/prefix/ or s3://bucket/key.zip URI",
    "SeedsS3Uri": "an s3://bucket/prefix/ or s3://bucket/key.zip URI",
    "Layout": "one of " + ", ".join(layout.value for layout in Layout),
    "Placeholders": "a map of placeholder name to string value",
    "SeedMode": "one of " + ", ".join(mode.value for mode in SeedMode),
    "HistoryTable": "schema.table",
    "LockTimeoutSeconds": "an integer number of seconds from 0 (none) to 86400",
    "StatementTimeoutSeconds": "an integer number of seconds from 1 to 86400",
    "AllowOutOfOrder": "true or false",
    "KeepToolHistory": "true or false",
    "Revision": "a string",
}


class SqlItem(BaseModel):
    """One inline migration or seed: ``{Name, Sql}``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(alias="Name", min_length=1, max_length=255)
    sql: str = Field(alias="Sql")


class RunProperties(BaseModel):
    """How a run reads its source and applies it: what the CLI's flags also set.

    The CLI maps ``--layout``, ``--seed-mode``, ``--history-table``,
    ``--lock-timeout``, ``--statement-timeout``, ``--allow-out-of-order`` and
    ``--[no-]keep-tool-history`` onto these (``parse_run``), so a value is checked by the same rule
    wherever it comes from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    layout: Layout = Field(Layout.AUTO, alias="Layout")
    seed_mode: SeedMode = Field(SeedMode.ON_CHANGE, alias="SeedMode")
    history_table: str = Field(DEFAULT_TABLE, alias="HistoryTable")
    # 0: no lock timeout at all (PostgreSQL's own default, waiting for as long as it takes).
    lock_timeout_seconds: int = Field(
        DEFAULT_LOCK_TIMEOUT_SECONDS, alias="LockTimeoutSeconds", ge=0, le=86400
    )
    statement_timeout_seconds: int | None = Field(
        None, alias="StatementTimeoutSeconds", ge=1, le=86400
    )
    allow_out_of_order: bool = Field(False, alias="AllowOutOfOrder")
    # Also keep the layout's own tool's history table (created if missing, a row per migration).
    keep_tool_history: bool = Field(True, alias="KeepToolHistory")
    # Flyway's ${name} values (the CLI's --placeholder NAME=VALUE).
    placeholders: dict[str, str] | None = Field(None, alias="Placeholders")

    @model_validator(mode="after")
    def _table_parses(self) -> Self:
        TableName.parse(self.history_table)
        check_placeholders(self.placeholders)
        return self

    @property
    def table(self) -> TableName:
        return TableName.parse(self.history_table)


class MigrationsProperties(RunProperties):
    """Every property of ``Custom::AuroraExpressMigrations``: the run's, the target, the sources."""

    service_token: str | None = Field(None, alias="ServiceToken")
    # CloudFormation's own property, passed through to the provider; accepted, unused here.
    service_timeout: int | None = Field(None, alias="ServiceTimeout", ge=1, le=3600)
    cluster_identifier: str | None = Field(None, alias="ClusterIdentifier", min_length=1)
    endpoint: str | None = Field(None, alias="Endpoint", min_length=1)
    port: int | None = Field(None, alias="Port", ge=1, le=65535)
    database: str = Field("postgres", alias="Database", pattern=_IDENTIFIER.pattern)
    username: str = Field("postgres", alias="Username", pattern=_IDENTIFIER.pattern)
    migrations: list[SqlItem] | None = Field(None, alias="Migrations")
    migrations_s3_uri: str | None = Field(None, alias="MigrationsS3Uri", pattern=r"^s3://")
    seeds: list[SqlItem] | None = Field(None, alias="Seeds")
    seeds_s3_uri: str | None = Field(None, alias="SeedsS3Uri", pattern=r"^s3://")
    revision: str | None = Field(None, alias="Revision")

    @model_validator(mode="after")
    def _one_of_each(self) -> Self:
        if problem := database_problem(self.database):
            raise InvalidProperty("Database", problem)
        if not self.cluster_identifier and not self.endpoint:
            raise InvalidProperty(
                "ClusterIdentifier", "one of ClusterIdentifier or Endpoint is required"
            )
        if self.migrations is not None and self.migrations_s3_uri:
            raise InvalidProperty("MigrationsS3Uri", "give Migrations or MigrationsS3Uri, not both")
        if self.seeds is not None and self.seeds_s3_uri:
            raise InvalidProperty("SeedsS3Uri", "give Seeds or SeedsS3Uri, not both")
        return self


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "ResourceProperties"


def parse(raw: Any) -> MigrationsProperties:
    """Validate ``raw`` (a CloudFormation ResourceProperties object)."""
    return _validate(MigrationsProperties, raw)


def parse_run(raw: Any) -> RunProperties:
    """Validate the run's properties alone (the CLI's flags, by property name)."""
    return _validate(RunProperties, raw)


def _validate[M: RunProperties](model: type[M], raw: Any) -> M:
    if not isinstance(raw, dict):
        raise InvalidProperty("ResourceProperties", "must be an object")
    try:
        return model.model_validate(raw)
    except InvalidProperty:
        raise
    except ValidationError as exc:
        error = exc.errors()[0]
        prop = _location(tuple(error["loc"]))
        if error["type"] == "extra_forbidden":
            raise InvalidProperty(
                prop, "is not a property of Custom::AuroraExpressMigrations"
            ) from None
        if error["type"] == "missing":
            raise InvalidProperty(prop, "is required") from None
        cause = error.get("ctx", {}).get("error")
        if isinstance(cause, InvalidProperty):
            raise cause from None
        top = str(error["loc"][0]) if error["loc"] else ""
        if top in EXPECTED and len(error["loc"]) == 1:
            shown = repr(error.get("input"))
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            raise InvalidProperty(prop, f"must be {EXPECTED[top]}, not {shown}.") from None
        raise InvalidProperty(prop, str(error["msg"]).rstrip(".")) from None
