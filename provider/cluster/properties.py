"""The properties of ``Custom::AuroraExpress``, validated before any AWS call.

CloudFormation hands every scalar to a custom resource as a string (``"4"``,
``"true"``); pydantic's lax mode reads those as the numbers and booleans they
mean. Anything unknown, of the wrong type, out of range, or a name that
normalizes to nothing becomes ``InvalidProperty`` naming the property.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from provider.cluster import naming
from provider.cluster.source import RestoreSource, parse_instant
from provider.common.errors import InvalidProperty

RESOURCE_TYPE = "Custom::AuroraExpress"
MAX_USER_TAGS = 46  # RDS allows 50 tags; the provider adds up to 4 of its own
MAX_RESTORED_USER_TAGS = 44  # a restored cluster carries two more (restored-from, master-auth)

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.I)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_ENGINE_VERSION = re.compile(r"^\d+(?:\.[0-9A-Za-z_-]+){0,3}$")
# A cluster snapshot: its name (``rds:`` for an automated one) or its ARN (a shared one).
_SNAPSHOT = re.compile(
    r"^(?:arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster-snapshot:)?(?:rds:)?[A-Za-z][A-Za-z0-9-]*$"
)
_CLUSTER_ARN = re.compile(r"^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[a-z](?:-?[a-z0-9])*$")

# What each property must be, said once: the reason of every FAILED it causes.
EXPECTED = {
    "ServiceToken": "the provider function's ARN",
    "ServiceTimeout": "an integer number of seconds from 1 to 3600",
    "ClusterIdentifier": "a string of up to 255 characters with at least one letter",
    "MasterUsername": "1 to 63 letters, digits or underscores, starting with a letter",
    "EngineVersion": "an Aurora PostgreSQL version such as 16.4",
    "AllowMajorVersionUpgrade": "true or false",
    "MinCapacity": "a number from 0 to 256 in steps of 0.5",
    "MaxCapacity": "a number from 1 to 256 in steps of 0.5",
    "SecondsUntilAutoPause": "an integer from 300 to 86400",
    "EnableDataApi": "true or false",
    "BackupRetentionPeriod": "an integer from 1 to 35",
    "DeletionProtection": "true or false",
    "Tags": f"a list of up to {MAX_USER_TAGS} {{Key, Value}} objects",
    "OnDelete": "Delete, Snapshot or Retain",
    "ExpiresAfter": "a duration from 1m to 366d such as 72h or 7d",
    "WaitForDeletion": "true or false",
    "SourceSnapshotIdentifier": "a cluster snapshot identifier or ARN",
    "SourceClusterIdentifier": "a cluster identifier or ARN",
    "RestoreToTime": "an ISO 8601 instant with its time zone, such as 2025-06-01T03:00:00Z",
    "RestoreType": "full-copy or copy-on-write",
}


def _half_steps(value: float | None) -> float | None:
    if value is not None and (value * 2) != int(value * 2):
        raise ValueError("not a multiple of 0.5")
    return value


def parse_duration(text: str) -> timedelta:
    """``72h``, ``7d``, ``30m``, ``2w`` as a timedelta; ValueError otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError("not a duration")
    amount, unit = int(match.group(1)), match.group(2).lower()
    duration = timedelta(**{_UNITS[unit]: amount})
    if not timedelta(minutes=1) <= duration <= timedelta(days=366):
        raise ValueError("out of range")
    return duration


