"""Whether a refused poll's EventBridge rule is to be removed: pure decisions.

A poll whose sealed ResponseURL does not open (``seal.unseal``) is dropped
unanswered, but its rule would go on invoking the function every minute, and
the Lambda permission crhelper added for it would stay. When the refusal is
lasting (``seal.Refusal.lasting``: a later poll would be refused the same way)
and the event is provably the rule's own delivery, the rule, its target and
the permission are removed.

The proof: the rule the event names (``CrHelperRule``) is one of this
function's poll rules (its name starts with ``poll_rule_prefix``), and one of
its targets invokes this function with an Input that, parsed, equals the event
exactly. A forged event naming someone's genuine rule differs from that rule's
Input (the rule is only ever written by the provider), so it removes nothing:
no invoker can cancel another request's polls. A replay of a rule's exact Input
removes nothing a delivery of that Input would not have removed.

``rule_of`` and ``target_arn`` are also what ``CustomResource`` writes a
rule's target with, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from provider.common.seal import Refusal

TARGET_ID = "1"  # crhelper's, the only target a poll rule has
# A rule on the default event bus, as PutRule returns it (rule names: EventBridge's pattern).
_RULE_ARN = re.compile(
    r"arn:(?P<partition>[\w-]+):events:(?P<region>[\w-]+):(?P<account>\d{12}):"
    r"rule/(?P<name>[.\-_A-Za-z0-9]{1,64})"
)


@dataclass(frozen=True)
class Rule:
    """A poll rule, from the ARN a poll event names."""

    partition: str
    region: str
    account: str
    name: str


def rule_of(arn: object) -> Rule | None:
    """The rule ``arn`` names, or None when it is no ARN of a rule on the default bus."""
    found = _RULE_ARN.fullmatch(arn) if isinstance(arn, str) else None
    return Rule(**found.groupdict()) if found else None


def target_arn(rule: Rule, function_name: str) -> str:
    """The function a poll rule's target invokes (crhelper's: the function itself)."""
    return f"arn:{rule.partition}:lambda:{rule.region}:{rule.account}:function:{function_name}"


def rule_to_read(refusal: Refusal, event: Mapping[str, Any], prefix: str | None) -> Rule | None:
    """The rule whose targets decide whether to remove it, or None: nothing to remove (the
    refusal may clear by the next poll, or the event names no rule of this function's)."""
    if not refusal.lasting or not prefix:
        return None
    rule = rule_of(event.get("CrHelperRule"))
    if rule is None or not rule.name.startswith(prefix):
        return None
    return rule


def delivered_by(
    event: Mapping[str, Any], rule: Rule, targets: Sequence[Mapping[str, Any]], function_name: str
) -> bool:
    """Whether ``event`` is exactly what one of ``rule``'s ``targets`` delivers to this
    function: its Input, parsed as JSON, equal to the event."""
    arn = target_arn(rule, function_name)
    return any(
        target.get("Id") == TARGET_ID
        and target.get("Arn") == arn
        and _parsed(target.get("Input")) == event
        for target in targets
    )


def _parsed(text: object) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
