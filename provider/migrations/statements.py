"""Split SQL scripts into statements with PostgreSQL's own grammar, and classify them.

Splitting uses pglast (libpg_query: the server's lexer and parser), never a
regex on ``;``, so dollar quotes, comments and strings survive. Each
statement is classified:

- ``non_transactional``: PostgreSQL refuses it inside a transaction block
  (``CREATE/DROP INDEX CONCURRENTLY``, ``VACUUM``, ``REINDEX ... CONCURRENTLY``
  or ``DATABASE/SCHEMA/SYSTEM``, ``CREATE/DROP DATABASE``, ``ALTER SYSTEM``,
  tablespaces, subscriptions, ``DETACH PARTITION ... CONCURRENTLY``, a
  ``CLUSTER`` of every table). Such a migration runs one statement at a time.
- ``transaction_control``: ``BEGIN``/``COMMIT``/... written in the file. A
  file wrapped in one ``BEGIN ... COMMIT`` is unwrapped (the engine opens its
  own transaction); any other use makes the file run statement by statement.

- ``copy_data``: a ``COPY ... FROM stdin`` carries the rows that follow it up
  to a line ``\\.`` (pg_dump's data blocks, see ``copy_blocks``); they are
  blanked out of ``Script.text``, so the rest splits as SQL.

What the engine cannot run is a ``Script.refusal`` (offset, problem): a psql
meta-command, a ``COPY ... FROM STDIN`` without its data, ``COPY ... TO
STDOUT``.

A script the parser rejects is split by the scanner alone (the server will
report the syntax error with its position); one the scanner rejects is kept
whole.

pglast (libpg_query, ~20 ms to import) is imported by the first split, not
with this module: reading a folder, its checksums and a plan of migrations
already applied need no split (``might_not_be_transactional`` answers the
common case without it).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from provider.migrations import copy_blocks

if TYPE_CHECKING:
    from pglast import ast

NO_TRANSACTION_DIRECTIVE = "-- aurora-express:no-transaction"


@dataclass(frozen=True, slots=True)  # slots: a seed file may hold 200,000 of them
class Statement:
    """One statement: its text, its start (character offset) and why it is special, if it is."""

    text: str
    start: int
    non_transactional: str | None = None
    transaction_control: str | None = None
    copy_data: CopyData | None = None
    copy_stdio: str | None = None  # "FROM STDIN" or "TO STDOUT" for such a COPY


@dataclass(frozen=True)
class CopyData:
    """The rows of a ``COPY ... FROM stdin`` as written, from offset ``start`` of the script."""

    text: str
    start: int


@dataclass(frozen=True)
class Refusal:
    """Why the script cannot run, at character ``offset``: what is wrong and what to change."""

    offset: int
    problem: str


@dataclass(frozen=True, eq=False)
class Script:
    """A script, split: ``text`` keeps every offset of the original (unwrapping and COPY data
    blocks blank parts out); ``refusal`` says why it cannot run, if it cannot.

    Its statements are made when first asked for: the engine sends most
    scripts whole, in one message, and a seed file of a million statements
    need not hold a million objects for that. What ``non_transactional``
    says is gathered in one pass when the script is split.
    """

    text: str
    original: str = field(repr=False)
    plan: _Plan = field(repr=False)
    unwrapped: bool = False
    why: str | None = None
    blocks: tuple[copy_blocks.Block, ...] = field(default=(), repr=False)
    found_refusal: tuple[int, str] | None = field(default=None, repr=False)

    @cached_property
    def statements(self) -> tuple[Statement, ...]:
        found = _with_data(tuple(_statements(self.original, self.plan)), self.blocks)
        return found[1:-1] if self.unwrapped else found

    @property
    def has_copy_data(self) -> bool:
        """True when a statement carries COPY rows (it runs as several messages)."""
        return bool(self.blocks) and any(s.copy_data is not None for s in self.statements)

    @cached_property
    def refusal(self) -> Refusal | None:
        """What the engine cannot run in this script (the first, by offset), or None."""
        if self.found_refusal is None and not _COPY_WORD.search(self.text):
            return None  # the common script: no COPY, no meta-command
        return _refusal(self, self.found_refusal)

    @property
    def non_transactional(self) -> str | None:
        """Why this script cannot run in one transaction, or None."""
        return self.why

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Script):
            return NotImplemented
        return (self.text, self.statements) == (other.text, other.statements)

    def __hash__(self) -> int:
        return hash(self.text)


def line_of(text: str, offset: int) -> int:
    """The 1-based line on which character ``offset`` of ``text`` lies."""
    return text.count("\n", 0, max(0, offset)) + 1


def has_no_transaction_directive(text: str) -> bool:
    """True when the first line is ``-- aurora-express:no-transaction``."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].lower()
    return "".join(first.split()) == "".join(NO_TRANSACTION_DIRECTIVE.split())


