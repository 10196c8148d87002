"""Create, update and delete, as loops that observe, decide (``plan``) and act (``rds``).

Each operation waits inside the invocation while the Lambda's remaining time
allows (less a safety margin) and returns ``None`` to hand the rest over to
crhelper's scheduled polls. A poll runs the same function again: nothing is
carried between invocations but the original event and its start time, so
every decision is re-derived from what RDS shows. Work still unfinished
shortly before CloudFormation's own timeout ends in ``FAILED``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from provider.cluster import cap, naming, plan, restore
from provider.cluster.plan import ClusterState, Step
from provider.cluster.rds import ALREADY_EXISTS, INVALID_STATE, NOT_FOUND, ClusterApi, RdsError
from provider.cluster.settings import Timing
from provider.common.deadline import Deadline, LambdaContextLike
from provider.common.errors import InvalidProperty, ProviderError

if TYPE_CHECKING:
    from provider.cluster.properties import ClusterProperties

logger = logging.getLogger(__name__)

CLOUDFORMATION_TIMEOUT = 3600  # seconds, unless the resource sets ServiceTimeout
# crhelper answers FAILED 0.5 s before the Lambda's timeout: stop well before it.
MIN_MARGIN_SECONDS = 2.0


@dataclass
class Request:
    """One invocation's view of a CloudFormation request."""

    request_type: str
    stack_id: str
    logical_id: str
    request_id: str
    physical_id: str | None
    raw_properties: dict[str, Any]
    raw_old_properties: dict[str, Any] | None
    is_poll: bool
    started_at: float  # epoch seconds of the request's first invocation
    deadline: Deadline  # end of this invocation's waiting
    give_up_at: float  # epoch seconds: answer FAILED from here on
    timing: Timing = field(default_factory=Timing)

    @classmethod
    def from_event(
        cls,
        event: dict[str, Any],
        context: LambdaContextLike,
        *,
        started_at: float,
        timing: Timing,
    ) -> Request:
        props = event.get("ResourceProperties") or {}
        try:
            timeout = float(props.get("ServiceTimeout") or CLOUDFORMATION_TIMEOUT)
        except (TypeError, ValueError):
            timeout = CLOUDFORMATION_TIMEOUT
        timeout = min(max(timeout, 1.0), CLOUDFORMATION_TIMEOUT)
        is_poll = "CrHelperPoll" in event
        remaining = context.get_remaining_time_in_millis() / 1000.0
        margin = max(MIN_MARGIN_SECONDS, min(timing.safety_seconds, remaining / 4))
        wait = remaining - margin
        if is_poll:
            wait = min(wait, timing.poll_invocation_seconds)
        return cls(
            request_type=event["RequestType"],
            stack_id=event["StackId"],
            logical_id=event["LogicalResourceId"],
            request_id=event["RequestId"],
            physical_id=event.get("PhysicalResourceId"),
            raw_properties=props,
            raw_old_properties=event.get("OldResourceProperties"),
            is_poll=is_poll,
            started_at=started_at,
            deadline=Deadline.after(wait),
            give_up_at=started_at + timeout - min(timing.give_up_seconds, timeout / 4),
            timing=timing,
        )

    def derived_identifier(self) -> str:
        return naming.derive(naming.stack_name(self.stack_id), self.logical_id, self.request_id)

    def owns(self, state: ClusterState) -> bool:
        return naming.is_owned(state.tags, self.stack_id, self.logical_id)


@dataclass(frozen=True)
class Outcome:
    """A finished request: the physical id to answer with, and its attributes."""

    physical_id: str
    attributes: dict[str, str] = field(default_factory=dict)


# -- waiting --------------------------------------------------------------------


def _keep_waiting(req: Request, identifier: str, state: ClusterState | None) -> bool:
    """Sleep one poll interval and return True, or False to hand over to polling.

    Raises ``ProviderError`` once CloudFormation's timeout is near.
    """
    now = time.time()
    if now >= req.give_up_at:
        status = state.status if state else "gone"
        minutes = (now - req.started_at) / 60
        raise ProviderError(
            f"Gave up on cluster {identifier} after {minutes:.0f} min, before CloudFormation's "
            f"timeout: it is still {status}. Check it in the RDS console, then retry."
        )
    pause = min(req.timing.poll_seconds, max(0.0, req.give_up_at - now))
    if req.deadline.remaining() < pause:
        logger.info("Handing over to scheduled polling", extra={"cluster": identifier})
        return False
    time.sleep(pause)
    return True


def _log_change(seen: list[str], text: str, **extra: Any) -> None:
    if not seen or seen[-1] != text:
        seen.append(text)
        logger.info("Cluster status", extra={"detail": text, **extra})


