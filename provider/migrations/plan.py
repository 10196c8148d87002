"""Pure decisions: given the source's migrations and the history, what runs and what stops the run.

No I/O here, so every rule is tested on in-memory data:

- an applied versioned migration whose checksum differs is *changed*: the
  run stops before anything is applied, naming the file;
- an applied migration absent from the source is *missing*: a warning (the
  stack was rolled back to an older revision);
- a pending versioned migration placed before an applied one is *out of
  order*: the run stops unless ``allow_out_of_order``;
- repeatables run when new or changed (or always, for Liquibase's
  ``runAlways``), in the source's order; seeds per ``SeedMode``;
- a migration that the folder's own tool already applied (its verdict,
  ``tool_history``) is *adopted* into the history instead of run again; one
  whose checksum differs from the tool's row is *changed*; a tool history
  that says no run may go on (a dirty or failed migration) stops the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from provider.migrations.history import Row, latest_by_identity
from provider.migrations.model import Kind, Migration
from provider.migrations.tool_history.base import Verdict, key


class SeedMode(StrEnum):
    ON_CHANGE = "OnChange"
    ALWAYS = "Always"
    ONCE = "Once"


@dataclass
class Plan:
    pending: list[Migration] = field(default_factory=list)
    seeds: list[Migration] = field(default_factory=list)
    applied: list[Migration] = field(default_factory=list)
    changed: list[Migration] = field(default_factory=list)
    missing: list[Row] = field(default_factory=list)
    out_of_order: list[Migration] = field(default_factory=list)
    adopt: list[Migration] = field(default_factory=list)
    latest_version: str | None = None
    tool: str | None = None  # the folder's tool whose history was read
    tool_problem: str | None = None
    tool_changed: list[Migration] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def blocking_problem(self, *, allow_out_of_order: bool) -> str | None:
        """The reason the run must stop before applying anything, or None."""
        if self.tool_problem:
            return self.tool_problem
        if self.changed:
            first = self.changed[0]
            more = f" (and {len(self.changed) - 1} more)" if len(self.changed) > 1 else ""
            by = f" by {self.tool}" if self.tool and first in self.tool_changed else ""
            return (
                f"{first.name} was changed after it was applied{by}{more}; restore it and add a "
                "new migration instead."
            )
        if self.out_of_order and not allow_out_of_order:
            first = self.out_of_order[0]
            return (
                f"{first.name} is pending but older than applied migrations "
                "(set AllowOutOfOrder: true to apply it anyway)."
            )
        return None

    def as_json(self) -> dict[str, Any]:
        return {
            "pending": [_describe(m) for m in self.pending],
            "seeds": [_describe(m) for m in self.seeds],
            "applied": [_describe(m) for m in self.applied],
            "changed": [_describe(m) for m in self.changed],
            "missing": [r.name for r in self.missing],
            "outOfOrder": [m.name for m in self.out_of_order],
            "adopt": [m.name for m in self.adopt],
            "adoptFrom": self.tool if self.adopt else None,
            "latestVersion": self.latest_version,
        }


def _describe(m: Migration) -> dict[str, Any]:
    return {
        "name": m.name,
        "version": m.version,
        "kind": m.kind.value,
        "transactional": m.transactional,
    }


def make_plan(
    migrations: Sequence[Migration],
    seeds: Sequence[Migration],
    rows: Sequence[Row],
    *,
    seed_mode: SeedMode = SeedMode.ON_CHANGE,
    tool: Verdict | None = None,
) -> Plan:
    """``tool``: what the folder's own tool's history says (adopted, changed, problem)."""
    latest = latest_by_identity(list(rows))
    plan = Plan()
    verdict = tool or Verdict()
    if tool is not None:
        plan.tool = tool.tool
        plan.tool_problem = tool.problem
        plan.tool_changed = list(tool.changed)
        plan.changed.extend(tool.changed)
        plan.warnings.extend(tool.warnings)
    versioned = [m for m in migrations if m.kind is Kind.VERSIONED]

    applied_ids: set[int] = set()
    last_applied_index = -1
    for index, m in enumerate(versioned):
        row = latest.get((Kind.VERSIONED, m.identity))
        if row is not None and row.success:
            last_applied_index = index
            applied_ids.add(id(m))
            plan.applied.append(m)
            if row.checksum != m.checksum:
                plan.changed.append(m)
        elif key(m) in verdict.applied:
            last_applied_index = index
            applied_ids.add(id(m))
            plan.applied.append(m)
            plan.adopt.append(m)
    plan.changed = list({id(m): m for m in plan.changed}.values())
    for index, m in enumerate(versioned):
        if id(m) in applied_ids:
            continue
        plan.pending.append(m)
        if index < last_applied_index:
            plan.out_of_order.append(m)

    _repeatables(plan, migrations, latest, verdict)
    # In the source's order: Flyway lists its repeatables last; a Liquibase
    # runOnChange changeset runs where it stands in its file.
    order = {id(m): i for i, m in enumerate(migrations)}
    plan.pending.sort(key=lambda m: order[id(m)])

    known = {(m.kind, m.identity) for m in migrations}
    plan.missing = [
        row
        for key, row in latest.items()
        if key[0] is not Kind.SEED and row.success and key not in known
    ]
    plan.seeds = [
        m for m in seeds if _seed_due(m, latest.get((Kind.SEED, m.identity)), rows, seed_mode)
    ]
    applied_versions = [m.version for m in plan.applied if m.kind is Kind.VERSIONED]
    plan.latest_version = applied_versions[-1] if applied_versions else None
    return plan


def _seed_due(m: Migration, row: Row | None, rows: Sequence[Row], mode: SeedMode) -> bool:
    if mode is SeedMode.ALWAYS:
        return True
    if mode is SeedMode.ONCE:
        return not any(r.kind is Kind.SEED and r.name == m.name and r.success for r in rows)
    return row is None or not row.success or row.checksum != m.checksum


def _repeatables(
    plan: Plan,
    migrations: Sequence[Migration],
    latest: dict[tuple[Kind, str], Row],
    verdict: Verdict,
) -> None:
    """A repeatable runs when new or changed (``run_always``: every run), unless the tool
    applied this very text."""
    for m in migrations:
        if m.kind is not Kind.REPEATABLE:
            continue
        row = latest.get((Kind.REPEATABLE, m.identity))
        if m.run_always:
            plan.pending.append(m)
        elif row is not None and row.success and row.checksum == m.checksum:
            plan.applied.append(m)
        elif key(m) in verdict.applied:
            plan.applied.append(m)
            plan.adopt.append(m)
        else:
            plan.pending.append(m)
