"""A database per git branch, as a CDK app: ``cdk synth -c branch=feature/ABC-123_Login``.

The provider is deployed once per account and region (``sam deploy``, stack
``aurora-express``, or a CDK stack with ``AuroraExpressProvider``) and used
here through its exports. Each branch gets a stack of its own holding an
express cluster, the schema and seed data of ``examples/migrations`` and
``examples/seeds`` (uploaded as assets: a changed folder runs on the next
deploy), and a Lambda function that connects to the database with IAM auth.
Destroying the stack deletes the cluster.

Context: ``branch`` (default ``main``), ``provider_stack`` (default
``aurora-express``).
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_

from aurora_express.cdk import AuroraExpressProvider, ExpressCluster, ExpressMigrations, python_code
from provider.cluster.naming import normalize

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent
DATABASE = "app"

app = cdk.App()
branch = str(app.node.try_get_context("branch") or "main")
provider_stack = str(app.node.try_get_context("provider_stack") or "aurora-express")

stack = cdk.Stack(
    app,
    f"branch-{normalize(branch)}",  # feature/ABC-123_Login -> branch-feature-abc-123-login
    description=f"The database of branch {branch}",
)
provider = AuroraExpressProvider.from_stack_exports(stack, "Provider", provider_stack)

db = ExpressCluster(
    stack,
    "Db",
    provider=provider,
    cluster_identifier=f"app-{branch}",  # normalized by the provider
    min_capacity=0,
    max_capacity=4,
    seconds_until_auto_pause=300,
    # A forgotten branch stack still costs nothing once it expires (with the reaper on).
    expires_after=cdk.Duration.days(7),
    tags={"branch": branch},
)

schema = ExpressMigrations(
    stack,
    "Schema",
    cluster=db,
    migrations=EXAMPLES / "migrations",
    seeds=EXAMPLES / "seeds",
    layout="flyway",
    database=DATABASE,
    lock_timeout_seconds=10,
)

api = lambda_.Function(
    stack,
    "Api",
    code=python_code(HERE / "api"),  # api/requirements.txt as arm64 wheels, no Docker
    handler="handler.handler",
    runtime=lambda_.Runtime.PYTHON_3_13,
    architecture=lambda_.Architecture.ARM_64,
    timeout=cdk.Duration.seconds(60),  # a paused cluster takes a few seconds to resume
    environment={
        "DB_HOST": db.endpoint,
        "DB_PORT": db.port,
        "DB_NAME": DATABASE,
        "DB_USER": "postgres",
    },
)
db.grant_connect(api)  # rds-db:connect as postgres on this cluster, nothing else
api.node.add_dependency(schema)  # deployed once its tables exist

cdk.CfnOutput(stack, "ClusterIdentifier", value=db.cluster_identifier)
cdk.CfnOutput(stack, "Endpoint", value=db.endpoint)
cdk.CfnOutput(stack, "IamDbUserArn", value=db.iam_db_user_arn)
cdk.CfnOutput(stack, "LatestVersion", value=schema.latest_version)
cdk.CfnOutput(stack, "ApiFunction", value=api.function_name)

app.synth()
