"""The migrations function's settings, from its environment (see ``provider.common.settings``).

The CLI connects with the same settings, so ``DB_SSLMODE`` and
``DB_SSLROOTCERT`` in a developer's shell act as they do in the function.

| variable | setting | default |
| --- | --- | --- |
| ``DB_SSLMODE`` | ``tls.sslmode``, a libpq ``sslmode`` | ``verify-full`` |
| ``DB_SSLROOTCERT`` | ``tls.sslrootcert``, a CA bundle's path (or ``system``) | certifi's bundle |
| ``DB_CONNECT_TIMEOUT_SECONDS`` | ``connect_timeout``: how long connecting is retried | 300 |
| ``AWS_REGION``, else ``AWS_DEFAULT_REGION`` | ``region`` (a host naming none) | ``us-east-1`` |
| ``LOG_LEVEL`` | ``log_level`` | ``INFO`` |
| ``AWS_ENDPOINT_URL``, ``AWS_REGION`` | ``aws`` (which clients to keep) | the SDK's |
"""

from __future__ import annotations

from dataclasses import dataclass, field

import certifi

from provider.common import settings
from provider.common.settings import AwsEnvironment, Cached, Environ

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
DEFAULT_CONNECT_TIMEOUT = 300.0


@dataclass(frozen=True)
class Tls:
    """libpq's ``sslmode`` and ``sslrootcert``: verify-full against certifi's bundle by default.

    The express gateway shows a certificate from a public CA, and psycopg's
    binary wheel does not read the system's store, hence a bundle by path.
    """

    sslmode: str = "verify-full"
    sslrootcert: str = field(default_factory=certifi.where)

    def as_params(self) -> dict[str, str]:
        return {"sslmode": self.sslmode, "sslrootcert": self.sslrootcert}

    @classmethod
    def from_env(cls, env: Environ) -> Tls:
        return cls(
            sslmode=settings.choice(env, "DB_SSLMODE", "verify-full", SSL_MODES),
            sslrootcert=settings.optional_text(env, "DB_SSLROOTCERT") or certifi.where(),
        )


@dataclass(frozen=True)
class MigrationsSettings:
    tls: Tls = field(default_factory=Tls)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    region: str = "us-east-1"
    log_level: str = "INFO"
    aws: AwsEnvironment = field(default_factory=AwsEnvironment)

    @classmethod
    def from_env(cls, env: Environ) -> MigrationsSettings:
        region = settings.text(env, "AWS_REGION", "") or settings.text(
            env, "AWS_DEFAULT_REGION", cls.region
        )
        return cls(
            tls=Tls.from_env(env),
            connect_timeout=settings.seconds(
                env, "DB_CONNECT_TIMEOUT_SECONDS", DEFAULT_CONNECT_TIMEOUT
            ),
            region=region,
            log_level=settings.log_level(env),
            aws=AwsEnvironment.from_env(env),
        )


CURRENT = Cached(MigrationsSettings.from_env)


def current() -> MigrationsSettings:
    """This function's settings; ``SettingsError`` naming the variable that does not parse."""
    return CURRENT.get()
