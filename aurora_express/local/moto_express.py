"""Express configuration semantics for moto's RDS backend (tests, demo, benchmarks).

moto 5.2 knows nothing of ``WithExpressConfiguration`` and makes a cluster
``available`` at its second describe. Inside ``express_semantics()`` a
``CreateDBCluster`` with ``WithExpressConfiguration=True`` behaves like the
service, on the monotonic clock (or the ``clock`` given: a test's own, moved by hand,
so that no state depends on how fast the machine runs):

- ``MasterUsername`` defaults to ``postgres``; IAM database authentication is
  on; the engine version is the express default (``DEFAULT_ENGINE_VERSION``).
- ``EngineVersion``, ``EnableHttpEndpoint`` and ``DatabaseName`` are refused
  at creation (``InvalidParameterCombination``), as the service reports.
- A second cluster under a taken identifier is ``DBClusterAlreadyExistsFault``.
- The writer instance ``<id>-instance-1`` is created with the cluster; both
  stay ``creating`` for ``create_seconds``, then turn ``available`` (or the
  status given to ``fail_creation``); ``refuse_next_create`` makes the next
  create fail with an AWS error of your choice (a quota, say).
- ``ModifyDBCluster`` needs an ``available`` cluster, refuses a major
  version change without ``AllowMajorVersionUpgrade``, applies
  ``EnableHttpEndpoint``, and leaves the cluster ``modifying`` (``upgrading``
  for a version change) for ``modify_seconds``.
- ``DeleteDBInstance`` of a writer still ``creating`` and ``DeleteDBCluster``
  of a cluster not ``available`` are ``InvalidDBInstanceState`` /
  ``InvalidDBClusterStateFault``; a deleted cluster stays ``deleting`` for
  ``delete_seconds``, then is gone (``DBClusterNotFoundFault``), or, after
  ``fail_deletion``, back to ``available`` (or the status given). A final
  snapshot is taken at the delete call.
- A manual snapshot of an express cluster stays ``creating`` for
  ``snapshot_seconds``; snapshots are found by ARN too.
- ``RestoreDBClusterFromSnapshot`` and ``RestoreDBClusterToPointInTime`` with
  ``EnableInternetAccessGateway=true`` and ``EnableVPCNetworking=false`` restore
  an express cluster (the data copied being out of scope): the two only
  together, with ``EnableIAMDatabaseAuthentication``, from an Aurora PostgreSQL
  source on a major version express offers (``EXPRESS_MAJOR_VERSIONS``), else
  ``InvalidParameterCombination``; a point in time within the source's
  restorable window (``InvalidRestoreFault``). The same refusals and states as
  creation (``refuse_next_create``, ``fail_creation``, taken identifiers,
  ``creating`` for ``create_seconds``), but no writer: ``CreateDBInstance``
  (``db.serverless``, once the cluster is ``available``) makes one, ``creating``
  for ``create_seconds``. The restored cluster keeps the source's engine
  version and master user, whose authentication stays ``password`` until
  ``ModifyDBCluster MasterUserAuthenticationType=iam-db-auth``, which needs an
  available writer (``master_auth`` records it). The source is not touched.

The patches sit on moto's classes, so they hold for ``moto.mock_aws()`` and
for a ``moto.server.ThreadedMotoServer`` in the same process alike. Other
clusters keep moto's own behaviour. Use::

    with mock_aws(), express_semantics(create_seconds=0.5, delete_seconds=0.5) as express:
        express.fail_creation("doomed", status="failed")
        express.set_timings(create_seconds=5)
        ...
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.rds import models
from moto.rds.exceptions import (
    DBClusterNotFoundError,
    DBClusterToBeDeletedHasActiveMembers,
    InvalidDBClusterStateFault,
    InvalidParameterCombination,
    RDSClientError,
)

DEFAULT_ENGINE_VERSION = "17.4"
# Which majors express configuration restores: an assumption of this emulation, not a
# documented list (the service's answer for others is InvalidParameterCombination here).
EXPRESS_MAJOR_VERSIONS = frozenset({"16", "17"})
ENGINE = "aurora-postgresql"
DEFAULT_SCALING = {"MinCapacity": 0.0, "MaxCapacity": 16.0, "SecondsUntilAutoPause": 300}
_REFUSED_AT_CREATION = {
    "engine_version": "EngineVersion",
    "enable_http_endpoint": "EnableHttpEndpoint",
    "database_name": "DatabaseName",
}


@dataclass
class _Timeline:
    """One express cluster's life on the settings' clock (shared with its writer)."""

    ready_at: float
    end_status: str = "available"
    busy_until: float = 0.0
    busy_status: str = "modifying"
    gone_at: float | None = None
    after_delete: str | None = None  # the status a failed deletion leaves (fail_deletion)

    def status(self, now: float) -> str:
        if self.gone_at is not None:
            return "deleting"
        if now < self.ready_at:
            return "creating"
        if self.end_status != "available":
            return self.end_status
        return self.busy_status if now < self.busy_until else "available"


@dataclass
class ExpressSemantics:
    """The timings in force; change them at any time with ``set_timings``."""

    create_seconds: float = 5.0
    delete_seconds: float = 5.0
    modify_seconds: float = 0.0
    snapshot_seconds: float = 0.0
    # Seconds, read by every state: set it before the first express cluster is made.
    clock: Callable[[], float] = time.monotonic
    outcomes: dict[str, str] = field(default_factory=dict)
    refusals: list[tuple[str, str]] = field(default_factory=list)
    deletion_outcomes: dict[str, str] = field(default_factory=dict)
    # MasterUserAuthenticationType by cluster (DescribeDBClusters does not show it).
    master_auth: dict[str, str] = field(default_factory=dict)

    def set_timings(
        self,
        *,
        create_seconds: float | None = None,
        delete_seconds: float | None = None,
        modify_seconds: float | None = None,
        snapshot_seconds: float | None = None,
    ) -> None:
        """New timings, for clusters created, modified or deleted from now on."""
        if create_seconds is not None:
            self.create_seconds = create_seconds
        if delete_seconds is not None:
            self.delete_seconds = delete_seconds
        if modify_seconds is not None:
            self.modify_seconds = modify_seconds
        if snapshot_seconds is not None:
            self.snapshot_seconds = snapshot_seconds

    def fail_deletion(self, identifier: str, status: str = "available") -> None:
        """Make the next deletion of ``identifier`` end with the cluster back in ``status``."""
        self.deletion_outcomes[identifier.lower()] = status

    def fail_creation(self, identifier: str, status: str = "failed") -> None:
        """Make the next cluster created as ``identifier`` end in ``status``, not available."""
        self.outcomes[identifier.lower()] = status

    def refuse_next_create(
        self,
        code: str = "DBClusterQuotaExceededFault",
        message: str = "Cannot create more than 40 DB clusters for this account.",
    ) -> None:
        """Make the next express CreateDBCluster (or restore) fail with this AWS error."""
        self.refusals.append((code, message))


_active: ExpressSemantics | None = None
_lock = threading.Lock()
# moto's server runs requests in threads and its RDS backend is not thread-safe: a describe
# iterating the clusters while a create adds one fails with a garbled response, and of two
# concurrent creates under one name the second silently replaces the first (RDS answers
# DBClusterAlreadyExistsFault). Every patched call holds this lock.
_backend_lock = threading.RLock()


def _settings() -> ExpressSemantics:
    return _active or ExpressSemantics()


def _now() -> float:
    return _settings().clock()


def _timeline(obj: Any) -> _Timeline | None:
    found: _Timeline | None = obj.__dict__.get("_express")
    return found


# -- the patched behaviour ------------------------------------------------------------


def _purge(backend: models.RDSBackend) -> None:
    """Forget express clusters whose deletion time has passed."""
    now = _now()
    for cluster_id, cluster in list(backend.clusters.items()):
        timeline = _timeline(cluster)
        if timeline and timeline.gone_at is not None and now >= timeline.gone_at:
            if timeline.after_delete is None:
                del backend.clusters[cluster_id]
                continue
            # The deletion failed: the cluster is back, without the instances it had.
            timeline.gone_at, timeline.end_status = None, timeline.after_delete
            timeline.after_delete, timeline.busy_until = None, 0.0


def _purging(method: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(self: models.RDSBackend, *args: Any, **kwargs: Any) -> Any:
        with _backend_lock:
            _purge(self)
            return method(self, *args, **kwargs)

    wrapper.__wrapped__ = method  # type: ignore[attr-defined]
    return wrapper


def _create_db_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(self: models.RDSBackend, kwargs: dict[str, Any]) -> Any:
        if not kwargs.get("with_express_configuration"):
            return original(self, kwargs)
        return _create_express(self, original, kwargs)  # under _backend_lock (_purging)

    return create


def _create_express(
    self: models.RDSBackend, original: Callable[..., Any], kwargs: dict[str, Any]
) -> Any:
    """An express CreateDBCluster: the cluster and its writer, on their timeline."""
    for key, name in _REFUSED_AT_CREATION.items():
        if kwargs.get(key) is not None:
            raise InvalidParameterCombination(
                f"{name} isn't supported when you create a DB cluster with express "
                "configuration. Modify the DB cluster after it's available."
            )
    if _settings().refusals:
        raise RDSClientError(*_settings().refusals.pop(0))
    cluster_id = str(kwargs["db_cluster_identifier"]).lower()
    if cluster_id in self.clusters:
        raise RDSClientError(
            "DBClusterAlreadyExistsFault", f"DB Cluster already exists: {cluster_id}"
        )
    # moto names a cluster's automated snapshot by the minute and, after making the cluster,
    # refuses a second one: a cluster re-created within a minute of its predecessor's delete
    # would be left without its writer. The service has no such clash; drop the old ones.
    for name in [n for n in self.cluster_snapshots if n.startswith(f"rds:{cluster_id}-")]:
        del self.cluster_snapshots[name]
    kwargs = {k: v for k, v in kwargs.items() if k != "with_express_configuration"}
    kwargs["db_cluster_identifier"] = cluster_id
    kwargs.setdefault("master_username", "postgres")
    kwargs["master_user_password"] = "unused-iam-auth-only"  # noqa: S105 (moto insists on one)
    kwargs["enable_iam_database_authentication"] = True
    kwargs["engine_version"] = DEFAULT_ENGINE_VERSION
    given = kwargs.get("serverless_v2_scaling_configuration") or {}  # case-insensitive keys
    kwargs["serverless_v2_scaling_configuration"] = {
        key: given.get(key, default) for key, default in DEFAULT_SCALING.items()
    }
    settings = _settings()
    timeline = _Timeline(
        ready_at=_now() + settings.create_seconds,
        end_status=settings.outcomes.pop(cluster_id, "available"),
    )
    cluster = original(self, kwargs)
    cluster.__dict__["_express"] = timeline
    writer = self.create_db_instance(
        {
            "db_instance_identifier": f"{cluster_id}-instance-1",
            "db_instance_class": "db.serverless",
            "engine": cluster.engine,
            "db_cluster_identifier": cluster_id,
        }
    )
    writer.__dict__["_express"] = timeline
    settings.master_auth[cluster_id] = "iam-db-auth"
    return cluster


# -- restores -------------------------------------------------------------------------


def _is_express_restore(kwargs: dict[str, Any]) -> bool:
    """Whether a restore asks for express networking; refuses the combinations RDS refuses."""
    gateway = kwargs.get("enable_internet_access_gateway")
    vpc = kwargs.get("enable_vpc_networking")
    if gateway is None and vpc is None:
        return False
    if gateway is None or vpc is None:
        raise InvalidParameterCombination(
            "EnableVPCNetworking and EnableInternetAccessGateway must be specified together."
        )
    if bool(gateway) and bool(vpc):
        raise InvalidParameterCombination(
            "A DB cluster can't use VPC networking and an internet access gateway at the same time."
        )
    if not gateway and not vpc:
        raise InvalidParameterCombination(
            "A DB cluster without VPC networking needs an internet access gateway."
        )
    if not gateway:
        return False  # back into a VPC: moto's own restore
    if not kwargs.get("enable_iam_database_authentication"):
        raise InvalidParameterCombination(
            "IAM database authentication is required with an internet access gateway: "
            "specify EnableIAMDatabaseAuthentication."
        )
    return True


def _check_express_source(engine: str, version: str, source: str) -> None:
    if engine != ENGINE:
        raise InvalidParameterCombination(
            f"Express configuration restores only Aurora PostgreSQL; the source {source} is "
            f"{engine}."
        )
    if str(version).split(".")[0] not in EXPRESS_MAJOR_VERSIONS:
        raise InvalidParameterCombination(
            f"Express configuration isn't available for engine version {version} (source {source})."
        )


def _restore_express(
    self: models.RDSBackend,
    kwargs: dict[str, Any],
    *,
    engine: str,
    version: str,
    master_username: str,
    scaling: dict[str, Any] | None,
) -> Any:
    """The restored express cluster: on its timeline, IAM auth enabled, and no writer."""
    settings = _settings()
    if settings.refusals:
        raise RDSClientError(*settings.refusals.pop(0))
    cluster_id = str(kwargs["db_cluster_identifier"]).lower()
    if cluster_id in self.clusters:
        raise RDSClientError(
            "DBClusterAlreadyExistsFault", f"DB Cluster already exists: {cluster_id}"
        )
    for name in [n for n in self.cluster_snapshots if n.startswith(f"rds:{cluster_id}-")]:
        del self.cluster_snapshots[name]  # see _create_express
    given = kwargs.get("serverless_v2_scaling_configuration") or scaling or {}
    cluster = self.create_db_cluster(
        {
            "db_cluster_identifier": cluster_id,
            "engine": engine,
            "engine_version": version,
            "master_username": master_username,
            "master_user_password": "restored-unused",  # moto insists on one
            "enable_iam_database_authentication": True,
            "serverless_v2_scaling_configuration": {
                key: given.get(key, default) for key, default in DEFAULT_SCALING.items()
            },
            "deletion_protection": bool(kwargs.get("deletion_protection")),
            "backup_retention_period": kwargs.get("backup_retention_period") or 1,
            "tags": kwargs.get("tags") or [],
        }
    )
    cluster.__dict__["_express"] = _Timeline(
        ready_at=_now() + settings.create_seconds,
        end_status=settings.outcomes.pop(cluster_id, "available"),
    )
    cluster.__dict__["_express_restored"] = True
    settings.master_auth[cluster_id] = "password"
    return cluster


def _snapshot_name(identifier: str) -> str:
    """A snapshot's name from its name or ARN."""
    return identifier.split(":cluster-snapshot:", 1)[-1]