class Tag(BaseModel):
    """One user tag; ``aws:`` and ``aurora-express:`` keys are reserved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    Key: Annotated[str, Field(min_length=1, max_length=128)]
    Value: Annotated[str, Field(max_length=256)] = ""

    @field_validator("Key")
    @classmethod
    def _not_reserved(cls, key: str) -> str:
        if key.lower().startswith(("aws:", naming.RESERVED_TAG_PREFIX)):
            raise ValueError(f"tag key {key!r} is reserved (aws: and aurora-express: prefixes)")
        return key


Capacity = Annotated[float, Field(allow_inf_nan=False)]


class ClusterProperties(BaseModel):
    """What a template may set on ``Custom::AuroraExpress`` (the contract's table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ServiceToken: Annotated[str, Field(min_length=1)]
    ServiceTimeout: Annotated[int, Field(ge=1, le=3600)] | None = None
    ClusterIdentifier: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    MasterUsername: str = "postgres"
    EngineVersion: Annotated[str, Field(max_length=32)] | None = None
    AllowMajorVersionUpgrade: bool = False
    MinCapacity: Annotated[Capacity, Field(ge=0, le=256)] | None = None
    MaxCapacity: Annotated[Capacity, Field(ge=1, le=256)] | None = None
    SecondsUntilAutoPause: Annotated[int, Field(ge=300, le=86400)] | None = None
    EnableDataApi: bool = False
    BackupRetentionPeriod: Annotated[int, Field(ge=1, le=35)] | None = None
    DeletionProtection: bool = False
    Tags: Annotated[list[Tag], Field(max_length=MAX_USER_TAGS)] = []
    OnDelete: Literal["Delete", "Snapshot", "Retain"] = "Delete"
    ExpiresAfter: str | None = None
    WaitForDeletion: bool = True
    SourceSnapshotIdentifier: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    SourceClusterIdentifier: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    RestoreToTime: Annotated[str, Field(max_length=64)] | None = None
    RestoreType: Literal["full-copy", "copy-on-write"] | None = None

    _steps = field_validator("MinCapacity", "MaxCapacity")(_half_steps)

    @field_validator("ClusterIdentifier")
    @classmethod
    def _normalizable(cls, name: str | None) -> str | None:
        if name is not None and not naming.normalize(name):
            raise ValueError(f"{name!r} normalizes to nothing: it needs at least one letter")
        return name

    @field_validator("MasterUsername")
    @classmethod
    def _username(cls, name: str) -> str:
        if not _USERNAME.match(name) or name.lower() == "rdsadmin":
            raise ValueError(f"must be {EXPECTED['MasterUsername']} (not rdsadmin), not {name!r}")
        return name

    @field_validator("EngineVersion")
    @classmethod
    def _engine_version(cls, version: str | None) -> str | None:
        if version is not None and not _ENGINE_VERSION.match(version):
            raise ValueError(f"must be {EXPECTED['EngineVersion']}, not {version!r}")
        return version

    @field_validator("ExpiresAfter")
    @classmethod
    def _duration(cls, text: str | None) -> str | None:
        if text is not None:
            parse_duration(text)
        return text

    @field_validator("SourceSnapshotIdentifier")
    @classmethod
    def _snapshot(cls, text: str | None) -> str | None:
        if text is not None and not _SNAPSHOT.match(text):
            raise ValueError(f"must be {EXPECTED['SourceSnapshotIdentifier']}, not {text!r}")
        return text

    @field_validator("SourceClusterIdentifier")
    @classmethod
    def _source_cluster(cls, text: str | None) -> str | None:
        if text is None:
            return None
        if text.startswith("arn:"):
            if not _CLUSTER_ARN.match(text):
                raise ValueError(f"must be {EXPECTED['SourceClusterIdentifier']}, not {text!r}")
        elif not _source_identifier(text):
            raise ValueError(f"{text!r} normalizes to nothing: it needs at least one letter")
        return text

    @field_validator("RestoreToTime")
    @classmethod
    def _instant(cls, text: str | None) -> str | None:
        if text is not None:
            try:
                parse_instant(text)
            except ValueError:
                raise ValueError(f"must be {EXPECTED['RestoreToTime']}, not {text!r}") from None
        return text

    @field_validator("Tags")
    @classmethod
    def _unique_keys(cls, tags: list[Tag]) -> list[Tag]:
        keys = [t.Key for t in tags]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"tag key {duplicates[0]!r} appears more than once")
        return tags

    @model_validator(mode="after")
    def _capacity_order(self) -> ClusterProperties:
        low, high = self.MinCapacity, self.MaxCapacity
        if low is not None and high is not None and high < low:
            raise InvalidProperty(
                "MaxCapacity", f"must be at least MinCapacity ({low:g}), not {high:g}."
            )
        return self

    @model_validator(mode="after")
    def _restore_combination(self) -> ClusterProperties:
        """At most one source; a time and a type only for a cluster; tags that fit with ours."""
        if self.SourceSnapshotIdentifier and self.SourceClusterIdentifier:
            raise InvalidProperty(
                "SourceClusterIdentifier",
                "give either SourceSnapshotIdentifier or SourceClusterIdentifier, not both.",
            )
        for prop in ("RestoreToTime", "RestoreType"):
            if getattr(self, prop) is not None and not self.SourceClusterIdentifier:
                raise InvalidProperty(
                    prop,
                    "applies only with SourceClusterIdentifier (a snapshot restores the moment "
                    "it was taken); add SourceClusterIdentifier or remove it.",
                )
        if self.RestoreType == "copy-on-write" and self.RestoreToTime is not None:
            raise InvalidProperty(
                "RestoreToTime",
                "cannot be used with RestoreType copy-on-write: a clone starts from the "
                "source as it is now. Remove RestoreToTime or use full-copy.",
            )
        restoring = self.SourceSnapshotIdentifier or self.SourceClusterIdentifier
        if restoring and len(self.Tags) > MAX_RESTORED_USER_TAGS:
            raise InvalidProperty(
                "Tags",
                f"a restored cluster takes at most {MAX_RESTORED_USER_TAGS} tags (the "
                f"provider adds up to 6 of its own), not {len(self.Tags)}.",
            )
        return self

    # -- derived values -------------------------------------------------------

    @property
    def expires_after(self) -> timedelta | None:
        return parse_duration(self.ExpiresAfter) if self.ExpiresAfter else None

    @property
    def normalized_identifier(self) -> str | None:
        """The ``ClusterIdentifier`` as RDS needs it, or None when the template names none."""
        return naming.normalize(self.ClusterIdentifier) if self.ClusterIdentifier else None

    @property
    def source(self) -> RestoreSource | None:
        """What to restore from, or None for a new, empty cluster."""
        if self.SourceSnapshotIdentifier:
            return RestoreSource("snapshot", self.SourceSnapshotIdentifier)
        if self.SourceClusterIdentifier:
            return RestoreSource(
                "cluster",
                _source_identifier(self.SourceClusterIdentifier),
                parse_instant(self.RestoreToTime) if self.RestoreToTime else None,
                self.RestoreType or "full-copy",
            )
        return None

    @property
    def user_tags(self) -> dict[str, str]:
        return {t.Key: t.Value for t in self.Tags}

    @property
    def scaling(self) -> dict[str, float | int]:
        """The ``ServerlessV2ScalingConfiguration`` fields the template sets."""
        given = {
            "MinCapacity": self.MinCapacity,
            "MaxCapacity": self.MaxCapacity,
            "SecondsUntilAutoPause": self.SecondsUntilAutoPause,
        }
        return {k: v for k, v in given.items() if v is not None}


