"""Where a cluster is and how to log in to it: endpoint lookup, IAM token, TLS settings.

The CLI connects the way the migrations Lambda does, with its code: the
endpoint, port and master user from ``DescribeDBClusters``
(``provider.migrations.endpoint.lookup``, the function's own look-up), a
fresh ``generate_db_auth_token`` for that host, port, user and region as the
password, and TLS ``verify-full`` against certifi's bundle; ``DB_SSLMODE``
and ``DB_SSLROOTCERT`` override the TLS settings, as they do for the Lambda
(``provider.migrations.settings``).

AWS errors become ``CliError`` with the operation and the error code.
"""

from __future__ import annotations

import boto3
import botocore.exceptions

from aurora_express.cli.errors import CliError
from provider.cluster.naming import normalize
from provider.common.settings import SettingsError
from provider.migrations import connect, settings
from provider.migrations import endpoint as cluster_endpoint
from provider.migrations.connect import Target
from provider.migrations.settings import Tls


def tls_settings() -> Tls:
    """``verify-full`` with certifi's bundle, unless ``DB_SSLMODE``/``DB_SSLROOTCERT`` say else."""
    try:
        return settings.current().tls
    except SettingsError as exc:
        raise CliError(exc.reason) from exc


def _session(region: str | None) -> boto3.session.Session:
    session = boto3.session.Session(region_name=region)
    if not session.region_name:
        raise CliError("no AWS region: pass --region or set AWS_REGION")
    return session


def _aws_error(operation: str, subject: str, exc: Exception) -> CliError:
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        message = exc.response.get("Error", {}).get("Message", "")
        return CliError(f"{operation} for {subject} failed ({code}): {message}".rstrip(": "))
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return CliError(
            f"{operation} for {subject}: no AWS credentials (set AWS_PROFILE or run "
            "`aws sso login`)"
        )
    return CliError(f"{operation} for {subject} failed: {exc}")


def lookup(cluster: str, region: str | None) -> cluster_endpoint.ClusterEndpoint:
    """The cluster as ``DescribeDBClusters`` describes it, in the region it was looked up in.

    ``cluster`` is normalized as the provider normalizes identifiers, so the
    name given in a template (a branch name, say) finds its cluster.
    """
    identifier = normalize(cluster)
    if not identifier:
        raise CliError(f"--cluster {cluster!r} is not a cluster identifier", exit_code=2)
    session = _session(region)
    try:
        return cluster_endpoint.lookup(session.client("rds"), identifier)
    except cluster_endpoint.LookupFailed as exc:
        if exc.not_found:
            raise CliError(
                f"no cluster {identifier!r} in {session.region_name} ({cluster_endpoint.NOT_FOUND})"
            ) from exc
        cause = exc.__cause__ if isinstance(exc.__cause__, Exception) else exc
        raise _aws_error("DescribeDBClusters", identifier, cause) from exc


def resolve(
    cluster: str,
    *,
    region: str | None = None,
    endpoint: str | None = None,
    port: int | None = None,
    username: str | None = None,
    database: str = "postgres",
) -> Target:
    """The target for ``cluster``; ``endpoint``/``port``/``username`` override what RDS says."""
    found = lookup(cluster, region)
    host = endpoint or found.host
    if not host:
        raise CliError(f"cluster {found.identifier!r} has no endpoint yet (status {found.status})")
    return Target(
        host=host,
        port=port or found.port,
        user=username or found.master_username,
        database=database,
        region=found.region,
    )


def make_token(target: Target) -> str:
    """A fresh IAM auth token (15 minutes) for the target's host, port, user and region."""
    tokens = connect.iam_tokens(_session(target.region).client("rds"))
    try:
        return tokens(target.host, target.port, target.user, target.region)
    except botocore.exceptions.BotoCoreError as exc:
        raise _aws_error("generate_db_auth_token", target.host, exc) from exc


def session(region: str | None) -> boto3.session.Session:
    """A boto3 session for ``region`` (or the SDK's own); CliError when there is none."""
    return _session(region)


def aws_error(operation: str, subject: str, exc: Exception) -> CliError:
    """An AWS failure as a CliError naming the operation, the subject and the code."""
    return _aws_error(operation, subject, exc)
