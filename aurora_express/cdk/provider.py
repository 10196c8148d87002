"""The provider inside a CDK app, or one deployed once per account with SAM.

``AuroraExpressProvider`` builds template.yaml's functions, roles, policies,
schedule and outputs from the template itself (its copy shipped in the
package, see ``aurora_express.provider_template``), with the construct's
props as the template's parameters: the same actions, resources and
conditions as ``sam deploy``, and the same code (``bundling.provider_code``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from aws_cdk import CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from aurora_express import provider_build, provider_template
from aurora_express.cdk import _template
from aurora_express.cdk._template import UnsupportedTemplate, Values
from aurora_express.cdk.bundling import provider_code
from aurora_express.lint._kinds import kinds
from provider.cluster.properties import RESOURCE_TYPE as CLUSTER_TYPE

MIGRATIONS_TYPE = "Custom::AuroraExpressMigrations"
# The contract's logical ids: which function handles which resource type.
HANDLERS = {CLUSTER_TYPE: "ClusterProviderFunction", MIGRATIONS_TYPE: "MigrationsProviderFunction"}
# Each template parameter and the prop that sets it.
PARAMETER_PROPS = {
    "MaxClusters": "max_clusters",
    "EnableReaper": "reaper",
    "ArmReaper": "arm_reaper",
    "ReaperSchedule": "reaper_schedule",
    "MigrationsBucketName": "migrations_bucket",
    "MigrationsDbUser": "migrations_db_user",
}
_FUNCTION_KEYS = frozenset(
    {
        "FunctionName",
        "Description",
        "CodeUri",
        "Handler",
        "Runtime",
        "Architectures",
        "MemorySize",
        "Timeout",
        "Environment",
        "LoggingConfig",
        "Policies",
        "Events",
    }
)
_ARCHITECTURES = {"arm64": lambda_.Architecture.ARM_64, "x86_64": lambda_.Architecture.X86_64}


class IAuroraExpressProvider(Protocol):
    """What ``ExpressCluster`` and ``ExpressMigrations`` need of a provider."""

    @property
    def cluster_service_token(self) -> str:
        """The ServiceToken of ``Custom::AuroraExpress``."""
        ...

    @property
    def migrations_service_token(self) -> str | None:
        """The ServiceToken of ``Custom::AuroraExpressMigrations``, if the provider has it."""
        ...

    @property
    def migrations_role(self) -> iam.IRole | None:
        """The migrations function's role, where this app may grant it access to sources."""
        ...


def export_name(stack_name: str, resource_type: str) -> str:
    """The export of provider stack ``stack_name`` holding ``resource_type``'s ServiceToken."""
    return f"{stack_name}-{kinds()[resource_type].service_token_output}"


