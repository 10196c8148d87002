"""Express configuration semantics for moto's RDS backend (tests, demo, benchmarks).

moto 5.2 knows nothing of ``WithExpressConfiguration`` and makes a cluster
``available`` at its second describe. Inside ``express_semantics()`` a
``CreateDBCluster`` with ``WithExpressConfiguration=True`` behaves like the
service, on the wall clock:

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
  ``delete_seconds``, then is gone (``DBClusterNotFoundFault``). A final
  snapshot is taken at the delete call.

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
DEFAULT_SCALING = {"MinCapacity": 0.0, "MaxCapacity": 16.0, "SecondsUntilAutoPause": 300}
_REFUSED_AT_CREATION = {
    "engine_version": "EngineVersion",
    "enable_http_endpoint": "EnableHttpEndpoint",
    "database_name": "DatabaseName",
}


@dataclass
class _Timeline:
    """One express cluster's life on the monotonic clock (shared with its writer)."""

    ready_at: float
    end_status: str = "available"
    busy_until: float = 0.0
    busy_status: str = "modifying"
    gone_at: float | None = None

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
    outcomes: dict[str, str] = field(default_factory=dict)
    refusals: list[tuple[str, str]] = field(default_factory=list)

    def set_timings(
        self,
        *,
        create_seconds: float | None = None,
        delete_seconds: float | None = None,
        modify_seconds: float | None = None,
    ) -> None:
        """New timings, for clusters created, modified or deleted from now on."""
        if create_seconds is not None:
            self.create_seconds = create_seconds
        if delete_seconds is not None:
            self.delete_seconds = delete_seconds
        if modify_seconds is not None:
            self.modify_seconds = modify_seconds

    def fail_creation(self, identifier: str, status: str = "failed") -> None:
        """Make the next cluster created as ``identifier`` end in ``status``, not available."""
        self.outcomes[identifier.lower()] = status

    def refuse_next_create(
        self,
        code: str = "DBClusterQuotaExceededFault",
        message: str = "Cannot create more than 40 DB clusters for this account.",
    ) -> None:
        """Make the next express CreateDBCluster fail with this AWS error (a quota, say)."""
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


def _timeline(obj: Any) -> _Timeline | None:
    found: _Timeline | None = obj.__dict__.get("_express")
    return found


# -- the patched behaviour ------------------------------------------------------------


def _purge(backend: models.RDSBackend) -> None:
    """Forget express clusters whose deletion time has passed."""
    now = time.monotonic()
    for cluster_id, cluster in list(backend.clusters.items()):
        timeline = _timeline(cluster)
        if timeline and timeline.gone_at is not None and now >= timeline.gone_at:
            del backend.clusters[cluster_id]


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
        ready_at=time.monotonic() + settings.create_seconds,
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
    return cluster


def _modify_db_cluster(original: Callable[..., Any]) -> Callable[..., Any]:
    def modify(self: models.RDSBackend, kwargs: dict[str, Any]) -> Any:
        cluster_id = str(kwargs["db_cluster_identifier"]).lower()
        cluster = self.clusters.get(cluster_id)
        if cluster is None:
            raise DBClusterNotFoundError(cluster_id)
        timeline = _timeline(cluster)
        if timeline is None:
            return original(self, kwargs)
        status = timeline.status(time.monotonic())
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
        result = original(self, {**kwargs, "db_cluster_identifier": cluster_id})
        if http is not None:
            cluster._enable_http_endpoint = result._enable_http_endpoint = bool(http)
        seconds = _settings().modify_seconds
        timeline.busy_until = time.monotonic() + seconds
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
        status = timeline.status(time.monotonic())
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
        timeline.gone_at = time.monotonic() + _settings().delete_seconds
        return cluster

    return delete


def _delete_db_instance(original: Callable[..., Any]) -> Callable[..., Any]:
    def delete(self: models.RDSBackend, db_instance_identifier: str, **kwargs: Any) -> Any:
        instance = self.databases.get(db_instance_identifier)
        timeline = _timeline(instance) if instance is not None else None
        if timeline is not None and timeline.status(time.monotonic()) == "creating":
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
        return timeline.status(time.monotonic())

    def set_(cluster: Any, value: str) -> None:
        if _timeline(cluster) is None:
            original.fset(cluster, value)  # type: ignore[misc]

    return property(get, set_)


def _instance_status() -> property:
    def get(instance: Any) -> str:
        timeline = _timeline(instance)
        if timeline is None:
            return str(instance.__dict__.get("status"))
        return timeline.status(time.monotonic())

    def set_(instance: Any, value: str) -> None:
        instance.__dict__["status"] = value

    return property(get, set_)


_WRAPPED_BY_PURGE = (
    "describe_db_clusters",
    "describe_db_instances",
    "create_db_instance",
    "create_db_cluster_snapshot",
    "list_tags_for_resource",
    "add_tags_to_resource",
    "remove_tags_from_resource",
)


@contextmanager
def express_semantics(
    create_seconds: float = 5.0, delete_seconds: float = 5.0, modify_seconds: float = 0.0
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
        _active = ExpressSemantics(create_seconds, delete_seconds, modify_seconds)
        for name in _WRAPPED_BY_PURGE:
            patch(backend, name, _purging(getattr(backend, name)))
        patch(backend, "create_db_cluster", _purging(_create_db_cluster(backend.create_db_cluster)))
        patch(backend, "modify_db_cluster", _purging(_modify_db_cluster(backend.modify_db_cluster)))
        patch(backend, "delete_db_cluster", _purging(_delete_db_cluster(backend.delete_db_cluster)))
        patch(
            backend, "delete_db_instance", _purging(_delete_db_instance(backend.delete_db_instance))
        )
        patch(models.DBCluster, "status", _cluster_status(models.DBCluster.__dict__["status"]))
        patch(models.DBInstance, "status", _instance_status())
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
