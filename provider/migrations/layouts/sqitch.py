"""sqitch: the order of ``sqitch.plan``; each change runs ``deploy/<change>.sql`` (only that).

The plan is read as ``App::Sqitch::Plan`` reads it: pragmas (``%project``
required, ``%syntax-version``, ``%uri``) up to the first blank line; then
change lines ``name [deps] <timestamp> <planner name> <<email>> # note`` and
tag lines ``@tag ...`` (a tag names the change before it); ``#`` lines are
notes. A change planned again after a tag is a rework: the earlier entry's
script is ``deploy/<change>@<tag>.sql`` (the first of its rework tags with a
script), the newest entry keeps ``deploy/<change>.sql``. A dependency on a
change not planned before it fails, as it fails sqitch.

Each deploy script runs whole (it carries its own ``BEGIN``/``COMMIT``,
which the engine's own transaction replaces). psql runs sqitch's scripts:
a psql meta-command (a line starting with ``\\``) cannot run here and fails
the run, naming the file and line. A ``sqitch.conf`` that moves the plan or
the script folders fails the run (not read). The version of an entry is its
change name (``name#2`` for its second entry after a rework); ``ToolMeta``
carries sqitch's change id (the SHA-1 sqitch computes over the change's
plan data) for its registry.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from dataclasses import dataclass, field

from provider.migrations.layouts.common import (
    Layout,
    LayoutError,
    check_unique,
    lines_of,
    migration,
    text_of,
)
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

PLAN_FILE = "sqitch.plan"
CONF_FILE = "sqitch.conf"
_PUNCT = re.escape("-!\"#$%&'()*+,./:;<=>?@[\\]^`{|}~")
NAME = rf"(?![{_PUNCT}])(?:(?![~/=%^\[\]][0-9]+(?:$|[ \t]))[^ \t:@#\\])+(?<![{_PUNCT}])\b"
_TIMESTAMP = r"(?P<ts>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)"
_PLANNER = r"(?P<planner_name>[^<]+)[ \t]+<(?P<planner_email>[^>]+)>"
_ENTRY = re.compile(
    rf"^[ \t]*(?:@|[ \t]*(?P<operator>[+-])[ \t]*)?(?P<name>{NAME})[ \t]*"
    rf"(?:\[(?P<deps>[^\]]+)\][ \t]*)?(?:{_TIMESTAMP}[ \t]*)?(?:{_PLANNER})?$"
)
_PRAGMA = re.compile(r"^[ \t]*%[ \t]*(?P<name>[^ \t=]+?)(?:[ \t]*=[ \t]*(?P<value>.+))?$")
_RELOCATING_KEYS = re.compile(
    r"^\s*(top_dir|plan_file|deploy_dir|reworked_dir|reworked_deploy_dir|extension)\s*=", re.M
)
_RESERVED = ("ROOT", "HEAD")


@dataclass
class _Change:
    name: str
    line: int
    timestamp: str
    planner: str
    note: str
    requires: list[str]
    conflicts: list[str]
    tags: list[str] = field(default_factory=list)
    rework_tags: list[str] = field(default_factory=list)
    change_id: str = ""


def _note(raw: str) -> str:
    """A plan note as sqitch keeps it: trimmed, ``\\n``, ``\\r`` and ``\\\\`` unescaped."""
    escapes = {"\\n": "\n", "\\r": "\r", "\\\\": "\\"}
    return re.sub(r"\\[\\nr]", lambda m: escapes[m[0]], raw.strip())


def _split_note(line: str) -> tuple[str, str]:
    index = line.find("#")
    if index == -1:
        return line.rstrip(" \t"), ""
    return line[:index].rstrip(" \t"), _note(line[index + 1 :])


def change_id(project: str, uri: str | None, change: _Change, parent: str | None) -> str:
    """sqitch's change id: SHA-1 of ``change <length>\\0<info>`` (``Plan::Change``'s ``id``)."""
    info = [f"project {project}"]
    if uri:
        info.append(f"uri {uri}")
    info.append(f"change {change.name}")
    if parent:
        info.append(f"parent {parent}")
    info += [f"planner {change.planner}", f"date {change.timestamp}"]
    if change.requires:
        info.append("requires\n  + " + "\n  + ".join(change.requires))
    if change.conflicts:
        info.append("conflicts\n  - " + "\n  - ".join(change.conflicts))
    if change.note:
        info += ["", change.note]
    content = "\n".join(info).encode()
    return hashlib.sha1(
        b"change %d\x00" % len(content) + content, usedforsecurity=False
    ).hexdigest()


@dataclass
class Plan:
    project: str
    uri: str | None
    changes: list[_Change]


_BLANK_OR_NOTE = re.compile(r"^[ \t]*(?:#.*)?$")


def _pragmas(lines: list[str], path: str) -> tuple[dict[str, str], int]:
    """The pragmas before the first blank line, and the index of the line after it."""
    pragmas: dict[str, str] = {}
    for index, line in enumerate(lines):
        if _BLANK_OR_NOTE.match(line):
            if not line.lstrip(" \t").startswith("#"):
                return pragmas, index + 1
            continue
        pragma = _PRAGMA.match(_split_note(line)[0])
        if pragma is None:
            raise LayoutError(
                f"{path} line {index + 1}: a blank line must come between the pragmas and the "
                "changes: add one."
            )
        pragmas[pragma["name"]] = pragma["value"] or "1"
    return pragmas, len(lines)


class _Entries:
    """The change and tag lines, checked as sqitch checks them."""

    def __init__(self, path: str, project: str) -> None:
        self.path, self.project = path, project
        self.changes: list[_Change] = []
        self.by_name: dict[str, _Change] = {}
        self.since_tag: set[str] = set()
        self.seen_at: dict[str, int] = {}  # change names and @tags, by position in the plan

    def fail(self, number: int, what: str) -> LayoutError:
        return LayoutError(f"{self.path} line {number}: {what}; fix the plan (sqitch refuses it).")

    def add(self, number: int, line: str) -> None:
        body, note = _split_note(line)
        entry = _ENTRY.match(body)
        if entry is None or not entry["name"]:
            raise self.fail(number, f"not a sqitch change or tag line: {line.strip()!r}")
        if not entry["ts"]:
            raise self.fail(number, "missing timestamp")
        if not entry["planner_name"]:
            raise self.fail(number, "missing planner name and email")
        name = entry["name"]
        if name in _RESERVED or re.match(r"^[0-9a-f]{40}", name):
            raise self.fail(number, f"{name!r} is a reserved or SHA-1-like name")
        if body.lstrip(" \t").startswith("@"):
            self.tag(number, name, entry)
        else:
            self.change(number, name, entry, note)

    def tag(self, number: int, name: str, entry: re.Match[str]) -> None:
        if not self.changes:
            raise self.fail(number, f"tag @{name} before any change")
        if entry["deps"]:
            raise self.fail(number, "tags may not have dependencies")
        if f"@{name}" in self.seen_at:
            raise self.fail(number, f"tag @{name} is declared twice")
        self.changes[-1].tags.append(name)
        self.seen_at[f"@{name}"] = len(self.changes)
        self.since_tag.clear()

    def change(self, number: int, name: str, entry: re.Match[str], note: str) -> None:
        if entry["operator"] == "-":
            raise self.fail(number, f"'-{name}' (a planned revert) is not supported: remove it")
        if name in self.since_tag:
            raise self.fail(number, f"change {name} is planned twice since the last tag")
        deps = (entry["deps"] or "").split()
        change = _Change(
            name,
            number,
            entry["ts"],
            f"{entry['planner_name']} <{entry['planner_email']}>",
            note,
            requires=[d for d in deps if not d.startswith("!")],
            conflicts=[d[1:] for d in deps if d.startswith("!")],
        )
        for dep in change.requires:
            _check_dependency(
                dep,
                self.project,
                self.seen_at,
                len(self.changes),
                f"{self.path} line {number}: {name}",
            )
        if (earlier := self.by_name.get(name)) is not None:
            # A rework: the earlier entry's script is named by the tags since it.
            for later in reversed(self.changes[self.changes.index(earlier) + 1 :]):
                earlier.rework_tags += later.tags
            earlier.rework_tags += earlier.tags
        self.changes.append(change)
        self.by_name[name] = change
        self.since_tag.add(name)
        self.seen_at[name] = len(self.changes)


def parse_plan(text: str, path: str) -> Plan:
    lines = lines_of(text)
    pragmas, start = _pragmas(lines, path)
    project = pragmas.get("project")
    if not project:
        raise LayoutError(f"{path} has no %project pragma: add one (sqitch requires it).")
    entries = _Entries(path, project)
    for number, line in enumerate(lines[start:], start + 1):
        if not _BLANK_OR_NOTE.match(line):
            entries.add(number, line)
    uri = pragmas.get("uri")
    parent: str | None = None
    for change in entries.changes:
        change.change_id = change_id(project, uri, change, parent)
        parent = change.change_id
    return Plan(project, uri, entries.changes)


def _check_dependency(
    dep: str, project: str, seen_at: dict[str, int], position: int, where: str
) -> None:
    """sqitch's ``check_changes``: a required change must be planned before the change."""
    other_project, sep, key = dep.partition(":")
    if sep and other_project != project:
        return  # another project's change
    key = key if sep else dep
    if re.fullmatch(r"[0-9a-f]{40}", key):
        return  # by id: internal or external, not checked
    if "@" in key and not key.startswith("@"):
        change, tag = key.split("@", 1)
        if f"@{tag}" in seen_at and change in seen_at and seen_at[change] <= seen_at[f"@{tag}"]:
            return
    elif key in seen_at and seen_at[key] <= position:
        return
    raise LayoutError(
        f"{where} requires {key}, which is not planned before it: move it below {key}."
    )


