"""The reaper function's settings, from its environment (see ``provider.common.settings``).

| variable | setting | default |
| --- | --- | --- |
| ``REAPER_ARMED`` (template: ``ArmReaper``) | ``armed``: ``true`` deletes | ``false`` |
| ``POWERTOOLS_METRICS_NAMESPACE`` | ``metrics_namespace`` | ``AuroraExpress`` |
| ``AWS_REGION`` | ``region``, when the function's ARN does not say | none |
| ``LOG_LEVEL`` | ``log_level`` | ``INFO`` |
"""

from __future__ import annotations

from dataclasses import dataclass

from provider.common import settings
from provider.common.settings import Cached, Environ


@dataclass(frozen=True)
class ReaperSettings:
    armed: bool = False
    metrics_namespace: str = "AuroraExpress"
    region: str = ""
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Environ) -> ReaperSettings:
        return cls(
            armed=settings.boolean(env, "REAPER_ARMED", cls.armed),
            metrics_namespace=settings.text(
                env, "POWERTOOLS_METRICS_NAMESPACE", cls.metrics_namespace
            ),
            region=settings.text(env, "AWS_REGION", cls.region),
            log_level=settings.log_level(env),
        )


CURRENT = Cached(ReaperSettings.from_env)


def current() -> ReaperSettings:
    """This function's settings; ``SettingsError`` naming the variable that does not parse."""
    return CURRENT.get()