class ImportedAuroraExpressProvider(Construct):
    """A provider deployed elsewhere (``sam deploy``, another CDK app), by its ServiceTokens.

    The app cannot change its roles: ``ExpressMigrations`` relies on the
    provider stack's own ``MigrationsBucketName`` (``*`` by default) to read
    its sources, unless ``migrations_role`` is given.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        cluster_service_token: str,
        migrations_service_token: str | None = None,
        migrations_role: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, id)
        self._cluster_service_token = cluster_service_token
        self._migrations_service_token = migrations_service_token
        self._migrations_role = migrations_role

    @property
    def cluster_service_token(self) -> str:
        return self._cluster_service_token

    @property
    def migrations_service_token(self) -> str | None:
        return self._migrations_service_token

    @property
    def migrations_role(self) -> iam.IRole | None:
        return self._migrations_role


class AuroraExpressProvider(Construct):
    """template.yaml's provider, built in this stack: one per stack.

    Its functions are named after the stack (``<stack>-cluster``,
    ``<stack>-migrations``, ``<stack>-reaper``) as template.yaml names them,
    and its outputs are exported as ``<stack>-ClusterServiceToken`` and
    ``<stack>-MigrationsServiceToken``, so other apps can use
    ``AuroraExpressProvider.from_stack_exports(<stack>)``.

    Props left at None take template.yaml's parameter defaults, except
    ``migrations_bucket``:

    - ``max_clusters``: the most clusters the provider may own in the region (MaxClusters).
    - ``reaper``: deploy the reaper (EnableReaper); ``arm_reaper``: let it delete
      (ArmReaper), otherwise it only reports; ``reaper_schedule``: when it runs.
    - ``migrations_bucket``: a bucket the migrations function may read
      (MigrationsBucketName), ``"*"`` for any. None: no bucket-wide access;
      each ``ExpressMigrations`` grants its own sources.
    - ``migrations_db_user``: the database user migrations log in as (MigrationsDbUser).
    - ``log_retention``: how long the functions' log groups keep their logs.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        max_clusters: int | None = None,
        reaper: bool | None = None,
        arm_reaper: bool | None = None,
        reaper_schedule: events.Schedule | None = None,
        migrations_bucket: s3.IBucket | str | None = None,
        migrations_db_user: str | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
    ) -> None:
        super().__init__(scope, id)
        stack = Stack.of(self)
        others = [c for c in stack.node.find_all() if isinstance(c, AuroraExpressProvider)]
        if len(others) > 1:
            raise ValueError(
                f"{self.node.path}: one AuroraExpressProvider per stack: its functions are "
                f"named after the stack, as template.yaml names them ({others[0].node.path})."
            )
        bucket = (
            migrations_bucket
            if migrations_bucket is None or isinstance(migrations_bucket, str)
            else migrations_bucket.bucket_name
        )
        props: dict[str, object | None] = {
            "max_clusters": max_clusters,
            "reaper": reaper,
            "arm_reaper": arm_reaper,
            "reaper_schedule": reaper_schedule.expression_string if reaper_schedule else None,
            "migrations_bucket": bucket,
            "migrations_db_user": migrations_db_user,
        }
        given = {name: (prop, props[prop]) for name, prop in PARAMETER_PROPS.items()}
        self.template: Mapping[str, Any] = provider_template.load()
        self.functions: dict[str, lambda_.Function] = {}
        values = Values(
            parameters=_template.parameter_values(
                self.template, given, left_out=frozenset({"MigrationsBucketName"})
            ),
            attribute=self._attribute,
        )
        left_out = {name for name, value in values.parameters.items() if value is None}
        for logical_id, resource in self.template.get("Resources", {}).items():
            if resource.get("Type") != "AWS::Serverless::Function":
                raise UnsupportedTemplate(f"{logical_id}: a {resource.get('Type')}")
            if set(resource) - {"Type", "Condition", "Metadata", "Properties"}:
                raise UnsupportedTemplate(f"{logical_id} sets {sorted(resource)}")
            wanted = resource.get("Condition")
            if wanted is None or _template.condition(self.template, wanted, values):
                self.functions[logical_id] = self._function(
                    logical_id, resource, values, left_out, log_retention
                )
        for name, output in self.template.get("Outputs", {}).items():
            self._output(name, output, values)

    # -- the provider's interface ------------------------------------------------

    @property
    def cluster_function(self) -> lambda_.Function:
        return self.functions[HANDLERS[CLUSTER_TYPE]]

    @property
    def migrations_function(self) -> lambda_.Function:
        return self.functions[HANDLERS[MIGRATIONS_TYPE]]

    @property
    def reaper_function(self) -> lambda_.Function | None:
        return self.functions.get("ReaperFunction")

    @property
    def cluster_service_token(self) -> str:
        return self.cluster_function.function_arn

    @property
    def migrations_service_token(self) -> str | None:
        return self.migrations_function.function_arn

    @property
    def migrations_role(self) -> iam.IRole | None:
        return self.migrations_function.role

    @staticmethod
    def from_service_tokens(
        scope: Construct,
        id: str,
        *,
        cluster_service_token: str,
        migrations_service_token: str | None = None,
        migrations_role: iam.IRole | None = None,
    ) -> ImportedAuroraExpressProvider:
        """A provider deployed elsewhere, by its functions' ARNs."""
        return ImportedAuroraExpressProvider(
            scope,
            id,
            cluster_service_token=cluster_service_token,
            migrations_service_token=migrations_service_token,
            migrations_role=migrations_role,
        )

    @staticmethod
    def from_stack_exports(
        scope: Construct, id: str, stack_name: str = "aurora-express"
    ) -> ImportedAuroraExpressProvider:
        """The provider stack ``stack_name``'s exported ServiceTokens (``Fn::ImportValue``)."""
        return ImportedAuroraExpressProvider(
            scope,
            id,
            cluster_service_token=Fn.import_value(export_name(stack_name, CLUSTER_TYPE)),
            migrations_service_token=Fn.import_value(export_name(stack_name, MIGRATIONS_TYPE)),
        )

    # -- building template.yaml's resources --------------------------------------

    def _attribute(self, logical_id: str, attribute: str) -> str:
        function = self.functions.get(logical_id)
        if function is None or attribute != "Arn":
            raise UnsupportedTemplate(f"Fn::GetAtt {logical_id}.{attribute}")
        return function.function_arn

    def _function(
        self,
        logical_id: str,
        resource: Mapping[str, Any],
        values: Values,
        left_out: set[str],
        log_retention: logs.RetentionDays,
    ) -> lambda_.Function:
        defaults = self.template.get("Globals", {}).get("Function", {})
        spec = _template.merge_globals(defaults, resource.get("Properties", {}))
        unknown = sorted(set(spec) - _FUNCTION_KEYS)
        if unknown:
            raise UnsupportedTemplate(f"{logical_id} sets {', '.join(unknown)}")
        runtime = spec["Runtime"]
        if runtime != "python{}.{}".format(*provider_build.PYTHON_VERSION):
            raise UnsupportedTemplate(f"{logical_id}: runtime {runtime}, built for another")
        if spec.get("Architectures") != [provider_build.ARCHITECTURE]:
            raise UnsupportedTemplate(f"{logical_id}: architectures {spec.get('Architectures')}")
        logging = spec.get("LoggingConfig", {})
        if set(logging) - {"LogFormat"}:
            raise UnsupportedTemplate(f"{logical_id}: LoggingConfig {sorted(logging)}")
        environment = spec.get("Environment", {}).get("Variables", {})
        function = lambda_.Function(
            self,
            logical_id,
            function_name=_template.convert(spec.get("FunctionName"), values),
            description=spec.get("Description"),
            code=provider_code(logical_id),
            handler=spec["Handler"],
            runtime=lambda_.Runtime(runtime, lambda_.RuntimeFamily.PYTHON),
            architecture=_ARCHITECTURES[provider_build.ARCHITECTURE],
            memory_size=spec.get("MemorySize"),
            timeout=Duration.seconds(spec["Timeout"]) if "Timeout" in spec else None,
            environment={
                k: _template.as_parameter(_template.convert(v, values))
                for k, v in environment.items()
            },
            logging_format=lambda_.LoggingFormat(logging["LogFormat"]) if logging else None,
            log_group=logs.LogGroup(self, f"{logical_id}Logs", retention=log_retention),
        )
        for policy in spec.get("Policies", []):
            if not isinstance(policy, dict) or set(policy) - {"Version", "Statement"}:
                raise UnsupportedTemplate(f"{logical_id}: a policy {policy!r}")
            for statement in policy["Statement"]:
                if _template.references(statement) & left_out:
                    continue  # it names a parameter the app leaves out
                function.add_to_role_policy(
                    iam.PolicyStatement.from_json(_template.convert(statement, values))
                )
        for name, event in spec.get("Events", {}).items():
            self._schedule(function, f"{logical_id}{name}", event, values)
        return function

    def _schedule(
        self, function: lambda_.Function, id: str, event: Mapping[str, Any], values: Values
    ) -> None:
        properties = event.get("Properties", {})
        if event.get("Type") != "Schedule" or set(properties) - {"Schedule", "Description"}:
            raise UnsupportedTemplate(f"{id}: an event {event!r}")
        events.Rule(
            self,
            id,
            schedule=events.Schedule.expression(_template.convert(properties["Schedule"], values)),
            description=properties.get("Description"),
            targets=[targets.LambdaFunction(function)],
        )

    def _output(self, name: str, output: Mapping[str, Any], values: Values) -> None:
        if set(output) - {"Description", "Value", "Export"}:
            raise UnsupportedTemplate(f"the output {name}: {sorted(output)}")
        export = output.get("Export", {}).get("Name")
        cfn_output = CfnOutput(
            self,
            name,
            value=_template.convert(output["Value"], values),
            description=output.get("Description"),
            export_name=_template.convert(export, values) if export is not None else None,
        )
        cfn_output.override_logical_id(name)  # the stack's outputs, named as template.yaml's