def converge(
    req: Request,
    api: ClusterApi,
    identifier: str,
    props: ClusterProperties,
    old: ClusterProperties | None,
) -> Outcome | None:
    """Wait for ``identifier`` to be available, modify it to match ``props``, tag it, answer."""
    tags = plan.desired_tags(props, req.stack_id, req.logical_id, req.started_at)
    issued: dict[str, Any] | None = None
    issued_restore_step: Step | None = None
    seen: list[str] = []
    while True:
        state = api.find(identifier)
        nxt = plan.next_step(props, state)
        _log_change(
            seen, f"{nxt.step}: {nxt.why}" if nxt.why else str(nxt.step), cluster=identifier
        )
        if nxt.step is Step.FAIL:
            raise ProviderError(
                f"Cluster {identifier} {nxt.why}, so it cannot be used; see its events in "
                "the RDS console."
            )
        if state is not None and nxt.step is Step.DONE:
            add, remove = plan.tag_changes(old, tags, state.tags)
            if add or remove:
                logger.info(
                    "Tagging cluster",
                    extra={"cluster": identifier, "add": sorted(add), "remove": remove},
                )
                api.tag(state, add, remove)
            logger.info("Cluster ready", extra={"cluster": identifier})
            return Outcome(identifier, plan.attributes(state))
        restoring = nxt.step in (Step.CREATE_WRITER, Step.SET_IAM_AUTH)
        fresh = restoring and nxt.step is not issued_restore_step
        if state is not None and fresh and _restore_step(api, state, nxt.step):
            issued_restore_step = nxt.step
        if nxt.step is Step.MODIFY and nxt.modify != issued:
            logger.info(
                "Modifying cluster", extra={"cluster": identifier, "changes": sorted(nxt.modify)}
            )
            try:
                api.modify(identifier, nxt.modify)
                issued = nxt.modify
            except RdsError as exc:
                if exc.code != INVALID_STATE:  # busy: try again on the next look
                    raise
        if not _keep_waiting(req, identifier, state):
            return None


def _restore_step(api: ClusterApi, state: ClusterState, step: Step) -> bool:
    """A restored cluster's writer, or its master user to IAM auth (then recorded in a tag,
    since DescribeDBClusters does not show it); False when RDS found the cluster busy, to be
    tried again on a later look."""
    identifier = state.identifier
    try:
        if step is Step.CREATE_WRITER:
            logger.info("Creating the restored cluster's writer", extra={"cluster": identifier})
            api.create_writer(restore.writer_args(identifier))
            return True
        logger.info("Switching the master user to IAM auth", extra={"cluster": identifier})
        api.modify(identifier, {"MasterUserAuthenticationType": restore.IAM_AUTH})
    except RdsError as exc:
        if exc.code != INVALID_STATE:
            raise
        return False
    api.tag(state, {naming.MASTER_AUTH_TAG: restore.IAM_AUTH}, [])
    return True


# -- create -----------------------------------------------------------------------


def _start(req: Request, api: ClusterApi, identifier: str, props: ClusterProperties) -> None:
    """CreateDBCluster with express configuration, or the restore the template asks for."""
    tags = plan.desired_tags(props, req.stack_id, req.logical_id, req.started_at)
    source = props.source
    if source is None:
        logger.info("Creating cluster", extra={"cluster": identifier})
        api.create(plan.create_args(identifier, props, tags))
        return
    seen = api.describe_source(source)  # read only: the source is never changed
    if seen is None:
        raise restore.not_found(source)
    restore.check_source(props, source, seen)
    tags[naming.RESTORED_FROM_TAG] = restore.restored_from(source, seen, datetime.now(UTC))
    call = restore.restore_call(identifier, props, source, seen, tags)
    logger.info(
        "Restoring cluster",
        extra={"cluster": identifier, "operation": call.operation, "source": source.identifier},
    )
    try:
        api.restore(call)
    except RdsError as exc:
        if exc.code in restore.REFUSAL_CODES:
            raise restore.refused(source, exc.code, exc.message) from exc
        raise


