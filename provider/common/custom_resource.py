"""crhelper's ``CfnResource`` as this provider's single error boundary.

What changes from crhelper's defaults, and why:

- Work finished inside the first invocation is answered at once. crhelper
  with poll handlers always schedules an EventBridge poll (one minute at the
  least) before answering; here a handler returns the physical id when done
  and ``None`` to hand the rest over to crhelper's scheduled polling.
- Every exception is turned into ``FAILED`` by ``boundary``: a
  ``ProviderError`` with its own reason, anything else with a generic reason
  and a logged traceback; the physical id of a failed request follows
  ``boundary.failed_physical_id`` (a failed Create asks ``created_by`` what it
  left behind).
- The response is fitted (reason under 240 characters, body under 4096
  bytes) and PUT with a bounded retry; crhelper's sender loops forever.
- Only real requests act: before any handler runs, the request is confirmed
  with CloudFormation (``confirm``); a ResponseURL that is not
  CloudFormation's is not answered at all.
- No 120-second sleep before answering a Delete, no DEBUG log of the event
  (which holds the presigned ResponseURL).
- While a request waits in polls, the rule target's Input carries its
  ResponseURL sealed with the provider's KMS key, bound to the request
  (``seal``); a poll whose sealed URL does not open for its own request, or
  that carries a plain ResponseURL, is refused without acting or answering;
  when it would be refused every time and is its rule's own delivery, the rule,
  its target and its Lambda permission are removed (``poll_cleanup``), so it
  stops invoking the function.
- Poll rules are named ``<prefix><logical id><8 random>`` with the function's
  ``AURORA_EXPRESS_POLL_RULE_PREFIX`` (the template's), so its role may manage
  those rules and no other; crhelper's ``<logical id><8 random>`` can be
  anyone's rule (and passes EventBridge's 64 characters for long logical ids).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import string
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from crhelper import CfnResource, resource_helper

from provider.common import boundary, confirm, ownership, poll_cleanup, responses, seal
from provider.common.cfn_response import ResponseNotDelivered, put_response
from provider.common.logging import install_redaction

logger = logging.getLogger(__name__)

SUCCESS = "SUCCESS"
FAILED = "FAILED"
# Kept in crhelper's poll data but never returned as attributes.
STARTED_AT = "AuroraExpressStartedAt"
_INTERNAL_KEYS = (
    STARTED_AT,
    "PhysicalResourceId",
    "CrHelperPoll",
    "CrHelperPermission",
    "CrHelperRule",
)

Handler = Callable[[dict[str, Any], Any], str | None]


POLL_RULE_PREFIX_VARIABLE = "AURORA_EXPRESS_POLL_RULE_PREFIX"
DEFAULT_POLL_RULE_PREFIX = "aurora-express-"
_RULE_NAME_LIMIT = 64  # EventBridge's
_RULE_SUFFIX_LENGTH = 8
_RULE_SUFFIX_ALPHABET = string.ascii_uppercase + string.digits


def poll_rule_prefix(logical_id: str) -> str:
    """How every poll rule for ``logical_id`` starts: the function's prefix, then as much
    of the logical id as leaves room for the random suffix."""
    prefix = os.environ.get(POLL_RULE_PREFIX_VARIABLE) or DEFAULT_POLL_RULE_PREFIX
    room = max(0, _RULE_NAME_LIMIT - len(prefix) - _RULE_SUFFIX_LENGTH)
    return prefix + logical_id[:room]


def poll_rule_name(logical_id: str) -> str:
    """A new poll rule's name (unique per request: a random suffix, as crhelper's)."""
    suffix = "".join(secrets.choice(_RULE_SUFFIX_ALPHABET) for _ in range(_RULE_SUFFIX_LENGTH))
    return poll_rule_prefix(logical_id) + suffix


_ENVELOPE_KEYS = ("StackId", "RequestId", "LogicalResourceId")
REQUEST_TYPES = ("Create", "Update", "Delete")


def envelope_problem(event: dict[str, Any]) -> str | None:
    """Why ``event`` is not a CloudFormation custom resource request, or None."""
    if event.get("RequestType") not in REQUEST_TYPES:
        return (
            "RequestType must be Create, Update or Delete; this event is not from CloudFormation."
        )
    for key in _ENVELOPE_KEYS:
        if not isinstance(event.get(key), str) or not event[key]:
            return f"The event has no {key}; it is not from CloudFormation."
    if not isinstance(event.get("ResourceProperties", {}), dict):
        return "ResourceProperties must be an object."
    if not isinstance(event.get("CrHelperData", {}), dict):
        # crhelper takes it as its Data (a dict) and would fail answering.
        return "CrHelperData must be an object; this event was not scheduled by this provider."
    if event["RequestType"] != "Create" and not isinstance(event.get("PhysicalResourceId"), str):
        return f"A {event['RequestType']} event needs a PhysicalResourceId."
    return None


class _LazyClient:
    """A boto3 client made on first use, and again when the endpoint or region changes.

    crhelper makes its EventBridge, Lambda and Logs clients in ``__init__``,
    at import. Made when polling is set up instead, they honour the endpoint in
    force then (``AWS_ENDPOINT_URL``: moto's server, the demo), and a request
    answered in its first invocation never needs them. crhelper's own eager
    clients are dropped on assignment.
    """

    def __init__(self, service: str) -> None:
        self.service = service

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_lazy{name}"

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        key = (os.getenv("AWS_ENDPOINT_URL"), os.getenv("AWS_REGION"))
        cached = obj.__dict__.get(self.slot)
        if cached is None or cached[0] != key:
            cached = (key, boto3.client(self.service, region_name=key[1]))
            obj.__dict__[self.slot] = cached
        return cached[1]

    def __set__(self, obj: Any, value: Any) -> None:
        pass  # crhelper's eager client: replaced by the lazy one


@contextlib.contextmanager
def _no_eager_clients() -> Iterator[None]:
    """crhelper's constructor without its three ``boto3.client()`` calls.

    ``CfnResource.__init__`` makes Lambda, EventBridge and Logs clients, each
    loading its service model: about 0.3 s of every cold start (bench:
    ``python -m bench --only coldstart``), for clients the ``_LazyClient``
    descriptors discard anyway. For the constructor only, crhelper's module
    sees a ``boto3`` whose ``client()`` makes nothing.
    """
    namespace = vars(resource_helper)  # its stub does not declare the module's boto3
    original = namespace["boto3"]
    namespace["boto3"] = _NO_CLIENTS
    try:
        yield
    finally:
        namespace["boto3"] = original


_NO_CLIENTS = types.SimpleNamespace(client=lambda *args, **kwargs: None)


def _done(step: Callable[[], object], rule: str, what: str) -> bool:
    """Run one removal step; a failure is logged and the other steps still run."""
    try:
        step()
    except (ClientError, BotoCoreError) as exc:
        logger.warning("Could not remove %s of poll rule %s: %s", what, rule, exc)
        return False
    return True


def _account_of(context: Any) -> str | None:
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    return parts[4] if len(parts) > 4 and parts[4] else None


class CustomResource(CfnResource):
    _cloudformation_client = _LazyClient("cloudformation")
    _lambda_client = _LazyClient("lambda")
    _events_client = _LazyClient("events")
    _logs_client = _LazyClient("logs")
    _kms_client = _LazyClient("kms")

    # crhelper's stubs declare only its public surface; these are its own.
    _event: dict[str, Any]
    _context: Any
    _response_url: str
    _send_response: bool
    _polling_interval: int
    _remove_targets: Callable[[str], None]  # rule ARN; crhelper's target "1"
    _delete_rule: Callable[[str], None]  # rule ARN
    _remove_permission: Callable[[str], None]  # statement id, on self._context's function
    _sealed_url: str = ""  # this request's ResponseURL, sealed for its poll rule

    def __init__(
        self, *, polling_interval_minutes: int = 1, created_by: boundary.CreatedBy | None = None
    ) -> None:
        self._created_by = created_by
        install_redaction()  # crhelper logs exceptions through the root logger
        with _no_eager_clients():
            super().__init__(
                json_logging=False,
                log_level="INFO",
                boto_level="WARNING",
                polling_interval=polling_interval_minutes,
                sleep_on_delete=0,
            )

    def __call__(self, event: Any, context: Any) -> None:
        # Reset what crhelper keeps across warm invocations before anything can
        # fail, so a malformed event is never answered on a previous URL.
        event = event if isinstance(event, dict) else {}
        if "CrHelperPoll" in event:
            opened = self._open_poll(event, context)
            if opened is None:
                return
            event = opened
        self._event, self._response_url = event, str(event.get("ResponseURL") or "")
        self.StackId = str(event.get("StackId", ""))
        self.RequestId = str(event.get("RequestId", ""))
        self.LogicalResourceId = str(event.get("LogicalResourceId", ""))
        self.PhysicalResourceId, self.Data, self.Reason = "", {}, ""
        if not self._response_url:
            logger.error("The event has no ResponseURL: there is no one to answer")
            return
        region = os.environ.get("AWS_REGION", "")
        not_ours = confirm.url_problem(
            self._response_url, region, allow_loopback=ownership.offline()
        )
        if not_ours:
            # Nobody legitimate is waiting: answer no URL of the caller's choosing.
            logger.error("Not answering: %s", not_ours)
            return
        problem = (
            envelope_problem(event)
            or self._poll_key_problem(event)
            or confirm.confirm(
                self._cloudformation_client, event, region=region, account=_account_of(context)
            )
        )
        if problem:
            self.Status = FAILED
            self._send(FAILED, problem)
            return
        super().__call__(event, context)

    def _poll_key_problem(self, event: dict[str, Any]) -> str | None:
        """Why this request could not be handed to a poll (no key to seal its URL), checked
        before the handler acts; None when it can, or will never need to."""
        if not getattr(self, f"_poll_{event['RequestType'].lower()}_func", None):
            return None
        try:
            seal.key_id()
        except seal.SealError as exc:
            return exc.reason
        return None

    def _open_poll(self, event: dict[str, Any], context: Any) -> dict[str, Any] | None:
        """A poll event with its ResponseURL unsealed, or None (refused, logged) when its
        sealed URL does not open under its own request: no answer is possible then."""
        try:
            opened = seal.unseal(self._kms_client, event, seal.key_id())
        except seal.SealError as exc:
            opened = seal.Refusal(exc.reason)
        if isinstance(opened, seal.Refusal):
            logger.error("Not acting on this poll, which cannot be answered: %s", opened.reason)
            self._remove_refused_rule(event, opened, context)
            return None
        unsealed = {k: v for k, v in event.items() if k != seal.SEALED_KEY}
        unsealed["ResponseURL"] = opened
        return unsealed

    def _remove_refused_rule(
        self, event: dict[str, Any], refusal: seal.Refusal, context: Any
    ) -> None:
        """Remove the poll rule, target and permission of a poll refused for good, when the
        event is the rule's own delivery (``poll_cleanup``); otherwise leave everything."""
        logical_id = event.get("LogicalResourceId")
        prefix = poll_rule_prefix(logical_id) if isinstance(logical_id, str) else None
        rule = poll_cleanup.rule_to_read(refusal, event, prefix)
        function_name = str(getattr(context, "function_name", "") or "")
        if rule is None or not function_name:
            return
        try:
            targets = self._events_client.list_targets_by_rule(Rule=rule.name)["Targets"]
        except (ClientError, BotoCoreError) as exc:
            logger.warning("Poll rule %s left in place: its targets unread (%s)", rule.name, exc)
            return
        if not poll_cleanup.delivered_by(event, rule, targets, function_name):
            logger.warning("Poll rule %s left in place: this poll is not its delivery", rule.name)
            return
        self._context = context  # crhelper's _remove_permission names the function from it
        rule_arn, permission = str(event["CrHelperRule"]), event.get("CrHelperPermission")
        steps: list[tuple[str, Callable[[], object]]] = [
            ("the target", lambda: self._remove_targets(rule_arn)),
            ("the rule", lambda: self._delete_rule(rule_arn)),
        ]
        if isinstance(permission, str) and permission:
            steps.append(
                (f"the permission {permission}", lambda: self._remove_permission(permission))
            )
        removed = [what for what, step in steps if _done(step, rule.name, what)]
        if removed:
            logger.warning(
                "Removed %s of poll rule %s, whose polls would be refused every time: %s",
                ", ".join(removed),
                rule.name,
                refusal.reason,
            )

    # -- the request's start, frozen into crhelper's poll input -------------

    def started_at(self) -> float:
        """Epoch seconds at which the first invocation of this request began."""
        return float(self.Data.get(STARTED_AT) or time.time())

    # -- crhelper hooks -------------------------------------------------------

    def _crhelper_init(self, event: dict[str, Any], context: Any) -> bool:
        if "CrHelperPoll" not in event:
            # Set before the handler runs, so it reaches the scheduled polls.
            event.setdefault("CrHelperData", {})[STARTED_AT] = time.time()
        return bool(super()._crhelper_init(event, context))  # type: ignore[misc]

    def _wrap_function(self, func: Handler | None) -> None:
        try:
            self.PhysicalResourceId = (func(self._event, self._context) if func else "") or ""
        except Exception as exc:
            self.Status, self.Reason = FAILED, boundary.failure_reason(exc)
            self.PhysicalResourceId = boundary.failed_physical_id(
                self._event, self._context, self._created_by
            )

    def _put_rule(self) -> str:
        unit = "minute" if self._polling_interval == 1 else "minutes"
        response = self._events_client.put_rule(
            Name=poll_rule_name(self._event["LogicalResourceId"]),
            ScheduleExpression=f"rate({self._polling_interval} {unit})",
            State="ENABLED",
        )
        return str(response["RuleArn"])

    def _setup_polling(self) -> None:
        # Sealed before the rule exists: a key that fails leaves no rule behind.
        self._sealed_url = seal.seal(
            self._kms_client, self._event, self._response_url, seal.key_id()
        )
        super()._setup_polling()  # type: ignore[misc]

    def _put_targets(self, func_name: str) -> None:
        """crhelper's target, its Input holding the ResponseURL sealed (and no debug log of it)."""
        rule = poll_cleanup.rule_of(self._event["CrHelperRule"])
        if rule is None:  # PutRule's own answer: never
            raise ValueError("PutRule returned no ARN of a rule on the default event bus")
        scheduled = seal.poll_input(self._event, self._sealed_url)
        self._events_client.put_targets(
            Rule=rule.name,
            Targets=[
                {
                    "Id": poll_cleanup.TARGET_ID,
                    "Arn": poll_cleanup.target_arn(rule, func_name),
                    "Input": json.dumps(scheduled),
                }
            ],
        )

    def _polling_init(self, event: dict[str, Any]) -> None:
        if "CrHelperPoll" not in event and (self.PhysicalResourceId or self.Status == FAILED):
            self._send_response = True  # finished in the first invocation: no poll needed
            return
        try:
            super()._polling_init(event)  # type: ignore[misc]
        except seal.SealError as exc:
            # KMS refused after the handler acted: FAILED, with the id of what it made.
            self.Status, self.Reason = FAILED, exc.reason
            self.PhysicalResourceId = boundary.failed_physical_id(
                self._event, self._context, self._created_by
            )
            self._send_response = True

    def _send(
        self, status: str | None = None, reason: str = "", send_response: object = None
    ) -> None:
        attributes = self.Data if isinstance(self.Data, dict) else {}
        data = {k: v for k, v in attributes.items() if k not in _INTERNAL_KEYS}
        body = {
            "Status": status or self.Status,
            "PhysicalResourceId": str(self.PhysicalResourceId or ""),
            "StackId": self.StackId,
            "RequestId": self.RequestId,
            "LogicalResourceId": self.LogicalResourceId,
            "Reason": reason if status else str(self.Reason),
            "Data": data,
            "NoEcho": self.NoEcho,
        }
        if not body["PhysicalResourceId"]:  # refused before any handler ran
            body["PhysicalResourceId"] = boundary.failed_physical_id(self._event)
        try:
            put_response(self._response_url, responses.fit(body))
        except ResponseNotDelivered as exc:
            logger.error("Could not answer CloudFormation: %s", exc)
