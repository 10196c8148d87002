"""The AWS clients a migrations run may need, made on first use.

Apart from ``migrator`` so that the handler keeps one set while the Lambda
is warm without importing the engine at cold start (a Delete needs none),
and boto3 is imported only when a client is made: a run with inline SQL and
an ``Endpoint`` (or the CLI's ``--dsn``) makes none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from provider.common.settings import AwsEnvironment


@dataclass
class Clients:
    """The AWS clients a run may need, made on first use and kept while the Lambda is warm.

    Lazily, so a run with inline SQL and an ``Endpoint`` makes no AWS call but
    signing the token; remade when the settings' endpoint or region change
    (moto's server, the demo). Tests may set ``rds``/``s3`` directly.
    """

    rds: Any = None
    s3: Any = None
    _aws: AwsEnvironment | None = None

    def _fresh(self, aws: AwsEnvironment) -> None:
        if self._aws is not None and aws != self._aws:
            self.rds = self.s3 = None
        self._aws = aws

    def get_rds(self, aws: AwsEnvironment) -> Any:
        self._fresh(aws)
        if self.rds is None:
            import boto3  # noqa: PLC0415 (see the module's docstring)

            self.rds = boto3.client("rds")
        return self.rds

    def get_rds_in(self, aws: AwsEnvironment, region: str) -> Any:
        """An RDS client for ``region``: the kept one when it is that region's."""
        import boto3  # noqa: PLC0415

        rds = self.get_rds(aws)
        return rds if rds.meta.region_name == region else boto3.client("rds", region_name=region)

    def get_s3(self, aws: AwsEnvironment) -> Any:
        self._fresh(aws)
        if self.s3 is None:
            import boto3  # noqa: PLC0415

            self.s3 = boto3.client("s3")
        return self.s3