def _restore_from_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    def restore(self: models.RDSBackend, from_snapshot_id: str, overrides: dict[str, Any]) -> Any:
        if not _is_express_restore(overrides):
            return original(self, from_snapshot_id, overrides)
        name = _snapshot_name(str(from_snapshot_id))
        snapshot = self.describe_db_cluster_snapshots(None, name)[0]
        if snapshot.status != "available":
            raise RDSClientError(
                "InvalidDBClusterSnapshotStateFault",
                f"Snapshot {name} is {snapshot.status}; it cannot be restored yet.",
            )
        _check_express_source(str(snapshot.engine), str(snapshot.engine_version), name)
        return _restore_express(
            self,
            overrides,
            engine=str(snapshot.engine),
            version=str(snapshot.engine_version),
            master_username=str(snapshot.master_username),
            scaling=None,
        )

    return restore


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _restore_to_point_in_time(original: Callable[..., Any]) -> Callable[..., Any]:
    def restore(self: models.RDSBackend, **kwargs: Any) -> Any:
        if not _is_express_restore(kwargs):
            return original(self, **kwargs)
        overrides = dict(kwargs)
        db_cluster_identifier = overrides.pop("db_cluster_identifier")
        source_db_cluster_identifier = overrides.pop("source_db_cluster_identifier")
        restore_type = overrides.pop("restore_type", None) or "full-copy"
        restore_to_time: datetime | None = overrides.pop("restore_to_time", None)
        use_latest_restorable_time = bool(overrides.pop("use_latest_restorable_time", False))
        if (restore_to_time is None) == (not use_latest_restorable_time):
            raise InvalidParameterCombination(
                "Specify either RestoreToTime or UseLatestRestorableTime, and not both."
            )
        if restore_to_time is not None and restore_type == "copy-on-write":
            raise InvalidParameterCombination(
                "RestoreToTime cannot be specified when RestoreType is copy-on-write"
            )
        source = self.describe_db_clusters(db_cluster_identifier=source_db_cluster_identifier)[0]
        if restore_to_time is not None:
            moment = _aware(restore_to_time)
            earliest = _aware(source.earliest_restorable_time)
            if not earliest <= moment <= datetime.now(UTC):
                raise RDSClientError(
                    "InvalidRestoreFault",
                    f"The restore time {moment.isoformat()} is outside the restorable window "
                    f"of {source.db_cluster_identifier}.",
                )
        _check_express_source(
            str(source.engine), str(source.engine_version), source.db_cluster_identifier
        )
        return _restore_express(
            self,
            {**overrides, "db_cluster_identifier": db_cluster_identifier},
            engine=str(source.engine),
            version=str(source.engine_version),
            master_username=str(source.master_username),
            scaling=dict(source.serverless_v2_scaling_configuration or {}),
        )

    return restore


