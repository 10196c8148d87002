"""``Migration.transactional`` without pglast: the word test agrees with the parser's split.

``statements.might_not_be_transactional`` is a cheap test that runs before
pglast is loaded: when it says no, the split would find the script
transactional and leave its text whole. When it says yes, the split decides.
"""

from __future__ import annotations

import pytest

from provider.migrations import statements
from provider.migrations.model import Kind, Migration

PLAIN = [
    "CREATE TABLE accounts (id int PRIMARY KEY, name text NOT NULL);",
    "INSERT INTO accounts VALUES (1, 'x'); UPDATE accounts SET name = 'y';",
    "ALTER TABLE accounts ADD COLUMN starts_at timestamptz, ADD COLUMN ended bool;",
    "CREATE INDEX accounts_name ON accounts (name); -- appended later",
    "CREATE VIEW v AS SELECT id AS ending, 1 AS begin_x FROM accounts;",
    "",
]
FLAGGED = [
    "CREATE INDEX CONCURRENTLY a_name ON accounts (name);",
    "begin; CREATE TABLE t (id int); commit;",
    "VACUUM accounts;",
    "Vacuum accounts;",
    "SELECT CASE WHEN true THEN 1 END;",
    "DO $$ BEGIN PERFORM 1; END $$;",
    "CREATE DATABASE other;",
    "ALTER SYSTEM SET work_mem = '8MB';",
    "SELECT 1;\nCOMMIT;",
    "REINDEX TABLE accounts;",
    "CLUSTER;",
    "/* start */ SELECT 1;",
]


@pytest.mark.parametrize("sql", PLAIN)
def test_a_script_without_trigger_words_is_what_the_split_says(sql: str) -> None:
    assert not statements.might_not_be_transactional(sql)
    script = statements.split(sql)
    assert script.non_transactional is None
    assert script.text == sql


@pytest.mark.parametrize("sql", FLAGGED)
def test_a_trigger_word_leaves_the_decision_to_the_split(sql: str) -> None:
    assert statements.might_not_be_transactional(sql)


@pytest.mark.parametrize("sql", PLAIN + FLAGGED)
def test_transactional_is_the_splits_answer_either_way(sql: str) -> None:
    migration = Migration("V1__a.sql", "1", Kind.VERSIONED, sql)
    assert migration.transactional is (statements.split(sql).non_transactional is None)
