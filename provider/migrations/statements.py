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
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pglast import ast, enums, parser

NO_TRANSACTION_DIRECTIVE = "-- aurora-express:no-transaction"


@dataclass(frozen=True, slots=True)  # slots: a 15 MB seed file holds 200,000 of them
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


# Words without which no statement needs classifying: the common statement
# (CREATE TABLE, INSERT, ...) skips its parse. A cheap search of the statement's
# text, a superset of the lexer's tokens (a word in a string or comment only costs
# a parse). SAVEPOINT, RELEASE and PREPARE TRANSACTION are transaction control
# only beside another of these words (as when the whole script was scanned).
_TRIGGERS = re.compile(
    r"\b(?:CONCURRENTLY|VACUUM|REINDEX|CLUSTER|DATABASE|SYSTEM|TABLESPACE|SUBSCRIPTION"
    r"|BEGIN|START|COMMIT|END|ROLLBACK|ABORT)\b",
    re.IGNORECASE,
)
_TRANSACTION_ONLY = re.compile(r"\b(?:SAVEPOINT|RELEASE|PREPARE)\b", re.IGNORECASE)

# The parser holds a script's whole tree at once (about 20 bytes a byte of SQL) and
# the scanner's tokens as Python objects cost more (about 80): both work on pieces
# of about this many characters, cut where a statement starts.
CHUNK_CHARS = 512 * 1024


def split(text: str) -> Script:
    """``text`` split into classified statements; a single BEGIN ... COMMIT wrapper removed."""
    if not text or text.isspace():
        return Script(text, ())
    slices = _slices(text)
    anywhere = _TRIGGERS.search(text) is not None
    statements = tuple(_statement(text, s, anywhere=anywhere) for s in slices)
    return _unwrap(Script(text, statements))


def _statement(text: str, where: slice, *, anywhere: bool) -> Statement:
    body = text[where]
    if _TRIGGERS.search(body) or (anywhere and _TRANSACTION_ONLY.search(body)):
        return _classify(body, where.start)
    return Statement(body, where.start)


def _slices(text: str) -> list[slice]:
    """The statements' places: the parser's split, piece by piece; the scanner's if it fails."""
    try:
        cuts = _cuts(text)
    except parser.ParseError:
        stripped = text.strip()
        if not stripped:
            return []
        start = text.index(stripped[0])
        return [slice(start, start + len(stripped))]
    try:
        return _by_pieces(text, cuts, _parser_slices)
    except parser.ParseError:
        pass
    try:
        return _by_pieces(text, cuts, _scanner_slices, grow=False)
    except parser.ParseError:
        stripped = text.strip()
        start = text.index(stripped[0])
        return [slice(start, start + len(stripped))]


def _cuts(text: str) -> list[int]:
    """Offsets where pieces may start: each a statement's start, right after a top-level ``;``.

    libpg_query's scanner split is cheap (no tree, no Python token objects); its
    statements are only used as places to cut, never as the split itself (it
    drops a statement without a keyword, and cuts inside ``BEGIN ATOMIC``, which
    the parser, growing a piece until it parses, gets right).
    """
    cuts = [0]
    for where in parser.split(text, with_parser=False, only_slices=True):
        if where.start - cuts[-1] >= CHUNK_CHARS:
            cuts.append(where.start)
    cuts.append(len(text))
    return cuts


def _by_pieces(
    text: str, cuts: list[int], splitter: Callable[[str], list[slice]], *, grow: bool = True
) -> list[slice]:
    """``splitter`` applied to the pieces between ``cuts``, offsets made the text's.

    With ``grow``, a piece that fails is tried again with twice as many pieces
    after it (a cut inside ``BEGIN ATOMIC`` or a rule's actions fails to parse);
    ``ParseError`` once it fails to the end of the text.
    """
    found: list[slice] = []
    i = 0
    while i < len(cuts) - 1:
        step = 1
        while True:
            j = min(i + step, len(cuts) - 1)
            start = cuts[i]
            try:
                pieces = splitter(text[start : cuts[j]])
                break
            except parser.ParseError:
                if not grow or j == len(cuts) - 1:
                    raise
                step *= 2
        found.extend(slice(s.start + start, s.stop + start) for s in pieces)
        i = j
    return found


def _parser_slices(text: str) -> list[slice]:
    return list(parser.split(text, with_parser=True, only_slices=True))


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