# Words without which no statement needs classifying: the common statement
# (CREATE TABLE, INSERT, ...) skips its parse. The words of the lexer's tokens
# that matter wherever they are not inside a longer identifier (comments and
# strings too): a superset of the tokens, found without pglast (a word in a
# string or comment only costs a parse). Not after a letter or _, not before a
# letter, digit, _ or $. SAVEPOINT, RELEASE and PREPARE TRANSACTION are
# transaction control only beside another of these words in the script.
_TRIGGER_WORDS = re.compile(
    r"(?<![^\W\d])"
    r"(?:concurrently|vacuum|reindex|cluster|database|system|tablespace|subscription"
    r"|begin|start|commit|end|rollback|abort)"
    r"(?![\w$])",
    re.IGNORECASE,
)
_COPY_WORD = re.compile(r"(?<![^\W\d])copy(?![\w$])", re.IGNORECASE)  # classified for STDIN/STDOUT
_TRANSACTION_ONLY = re.compile(r"\b(?:SAVEPOINT|RELEASE|PREPARE)\b", re.IGNORECASE)

# The parser holds a script's whole tree at once (about 20 bytes a byte of SQL) and
# the scanner's tokens as Python objects cost more (about 80): both work on pieces
# of about this many characters, cut where a statement starts.
CHUNK_CHARS = 512 * 1024


def might_not_be_transactional(text: str) -> bool:
    """False when no statement of ``text`` can need classifying: ``split`` would find it
    transactional, no wrapper to remove. A cheap test that runs before pglast is loaded."""
    return _TRIGGER_WORDS.search(text) is not None


def might_be_unrunnable(text: str) -> bool:
    """False when ``text`` cannot hold what ``Script.refusal`` refuses (a backslash line, a
    COPY to or from the client): the common migration needs no split to know it runs."""
    return "\\" in text or _COPY_WORD.search(text) is not None


def split(text: str) -> Script:
    """``text`` split into classified statements; a single BEGIN ... COMMIT wrapper removed."""
    found_blocks = copy_blocks.find(text)
    text = found_blocks.text
    plan = _plan(text)
    count = 0
    first = last = None
    controls: list[Statement] = []
    special: str | None = None
    for statement in _statements(text, plan):
        count += 1
        first = first or statement
        last = statement
        if statement.transaction_control:
            controls.append(statement)
        special = special or statement.non_transactional
    wrapped = (
        count >= 2
        and len(controls) == 2
        and first is controls[0]
        and last is controls[1]
        and controls[0].transaction_control == "BEGIN"
        and controls[1].transaction_control == "COMMIT"
    )
    if wrapped:
        body = _blank(text, controls)
        return Script(body, text, plan, True, special, found_blocks.blocks, found_blocks.refusal)
    why = special
    if why is None and controls:
        why = f"it controls transactions itself ({controls[0].transaction_control})"
    return Script(text, text, plan, False, why, found_blocks.blocks, found_blocks.refusal)


def _with_data(
    statements: tuple[Statement, ...], blocks: tuple[copy_blocks.Block, ...]
) -> tuple[Statement, ...]:
    """Each block given to its COPY: the last statement that starts before the block's ``;``."""
    if not blocks:
        return statements
    starts = [s.start for s in statements]
    attached = list(statements)
    for block in blocks:
        index = bisect.bisect_left(starts, block.header_end) - 1
        if index >= 0 and attached[index].copy_stdio == "FROM STDIN":
            data = CopyData(block.data, block.start)
            attached[index] = replace(attached[index], copy_data=data)
    return tuple(attached)


def _refusal(script: Script, found: tuple[int, str] | None) -> Refusal | None:
    problems: list[Refusal] = []
    if found is not None:
        problems.append(Refusal(*found))
    for s in script.statements:
        if s.copy_stdio == "TO STDOUT":
            problems.append(
                Refusal(
                    s.start,
                    "COPY ... TO STDOUT sends rows to the client, which a migration cannot "
                    "receive: remove it, or copy into a table with INSERT ... SELECT",
                )
            )
        elif s.copy_stdio == "FROM STDIN" and s.copy_data is None:
            problems.append(
                Refusal(
                    s.start,
                    "COPY ... FROM STDIN has no data: end its line with ';' and put the rows "
                    "after it, then a line \\. (as pg_dump writes them), or use INSERT",
                )
            )
    return min(problems, key=lambda r: r.offset) if problems else None