def _deploy_path(top: str, change: _Change, source: SourceFiles) -> str:
    deploy = posixpath.join(top, "deploy") if top else "deploy"
    *folders, base = change.name.split("/")
    if not change.rework_tags:
        return posixpath.join(deploy, *folders, f"{base}.sql")
    candidates = [posixpath.join(deploy, *folders, f"{base}@{t}.sql") for t in change.rework_tags]
    return next((c for c in candidates if c in source.files), candidates[0])


def _refuse_meta_commands(text: str, path: str) -> None:
    for number, line in enumerate(lines_of(text), 1):
        if line.startswith("\\"):
            command = line.split()[0]
            raise LayoutError(
                f"{path} line {number}: the psql meta-command {command} cannot run here (the "
                "script is sent to PostgreSQL, not to psql): write it as SQL or remove it."
            )


def read(source: SourceFiles) -> list[Migration]:
    plans = [p for p in source.paths() if posixpath.basename(p) == PLAN_FILE]
    if not plans:
        raise LayoutError(
            f"Layout sqitch: no {PLAN_FILE} in the folder: give the folder holding it."
        )
    if len(plans) > 1:
        raise LayoutError(
            f"More than one {PLAN_FILE}: {', '.join(sorted(plans))}; give one folder."
        )
    top = posixpath.dirname(plans[0])
    conf = posixpath.join(top, CONF_FILE) if top else CONF_FILE
    if conf in source.files and (
        moved := _RELOCATING_KEYS.search(text_of(source.files[conf], conf))
    ):
        raise LayoutError(
            f"{conf} sets {moved[1]}, which is not read here: keep sqitch's default layout "
            "(sqitch.plan beside deploy/)."
        )
    plan = parse_plan(text_of(source.files[plans[0]], plans[0]), plans[0])
    found = []
    occurrences: dict[str, int] = {}
    for change in plan.changes:
        path = _deploy_path(top, change, source)
        if path not in source.files:
            raise LayoutError(
                f"{plans[0]} line {change.line} plans {change.name} but {path} is missing: "
                "add it, or remove the change from the plan."
            )
        raw = source.files[path]
        text = text_of(raw, path)
        _refuse_meta_commands(text, path)
        occurrences[change.name] = occurrences.get(change.name, 0) + 1
        count = occurrences[change.name]
        version = change.name if count == 1 else f"{change.name}#{count}"
        tool = ToolMeta(
            Layout.SQITCH.value,
            version=change.change_id,
            description=change.note,
            script=change.name,
            raw=raw,
            extra={
                "change_id": change.change_id,
                "project": plan.project,
                "planner": change.planner,
                "planned_at": change.timestamp,
                "tags": " ".join(f"@{t}" for t in change.tags),
                "requires": " ".join(change.requires),
                "conflicts": " ".join(change.conflicts),
                "script_hash": hashlib.sha1(raw, usedforsecurity=False).hexdigest(),
            },
        )
        found.append(migration(path, version, Kind.VERSIONED, text, tool=tool))
    return check_unique(found)
