"""Drive a custom resource handler the way CloudFormation and EventBridge would, locally.

``LifecycleSimulator`` sends a request to the real handler (an event built by
``cfn_local.request_event`` whose ResponseURL points at a
``ResponseCollector``) with a ``LambdaContext`` of a chosen timeout. When the
invocation ends without a response, the handler has handed the work over to
crhelper's scheduled polling: the simulator reads the EventBridge rule and
target crhelper created (in moto) and invokes the handler with the target's
``Input``, at the rule's rate scaled down by ``poll_scale``, until a response
arrives or a bound is reached. crhelper's ``lambda:AddPermission`` needs the
function to exist, so the simulator creates a placeholder function in moto's
Lambda first, and with it the provider's poll key in moto's KMS (the key
template.yaml declares, by its alias), named in the process's
``AURORA_EXPRESS_POLL_KEY_ARN`` as the function's environment names it. Used
by the tests, the demo and the benchmarks; never deployed.

    with mock_aws(), express_semantics(create_seconds=1), ResponseCollector() as cfn:
        sim = LifecycleSimulator(handler, cfn, logical_id="Db")
        created = sim.create({"MaxCapacity": 4})
        updated = sim.update({"MaxCapacity": 8}, old={"MaxCapacity": 4})
        deleted = sim.delete({"MaxCapacity": 8})
"""

from __future__ import annotations

import io
import json
import os
import re
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from aurora_express.local import moto_stacks
from aurora_express.local.cfn_local import (
    ACCOUNT,
    REGION,
    LambdaContext,
    ResponseCollector,
    request_event,
)
from provider.common import seal
from provider.common.custom_resource import poll_rule_prefix

Handler = Callable[[dict[str, Any], Any], Any]
RESOURCE_TYPE = "Custom::AuroraExpress"
POLL_KEY_ALIAS = "alias/aurora-express-poll-urls"  # template.yaml's, for a stack of that name
POLL_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:{POLL_KEY_ALIAS}"  # in moto's account and region
_RATE = re.compile(r"rate\((\d+) minutes?\)")


@dataclass(frozen=True)
class Invocation:
    """One call of the handler: the first (``request``) or a scheduled ``poll``."""

    kind: str
    started: float  # time.monotonic()
    seconds: float


@dataclass
class SimulationResult:
    """What became of one request: the response CloudFormation got, and how."""

    event: dict[str, Any]
    response: dict[str, Any] | None
    invocations: list[Invocation] = field(default_factory=list)
    started: float = 0.0  # monotonic time of the first invocation
    responded: float | None = None  # monotonic time the response PUT arrived
    rules_left: list[str] = field(default_factory=list)  # crhelper rules still present

    @property
    def status(self) -> str | None:
        return self.response.get("Status") if self.response else None

    @property
    def reason(self) -> str:
        return str(self.response.get("Reason", "")) if self.response else ""

    @property
    def physical_id(self) -> str | None:
        return self.response.get("PhysicalResourceId") if self.response else None

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.response.get("Data") or {}) if self.response else {}

    @property
    def seconds(self) -> float | None:
        """From the first invocation to the response (None without a response)."""
        return None if self.responded is None else self.responded - self.started

    @property
    def polls(self) -> int:
        return sum(1 for i in self.invocations if i.kind == "poll")


