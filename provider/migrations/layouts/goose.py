"""goose (pressly/goose v3): ``<version>_<name>.sql`` in one folder, only the Up section runs.

As goose's own parser reads a file (``internal/sqlparser``): lines, each with
its trailing CR dropped; a line whose trimmed text starts with ``--`` and
contains ``+goose`` is an annotation, which must start at column 0 and be one
of ``Up``, ``Down``, ``StatementBegin``, ``StatementEnd``, ``NO TRANSACTION``,
``ENVSUB ON``/``OFF`` (case-insensitive). Before ``-- +goose Up`` only blank
lines and comments; a statement ends on a line whose last word (before a
``--`` comment) ends with ``;``, a ``StatementBegin``/``StatementEnd`` block is
one statement, and an unfinished statement is an error, in the Down section
too. What runs is the Up section as written (its annotation lines are SQL
comments), so the file's line numbers hold; ``NO TRANSACTION`` runs the file
statement by statement outside a transaction. ``ENVSUB ON`` would substitute
environment variables, which a deployed function does not have: a file that
turns it on for its Up section fails the run.

The version is the integer before the first ``_`` (greater than zero; other
names are skipped, as goose skips them); two files with one version fail.
A ``.go`` migration (a valid version, not ``_test.go``) fails the run: it is
code, not SQL.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from enum import IntEnum

from provider.migrations.layouts.common import (
    Layout,
    LayoutError,
    Reading,
    check_unique,
    folder_of,
    migration,
    one_folder,
    text_of,
)
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles

_VERSION = re.compile(r"^[+-]?\d+$")
_ANNOTATIONS = {
    "up": "Up",
    "down": "Down",
    "statementbegin": "StatementBegin",
    "statementend": "StatementEnd",
    "no transaction": "NO TRANSACTION",
    "envsub on": "ENVSUB ON",
    "envsub off": "ENVSUB OFF",
}


class _State(IntEnum):
    START = 0
    UP = 1
    BEGIN_UP = 2
    END_UP = 3
    DOWN = 4
    BEGIN_DOWN = 5
    END_DOWN = 6


_UP_STATES = (_State.UP, _State.BEGIN_UP, _State.END_UP)
_DOWN_STATES = (_State.DOWN, _State.BEGIN_DOWN, _State.END_DOWN)


def version_of(name: str) -> int | None:
    """goose's ``NumericComponent``: the integer before the first ``_``, or None (skipped)."""
    stem, ext = posixpath.splitext(name)
    if ext not in (".sql", ".go") or "_" not in stem:
        return None
    before = name.split("_", 1)[0]
    if not _VERSION.match(before):
        return None
    value = int(before)
    return value if value >= 1 else None


def is_annotation(line: str) -> bool:
    return line.strip().startswith("--") and "+goose" in line


def annotation(line: str, where: str) -> str:
    """The annotation a ``-- +goose ...`` line names, as goose extracts it."""
    if line.startswith((" ", "\t")):
        raise LayoutError(
            f"{where}: a goose annotation must start at column 0: unindent {line.strip()!r}."
        )
    command = line.replace("--", "").replace("+goose", "", 1)
    if "+goose" in command:
        raise LayoutError(f"{where}: more than one '+goose' on one line: split {line.strip()!r}.")
    command = command.strip()
    if command.lower() not in _ANNOTATIONS:
        raise LayoutError(
            f"{where}: {line.strip()!r} is not a goose annotation (Up, Down, StatementBegin, "
            "StatementEnd, NO TRANSACTION, ENVSUB ON/OFF): fix or remove it."
        )
    return _ANNOTATIONS[command.lower()]


def ends_statement(line: str) -> bool:
    """goose's ``endsWithSemicolon``: the last word before a ``--`` word ends with ``;``."""
    previous = ""
    for word in line.split():
        if word.startswith("--"):
            break
        previous = word
    return previous.endswith(";")


