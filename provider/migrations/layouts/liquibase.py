"""Liquibase formatted SQL: ``--liquibase formatted sql`` files, one changeset after another.

Read line by line as ``AbstractFormattedChangeLogParser`` reads them: the
first non-blank line of each file is the header; ``--changeset author:id
[attributes]`` starts a changeset, whose SQL is every following line but
Liquibase's own (``--comment``, ``--rollback`` and ``/* liquibase rollback
*/`` blocks, which never run, ``--validCheckSum``, ``--ignoreLines``), up to
the next changeset. Files run in path order (``includeAll``'s), changesets in
file order; a changeset is identified by its file, id and author (the
migration's version is ``file::id::author``; a reason names the file and the
line). Attributes honoured: ``runInTransaction:false`` (outside a
transaction), ``endDelimiter:X`` (a literal word or symbol ends statements),
``splitStatements``/``stripComments`` (no difference to what runs),
``runOnChange:true`` (re-run when changed), ``runAlways:true`` (every run),
``dbms:`` (a changeset not for ``postgresql`` is skipped), ``ignore:true``
(skipped). Not supported, failing the run and naming the changeset:
preconditions, ``context:``/``contextFilter:``, ``labels:``,
``failOnError:false``, ``runWith:`` other than ``jdbc``, ``--property``
lines. SQL before the first changeset is not run (Liquibase ignores it): a
warning says so. XML, YAML or JSON changelogs in the folder fail the run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from provider.migrations.layouts.common import (
    Layout,
    LayoutError,
    Reading,
    check_unique,
    lines_of,
    migration,
    sql_files,
    text_of,
)
from provider.migrations.model import Kind, Migration, ToolMeta
from provider.migrations.sources import SourceFiles


def _line(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.I)


HEADER = _line(r"\s*--\s*liquibase\s*formatted.*")
_PROPERTY = _line(r"\s*-+\s*property\s.*")
_CHANGESET = _line(r"\s*--[\s]*changeset\s+(\"[^\"]+\"|[^:]+):\s*(\"[^\"]+\"|\S+).*")
_CHANGESET_BAD = (_line(r"-[\s]*changeset\s.*"), _line(r"\s*--[\s]*changeset[\s]*.*"))
_COMMENT = _line(r"--[\s]*comment:? (.*)")
_COMMENT_BAD = (_line(r"-[\s]*comment:? (.*)"), _line(r"--[\s]*comments:? (.*)"))
_CHECKSUM = _line(r"--[\s]*validCheckSum:? (.*)")
_CHECKSUM_BAD = _line(r"-[\s]*validCheckSum(.*)")
_ROLLBACK = _line(r"\s*--[\s]*rollback (.*)")
_ROLLBACK_BAD = _line(r"\s*-[\s]*rollback\s.*")
_ROLLBACK_START = _line(r"\s*/\*\s*liquibase\s*rollback\s*")
_ROLLBACK_END = _line(r".*\s*\*/\s*")
_PRECONDITION = _line(r"\s*-{1,2}[\s]*precondition.*")
_IGNORE_LINES = _line(r"--[\s]*ignoreLines:(\w+)")
_IGNORE_LINES_BAD = (_line(r"-[\s]*?ignoreLines:(\w+).*"), _line(r"--[\s]*ignore:(\w+)"))
_CHANGELOG_SUFFIXES = (".xml", ".yaml", ".yml", ".json")
_LITERAL_DELIMITER = re.compile(r"[^\s\\]+")


def is_formatted(text: str) -> bool:
    """Liquibase's ``supports``: the first non-blank line is the formatted-SQL header."""
    for line in lines_of(text):
        if line.strip():
            return bool(HEADER.fullmatch(line))
    return False


def _attribute(line: str, name: str, value: str = r"(\w+)") -> str | None:
    """The last ``name:value`` on the changeset line (Liquibase's greedy ``.*name:(..).*``)."""
    found = re.findall(rf"{name}:{value}", line, re.I)
    return found[-1] if found else None


