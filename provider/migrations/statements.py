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
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

from pglast import ast, enums, parser

from provider.migrations import copy_blocks

NO_TRANSACTION_DIRECTIVE = "-- aurora-express:no-transaction"


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Script:
    """A script, split: ``text`` keeps every offset of the original (unwrapping and COPY data
    blocks blank parts out); ``refusal`` says why it cannot run, if it cannot."""

    text: str
    statements: tuple[Statement, ...]
    refusal: Refusal | None = None

    @property
    def has_copy_data(self) -> bool:
        """True when a statement carries COPY rows (it runs as several messages)."""
        return any(s.copy_data is not None for s in self.statements)

    @property
    def non_transactional(self) -> str | None:
        """Why this script cannot run in one transaction, or None."""
        for statement in self.statements:
            if statement.non_transactional:
                return statement.non_transactional
        for statement in self.statements:
            if statement.transaction_control:
                return f"it controls transactions itself ({statement.transaction_control})"
        return None


def line_of(text: str, offset: int) -> int:
    """The 1-based line on which character ``offset`` of ``text`` lies."""
    return text.count("\n", 0, max(0, offset)) + 1


def has_no_transaction_directive(text: str) -> bool:
    """True when the first line is ``-- aurora-express:no-transaction``."""
    first = text.lstrip("\ufeff").split("\n", 1)[0].lower()
    return "".join(first.split()) == "".join(NO_TRANSACTION_DIRECTIVE.split())


# Lexer tokens without which no statement needs classifying: the common script
# (CREATE TABLE, INSERT, ...) skips the per-statement parse.
_TRIGGERS = frozenset(
    {
        "CONCURRENTLY", "VACUUM", "REINDEX", "CLUSTER", "DATABASE", "SYSTEM_P", "TABLESPACE",
        "SUBSCRIPTION", "BEGIN_P", "START", "COMMIT", "END_P", "ROLLBACK", "ABORT_P", "COPY",
    }
)  # fmt: skip


def split(text: str) -> Script:
    """``text`` split into classified statements; a single BEGIN ... COMMIT wrapper removed."""
    found = copy_blocks.find(text)
    text = found.text
    slices = _slices(text)
    try:
        worth_parsing = not _TRIGGERS.isdisjoint(t.name for t in parser.scan(text))
    except parser.ParseError:
        worth_parsing = True
    statements = tuple(
        _classify(text[s], s.start) if worth_parsing else Statement(text[s], s.start)
        for s in slices
    )
    statements = _with_data(statements, found.blocks)
    script = _unwrap(Script(text, statements))
    return replace(script, refusal=_refusal(script, found))


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


def _refusal(script: Script, found: copy_blocks.Found) -> Refusal | None:
    problems: list[Refusal] = []
    if found.refusal is not None:
        problems.append(Refusal(*found.refusal))
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


def _slices(text: str) -> list[slice]:
    try:
        return list(parser.split(text, with_parser=True, only_slices=True))
    except parser.ParseError:
        pass
    try:
        return _scanner_slices(text)
    except parser.ParseError:
        stripped = text.strip()
        if not stripped:
            return []
        start = text.index(stripped[0])
        return [slice(start, start + len(stripped))]


_COMMENTS = frozenset({"SQL_COMMENT", "C_COMMENT"})


def _scanner_slices(text: str) -> list[slice]:
    """Split at the lexer's ``;`` tokens (strings, dollar quotes and comments are whole tokens)."""
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


def _unwrap(script: Script) -> Script:
    """Blank out one outer BEGIN ... COMMIT (offsets kept), leaving the body to the engine."""
    statements = script.statements
    controls = [s for s in statements if s.transaction_control]
    if (
        len(statements) >= 2
        and len(controls) == 2
        and statements[0].transaction_control == "BEGIN"
        and statements[-1].transaction_control == "COMMIT"
    ):
        text = script.text
        for stmt in (statements[0], statements[-1]):
            end = stmt.start + len(stmt.text)
            # The statement's own ';' follows its slice; blank it too.
            if end < len(text) and text[end] == ";":
                end += 1
            text = text[: stmt.start] + " " * (end - stmt.start) + text[end:]
        return Script(text, statements[1:-1])
    return script