def _source_identifier(text: str) -> str:
    """A source cluster as RDS knows it: an ARN or a valid identifier as given (lowercased),
    otherwise normalized as ``ClusterIdentifier`` is, so a template naming its parent the way
    the parent's template did (``app-${BranchName}``) finds it."""
    if text.startswith("arn:"):
        return text
    lowered = text.lower()
    return lowered if naming.is_valid(lowered) else naming.normalize(text)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _presence(kind: str, loc: list[str]) -> str:
    """The problem with a property (or a tag field) that is unknown or missing."""
    if kind == "extra_forbidden" and len(loc) > 1:
        return f"item {loc[1]} has {loc[-1]!r}; a tag has only Key and Value."
    if kind == "extra_forbidden":
        return f"is not a property of {RESOURCE_TYPE}; check its spelling."
    return f"item {loc[1]} needs a {loc[-1]}." if len(loc) > 2 else "is required."


def _reason(error: dict[str, Any]) -> tuple[str, str]:
    """(property, problem) for one pydantic error, in words a template author can act on."""
    loc = [str(part) for part in error["loc"]]
    prop = loc[0] if loc else "ResourceProperties"
    if error["type"] in ("extra_forbidden", "missing"):
        return prop, _presence(error["type"], loc)
    if error["type"] == "value_error":
        detail = str(error["ctx"]["error"])
        where = f"item {loc[1]}" if len(loc) > 1 else ""
        if prop in ("ExpiresAfter", "MinCapacity", "MaxCapacity") or detail.startswith("must"):
            detail = f"must be {EXPECTED[prop]}, not {_shown(error['input'])}"
            return prop, detail + "."
        return prop, f"{where + ': ' if where else ''}{detail}."
    if prop == "Tags" and len(loc) > 2:
        return prop, f"item {loc[1]} {loc[2]}: {error['msg'].lower()}."
    return prop, f"must be {EXPECTED.get(prop, 'valid')}, not {_shown(error['input'])}."


def parse(raw: dict[str, Any]) -> ClusterProperties:
    """The validated properties, or ``InvalidProperty`` for the first problem found."""
    try:
        return ClusterProperties.model_validate(raw)
    except ValidationError as exc:
        prop, problem = _reason(dict(exc.errors(include_url=False)[0]))
        raise InvalidProperty(prop, problem) from None