def _strip_quotes(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


@dataclass
class _Changeset:
    path: str
    line: int  # the --changeset line
    author: str
    id: str
    attributes: str
    body: list[str] = field(default_factory=list)  # the file's lines, blanked where not SQL
    sql_lines: list[str] = field(default_factory=list)  # Liquibase's own SQL lines

    @property
    def label(self) -> str:
        return f"{self.path} line {self.line} (changeset {self.author}:{self.id})"

    def flag(self, name: str, default: bool) -> bool:
        value = _attribute(self.attributes, name)
        if value is None:
            return default
        if value.lower() not in ("true", "false"):
            raise LayoutError(f"{self.label}: {name}:{value}: write true or false.")
        return value.lower() == "true"

    def fail_unsupported(self, what: str, fix: str) -> LayoutError:
        return LayoutError(f"{self.label}: {what} is not supported here: {fix}.")


def _runs_on_postgresql(dbms: str | None) -> bool:
    """Liquibase's ``DatabaseList.definitionMatches`` for ``postgresql``."""
    if not dbms:
        return True
    names = [n.strip().lower() for n in dbms.split(",") if n.strip()]
    if "none" in names:
        return False
    if "all" in names:
        return True
    if "!postgresql" in names:
        return False
    if all(n.startswith("!") for n in names):
        return True
    return "postgresql" in names


def apply_delimiter(text: str, delimiter: str, where: str) -> str:
    """``text`` with each ``delimiter`` token turned into ``;`` (offsets and lines kept)."""
    if delimiter in ("", ";"):
        return text
    if not _LITERAL_DELIMITER.fullmatch(delimiter):
        raise LayoutError(
            f"{where}: endDelimiter:{delimiter} is not supported (only a literal word or "
            "symbol, such as / or GO): end the statements with ';' instead."
        )
    from pglast import parser  # noqa: PLC0415 (only for a custom delimiter)

    spans: list[tuple[int, int]] = []
    try:
        for token in parser.scan(text):
            if text[token.start : token.end + 1].lower() == delimiter.lower():
                spans.append((token.start, token.end + 1))
    except parser.ParseError:
        # The scanner gave up: fall back to the delimiter alone on its line.
        offset = 0
        for line in text.split("\n"):
            stripped = line.strip()
            if stripped.lower() == delimiter.lower():
                start = offset + line.index(stripped)
                spans.append((start, start + len(stripped)))
            offset += len(line) + 1
    out = text
    for start, end in reversed(spans):
        out = out[:start] + ";" + " " * (end - start - 1) + out[end:]
    return out


def _blank(line: str) -> str:
    return "\r" if line.endswith("\r") else ""


class _FileParser:
    """One file, line by line, as Liquibase's parser walks it (the reasons it refuses, too)."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.split("\n")
        self.index = 0
        self.changesets: list[_Changeset] = []
        self.stray: int | None = None  # the first SQL line before any changeset

    @property
    def current(self) -> _Changeset | None:
        return self.changesets[-1] if self.changesets else None

    def next_line(self) -> str:
        raw = self.lines[self.index]
        self.index += 1
        return raw

    def keep(self, raw: str, *, sql: bool) -> None:
        """Add a line of the file to the changeset: as SQL, or blanked (lines stay the file's)."""
        if (current := self.current) is not None:
            current.body.append(raw if sql else _blank(raw))
            if sql:
                current.sql_lines.append(raw.removesuffix("\r"))

    def fail(self, what: str) -> LayoutError:
        return LayoutError(f"{self.path} line {self.index}: {what}.")

    def parse(self) -> list[_Changeset]:
        while self.index < len(self.lines):
            raw = self.next_line()
            line = raw.removesuffix("\r")
            if _PROPERTY.fullmatch(line):
                raise self.fail("--property is not supported: write the value in the SQL")
            if ignore := _IGNORE_LINES.fullmatch(line):
                self.keep(raw, sql=False)
                self.ignore_lines(ignore[1])
            elif any(p.fullmatch(line) for p in _IGNORE_LINES_BAD):
                raise self.fail("write --ignoreLines:<count|start|end>")
            elif found := _CHANGESET.fullmatch(line):
                self.start_changeset(found, line)
            elif any(p.fullmatch(line) for p in _CHANGESET_BAD):
                raise self.fail("write --changeset <author>:<id>")
            elif self.current is None:
                self.outside(line)
            else:
                self.inside(raw, line)
        return self.changesets

    def ignore_lines(self, how: str) -> None:
        if how == "start":
            while self.index < len(self.lines):
                skipped = self.next_line()
                self.keep(skipped, sql=False)
                end = _IGNORE_LINES.fullmatch(skipped.removesuffix("\r"))
                if end and end[1] == "end":
                    return
        elif how.isdigit():
            for _ in range(min(int(how), len(self.lines) - self.index)):
                self.keep(self.next_line(), sql=False)
        else:
            raise self.fail(f"unknown ignoreLines:{how}: use start, end or a count")

    def start_changeset(self, found: re.Match[str], line: str) -> None:
        author, change_id = _strip_quotes(found[1].strip()), _strip_quotes(found[2])
        if not change_id.replace(":", "").replace(" ", ""):
            raise self.fail("the changeset id is empty: give it one")
        self.changesets.append(_Changeset(self.path, self.index, author, change_id, line))

    def outside(self, line: str) -> None:
        if _COMMENT.fullmatch(line):
            raise self.fail("a --comment line outside any changeset: move it into one")
        if line.strip() and not line.strip().startswith("--") and self.stray is None:
            self.stray = self.index

    def inside(self, raw: str, line: str) -> None:
        current = self.current
        assert current is not None
        if _COMMENT.fullmatch(line) or _CHECKSUM.fullmatch(line) or _ROLLBACK.fullmatch(line):
            self.keep(raw, sql=False)
        elif any(p.fullmatch(line) for p in (*_COMMENT_BAD, _CHECKSUM_BAD, _ROLLBACK_BAD)):
            raise self.fail(
                f"a malformed Liquibase line {line.strip()!r}: write it as Liquibase expects"
            )
        elif _ROLLBACK_START.fullmatch(line):
            self.keep(raw, sql=False)
            while self.index < len(self.lines):
                inner = self.next_line()
                self.keep(inner, sql=False)
                if _ROLLBACK_END.fullmatch(inner.removesuffix("\r")):
                    break
        elif _PRECONDITION.fullmatch(line):
            raise current.fail_unsupported(
                "a precondition", "remove it, or make the SQL itself idempotent (IF NOT EXISTS)"
            )
        else:
            self.keep(raw, sql=True)


def _parse_file(path: str, text: str, warnings: list[str]) -> list[_Changeset]:
    """The file's changesets; a warning for SQL before the first one, which never runs."""
    parser_ = _FileParser(path, text)
    changesets = parser_.parse()
    if parser_.stray is not None:
        warnings.append(
            f"{path} line {parser_.stray}: SQL before the first --changeset is not run "
            "(Liquibase ignores it)."
        )
    return changesets


def _migration(changeset: _Changeset, raw: bytes, logical_path: str) -> Migration | None:
    """The changeset as a migration; None when Liquibase would skip it here."""
    line = changeset.attributes
    for name in ("context", "contextFilter", "labels"):
        value = _attribute(line, name, r"(\".*?\"|\S*)")
        if value and _strip_quotes(value).strip():
            raise changeset.fail_unsupported(
                f"{name}:{value}", f"remove {name}: (every changeset runs here)"
            )
    run_with = _attribute(line, "runWith", r"([\w\$\{\}]+)")
    if (run_with and run_with.lower() != "jdbc") or _attribute(line, "runWithSpoolFile", r"(.*)"):
        raise changeset.fail_unsupported(
            f"runWith:{run_with}", "remove it (SQL runs over JDBC here)"
        )
    if not changeset.flag("failOnError", default=True):
        raise changeset.fail_unsupported(
            "failOnError:false", "remove it (a failing changeset stops the run)"
        )
    if changeset.flag("ignore", default=False) or not _runs_on_postgresql(
        _attribute(line, "dbms", r"([^,][\w!,]+)")
    ):
        return None
    sql_text = "\n".join(changeset.sql_lines).strip()
    if not sql_text:
        raise LayoutError(
            f"{changeset.label} has no SQL (Liquibase refuses it too): add its SQL or remove it."
        )
    body = "\n".join(changeset.body)
    delimiter = _attribute(line, r"\bendDelimiter", r"(\S*)") or ""
    body = apply_delimiter(body, delimiter, changeset.label)
    run_on_change = changeset.flag("runOnChange", default=False)
    run_always = changeset.flag("runAlways", default=False)
    tool = ToolMeta(
        Layout.LIQUIBASE.value,
        script=logical_path,
        raw=raw,
        text=sql_text,
        extra={"id": changeset.id, "author": changeset.author, "filename": logical_path},
    )
    return migration(
        changeset.path,
        f"{changeset.path}::{changeset.id}::{changeset.author}",
        Kind.REPEATABLE if run_on_change or run_always else Kind.VERSIONED,
        body + "\n",
        line_offset=changeset.line,
        no_transaction=not changeset.flag("runInTransaction", default=True),
        tool=tool,
        run_always=run_always,
    )


def read(source: SourceFiles) -> Reading:
    for path in source.paths():
        if (
            path.lower().endswith(_CHANGELOG_SUFFIXES)
            and b"databaseChangeLog" in source.files[path]
        ):
            raise LayoutError(
                f"{path} is a Liquibase XML/YAML/JSON changelog, which is not read here (only "
                "formatted SQL files, run in path order): convert it or remove it."
            )
    warnings: list[str] = []
    found: list[Migration] = []
    seen: dict[tuple[str, str, str], str] = {}
    for path in sorted(sql_files(source)):
        raw = source.files[path]
        text = text_of(raw, path)
        if not is_formatted(text):
            raise LayoutError(
                f"{path} is not Liquibase formatted SQL: make '--liquibase formatted sql' its "
                "first line, or move it out of the folder."
            )
        header = next(line for line in lines_of(text) if line.strip())
        logical = _attribute(header, "logicalFilePath", r"(\S*)") or path
        for changeset in _parse_file(path, text, warnings):
            logical_path = _attribute(changeset.attributes, "logicalFilePath", r"(\S*)") or logical
            key = (logical_path, changeset.id, changeset.author)
            if key in seen:
                raise LayoutError(
                    f"{changeset.label} repeats the changeset of {seen[key]}: give it another id."
                )
            seen[key] = changeset.label
            if (m := _migration(changeset, raw, logical_path)) is not None:
                found.append(m)
    return Reading(Layout.LIQUIBASE, check_unique(found), warnings=warnings)