def _create_db_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(self: models.RDSBackend, db_kwargs: dict[str, Any]) -> Any:
        cluster_id = str(db_kwargs.get("db_cluster_identifier") or "").lower()
        cluster = self.clusters.get(cluster_id)
        if cluster is None or not cluster.__dict__.get("_express_restored"):
            return original(self, db_kwargs)
        timeline = _timeline(cluster)
        if timeline is None or timeline.status(_now()) != "available":
            raise InvalidDBClusterStateFault(
                f"DB cluster {cluster_id} is not available: create its instances once the "
                "restore has completed."
            )
        if db_kwargs.get("db_instance_class") != "db.serverless":
            raise InvalidParameterCombination(
                "The instances of a cluster without VPC networking must be db.serverless."
            )
        instance = original(self, {**db_kwargs, "db_cluster_identifier": cluster_id})
        instance.__dict__["_express"] = _Timeline(ready_at=_now() + _settings().create_seconds)
        return instance

    return create


def _create_db_cluster_snapshot(original: Callable[..., Any]) -> Callable[..., Any]:
    def create(
        self: models.RDSBackend,
        db_cluster_identifier: str,
        db_cluster_snapshot_identifier: str,
        snapshot_type: str = "manual",
        tags: list[dict[str, str]] | None = None,
    ) -> Any:
        cluster = self.clusters.get(str(db_cluster_identifier).lower())
        timeline = _timeline(cluster) if cluster is not None else None
        manual = snapshot_type == "manual" and timeline is not None
        if manual and timeline is not None and timeline.status(_now()) != "available":
            raise InvalidDBClusterStateFault(
                f"DB cluster {db_cluster_identifier} is not available; it cannot be snapshotted."
            )
        snapshot = original(
            self, db_cluster_identifier, db_cluster_snapshot_identifier, snapshot_type, tags
        )
        seconds = _settings().snapshot_seconds
        if manual and seconds > 0:
            snapshot.__dict__["_express"] = _Timeline(ready_at=_now() + seconds)
        return snapshot

    return create