def _ensure(
    req: Request,
    api: ClusterApi,
    identifier: str,
    props: ClusterProperties,
    old: ClusterProperties | None,
) -> Outcome | None:
    """Create ``identifier`` (or adopt it when this stack and logical id own it), then converge."""
    state = api.find(identifier)
    if state is None and req.is_poll:
        raise ProviderError(f"Cluster {identifier} disappeared while it was being created.")
    if state is None:
        if req.request_type == "Create":
            cap.enforce(api, identifier)  # MaxClusters, before RDS's own quota
        try:
            _start(req, api, identifier, props)
        except RdsError as exc:
            if exc.code != ALREADY_EXISTS:
                raise
            state = api.find(identifier)  # created meanwhile: owned or not, decided below
    if state is not None:
        if not req.owns(state):
            raise ProviderError(
                f"Cluster {identifier} already exists and this stack's {req.logical_id} does not "
                "own it (its aurora-express tags differ); it is left alone. Choose another "
                "ClusterIdentifier."
            )
        if state.status == plan.DELETING:
            raise ProviderError(f"Cluster {identifier} is being deleted; retry once it is gone.")
        if not req.is_poll:
            logger.info("Adopting cluster this resource owns", extra={"cluster": identifier})
    return converge(req, api, identifier, props, old)


def create(req: Request, api: ClusterApi) -> Outcome | None:
    """Create: a new cluster (or the one a repeated delivery created), available, answered."""
    props = parse(req.raw_properties)
    identifier = props.normalized_identifier or req.derived_identifier()
    return _ensure(req, api, identifier, props, None)


def created_by(req: Request, api: ClusterApi) -> str | None:
    """What a failed Create left behind: the cluster, if this resource owns one, so the
    stack's Delete removes it (``boundary.failed_physical_id`` asks)."""
    try:
        props = parse(req.raw_properties)
    except ProviderError:
        return None  # refused before any AWS call
    identifier = props.normalized_identifier or req.derived_identifier()
    try:
        state = api.find(identifier)
    except ProviderError:
        return None
    return identifier if state is not None and req.owns(state) else None


# -- update -----------------------------------------------------------------------


def _parse_old(req: Request) -> ClusterProperties | None:
    """The previous properties, or None if they no longer validate (compare with RDS only)."""
    try:
        return parse(req.raw_old_properties or {})
    except ProviderError:
        return None


def update(req: Request, api: ClusterApi) -> Outcome | None:
    """Update: replace (a new cluster, a new physical id) or modify in place."""
    current = req.physical_id or ""
    props = parse(req.raw_properties)
    old = _parse_old(req)
    replaced_by = plan.replacement_property(old, props, current)
    if replaced_by:
        return _replace(req, api, replaced_by, props, old)
    state = api.find(current) if naming.is_valid(current) else None
    if state is None:
        raise ProviderError(
            f"Cluster {current} does not exist any more, so it cannot be updated; "
            "remove the resource from the template or restore the cluster."
        )
    if not req.owns(state):
        raise ProviderError(
            f"Cluster {current} is not owned by this stack's {req.logical_id} "
            "(its aurora-express tags differ), so it is left alone."
        )
    return converge(req, api, current, props, old)


def _replace(
    req: Request,
    api: ClusterApi,
    replaced_by: str,
    props: ClusterProperties,
    old: ClusterProperties | None,
) -> Outcome | None:
    """A new cluster under a new identifier; CloudFormation then deletes the old one."""
    current = req.physical_id or ""
    identifier = props.normalized_identifier or req.derived_identifier()
    if identifier == current:
        raise InvalidProperty(
            replaced_by,
            "changing it replaces the cluster, which needs a new identifier: change "
            "ClusterIdentifier too, or remove it to have one derived.",
        )
    logger.info(
        "Replacing cluster",
        extra={"cluster": current, "new_cluster": identifier, "property": replaced_by},
    )
    try:
        return _ensure(req, api, identifier, props, old)
    except ProviderError as exc:
        if not _start_cleanup(req, api, identifier):
            raise
        raise ProviderError(f"{exc.reason} The new cluster {identifier} is being deleted.") from exc


def _start_cleanup(req: Request, api: ClusterApi, identifier: str) -> bool:
    """Start deleting a replacement this request created (never an adopted one)."""
    try:
        state = api.find(identifier)
        created_here = (
            state is not None
            and req.owns(state)
            and state.created_at is not None
            and state.created_at >= req.started_at - 5
        )
        if state is None or not created_here or state.status == plan.DELETING:
            return False
        for instance in state.instances:
            api.delete_instance(identifier, instance)
        api.delete_cluster(identifier, None)
        return True
    except ProviderError as exc:
        logger.warning(
            "Could not delete the failed replacement",
            extra={"cluster": identifier, "reason": exc.reason},
        )
        return False


def parse(raw: dict[str, Any]) -> ClusterProperties:
    """The properties, validated; pydantic and the model load here, so a Delete (which
    reads ``OnDelete`` and ``WaitForDeletion`` leniently) never loads them."""
    from provider.cluster import properties  # noqa: PLC0415

    return properties.parse(raw)


# -- delete -----------------------------------------------------------------------


