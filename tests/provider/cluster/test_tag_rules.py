"""Tags RDS would refuse fail before any call, naming Tags and the offending key."""

from __future__ import annotations

from typing import Any

import pytest

from provider.cluster import tag_rules
from provider.cluster.properties import MAX_USER_TAGS, parse
from provider.common.errors import InvalidProperty

TOKEN = {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f"}


def refusal(tags: list[dict[str, Any]]) -> InvalidProperty:
    with pytest.raises(InvalidProperty) as caught:
        parse({**TOKEN, "Tags": tags})
    assert caught.value.prop == "Tags"
    assert caught.value.reason.startswith("Property Tags: ")
    assert len(caught.value.reason) < 240
    return caught.value


@pytest.mark.parametrize(
    ("tag", "named", "says"),
    [
        ({"Key": "k" * 129, "Value": ""}, "kkkk", "129 characters"),
        ({"Key": "team", "Value": "v" * 257}, "'team'", "257 characters"),
        ({"Key": "cost$center", "Value": "x"}, "'cost$center'", "'$'"),
        ({"Key": "team", "Value": "a,b"}, "'team'", "','"),
        ({"Key": "team", "Value": "tab\there"}, "'team'", "U+0009"),
        ({"Key": "team", "Value": "line\nbreak"}, "'team'", "U+000A"),
        ({"Key": "aws:owner", "Value": "x"}, "'aws:owner'", "'aws:'"),
        ({"Key": "AWS:Owner", "Value": "x"}, "'AWS:Owner'", "'AWS:'"),
        ({"Key": "rds:x", "Value": "x"}, "'rds:x'", "'rds:'"),
        ({"Key": "owner", "Value": "aws:me"}, "'owner'", "value"),
        ({"Key": "aurora-express:stack-id", "Value": "x"}, "'aurora-express:stack-id'", "reserved"),
        ({"Key": "", "Value": "x"}, "empty", "1 to 128"),
    ],
)
def test_a_tag_rds_refuses_is_refused_naming_its_key(
    tag: dict[str, str], named: str, says: str
) -> None:
    reason = refusal([{"Key": "fine", "Value": "ok"}, tag]).reason
    assert "item 1" in reason
    assert named in reason
    assert says in reason


def test_letters_digits_spaces_and_the_allowed_symbols_of_any_script_are_kept() -> None:
    tags = [
        {"Key": "équipe données", "Value": "δ ü 東京 ① ٣"},
        {"Key": "a_b.c:d/e=f+g-h@i", "Value": ""},
        {"Key": "k" * 128, "Value": "v" * 256},
        {"Key": "non\u00a0breaking", "Value": "ideographic\u3000space"},
    ]
    assert list(parse({**TOKEN, "Tags": tags}).user_tags) == [t["Key"] for t in tags]


def test_lengths_are_counted_in_characters_not_bytes() -> None:
    tags = [{"Key": "é" * 128, "Value": "東" * 256}]
    assert parse({**TOKEN, "Tags": tags}).user_tags == {"é" * 128: "東" * 256}


def test_a_duplicate_key_is_refused_naming_it() -> None:
    reason = refusal([{"Key": "team", "Value": "a"}, {"Key": "team", "Value": "b"}]).reason
    assert "'team'" in reason and "more than once" in reason


def test_more_tags_than_rds_leaves_room_for_are_refused() -> None:
    assert MAX_USER_TAGS + 4 == tag_rules.RDS_MAX_TAGS
    tags = [{"Key": f"k{i}", "Value": ""} for i in range(MAX_USER_TAGS + 1)]
    assert str(MAX_USER_TAGS) in refusal(tags).reason


def test_the_rule_is_a_pure_decision() -> None:
    assert tag_rules.problem("team", "data") is None
    assert tag_rules.problem("team", "") is None
    assert tag_rules.problem("x:y", "ok", reserved=("x:",)) is not None
    assert not tag_rules.allowed("\t") and tag_rules.allowed("\u2028")