@dataclass
class _Parse:
    """goose's state machine over one file, keeping where the Up section lies."""

    path: str
    state: _State = _State.START
    transactional: bool = True
    up_start: int | None = None
    up_end: int | None = None
    buffer: list[str] = field(default_factory=list)

    def fail(self, number: int, what: str) -> LayoutError:
        return LayoutError(f"{self.path} line {number}: {what} (goose layout).")

    def annotate(self, command: str, number: int) -> bool:
        """Apply an annotation; True when the line is consumed (goose's ``continue``)."""
        handlers = {
            "Up": self._up,
            "Down": self._down,
            "StatementBegin": self._begin,
            "StatementEnd": self._end,
            "NO TRANSACTION": self._no_transaction,
            "ENVSUB ON": self._envsub_on,
            "ENVSUB OFF": self._envsub_off,
        }
        return handlers[command](number)

    def _up(self, number: int) -> bool:
        if self.state is not _State.START:
            raise self.fail(number, "a second '-- +goose Up': keep one")
        self.state, self.up_start = _State.UP, number
        return True

    def _down(self, number: int) -> bool:
        if self.state not in (_State.UP, _State.END_UP):
            raise self.fail(
                number, "'-- +goose Down' before '-- +goose Up': put the Up section first"
            )
        if "".join(self.buffer).strip():
            raise self.fail(
                number, "the statement before '-- +goose Down' has no ';': end it with one"
            )
        self.state, self.up_end = _State.DOWN, number - 1
        return True

    def _begin(self, number: int) -> bool:
        if self.state in (_State.UP, _State.END_UP):
            self.state = _State.BEGIN_UP
        elif self.state in (_State.DOWN, _State.END_DOWN):
            self.state = _State.BEGIN_DOWN
        else:
            raise self.fail(
                number, "'-- +goose StatementBegin' before '-- +goose Up': put Up first"
            )
        return True

    def _end(self, number: int) -> bool:
        if self.state is _State.BEGIN_UP:
            self.state = _State.END_UP
        elif self.state is _State.BEGIN_DOWN:
            self.state = _State.END_DOWN
        else:
            raise self.fail(
                number, "'-- +goose StatementEnd' without StatementBegin: add the StatementBegin"
            )
        return False  # goose goes on with this line (it is not added to the statement)

    def _no_transaction(self, _number: int) -> bool:
        self.transactional = False
        return True

    def _envsub_off(self, _number: int) -> bool:
        return True

    def _envsub_on(self, number: int) -> bool:
        if self.state not in _DOWN_STATES:
            raise self.fail(
                number,
                "'-- +goose ENVSUB ON' substitutes environment variables, which a deployed "
                "function does not have: write the values in the file, or use Layout: flyway "
                "with Placeholders",
            )
        return True

    def line(self, text: str, number: int) -> None:
        if not self.buffer and (text.strip().startswith("--") or text == ""):
            return
        if self.state not in (_State.END_UP, _State.END_DOWN):
            self.buffer.append(text + "\n")
        if self.state in _DOWN_STATES:
            self.buffer.clear()  # parsing for up: the down section is dropped line by line
        elif self.state not in _UP_STATES:
            raise self.fail(number, "SQL before '-- +goose Up': move the Up line above it")
        elif self.state is _State.UP and ends_statement(text):
            self.buffer.clear()
        elif self.state is _State.END_UP:
            self.buffer.clear()
            self.state = _State.UP

    def finish(self, count: int) -> None:
        if self.state is _State.START:
            raise LayoutError(f"{self.path} has no '-- +goose Up' line (goose layout): add one.")
        if self.state in (_State.BEGIN_UP, _State.BEGIN_DOWN):
            raise self.fail(count, "'-- +goose StatementBegin' without StatementEnd: add it")
        if "".join(self.buffer).strip():
            raise self.fail(count, "the last statement has no ';': end it with one")


def up_section(text: str, path: str) -> tuple[str, int, bool]:
    """The Up section as written, the lines before it, and whether it runs in a transaction."""
    raw_lines = text.split("\n")
    parse = _Parse(path)
    for number, raw in enumerate(raw_lines, 1):
        line = raw.removesuffix("\r")
        if number == len(raw_lines) and line == "":
            break  # the newline that ends the file starts no line
        if parse.state is _State.START and not line.strip():
            continue
        if is_annotation(line):
            command = annotation(line, f"{path} line {number}")
            if parse.annotate(command, number):
                continue
        parse.line(line, number)
    parse.finish(len(raw_lines))
    assert parse.up_start is not None  # finish() refuses a file without Up
    end = parse.up_end if parse.up_end is not None else len(raw_lines)
    section = raw_lines[parse.up_start : end]
    # Joined as written; before a Down line the section keeps its last newline.
    body = "\n".join(section) + ("\n" if parse.up_end is not None and section else "")
    return body, parse.up_start, parse.transactional


def read(source: SourceFiles) -> Reading:
    candidates = [p for p in source.paths() if version_of(posixpath.basename(p)) is not None]
    candidates = [p for p in candidates if not p.endswith("_test.go")]
    one_folder(candidates, Layout.GOOSE)
    warnings = [
        f"{p} is skipped: goose migrations are named <version>_<name>.sql, version 1 or more."
        for p in source.paths()
        if p.lower().endswith(".sql")
        and p not in candidates
        and (not candidates or folder_of(p) == folder_of(candidates[0]))
    ]
    found: list[tuple[int, Migration]] = []
    for path in candidates:
        if path.endswith(".go"):
            raise LayoutError(
                f"{path} is a goose Go migration, which cannot run here (only SQL runs): "
                "rewrite it as a .sql migration."
            )
        raw = source.files[path]
        version = version_of(posixpath.basename(path))
        assert version is not None
        body, offset, transactional = up_section(text_of(raw, path), path)
        tool = ToolMeta(Layout.GOOSE.value, version=str(version), script=path, raw=raw)
        found.append(
            (
                version,
                migration(
                    path,
                    str(version),
                    Kind.VERSIONED,
                    body,
                    line_offset=offset,
                    no_transaction=not transactional,
                    tool=tool,
                ),
            )
        )
    found.sort(key=lambda pair: pair[0])
    return Reading(Layout.GOOSE, check_unique([m for _, m in found]), warnings=warnings)