def _describe_db_cluster_snapshots(original: Callable[..., Any]) -> Callable[..., Any]:
    def describe(
        self: models.RDSBackend,
        db_cluster_identifier: str | None,
        db_snapshot_identifier: str,
        snapshot_type: str | None = None,
        filters: Any = None,
    ) -> Any:
        if db_snapshot_identifier:
            db_snapshot_identifier = _snapshot_name(str(db_snapshot_identifier))
        return original(self, db_cluster_identifier, db_snapshot_identifier, snapshot_type, filters)

    return describe


def _modify_db_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    def modify(self: models.RDSBackend, kwargs: dict[str, Any]) -> Any:
        cluster_id = str(kwargs["db_cluster_identifier"]).lower()
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise DBClusterNotFoundError(cluster_id)
        timeline = _timeline(cluster)
        if timeline is None:
            return original(self, kwargs)
        status = timeline.status(_now())
        if status != "available":
            raise InvalidDBClusterStateFault(f"DB cluster {cluster_id} is not in available state.")
        version = kwargs.get("engine_version")
        upgrade = version is not None and version != cluster.engine_version
        current_major = str(cluster.engine_version).split(".")[0]
        major = upgrade and str(version).split(".")[0] != current_major
        if major and not kwargs.get("allow_major_version_upgrade"):
            raise InvalidParameterCombination(
                "The AllowMajorVersionUpgrade flag must be present when upgrading to a "
                "new major version."
            )
        http = kwargs.pop("enable_http_endpoint", None)
        auth = kwargs.pop("master_user_authentication_type", None)
        if auth is not None and cluster.__dict__.get("_express_restored"):
            writers = [m for m in cluster.members if m.status == "available"]
            if not writers:
                raise InvalidDBClusterStateFault(
                    f"DB cluster {cluster_id} has no available DB instance; its master user "
                    "authentication cannot change yet."
                )
        result = original(self, {**kwargs, "db_cluster_identifier": cluster_id})
        if http is not None:
            cluster._enable_http_endpoint = result._enable_http_endpoint = bool(http)
        if auth is not None:
            _settings().master_auth[cluster_id] = str(auth)
        seconds = _settings().modify_seconds
        timeline.busy_until = _now() + seconds
        timeline.busy_status = "upgrading" if upgrade else "modifying"
        return result

    return modify