class LifecycleSimulator:
    """CloudFormation and EventBridge for one stack, calling ``handler`` in-process.

    ``timeout_seconds`` is the Lambda timeout each invocation gets (small values
    force the hand-over to polling); ``poll_scale`` multiplies the rule's rate
    (0.01 turns crhelper's one minute into 0.6 s); ``max_invocations`` and
    ``max_seconds`` bound every request. ``endpoint_url`` points the
    simulator's own EventBridge, Lambda and IAM clients at a moto server
    (leave it None under ``mock_aws``).
    """

    def __init__(
        self,
        handler: Handler,
        collector: ResponseCollector,
        *,
        stack_name: str = "app",
        logical_id: str = "Db",
        resource_type: str = RESOURCE_TYPE,
        function_name: str = "aurora-express-cluster",
        timeout_seconds: float = 900.0,
        poll_scale: float = 0.01,
        max_invocations: int = 100,
        max_seconds: float = 120.0,
        region: str = REGION,
        endpoint_url: str | None = None,
    ) -> None:
        self.handler = handler
        self.collector = collector
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.function_name = function_name
        self.timeout_seconds = timeout_seconds
        self.poll_scale = poll_scale
        self.max_invocations = max_invocations
        self.max_seconds = max_seconds
        self.physical_id: str | None = None  # the last physical id CloudFormation accepted
        self._clients = {
            name: boto3.client(name, region_name=region, endpoint_url=endpoint_url)
            for name in ("events", "lambda", "iam", "cloudformation", "kms")
        }
        self.stack_id = moto_stacks.stack_named(self._clients["cloudformation"], stack_name)
        self._function_ready = False

    # -- CloudFormation's requests ----------------------------------------------

    def create(self, properties: dict[str, Any], **kwargs: Any) -> SimulationResult:
        """Send Create; on SUCCESS remember the physical id for later requests."""
        return self._remember(self.request("Create", properties, **kwargs))

    def update(
        self, properties: dict[str, Any], *, old: dict[str, Any], **kwargs: Any
    ) -> SimulationResult:
        """Send Update for the current physical id, with ``old`` as OldResourceProperties."""
        return self._remember(self.request("Update", properties, old_properties=old, **kwargs))

    def delete(self, properties: dict[str, Any], **kwargs: Any) -> SimulationResult:
        """Send Delete for the current physical id (or ``physical_id=``)."""
        return self.request("Delete", properties, **kwargs)

    def request(
        self,
        request_type: str,
        properties: dict[str, Any],
        *,
        physical_id: str | None = None,
        old_properties: dict[str, Any] | None = None,
        request_id: str | None = None,
        timeout_seconds: float | None = None,
        max_invocations: int | None = None,
    ) -> SimulationResult:
        """Build the event CloudFormation would send and run it to its response."""
        request_id = request_id or str(uuid.uuid4())
        if request_type != "Create":
            physical_id = physical_id or self.physical_id
        event = request_event(
            request_type,
            self.resource_type,
            properties,
            response_url=self.collector.url(f"{request_id}-{uuid.uuid4().hex[:8]}"),
            service_token=self.function_arn,
            stack=self.stack_id,
            logical_id=self.logical_id,
            physical_id=physical_id,
            old_properties=old_properties,
            request_id=request_id,
        )
        return self.run(event, timeout_seconds=timeout_seconds, max_invocations=max_invocations)

    # -- the run ----------------------------------------------------------------

    def run(
        self,
        event: dict[str, Any],
        *,
        timeout_seconds: float | None = None,
        max_invocations: int | None = None,
    ) -> SimulationResult:
        """Invoke the handler with ``event``, then its scheduled polls, until it answers.

        ``timeout_seconds`` and ``max_invocations`` override the simulator's own
        for this request (``max_invocations=1``: CloudFormation stops listening
        after the first invocation, as when a stack operation is cancelled).
        """
        bound = self.max_invocations if max_invocations is None else max_invocations
        self._ensure_function()
        cleanup = self._declare(event)
        key = _response_key(event["ResponseURL"])
        timeout = self.timeout_seconds if timeout_seconds is None else timeout_seconds
        result = SimulationResult(event=event, response=None, started=time.monotonic())
        payload, kind = event, "request"
        while True:
            began = time.monotonic()
            self.handler(json.loads(json.dumps(payload)), self._context(timeout))
            result.invocations.append(Invocation(kind, began, time.monotonic() - began))
            answer = self.collector.wait(key, timeout=0.05)
            if answer is not None:
                result.response, result.responded = answer.body, answer.received_at
                break
            scheduled = self._scheduled_poll(event["RequestId"])
            if scheduled is None:
                break  # no answer and nothing scheduled: CloudFormation would time out
            rate_seconds, payload = scheduled
            kind = "poll"
            if (
                len(result.invocations) >= bound
                or time.monotonic() - result.started > self.max_seconds
            ):
                break
            time.sleep(rate_seconds * self.poll_scale)
        result.rules_left = self.rules()
        self._settle(event, result, cleanup=cleanup)
        return result

    def rules(self) -> list[str]:
        """The EventBridge rules crhelper created for this logical id and left in place."""
        return [rule["Name"] for rule in self._poll_rules()]

    @property
    def function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    # -- internals --------------------------------------------------------------

    def _declare(self, event: dict[str, Any]) -> bool:
        """Show the request in CloudFormation's records, as the provider will ask for it;
        True when it is a cleanup (the Delete of a resource a replacement left behind)."""
        request_type = event.get("RequestType")
        physical_id = event.get("PhysicalResourceId")
        cleanup = request_type == "Delete" and self.physical_id not in (None, physical_id)
        status = {"Create": "CREATE_IN_PROGRESS", "Update": "UPDATE_IN_PROGRESS"}.get(
            str(request_type), "DELETE_IN_PROGRESS"
        )
        if cleanup:
            physical_id, status = self.physical_id, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
        moto_stacks.declare(
            self.stack_id,
            self.logical_id,
            str(event.get("ResourceType", self.resource_type)),
            None if request_type == "Create" else physical_id,
            stack_status=status,
        )
        return cleanup

    def _settle(self, event: dict[str, Any], result: SimulationResult, *, cleanup: bool) -> None:
        """CloudFormation's records once the request is answered."""
        request_type = event.get("RequestType")
        if request_type == "Delete" and result.status == "SUCCESS" and not cleanup:
            # The stack's Delete: CloudFormation keeps a deleted stack's records (90 days),
            # the resource's physical id among them.
            moto_stacks.declare(
                self.stack_id,
                self.logical_id,
                str(event.get("ResourceType", self.resource_type)),
                event.get("PhysicalResourceId"),
                stack_status="DELETE_COMPLETE",
            )
            return
        succeeded = result.status == "SUCCESS"
        physical_id = self.physical_id
        if succeeded and request_type in ("Create", "Update"):
            physical_id = result.physical_id
        if not succeeded:
            status = "UPDATE_ROLLBACK_COMPLETE"
        elif request_type == "Create":
            status = "CREATE_COMPLETE"
        else:  # an Update, or the cleanup after a replacement
            status = "UPDATE_COMPLETE"
        moto_stacks.declare(
            self.stack_id,
            self.logical_id,
            str(event.get("ResourceType", self.resource_type)),
            physical_id,
            stack_status=status,
        )

    def _remember(self, result: SimulationResult) -> SimulationResult:
        if result.status == "SUCCESS":
            self.physical_id = result.physical_id
        return result

    def _context(self, timeout: float) -> LambdaContext:
        return LambdaContext(function_name=self.function_name, timeout_seconds=timeout)

    def _poll_rules(self) -> list[dict[str, Any]]:
        """Poll rules for this logical id: named as the provider names them, or as plain
        crhelper does (``<logical id><8 random>``, the bench's baseline)."""
        events = self._clients["events"]
        found: dict[str, dict[str, Any]] = {}
        for prefix in (poll_rule_prefix(self.logical_id), self.logical_id):
            for rule in events.list_rules(NamePrefix=prefix).get("Rules", []):
                found.setdefault(rule["Name"], rule)
        return list(found.values())

    def _scheduled_poll(self, request_id: str) -> tuple[float, dict[str, Any]] | None:
        """(rate in seconds, target input) of the poll crhelper scheduled for ``request_id``."""
        events = self._clients["events"]
        for rule in self._poll_rules():
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                payload = json.loads(target.get("Input") or "{}")
                if payload.get("RequestId") == request_id:
                    match = _RATE.match(rule.get("ScheduleExpression", ""))
                    return (int(match.group(1)) * 60.0 if match else 60.0), payload
        return None

    def _ensure_function(self) -> None:
        if not self._function_ready:
            ensure_placeholder_function(
                self.function_name,
                self._clients["lambda"],
                self._clients["iam"],
                self._clients["kms"],
            )
            self._function_ready = True


