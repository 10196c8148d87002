"""The cluster function's settings, from its environment (see ``provider.common.settings``).

| variable | setting | default |
| --- | --- | --- |
| ``MAX_CLUSTERS`` (template: ``MaxClusters``) | ``max_clusters``, an integer from 1 | 20 |
| ``AURORA_EXPRESS_POLL_SECONDS`` | ``timing.poll_seconds`` | 1 |
| ``AURORA_EXPRESS_SAFETY_SECONDS`` | ``timing.safety_seconds`` | 30 |
| ``AURORA_EXPRESS_POLL_INVOCATION_SECONDS`` | ``timing.poll_invocation_seconds`` | 45 |
| ``AURORA_EXPRESS_GIVE_UP_SECONDS`` | ``timing.give_up_seconds`` | 90 |
| ``AURORA_EXPRESS_RETRY_SECONDS`` | ``timing.retry_seconds`` | 10 |
| ``LOG_LEVEL`` | ``log_level`` | ``INFO`` |
| ``AWS_ENDPOINT_URL``, ``AWS_REGION`` | ``aws`` (which RDS client to keep) | the SDK's |
"""

from __future__ import annotations

from dataclasses import dataclass, field

from provider.common import settings
from provider.common.settings import AwsEnvironment, Cached, Environ

DEFAULT_MAX_CLUSTERS = 20


@dataclass(frozen=True)
class Timing:
    """How long to wait and how often to look.

    - ``poll_seconds``: between two DescribeDBClusters.
    - ``safety_seconds``: kept free at the end of an invocation to answer or
      set up polling; at most a quarter of the time left, at least
      ``lifecycle.MIN_MARGIN_SECONDS``.
    - ``poll_invocation_seconds``: the longest wait inside one scheduled
      poll, so polls (a minute apart) never overlap.
    - ``give_up_seconds``: how long before CloudFormation's timeout to answer
      FAILED; at most a quarter of that timeout.
    - ``retry_seconds``: before trying DeleteDBCluster again after RDS refused
      it for the cluster's state (creating, modifying).
    """

    poll_seconds: float = 1.0
    safety_seconds: float = 30.0
    poll_invocation_seconds: float = 45.0
    give_up_seconds: float = 90.0
    retry_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Environ) -> Timing:
        def read(name: str, default: float) -> float:
            return settings.seconds(env, f"AURORA_EXPRESS_{name}_SECONDS", default)

        return cls(
            poll_seconds=read("POLL", cls.poll_seconds),
            safety_seconds=read("SAFETY", cls.safety_seconds),
            poll_invocation_seconds=read("POLL_INVOCATION", cls.poll_invocation_seconds),
            give_up_seconds=read("GIVE_UP", cls.give_up_seconds),
            retry_seconds=read("RETRY", cls.retry_seconds),
        )


@dataclass(frozen=True)
class ClusterSettings:
    max_clusters: int = DEFAULT_MAX_CLUSTERS
    timing: Timing = field(default_factory=Timing)
    log_level: str = "INFO"
    aws: AwsEnvironment = field(default_factory=AwsEnvironment)

    @classmethod
    def from_env(cls, env: Environ) -> ClusterSettings:
        return cls(
            max_clusters=settings.integer(
                env, "MAX_CLUSTERS", DEFAULT_MAX_CLUSTERS, minimum=1, maximum=1000
            ),
            timing=Timing.from_env(env),
            log_level=settings.log_level(env),
            aws=AwsEnvironment.from_env(env),
        )


CURRENT = Cached(ClusterSettings.from_env)


def current() -> ClusterSettings:
    """This function's settings; ``SettingsError`` naming the variable that does not parse."""
    return CURRENT.get()
