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

A script the parser rejects is split by the scanner alone (the server will
report the syntax error with its position); one the scanner rejects is kept
whole.

pglast (libpg_query, ~20 ms to import) is imported by the first split, not
with this module: reading a folder, its checksums and a plan of migrations
already applied need no split (``might_not_be_transactional`` answers the
common case without it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pglast import ast

NO_TRANSACTION_DIRECTIVE = "-- aurora-express:no-transaction"


@dataclass(frozen=True)
class Statement:
    """One statement: its text, its start (character offset) and why it is special, if it is."""

    text: str
    start: int
    non_transactional: str | None = None
    transaction_control: str | None = None


@dataclass(frozen=True)
class Script:
    """A script, split: ``text`` keeps every offset of the original (unwrapping blanks it out)."""

    text: str
    statements: tuple[Statement, ...]

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
        "SUBSCRIPTION", "BEGIN_P", "START", "COMMIT", "END_P", "ROLLBACK", "ABORT_P",
    }
)  # fmt: skip


# The words behind _TRIGGERS wherever they are not inside a longer identifier
# (comments and strings too): a superset of the lexer's keyword tokens, found
# without pglast. Not after a letter or _, not before a letter, digit, _ or $.
_TRIGGER_WORDS = re.compile(
    r"(?<![^\W\d])"
    r"(?:concurrently|vacuum|reindex|cluster|database|system|tablespace|subscription"
    r"|begin|start|commit|end|rollback|abort)"
    r"(?![\w$])",
    re.IGNORECASE,
)


def might_not_be_transactional(text: str) -> bool:
    """False when no statement of ``text`` can need classifying: ``split`` would find it
    transactional, no wrapper to remove. A cheap test that runs before pglast is loaded."""
    return _TRIGGER_WORDS.search(text) is not None


def split(text: str) -> Script:
    """``text`` split into classified statements; a single BEGIN ... COMMIT wrapper removed."""
    from pglast import parser  # noqa: PLC0415 (see the module's docstring)

    slices = _slices(text)
    try:
        worth_parsing = not _TRIGGERS.isdisjoint(t.name for t in parser.scan(text))
    except parser.ParseError:
        worth_parsing = True
    statements = tuple(
        _classify(text[s], s.start) if worth_parsing else Statement(text[s], s.start)
        for s in slices
    )
    return _unwrap(Script(text, statements))


def _slices(text: str) -> list[slice]:
    from pglast import parser  # noqa: PLC0415

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
    from pglast import parser  # noqa: PLC0415

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
    from pglast import ast, parser  # noqa: PLC0415

    try:
        parsed = parser.parse_sql(text)
    except parser.ParseError:
        return Statement(text, start)
    if len(parsed) != 1:
        return Statement(text, start)
    node = parsed[0].stmt
    if isinstance(node, ast.TransactionStmt):
        return Statement(text, start, transaction_control=_transaction_word(node))
    return Statement(text, start, non_transactional=_why_not_in_transaction(node))


def _transaction_word(node: ast.TransactionStmt) -> str:
    from pglast import enums  # noqa: PLC0415

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
    from pglast import ast, enums  # noqa: PLC0415

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