def _delete_db_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete(
        self: models.RDSBackend, cluster_identifier: str, snapshot_name: str | None = None
    ) -> Any:
        cluster = self.clusters.get(str(cluster_identifier).lower())
        timeline = _timeline(cluster) if cluster is not None else None
        if cluster is None or timeline is None:
            return original(self, cluster_identifier, snapshot_name)
        status = timeline.status(_now())
        if status == "deleting":
            raise InvalidDBClusterStateFault(
                f"Cluster {cluster_identifier} is already being deleted."
            )
        if status not in ("available", timeline.end_status):
            raise InvalidDBClusterStateFault(
                f"DB cluster {cluster_identifier} is in {status} state; it cannot be deleted now."
            )
        if cluster.deletion_protection:
            raise InvalidParameterCombination(
                "Cannot delete protected Cluster, please disable deletion protection and try again."
            )
        if cluster.members:
            raise DBClusterToBeDeletedHasActiveMembers()
        if snapshot_name:
            self.create_db_cluster_snapshot(cluster.db_cluster_identifier, snapshot_name)
        timeline.gone_at = _now() + _settings().delete_seconds
        outcomes = _settings().deletion_outcomes
        timeline.after_delete = outcomes.pop(cluster.db_cluster_identifier, None)
        return cluster

    return delete