def _on_delete(raw: dict[str, Any]) -> str:
    """OnDelete, read leniently: a Delete must succeed even when the properties are invalid."""
    value = raw.get("OnDelete")
    return value if value in ("Delete", "Snapshot", "Retain") else "Delete"


def delete(req: Request, api: ClusterApi) -> Outcome | None:
    """Delete: every instance, then the cluster; wait until it is gone.

    ``SUCCESS`` without touching anything for ``OnDelete: Retain``, a physical
    id that names no cluster (a failed Create, a repeated Delete), or a
    cluster whose ownership tags name someone else.
    """
    identifier = req.physical_id or ""
    done = Outcome(identifier)
    mode = _on_delete(req.raw_properties)
    if mode == "Retain":
        logger.info("Retaining cluster (OnDelete: Retain)", extra={"cluster": identifier})
        return done
    if not naming.is_valid(identifier):
        logger.info(
            "No cluster to delete: the physical id is no cluster identifier",
            extra={"cluster": identifier},
        )
        return done
    state = api.find(identifier)
    if state is None:
        logger.info("No cluster to delete: it does not exist", extra={"cluster": identifier})
        return done
    if not req.owns(state):
        logger.warning(
            "Not deleting a cluster this resource does not own", extra={"cluster": identifier}
        )
        return done
    snapshot = plan.final_snapshot_id(identifier, req.started_at) if mode == "Snapshot" else None
    wait = _wait_for_deletion(req.raw_properties)
    return _delete_until_gone(req, api, state, snapshot, wait=wait)


def _wait_for_deletion(raw: dict[str, Any]) -> bool:
    """WaitForDeletion, read leniently as OnDelete is: only an explicit false stops the wait."""
    return str(raw.get("WaitForDeletion", "true")).strip().lower() != "false"


def _mark_deletion(req: Request, api: ClusterApi, state: ClusterState) -> None:
    """Tag when deletion was asked for, so the reaper finds a deletion that never finishes."""
    add, remove = plan.deletion_mark(state.tags, req.started_at)
    if remove:
        api.tag(state, {}, remove)  # room first: RDS counts 50 tags at most
    if add:
        api.tag(state, add, [])


def _delete_until_gone(
    req: Request,
    api: ClusterApi,
    state: ClusterState | None,
    snapshot: str | None,
    *,
    wait: bool = True,
) -> Outcome | None:
    """Delete the instances, then the cluster; answer once it is gone, or, with ``wait``
    false, once RDS shows it ``deleting`` (one describe after the delete is accepted)."""
    identifier = req.physical_id or ""
    retry_at = 0.0
    seen: list[str] = []
    while state is not None:
        _log_change(seen, state.status, cluster=identifier)
        if state.status == plan.DELETING and not wait:
            logger.info(
                "Cluster deletion under way; not waiting for it (WaitForDeletion: false)",
                extra={"cluster": identifier},
            )
            return Outcome(identifier)
        if state.status != plan.DELETING and time.monotonic() >= retry_at:
            started = _start_deletion(req, api, state, snapshot, wait=wait)
            if started is None:
                break  # gone meanwhile
            if not started:  # busy (creating, modifying): try again in a while
                retry_at = time.monotonic() + req.timing.retry_seconds
            elif not wait:  # accepted: one look, and the answer if RDS shows it deleting
                retry_at = time.monotonic() + req.timing.retry_seconds
                state = api.find(identifier)
                continue
        if not _keep_waiting(req, identifier, state):
            return None
        state = api.find(identifier)
    logger.info("Cluster deleted", extra={"cluster": identifier})
    return Outcome(identifier)


def _start_deletion(
    req: Request, api: ClusterApi, state: ClusterState, snapshot: str | None, *, wait: bool
) -> bool | None:
    """DeleteDBInstance for each instance, then DeleteDBCluster: True when RDS accepted it,
    False when it found the cluster busy, None when the cluster is gone."""
    identifier = state.identifier
    if state.deletion_protection:
        raise ProviderError(
            f"Cluster {identifier} has DeletionProtection on: set it to false (a stack "
            "update) or OnDelete to Retain, then delete again."
        )
    for instance, status in state.instances.items():
        if status != plan.DELETING:
            logger.info("Deleting instance", extra={"cluster": identifier, "instance": instance})
            api.delete_instance(identifier, instance)
    if not wait:
        _mark_deletion(req, api, state)
    logger.info("Deleting cluster", extra={"cluster": identifier, "final_snapshot": snapshot})
    try:
        api.delete_cluster(identifier, snapshot)
    except RdsError as exc:
        if exc.code == NOT_FOUND:
            return None
        if exc.code != INVALID_STATE:
            raise
        return False
    return True
