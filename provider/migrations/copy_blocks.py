"""Find the data blocks of ``COPY ... FROM stdin`` and psql meta-commands in a script (pure).

pg_dump writes table data as ``COPY schema.table (cols) FROM stdin;`` followed
by the rows, one a line, up to a line ``\\.``. The rows are not SQL (a lone
quote, a tab, ``\\N``), so they must be cut out before the script is split.
A header is recognised only where the lexer is outside any literal or
comment: a line ending in ``;`` whose statement parses as ``COPY ... FROM
STDIN``. Lines starting with a backslash anywhere else are psql commands
(``\\copy``, ``\\connect``, ``\\set``, a stray ``\\.``), which the engine does
not run: they are refused. pg_dump's own ``\\restrict``/``\\unrestrict``
lines only switch off psql's meta-commands, which never run here, so they are
blanked out.

The text handed on keeps every offset (and line) of the original: blocks and
blanked lines become spaces, their newlines kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pglast import ast

_ANY_BACKSLASH_LINE = re.compile(r"^[ \t]*\\", re.M)
_TERMINATOR = re.compile(r"^\\\.[ \t]*\r?$", re.M)
# A line that may end a COPY header: ``;`` last, or before a line comment.
_STATEMENT_END = re.compile(r";[ \t\r]*(?:--[^\n]*)?$", re.M)
_PG_DUMP_GUARD = re.compile(r"^\\(?:un)?restrict(?:[ \t]+[^\s\\]*)?[ \t]*\r?$", re.M)
_STDIN = re.compile("stdin", re.I)
_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})
_WORD = re.compile(r"\\([A-Za-z!?;.]*)")


@dataclass(frozen=True)
class Block:
    """One COPY data block: ``data`` as written (each row with its line end), from ``start``."""

    header_end: int  # offset of the header's ``;``
    start: int
    data: str
    end: int  # offset just past the terminator line


@dataclass(frozen=True)
class Found:
    """``text`` with blocks and pg_dump guard lines blanked; the blocks; the first refusal."""

    text: str
    blocks: tuple[Block, ...] = ()
    refusal: tuple[int, str] | None = None  # (offset, what is wrong and what to change)


def find(text: str) -> Found:
    """The COPY data blocks of ``text`` and the first meta-command outside them, if any."""
    if not _ANY_BACKSLASH_LINE.search(text):
        return Found(text)  # the common script: no block, no meta-command
    blocks = _blocks(text)
    blanked = _blank(text, [(b.start, b.end) for b in blocks])
    guards = [(m.start(), m.end()) for m in _PG_DUMP_GUARD.finditer(blanked)]
    blanked = _blank(blanked, guards)
    return Found(blanked, tuple(blocks), _first_meta_command(blanked, blocks))


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    parts: list[str] = []
    at = 0
    for start, end in spans:
        parts.append(text[at:start])
        parts.append("\n".join(" " * len(line) for line in text[start:end].split("\n")))
        at = end
    parts.append(text[at:])
    return "".join(parts)


def _spaces(match: re.Match[str]) -> str:
    return " " * len(match.group(0))


def _blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    pos = 0  # the lexer is outside any literal here
    search_from = 0
    while (terminator := _TERMINATOR.search(text, search_from)) is not None:
        header = _header(text, pos, terminator.start())
        if header is None:
            search_from = terminator.end()  # a stray ``\.`` (or one in a literal)
            continue
        semicolon, data_start = header
        end = terminator.end() + 1 if terminator.end() < len(text) else terminator.end()
        data = text[data_start : terminator.start()]
        blocks.append(Block(semicolon, data_start, data, end))
        pos = search_from = end
    return blocks


def _header(text: str, pos: int, limit: int) -> tuple[int, int] | None:
    """(offset of its ``;``, start of the data) of the first COPY FROM STDIN header in
    ``text[pos:limit]``; None when there is none."""
    from pglast import parser  # noqa: PLC0415 (loaded only for a script with backslash lines)

    boundary = pos
    stdin = _stdin(text, boundary, limit)  # no header without the word
    for candidate in _STATEMENT_END.finditer(text, pos, limit):
        line_end = candidate.end()
        if stdin < 0:
            return None
        if stdin >= line_end:
            continue
        try:
            region = _PG_DUMP_GUARD.sub(_spaces, text[boundary:line_end])
            tokens = [t for t in parser.scan(region) if t.name not in _COMMENTS]
        except parser.ParseError:
            continue  # inside a string, a dollar quote or a comment
        ends = [i for i, t in enumerate(tokens) if t.name == "ASCII_59"]
        if not ends or ends[-1] != len(tokens) - 1:
            continue
        last = ends[-1]
        first = ends[-2] + 1 if len(ends) > 1 else 0
        semicolon = boundary + tokens[last].start
        statement = text[boundary + tokens[first].start : semicolon] if first < last else ""
        line_start = text.rfind("\n", 0, line_end) + 1
        if semicolon >= line_start and is_copy_from_stdin(statement):
            data_start = line_end + 1 if line_end < len(text) else line_end
            return semicolon, data_start
        boundary = semicolon + 1
        stdin = _stdin(text, boundary, limit)
    return None


def _stdin(text: str, start: int, end: int) -> int:
    found = _STDIN.search(text, start, end)
    return found.start() if found else -1


def is_copy_from_stdin(statement: str) -> bool:
    """True for one ``COPY ... FROM STDIN`` statement."""
    from pglast import parser  # noqa: PLC0415 (loaded only for a script with backslash lines)

    if "stdin" not in statement.lower():
        return False
    try:
        parsed = parser.parse_sql(statement)
    except parser.ParseError:
        return False
    return len(parsed) == 1 and from_stdin(parsed[0].stmt)


def from_stdin(node: ast.Node | None) -> bool:
    from pglast import ast  # noqa: PLC0415 (pglast is loaded by the split that calls this)

    return (
        isinstance(node, ast.CopyStmt)
        and bool(node.is_from)
        and not node.is_program
        and node.filename is None
    )


def to_stdout(node: ast.Node | None) -> bool:
    from pglast import ast  # noqa: PLC0415 (pglast is loaded by the split that calls this)

    return (
        isinstance(node, ast.CopyStmt)
        and not node.is_from
        and not node.is_program
        and node.filename is None
    )


def _first_meta_command(blanked: str, blocks: list[Block]) -> tuple[int, str] | None:
    from pglast import parser  # noqa: PLC0415 (loaded only for a script with backslash lines)

    clean = 0  # the lexer is outside any literal here
    ends = [b.end for b in blocks]
    for match in _ANY_BACKSLASH_LINE.finditer(blanked):
        line_start = match.start()
        clean = max([clean, *(e for e in ends if e <= line_start)])
        try:
            parser.scan(blanked[clean:line_start])
        except parser.ParseError:
            continue  # the line is inside a string, a dollar quote or a comment
        return match.end() - 1, _meta_problem(blanked, match.end() - 1)
    return None


def _meta_problem(text: str, offset: int) -> str:
    found = _WORD.match(text, offset)
    command = "\\" + (found.group(1) if found else "")
    if command == "\\.":
        return (
            "a line \\. ends COPY data, but no COPY ... FROM stdin; line comes before it: "
            "put the COPY header (ending in ';' on its line) before the data, or remove the line"
        )
    if command.lower() == "\\copy":
        return (
            "\\copy is a psql command, which migrations cannot run (they are SQL): write "
            "COPY ... FROM stdin; with the rows after it and a line \\. (as pg_dump does), "
            "or INSERT statements"
        )
    return (
        f"{command} is a psql meta-command, which migrations cannot run (they are SQL "
        "only): remove the line or write it as SQL"
    )