def ensure_placeholder_function(
    name: str, lam: Any = None, iam: Any = None, kms: Any = None
) -> str:
    """A do-nothing function ``name`` in moto's Lambda (made once), so that crhelper's
    AddPermission on its own function succeeds when it schedules a poll; and the
    provider's poll key (``ensure_poll_key``), so that it can seal the ResponseURL."""
    lam = lam or boto3.client("lambda")
    iam = iam or boto3.client("iam")
    os.environ[seal.KEY_VARIABLE] = ensure_poll_key(kms or boto3.client("kms"))
    try:
        return str(lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"])
    except lam.exceptions.ResourceNotFoundException:
        pass
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    created = lam.create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=_placeholder_role(iam, f"{name}-role"),
        Handler="index.handler",
        Code={"ZipFile": buffer.getvalue()},
    )
    return str(created["FunctionArn"])


def ensure_poll_key(kms: Any) -> str:
    """The ARN of the provider's poll key alias in moto's KMS, the key and alias made once."""
    for alias in kms.list_aliases()["Aliases"]:
        if alias["AliasName"] == POLL_KEY_ALIAS and alias.get("TargetKeyId"):
            return str(alias["AliasArn"])
    key = kms.create_key(Description="aurora-express: sealed ResponseURLs of polls")
    kms.create_alias(AliasName=POLL_KEY_ALIAS, TargetKeyId=key["KeyMetadata"]["KeyId"])
    return ensure_poll_key(kms)


def _placeholder_role(iam: Any, name: str) -> str:
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
        return str(created["Role"]["Arn"])


def _response_key(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[-1]