def _statement(text: str, where: slice, *, anywhere: bool) -> Statement:
    body = text[where]
    if (
        _TRIGGER_WORDS.search(body)
        or _COPY_WORD.search(body)
        or (anywhere and _TRANSACTION_ONLY.search(body))
    ):
        return _classify(body, where.start)
    return Statement(body, where.start)


def _statements(text: str, plan: _Plan) -> Iterator[Statement]:
    anywhere = _TRIGGER_WORDS.search(text) is not None
    for where in _spans(text, plan):
        yield _statement(text, where, anywhere=anywhere)


@dataclass(frozen=True)
class _Plan:
    """How a script is split: ``parser`` (the pieces between ``cuts`` parse), ``scanner``
    (some do not: the lexer's ``;`` tokens, as the server will report the error) or
    ``whole`` (the lexer rejects it: kept whole)."""

    how: str
    cuts: tuple[int, ...] = ()


def _plan(text: str) -> _Plan:
    from pglast import parser  # noqa: PLC0415 (see the module's docstring)

    if not text or text.isspace():
        return _Plan("parser", (0, len(text)))
    try:
        cuts = _cuts(text)
    except parser.ParseError:
        return _Plan("whole")
    try:
        return _Plan("parser", tuple(_parsing_cuts(text, cuts)))
    except parser.ParseError:
        return _Plan("scanner", tuple(cuts))


def _spans(text: str, plan: _Plan) -> Iterator[slice]:
    """The statements' places, a piece at a time."""
    if plan.how == "whole":
        stripped = text.strip()
        if stripped:
            start = text.index(stripped[0])
            yield slice(start, start + len(stripped))
        return
    splitter = _parser_slices if plan.how == "parser" else _scanner_slices
    for start, end in itertools.pairwise(plan.cuts):
        if text[start:end].isspace():
            continue
        for where in splitter(text[start:end]):
            yield slice(where.start + start, where.stop + start)


def _cuts(text: str) -> list[int]:
    """Offsets about CHUNK_CHARS apart where pieces may start: each a statement's start,
    right after a top-level ``;``; ``ParseError`` if the lexer rejects the text.

    libpg_query's scanner split (no tree, no Python token objects) of a window
    gives them; a window is grown while it ends inside a string or comment. Its
    statements are only places to cut, never the split itself: it drops a
    statement without a keyword, and cuts inside ``BEGIN ATOMIC`` (which the
    parser, growing a piece until it parses, gets right).
    """
    from pglast import parser  # noqa: PLC0415 (see the module's docstring)

    cuts = [0]
    while len(text) - cuts[-1] > CHUNK_CHARS:
        start, size = cuts[-1], 2 * CHUNK_CHARS
        while True:
            end = min(len(text), start + size)
            try:
                places = parser.split(text[start:end], with_parser=False, only_slices=True)
            except parser.ParseError:
                if end == len(text):
                    raise
                size *= 2
                continue
            later = next((p.start for p in places if p.start >= CHUNK_CHARS), None)
            if later is not None or end == len(text):
                break
            size *= 2
        if later is None:
            break  # the rest is one statement
        cuts.append(start + later)
    parser.split(text[cuts[-1] :], with_parser=False, only_slices=True)  # the lexer takes it
    cuts.append(len(text))
    return cuts


def _parsing_cuts(text: str, cuts: list[int]) -> list[int]:
    """``cuts`` less those whose pieces do not parse alone; ``ParseError`` if the text fails.

    A piece that fails is tried again with twice as many pieces after it (a cut
    inside ``BEGIN ATOMIC`` or a rule's actions fails to parse).
    """
    from pglast import parser  # noqa: PLC0415 (see the module's docstring)

    kept = [0]
    i = 0
    while i < len(cuts) - 1:
        step = 1
        while True:
            j = min(i + step, len(cuts) - 1)
            try:
                parser.split(text[cuts[i] : cuts[j]], with_parser=True, only_slices=True)
                break
            except parser.ParseError:
                if j == len(cuts) - 1:
                    raise
                step *= 2
        kept.append(cuts[j])
        i = j
    return kept


def _parser_slices(text: str) -> list[slice]:
    from pglast import parser  # noqa: PLC0415 (see the module's docstring)

    return list(parser.split(text, with_parser=True, only_slices=True))


_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})