def _delete_db_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete(self: models.RDSBackend, db_instance_identifier: str, **kwargs: Any) -> Any:
        instance = self.databases.get(db_instance_identifier)
        timeline = _timeline(instance) if instance is not None else None
        if timeline is not None and timeline.status(_now()) == "creating":
            raise RDSClientError(
                "InvalidDBInstanceState",
                f"Instance {db_instance_identifier} is creating; it cannot be deleted now.",
            )
        return original(self, db_instance_identifier, **kwargs)

    return delete


def _cluster_status(original: property) -> property:
    def get(cluster: Any) -> str:
        timeline = _timeline(cluster)
        if timeline is None:
            return str(original.fget(cluster))  # type: ignore[misc]
        return timeline.status(_now())

    def set_(cluster: Any, value: str) -> None:
        if _timeline(cluster) is None:
            original.fset(cluster, value)  # type: ignore[misc]

    return property(get, set_)


def _instance_status() -> property:
    def get(instance: Any) -> str:
        timeline = _timeline(instance)
        if timeline is None:
            return str(instance.__dict__.get("status"))
        return timeline.status(_now())

    def set_(instance: Any, value: str) -> None:
        instance.__dict__["status"] = value

    return property(get, set_)


def _snapshot_status() -> property:
    def get(snapshot: Any) -> str:
        timeline = _timeline(snapshot)
        if timeline is None:
            return str(snapshot.__dict__.get("status"))
        return timeline.status(_now())

    def set_(snapshot: Any, value: str) -> None:
        snapshot.__dict__["status"] = value

    return property(get, set_)


