"""The provider inside a CDK app, or one deployed once per account with SAM.

``AuroraExpressProvider`` builds template.yaml's functions, roles, policies,
log groups, schedule, the reaper's failure queue and outputs from the template
itself (its copy shipped in the package, see
``aurora_express.provider_template``), with the construct's props as the
template's parameters: the same actions, resources and conditions as ``sam
deploy``, and the same code (``bundling.provider_code``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from aws_cdk import CfnDeletionPolicy, CfnOutput, CfnResource, Duration, Fn, Stack, Token
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
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
    "LogRetentionInDays": "log_retention",
    "Tracing": "tracing",
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
        "Tracing",
        "EventInvokeConfig",
    }
)
# Resources built as template.yaml writes them (CloudFormation's own types).
_CLOUDFORMATION_TYPES = frozenset(
    {
        "AWS::KMS::Alias",
        "AWS::KMS::Key",
        "AWS::Logs::LogGroup",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
    }
)
_RESOURCE_KEYS = frozenset(
    {"Type", "Condition", "Metadata", "Properties", "DeletionPolicy", "UpdateReplacePolicy"}
)
# SAM's policy for Tracing; AWSXrayWriteOnlyAccess (SAM's in the aws partition)
# is its older name, with the same actions, and missing in other partitions.
XRAY_MANAGED_POLICY = "AWSXRayDaemonWriteAccess"
TRACING_MODES = {
    lambda_.Tracing.ACTIVE: "Active",
    lambda_.Tracing.PASS_THROUGH: "PassThrough",
    lambda_.Tracing.DISABLED: "Disabled",
}
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
    - ``log_retention``: how long the functions' log groups keep their logs
      (LogRetentionInDays; not ``INFINITE``).
    - ``tracing``: X-Ray tracing of the functions, ``ACTIVE`` or ``PASS_THROUGH`` (Tracing).
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
        log_retention: logs.RetentionDays | None = None,
        tracing: lambda_.Tracing | None = None,
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
            "log_retention": retention_days(log_retention) if log_retention else None,
            "tracing": TRACING_MODES[tracing] if tracing else None,
        }
        given = {name: (prop, props[prop]) for name, prop in PARAMETER_PROPS.items()}
        self.template: Mapping[str, Any] = provider_template.load()
        self.functions: dict[str, lambda_.Function] = {}
        # Each resource built, by its logical id in template.yaml (or SAM's id
        # for what SAM generates, as ReaperFunctionSchedule): its Ref, its GetAtt.
        self._built: dict[str, tuple[str, Callable[[str], str]]] = {}
        self._building: set[str] = set()
        parameters = self.template.get("Parameters", {})
        self._values = Values(
            parameters=_template.parameter_values(
                self.template, given, left_out=frozenset({"MigrationsBucketName"})
            ),
            attribute=self._attribute,
            resource=self._ref,
            numbers=frozenset(n for n, spec in parameters.items() if spec.get("Type") == "Number"),
        )
        self._left_out = {n for n, value in self._values.parameters.items() if value is None}
        # template.yaml's plain CloudFormation resources (log groups, the queue), by logical id.
        self.resources: dict[str, CfnResource] = {}
        for logical_id in self.template.get("Resources", {}):
            self._build(logical_id)
        for name, output in self.template.get("Outputs", {}).items():
            self._output(name, output, self._values)
        queue = self.resources.get("ReaperFailureQueue")
        self._reaper_failure_queue = (
            sqs.Queue.from_queue_attributes(
                self,
                "ReaperFailureQueueOf",
                queue_arn=Token.as_string(queue.get_att("Arn")),
                queue_url=queue.ref,
            )
            if queue is not None
            else None
        )

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
    def reaper_failure_queue(self) -> sqs.IQueue | None:
        """Where failed reaper runs land (ReaperFailureQueue), to alarm on; None without reaper."""
        return self._reaper_failure_queue

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

    def _build(self, logical_id: str) -> bool:
        """Build resource ``logical_id`` (once); False when its condition leaves it out."""
        if logical_id in self._built or logical_id in self._building:
            return logical_id in self._built
        resource = self.template.get("Resources", {}).get(logical_id)
        if resource is None:
            return False
        if set(resource) - _RESOURCE_KEYS:
            raise UnsupportedTemplate(f"{logical_id} sets {sorted(set(resource) - _RESOURCE_KEYS)}")
        wanted = resource.get("Condition")
        if wanted is not None and not _template.condition(self.template, wanted, self._values):
            return False
        kind = resource.get("Type")
        self._building.add(logical_id)
        if kind == "AWS::Serverless::Function":
            function = self._function(logical_id, resource, self._values, self._left_out)
            self.functions[logical_id] = function
            self._built[logical_id] = (function.function_name, _only_arn(function.function_arn))
        elif kind in _CLOUDFORMATION_TYPES:
            cfn = self._cloudformation(logical_id, resource)
            self._built[logical_id] = (cfn.ref, lambda name: Token.as_string(cfn.get_att(name)))
        else:
            raise UnsupportedTemplate(f"{logical_id}: a {kind}")
        self._building.discard(logical_id)
        return True

    def _require(self, logical_id: str) -> tuple[str, Callable[[str], str]]:
        if logical_id not in self._built:
            owner = next(
                (f for f in self.template.get("Resources", {}) if logical_id.startswith(f)),
                logical_id,
            )  # SAM's generated ids start with their function's
            self._build(owner)
        if logical_id not in self._built:
            raise UnsupportedTemplate(f"a reference to {logical_id}, which is not built")
        return self._built[logical_id]

    def _ref(self, logical_id: str) -> str:
        return self._require(logical_id)[0]

    def _attribute(self, logical_id: str, attribute: str) -> str:
        return self._require(logical_id)[1](attribute)

    def _cloudformation(self, logical_id: str, resource: Mapping[str, Any]) -> CfnResource:
        """A plain CloudFormation resource, its properties as template.yaml has them."""
        cfn = CfnResource(
            self,
            logical_id,
            type=resource["Type"],
            properties=_template.convert(resource.get("Properties", {}), self._values),
        )
        for key, value in resource.get("Metadata", {}).items():
            cfn.add_metadata(key, value)
        options = cfn.cfn_options
        if "DeletionPolicy" in resource:
            options.deletion_policy = _deletion_policy(logical_id, resource["DeletionPolicy"])
        if "UpdateReplacePolicy" in resource:
            policy = resource["UpdateReplacePolicy"]
            options.update_replace_policy = _deletion_policy(logical_id, policy)
        self.resources[logical_id] = cfn
        return cfn

    def _function(
        self,
        logical_id: str,
        resource: Mapping[str, Any],
        values: Values,
        left_out: set[str],
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
        )
        self._built[logical_id] = (function.function_name, _only_arn(function.function_arn))
        assert function.role is not None
        # SAM's <function>Role, as the key policy of PollUrlKey names it.
        self._built[f"{logical_id}Role"] = (
            function.role.role_name,
            _only_arn(function.role.role_arn),
        )
        if "Tracing" in spec:
            self._tracing(function, _template.convert(spec["Tracing"], values))
        for policy in spec.get("Policies", []):
            if not isinstance(policy, dict) or set(policy) - {"Version", "Statement"}:
                raise UnsupportedTemplate(f"{logical_id}: a policy {policy!r}")
            for statement in policy["Statement"]:
                if _template.references(statement) & left_out:
                    continue  # it names a parameter the app leaves out
                function.add_to_role_policy(
                    iam.PolicyStatement.from_json(_template.convert(statement, values))
                )
        if "EventInvokeConfig" in spec:
            self._event_invoke_config(function, logical_id, spec["EventInvokeConfig"], values)
        for name, event in spec.get("Events", {}).items():
            self._schedule(function, f"{logical_id}{name}", event, values)
        return function

    @staticmethod
    def _tracing(function: lambda_.Function, mode: str) -> None:
        """SAM's Tracing: the function's TracingConfig, and X-Ray's managed policy on its role."""
        cfn = function.node.default_child
        assert isinstance(cfn, lambda_.CfnFunction)
        cfn.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode=mode)
        assert function.role is not None
        function.role.add_managed_policy(
            iam.ManagedPolicy.from_aws_managed_policy_name(XRAY_MANAGED_POLICY)
        )

    def _event_invoke_config(
        self,
        function: lambda_.Function,
        logical_id: str,
        config: Mapping[str, Any],
        values: Values,
    ) -> None:
        """SAM's EventInvokeConfig: on $LATEST, each SQS destination sendable by the role."""
        if set(config) - {"MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig"}:
            raise UnsupportedTemplate(f"{logical_id}: EventInvokeConfig {sorted(config)}")
        destinations: dict[str, Any] = {}
        for when, destination in config.get("DestinationConfig", {}).items():
            if when not in ("OnSuccess", "OnFailure") or destination.get("Type") != "SQS":
                raise UnsupportedTemplate(f"{logical_id}: a destination {when} {destination!r}")
            arn = _template.convert(destination["Destination"], values)
            destinations[when] = {"Destination": arn}
            function.add_to_role_policy(
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[arn])
            )
        CfnResource(
            self,
            f"{logical_id}EventInvokeConfig",
            type="AWS::Lambda::EventInvokeConfig",
            properties={
                "FunctionName": function.function_name,
                "Qualifier": "$LATEST",
                **{k: v for k, v in config.items() if k != "DestinationConfig"},
                **({"DestinationConfig": destinations} if destinations else {}),
            },
        )

    def _schedule(
        self, function: lambda_.Function, id: str, event: Mapping[str, Any], values: Values
    ) -> None:
        properties = event.get("Properties", {})
        known = {"Schedule", "Description", "DeadLetterConfig"}
        if event.get("Type") != "Schedule" or set(properties) - known:
            raise UnsupportedTemplate(f"{id}: an event {event!r}")
        dead_letters = properties.get("DeadLetterConfig")
        if dead_letters is not None and set(dead_letters) != {"Arn"}:
            raise UnsupportedTemplate(f"{id}: a DeadLetterConfig {dead_letters!r}")
        queue = (
            sqs.Queue.from_queue_arn(
                self, f"{id}DeadLetters", _template.convert(dead_letters["Arn"], values)
            )
            if dead_letters is not None
            else None
        )
        rule = events.Rule(
            self,
            id,
            schedule=events.Schedule.expression(_template.convert(properties["Schedule"], values)),
            description=properties.get("Description"),
            targets=[targets.LambdaFunction(function, dead_letter_queue=queue)],
        )
        self._built[id] = (rule.rule_name, _only_arn(rule.rule_arn))

    def _output(self, name: str, output: Mapping[str, Any], values: Values) -> None:
        if set(output) - {"Description", "Value", "Export", "Condition"}:
            raise UnsupportedTemplate(f"the output {name}: {sorted(output)}")
        wanted = output.get("Condition")
        if wanted is not None and not _template.condition(self.template, wanted, values):
            return
        export = output.get("Export", {}).get("Name")
        cfn_output = CfnOutput(
            self,
            name,
            value=_template.convert(output["Value"], values),
            description=output.get("Description"),
            export_name=_template.convert(export, values) if export is not None else None,
        )
        cfn_output.override_logical_id(name)  # the stack's outputs, named as template.yaml's


def _only_arn(arn: str) -> Callable[[str], str]:
    def attribute(name: str) -> str:
        if name != "Arn":
            raise UnsupportedTemplate(f"Fn::GetAtt .{name} of a function, role or rule")
        return arn

    return attribute


def _deletion_policy(logical_id: str, policy: str) -> CfnDeletionPolicy:
    # CDK's names for CloudFormation's values: Delete is DELETE, and so on.
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", policy).upper()
    if name not in CfnDeletionPolicy.__members__:
        raise UnsupportedTemplate(f"{logical_id}: a deletion policy {policy}")
    return CfnDeletionPolicy[name]


def retention_days(retention: logs.RetentionDays) -> int | str:
    """``retention`` in days, as CDK counts them (its name when it has none: INFINITE)."""
    scratch = Stack()  # a throwaway app's stack: CDK's own numbers, not a copy of them
    group = logs.LogGroup(scratch, "Days", retention=retention)
    cfn = group.node.default_child
    assert isinstance(cfn, logs.CfnLogGroup)
    days = cfn.retention_in_days
    return retention.name if days is None else int(days)