def _scanner_slices(text: str) -> list[slice]:
    """Split at the lexer's ``;`` tokens (strings, dollar quotes and comments are whole tokens)."""
    from pglast import parser  # noqa: PLC0415 (see the module's docstring)

    slices: list[slice] = []
    start = end = None
    for token in parser.scan(text):
        if token.name == "ASCII_59":
            if start is not None and end is not None:
                slices.append(slice(start, end))
            start = end = None
        elif token.name not in _COMMENTS:
            start = token.start if start is None else start
            end = token.end + 1  # the scanner's ends are inclusive
    if start is not None and end is not None:
        slices.append(slice(start, end))
    return slices


def _classify(text: str, start: int) -> Statement:
    from pglast import ast, parser  # noqa: PLC0415 (see the module's docstring)

    try:
        parsed = parser.parse_sql(text)
    except parser.ParseError:
        return Statement(text, start)
    if len(parsed) != 1:
        return Statement(text, start)
    node = parsed[0].stmt
    if copy_blocks.from_stdin(node):
        return Statement(text, start, copy_stdio="FROM STDIN")
    if copy_blocks.to_stdout(node):
        return Statement(text, start, copy_stdio="TO STDOUT")
    if isinstance(node, ast.TransactionStmt):
        return Statement(text, start, transaction_control=_transaction_word(node))
    return Statement(text, start, non_transactional=_why_not_in_transaction(node))


def _transaction_word(node: ast.TransactionStmt) -> str:
    from pglast import enums  # noqa: PLC0415 (see the module's docstring)

    if node.kind is None:
        return "transaction control"
    kind = enums.TransactionStmtKind
    names = {
        kind.TRANS_STMT_BEGIN: "BEGIN",
        kind.TRANS_STMT_START: "BEGIN",
        kind.TRANS_STMT_COMMIT: "COMMIT",
        kind.TRANS_STMT_ROLLBACK: "ROLLBACK",
    }
    return names.get(node.kind, "transaction control")


def _options(params: object) -> set[str]:
    return {getattr(p, "defname", "") or "" for p in (params or ())}  # type: ignore[attr-defined]


def _why_not_in_transaction(node: ast.Node | None) -> str | None:  # noqa: PLR0911, PLR0912
    """The statement's name when PostgreSQL would refuse it in a transaction block."""
    from pglast import ast, enums  # noqa: PLC0415 (see the module's docstring)

    match node:
        case ast.IndexStmt(concurrent=True):
            return "CREATE INDEX CONCURRENTLY"
        case ast.DropStmt(concurrent=True):
            return "DROP INDEX CONCURRENTLY"
        case ast.ReindexStmt():
            reindex = enums.ReindexObjectType
            if "concurrently" in _options(node.params):
                return "REINDEX CONCURRENTLY"
            if node.kind in (
                reindex.REINDEX_OBJECT_DATABASE,
                reindex.REINDEX_OBJECT_SCHEMA,
                reindex.REINDEX_OBJECT_SYSTEM,
            ):
                return "REINDEX DATABASE/SCHEMA/SYSTEM"
            return None
        case ast.VacuumStmt(is_vacuumcmd=True):
            return "VACUUM"
        case ast.ClusterStmt(relation=None):
            return "CLUSTER"
        case ast.CreatedbStmt():
            return "CREATE DATABASE"
        case ast.DropdbStmt():
            return "DROP DATABASE"
        case ast.AlterDatabaseStmt() if "tablespace" in _options(node.options):
            return "ALTER DATABASE SET TABLESPACE"
        case ast.AlterSystemStmt():
            return "ALTER SYSTEM"
        case ast.CreateTableSpaceStmt():
            return "CREATE TABLESPACE"
        case ast.DropTableSpaceStmt():
            return "DROP TABLESPACE"
        case ast.CreateSubscriptionStmt():
            return "CREATE SUBSCRIPTION"
        case ast.DropSubscriptionStmt():
            return "DROP SUBSCRIPTION"
        case ast.AlterTableStmt():
            for cmd in node.cmds or ():
                if isinstance(getattr(cmd, "def_", None), ast.PartitionCmd) and getattr(
                    cmd.def_, "concurrent", False
                ):
                    return "DETACH PARTITION CONCURRENTLY"
            return None
    return None


def _blank(text: str, wrapper: list[Statement]) -> str:
    """``text`` with the outer BEGIN and COMMIT blanked out (offsets kept)."""
    for stmt in wrapper:
        end = stmt.start + len(stmt.text)
        # The statement's own ';' follows its slice; blank it too.
        if end < len(text) and text[end] == ";":
            end += 1
        text = text[: stmt.start] + " " * (end - stmt.start) + text[end:]
    return text
