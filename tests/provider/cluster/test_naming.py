"""Identifier normalization and derivation (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from provider.cluster import naming
from provider.common import boundary


def test_a_branch_name_becomes_a_valid_identifier() -> None:
    assert naming.normalize("feature/ABC-123_Login") == "feature-abc-123-login"


def test_runs_of_other_characters_become_one_hyphen() -> None:
    assert naming.normalize("a__b//c--d") == "a-b-c-d"


def test_leading_digits_and_hyphens_are_dropped_so_it_starts_with_a_letter() -> None:
    assert naming.normalize("123-_db") == "db"


def test_a_trailing_hyphen_is_dropped() -> None:
    assert naming.normalize("db-") == "db"


def test_a_name_without_letters_normalizes_to_nothing() -> None:
    assert naming.normalize("123_-/") == ""


def test_a_long_name_is_cut_to_52_characters_and_keeps_a_hash() -> None:
    name = naming.normalize("x" * 80)
    assert len(name) == 52
    assert name == "x" * 45 + "-" + naming.short_hash("x" * 80)


def test_two_long_names_with_a_common_prefix_stay_distinct() -> None:
    prefix = "branch-" * 10
    assert naming.normalize(prefix + "one") != naming.normalize(prefix + "two")


def test_the_writer_instance_of_the_longest_name_fits_rds_63_characters() -> None:
    assert len(naming.writer_instance(naming.normalize("a" * 200))) <= 63


@given(st.text(max_size=120))
def test_every_normalized_name_is_valid_or_empty(text: str) -> None:
    name = naming.normalize(text)
    assert name == "" or (naming.is_valid(name) and len(name) <= naming.MAX_LENGTH)


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80), st.uuids())
def test_every_derived_identifier_is_valid(stack: str, logical: str, request: object) -> None:
    identifier = naming.derive(stack, logical, str(request))
    assert naming.is_valid(identifier) and len(identifier) <= naming.MAX_LENGTH


def test_a_redelivered_request_derives_the_same_identifier() -> None:
    assert naming.derive("app", "Db", "req-1") == naming.derive("app", "Db", "req-1")


def test_a_replacement_request_derives_a_new_identifier() -> None:
    assert naming.derive("app", "Db", "req-1") != naming.derive("app", "Db", "req-2")


def test_a_derived_identifier_reads_as_stack_and_logical_id() -> None:
    assert naming.derive("My_App", "Db", "req").startswith("my-app-db-")


def test_the_stack_name_is_read_from_a_stack_arn() -> None:
    arn = "arn:aws:cloudformation:us-east-1:123456789012:stack/my-app/0d3e-11"
    assert naming.stack_name(arn) == "my-app"


def test_a_failed_create_id_is_not_a_cluster_identifier() -> None:
    assert not naming.is_valid(boundary.create_failed_id("req-1"))


def test_ownership_needs_both_stack_and_logical_id() -> None:
    tags = naming.ownership_tags("stack-a", "Db")
    assert naming.is_owned(tags, "stack-a", "Db")
    assert not naming.is_owned(tags, "stack-b", "Db")
    assert not naming.is_owned(tags, "stack-a", "Other")
    assert not naming.is_owned({}, "stack-a", "Db")