_WRAPPED_BY_PURGE = (
    "describe_db_clusters",
    "describe_db_instances",
    "list_tags_for_resource",
    "add_tags_to_resource",
    "remove_tags_from_resource",
)


# Each patched method of the backend: name -> the wrapper that gives it express semantics.
_PATCHED: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "create_db_cluster": _create_db_cluster,
    "modify_db_cluster": _modify_db_cluster,
    "delete_db_cluster": _delete_db_cluster,
    "delete_db_instance": _delete_db_instance,
    "create_db_instance": _create_db_instance,
    "create_db_cluster_snapshot": _create_db_cluster_snapshot,
    "describe_db_cluster_snapshots": _describe_db_cluster_snapshots,
    "restore_db_cluster_from_snapshot": _restore_from_snapshot,
    "restore_db_cluster_to_point_in_time": _restore_to_point_in_time,
}


@contextmanager
def express_semantics(
    create_seconds: float = 5.0,
    delete_seconds: float = 5.0,
    modify_seconds: float = 0.0,
    snapshot_seconds: float = 0.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[ExpressSemantics]:
    """Give moto's RDS express semantics while the block runs; yields the live settings.

    Not re-entrant: one block at a time per process.
    """
    global _active  # noqa: PLW0603 (the patches read the settings in force)
    backend = models.RDSBackend
    saved: dict[tuple[Any, str], Any] = {}

    def patch(owner: Any, name: str, value: Any) -> None:
        saved[(owner, name)] = owner.__dict__.get(name)
        setattr(owner, name, value)

    with _lock:
        if _active is not None:
            raise RuntimeError("express_semantics() is already active")
        _active = ExpressSemantics(
            create_seconds, delete_seconds, modify_seconds, snapshot_seconds, clock
        )
        for name in _WRAPPED_BY_PURGE:
            patch(backend, name, _purging(getattr(backend, name)))
        for name, wrap in _PATCHED.items():
            patch(backend, name, _purging(wrap(getattr(backend, name))))
        patch(models.DBCluster, "status", _cluster_status(models.DBCluster.__dict__["status"]))
        patch(models.DBInstance, "status", _instance_status())
        patch(models.DBClusterSnapshot, "status", _snapshot_status())
    try:
        yield _active
    finally:
        with _lock:
            for (owner, name), value in saved.items():
                if value is None:
                    delattr(owner, name)
                else:
                    setattr(owner, name, value)
            _active = None
