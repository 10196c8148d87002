"""CDK constructs for the provider, its clusters and their migrations (the ``[cdk]`` extra).

- ``AuroraExpressProvider``: template.yaml's functions, roles and policies in
  this app, built from the template and this package's ``provider/`` code; or
  ``AuroraExpressProvider.from_stack_exports(stack_name)`` /
  ``.from_service_tokens(...)`` for a provider deployed once per account.
- ``ExpressCluster``: a ``Custom::AuroraExpress`` with typed props, its
  attributes as properties, and ``grant_connect``.
- ``ExpressMigrations``: a ``Custom::AuroraExpressMigrations`` whose local
  folders become S3 assets.
- ``python_code``: an arm64 Lambda code asset of a Python folder, its
  requirements installed by ``pip --platform`` (no Docker), as the
  provider's own functions are built.

Props are validated at synth time by the provider's own property models;
a bad value raises ``PropertyError`` with the reason the provider would
answer ``FAILED`` with.
"""

from __future__ import annotations

from aurora_express.cdk._validation import PropertyError
from aurora_express.cdk.bundling import python_code
from aurora_express.cdk.cluster import ExpressCluster
from aurora_express.cdk.migrations import ExpressMigrations
from aurora_express.cdk.provider import (
    AuroraExpressProvider,
    IAuroraExpressProvider,
    ImportedAuroraExpressProvider,
)

__all__ = [
    "AuroraExpressProvider",
    "ExpressCluster",
    "ExpressMigrations",
    "IAuroraExpressProvider",
    "ImportedAuroraExpressProvider",
    "PropertyError",
    "python_code",
]
