"""Where a cluster is and how to log in to it: endpoint lookup, IAM token, TLS settings.

The CLI connects the way the migrations Lambda does, with its code
(``provider.migrations.connect``): the endpoint, port and master user from
``DescribeDBClusters``, a fresh ``generate_db_auth_token`` for that host,
port, user and region as the password, and TLS ``verify-full`` against
certifi's bundle; ``DB_SSLMODE`` and ``DB_SSLROOTCERT`` override the TLS
settings, as they do for the Lambda.

AWS errors become ``CliError`` with the operation and the error code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import botocore.exceptions

from aurora_express.cli.errors import CliError
from provider.cluster.naming import normalize
from provider.migrations import connect
from provider.migrations.connect import Target

DEFAULT_PORT = 5432
DEFAULT_USER = "postgres"


@dataclass(frozen=True)
class Tls:
    sslmode: str
    sslrootcert: str


def tls_settings() -> Tls:
    """``verify-full`` with certifi's bundle, unless ``DB_SSLMODE``/``DB_SSLROOTCERT`` say else."""
    settings = connect.tls_settings()
    return Tls(sslmode=settings["sslmode"], sslrootcert=settings["sslrootcert"])


def session(region: str | None) -> boto3.session.Session:
    """A boto3 session for ``region`` (or the SDK's own); CliError when there is none."""
    made = boto3.session.Session(region_name=region)
    if not made.region_name:
        raise CliError("no AWS region: pass --region or set AWS_REGION")
    return made


def aws_error(operation: str, subject: str, exc: Exception) -> CliError:
    """An AWS failure as a CliError naming the operation, the subject and the code."""
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


def describe_cluster(cluster: str, region: str | None) -> tuple[dict[str, Any], str]:
    """The cluster's ``DescribeDBClusters`` entry and the region it was found in.

    ``cluster`` is normalized as the provider normalizes identifiers, so the
    name given in a template (a branch name, say) finds its cluster.
    """
    identifier = normalize(cluster)
    if not identifier:
        raise CliError(f"--cluster {cluster!r} is not a cluster identifier", exit_code=2)
    found_in = session(region)
    rds = found_in.client("rds")
    try:
        found = rds.describe_db_clusters(DBClusterIdentifier=identifier)["DBClusters"]
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "DBClusterNotFoundFault":
            raise CliError(
                f"no cluster {identifier!r} in {found_in.region_name} (DBClusterNotFoundFault)"
            ) from exc
        raise aws_error("DescribeDBClusters", identifier, exc) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise aws_error("DescribeDBClusters", identifier, exc) from exc
    if not found:
        raise CliError(f"no cluster {identifier!r} in {found_in.region_name}")
    return found[0], str(found_in.region_name)


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
    described, found_region = describe_cluster(cluster, region)
    host = endpoint or described.get("Endpoint")
    if not host:
        status = described.get("Status", "unknown")
        raise CliError(
            f"cluster {described['DBClusterIdentifier']!r} has no endpoint yet (status {status})"
        )
    return Target(
        host=str(host),
        port=int(port or described.get("Port") or DEFAULT_PORT),
        user=str(username or described.get("MasterUsername") or DEFAULT_USER),
        database=database,
        region=found_region,
    )


def make_token(target: Target) -> str:
    """A fresh IAM auth token (15 minutes) for the target's host, port, user and region."""
    tokens = connect.iam_tokens(session(target.region).client("rds"))
    try:
        return tokens(target.host, target.port, target.user, target.region)
    except botocore.exceptions.BotoCoreError as exc:
        raise aws_error("generate_db_auth_token", target.host, exc) from exc
