"""What a migration is, whatever tool wrote it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from provider.migrations import statements


class Kind(StrEnum):
    VERSIONED = "versioned"
    REPEATABLE = "repeatable"
    SEED = "seed"


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def checksum(text: str) -> str:
    """sha256 of ``text`` with line endings normalized (a CRLF checkout is no change).

    Only the checksum is line-ending-insensitive: the text that runs keeps its
    CR/LF as written (a CR inside a string literal is data).
    """
    return hashlib.sha256(normalize_newlines(text).encode()).hexdigest()


@dataclass(frozen=True)
class DrizzleMeta:
    """What drizzle's own history table records: sha256 of the raw file, the journal's ``when``."""

    hash: str
    created_at: int


@dataclass(frozen=True)
class ToolMeta:
    """What the folder's own tool knows a migration by, for that tool's history table.

    ``layout`` is the layout's name; ``version``, ``description`` and
    ``script`` are as the tool writes them (Flyway's script path, Prisma's
    folder name, Liquibase's logical file path, sqitch's change name);
    ``raw`` is the file's bytes (the tools that hash the file hash these);
    ``text``, when set, is the text as the tool itself assembles it (a
    Liquibase changeset's SQL lines); ``extra`` holds the rest (Liquibase's
    ``id``/``author``, sqitch's ``change_id``/``project``/``planner``...).
    """

    layout: str
    version: str | None = None
    description: str = ""
    script: str = ""
    raw: bytes = b""
    text: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Migration:
    """One migration or seed, ready to run.

    ``name`` is the file's path in its source (what failure reasons name);
    ``version`` is the canonical version (None for repeatables and seeds);
    ``sql`` is what runs, ``line_offset`` the lines of the file before it (so
    an error's line is the file's line); ``declared_no_transaction`` is set by
    the contract's directive or the tool's own (dbmate's ``transaction:false``,
    goose's ``NO TRANSACTION``, ...). ``checksum_text``, when set, is what the
    checksum covers instead of ``sql`` (Flyway's text before its placeholders
    are replaced, so a new placeholder value is no change); ``run_always``
    makes a repeatable run on every run (Liquibase's ``runAlways``).
    """

    name: str
    version: str | None
    kind: Kind
    sql: str
    line_offset: int = 0
    declared_no_transaction: bool = False
    drizzle: DrizzleMeta | None = None
    tool: ToolMeta | None = None
    checksum_text: str | None = None
    run_always: bool = False

    @cached_property
    def checksum(self) -> str:
        return checksum(self.sql if self.checksum_text is None else self.checksum_text)

    @cached_property
    def script(self) -> statements.Script:
        return statements.split(self.sql)

    @property
    def identity(self) -> str:
        """The key its history rows share: the version, or the name when it has none."""
        return self.version if self.version is not None else self.name

    @property
    def transactional(self) -> bool:
        if self.declared_no_transaction:
            return False
        if not statements.might_not_be_transactional(self.sql):
            return True  # what the split would say, without loading the parser
        return self.script.non_transactional is None

    def file_line(self, offset: int) -> int:
        """The line in the file of character ``offset`` of ``sql``."""
        return self.line_offset + statements.line_of(self.sql, offset)
