"""AuroraExpressProvider is template.yaml's provider: the same functions, roles and policies.

Compared with template.yaml itself (the file ``sam deploy`` reads), with its
parameters set to what the construct's props say; values are compared once
CloudFormation would have worked them out (``cfn.evaluate``), statements as
(effect, action, resource, condition) atoms.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from aurora_express import provider_template
from aurora_express.cdk import AuroraExpressProvider, ExpressCluster
from aurora_express.cdk._template import UnsupportedTemplate
from aurora_express.cdk.provider import PARAMETER_PROPS
from tests.aurora_express.cdk.cfn import (
    Json,
    atoms,
    built_ids,
    evaluate,
    function_named,
    new_stack,
    of_type,
    only,
    role_statements,
    synth,
)

TEMPLATE = provider_template.parse(provider_template.SOURCE.read_text())
DEFAULTS = {name: str(spec["Default"]) for name, spec in TEMPLATE["Parameters"].items()}
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# SAM's policy for a function's Tracing (AWSXrayWriteOnlyAccess, its older name, in aws).
XRAY = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"
SAM_FUNCTION = "AWS::Serverless::Function"
# template.yaml's logical ids, and those SAM makes of a function's and its event's.
NAMES = [
    *TEMPLATE["Resources"],
    *(
        f"{logical_id}{event}"
        for logical_id, resource in TEMPLATE["Resources"].items()
        for event in resource.get("Properties", {}).get("Events", {})
    ),
]

# (construct props, template.yaml parameters they stand for)
CASES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    "defaults": ({"migrations_bucket": "*"}, DEFAULTS),
    "every-parameter-set": (
        {
            "max_clusters": 7,
            "reaper": True,
            "arm_reaper": True,
            "reaper_schedule": events.Schedule.rate(cdk.Duration.minutes(30)),
            "migrations_bucket": "my-migrations",
            "migrations_db_user": "migrator",
            "log_retention": logs.RetentionDays.ONE_WEEK,
            "tracing": lambda_.Tracing.ACTIVE,
        },
        {
            "MaxClusters": "7",
            "EnableReaper": "true",
            "ArmReaper": "true",
            "ReaperSchedule": "rate(30 minutes)",
            "MigrationsBucketName": "my-migrations",
            "MigrationsDbUser": "migrator",
            "LogRetentionInDays": "7",
            "Tracing": "Active",
        },
    ),
}


def _holds(condition: Any, parameters: dict[str, str]) -> bool:
    ((function, args),) = condition.items()
    if function == "Fn::Equals":
        return bool(evaluate(args[0], parameters) == evaluate(args[1], parameters))
    if function == "Fn::Not":
        return not _holds(args[0], parameters)
    raise AssertionError(f"a condition this test does not read: {function}")


def kept(parameters: dict[str, str]) -> dict[str, Json]:
    """template.yaml's resources that its conditions keep, by logical id."""
    return {
        logical_id: resource
        for logical_id, resource in TEMPLATE["Resources"].items()
        if not resource.get("Condition")
        or _holds(TEMPLATE["Conditions"][resource["Condition"]], parameters)
    }


def sam_functions(parameters: dict[str, str]) -> dict[str, Json]:
    """template.yaml's functions that its conditions keep, by name, Globals applied.

    (Globals and the functions set disjoint keys, but MemorySize: a plain override.)
    """
    functions = {}
    for resource in kept(parameters).values():
        if resource["Type"] != SAM_FUNCTION:
            continue
        spec = {**TEMPLATE["Globals"]["Function"], **resource["Properties"]}
        functions[evaluate(spec["FunctionName"], parameters)] = spec
    return functions


@pytest.fixture(scope="module")
def built() -> dict[str, Json]:
    """Each case's provider, synthesized once."""
    templates = {}
    for case, (props, _) in CASES.items():
        stack = new_stack("Prov")
        AuroraExpressProvider(stack, "Provider", **props)
        templates[case] = synth(stack)
    return templates


def _pairs() -> list[tuple[str, str]]:
    return [(case, name) for case, (_, p) in CASES.items() for name in sam_functions(p)]


@pytest.mark.parametrize("case", CASES)
def test_it_has_the_functions_template_yaml_has(case: str, built: dict[str, Json]) -> None:
    names = {
        evaluate(f["Properties"]["FunctionName"])
        for f in of_type(built[case], "AWS::Lambda::Function").values()
    }
    assert names == set(sam_functions(CASES[case][1]))


@pytest.mark.parametrize(("case", "name"), _pairs())
def test_each_function_is_configured_as_in_template_yaml(
    case: str, name: str, built: dict[str, Json]
) -> None:
    parameters = CASES[case][1]
    expected = sam_functions(parameters)[name]
    function = built[case]["Resources"][function_named(built[case], name)]["Properties"]
    assert function["Handler"] == expected["Handler"]
    assert function["Runtime"] == expected["Runtime"]
    assert function["Architectures"] == expected["Architectures"]
    assert function["MemorySize"] == expected["MemorySize"]
    assert function["Timeout"] == expected["Timeout"]
    assert function["Description"] == expected["Description"]
    assert function["LoggingConfig"] == {"LogFormat": expected["LoggingConfig"]["LogFormat"]}
    assert function["TracingConfig"] == {"Mode": evaluate(expected["Tracing"], parameters)}
    assert evaluate(function["Environment"]["Variables"]) == evaluate(
        expected["Environment"]["Variables"], parameters
    )


@pytest.mark.parametrize(("case", "name"), _pairs())
def test_each_role_allows_what_template_yaml_allows_and_nothing_else(
    case: str, name: str, built: dict[str, Json]
) -> None:
    parameters = CASES[case][1]
    spec = sam_functions(parameters)[name]
    expected = [s for p in spec["Policies"] for s in p["Statement"]]
    # SAM's own statement for each SQS destination of EventInvokeConfig.
    for destination in spec.get("EventInvokeConfig", {}).get("DestinationConfig", {}).values():
        assert destination["Type"] == "SQS"
        expected.append(
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": destination["Destination"]}
        )
    statements = role_statements(built[case], function_named(built[case], name))
    ids = built_ids(built[case], NAMES)
    assert atoms(statements) == atoms(expected, parameters, ids)


@pytest.mark.parametrize(("case", "name"), _pairs())
def test_each_role_is_lambdas_with_the_basic_execution_and_xray_policies_as_sam_makes_it(
    case: str, name: str, built: dict[str, Json]
) -> None:
    traced = "Tracing" in sam_functions(CASES[case][1])[name]
    function = built[case]["Resources"][function_named(built[case], name)]
    role = built[case]["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
    trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
        }
    ]
    assert evaluate(role["Properties"]["ManagedPolicyArns"]) == [BASIC_EXECUTION] + (
        [XRAY] if traced else []
    )


def _others(case: str) -> list[str]:
    return [k for k, r in kept(CASES[case][1]).items() if r["Type"] != SAM_FUNCTION]


@pytest.mark.parametrize(
    ("case", "logical_id"), [(case, logical_id) for case in CASES for logical_id in _others(case)]
)
def test_each_other_resource_is_template_yamls_as_it_is(
    case: str, logical_id: str, built: dict[str, Json]
) -> None:
    """Log groups, the reaper's failure queue and its policy, the poll key and its alias:
    type, properties, policies."""
    expected = TEMPLATE["Resources"][logical_id]
    ids = built_ids(built[case], NAMES)
    # SAM's <function>Role (the poll key's policy names two) is CDK's <function>ServiceRole.
    roles = built_ids(built[case], [f"{name}ServiceRole" for name in NAMES])
    ids.update({name.removesuffix("ServiceRole") + "Role": id for name, id in roles.items()})
    resource = built[case]["Resources"][ids[logical_id]]
    assert resource["Type"] == expected["Type"]
    properties = evaluate(expected["Properties"], CASES[case][1], ids)
    if "RetentionInDays" in properties:  # a Number parameter: a number in the property
        properties["RetentionInDays"] = int(properties["RetentionInDays"])
    assert evaluate(resource["Properties"]) == properties
    for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
        assert resource.get(policy) == expected.get(policy)


@pytest.mark.parametrize("case", CASES)
def test_it_builds_no_resource_template_yamls_conditions_leave_out(
    case: str, built: dict[str, Json]
) -> None:
    left_out = set(TEMPLATE["Resources"]) - set(kept(CASES[case][1]))
    assert set(built_ids(built[case], left_out)) == set()


def test_the_log_groups_are_the_functions_with_the_retention_of_log_retention(
    built: dict[str, Json],
) -> None:
    template = built["every-parameter-set"]
    groups = {
        evaluate(g["Properties"]["LogGroupName"]): g["Properties"]["RetentionInDays"]
        for g in of_type(template, "AWS::Logs::LogGroup").values()
    }
    functions = of_type(template, "AWS::Lambda::Function")
    assert groups == {f"/aws/lambda/<ref {logical_id}>": 7 for logical_id in functions}


def test_a_failed_reaper_run_is_not_retried_and_lands_in_the_failure_queue(
    built: dict[str, Json],
) -> None:
    template = built["every-parameter-set"]
    ids = built_ids(template, NAMES)
    queue_arn = {"Fn::GetAtt": [ids["ReaperFailureQueue"], "Arn"]}
    config = only(template, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert config == {
        "FunctionName": {"Ref": ids["ReaperFunction"]},
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 0,
        "DestinationConfig": {"OnFailure": {"Destination": queue_arn}},
    }
    (target,) = only(template, "AWS::Events::Rule")["Properties"]["Targets"]
    assert target["DeadLetterConfig"] == {"Arn": queue_arn}


def test_the_failure_queue_accepts_dead_letters_of_the_reapers_schedule_only(
    built: dict[str, Json],
) -> None:
    template = built["every-parameter-set"]
    (statement,) = only(template, "AWS::SQS::QueuePolicy")["Properties"]["PolicyDocument"][
        "Statement"
    ]
    rule = next(iter(of_type(template, "AWS::Events::Rule")))
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule, "Arn"]}}}


def test_the_reaper_runs_on_template_yamls_schedule(built: dict[str, Json]) -> None:
    template = built["every-parameter-set"]
    schedule = TEMPLATE["Resources"]["ReaperFunction"]["Properties"]["Events"]["Schedule"]
    rule = only(template, "AWS::Events::Rule")["Properties"]
    assert rule["ScheduleExpression"] == "rate(30 minutes)"
    assert rule["Description"] == schedule["Properties"]["Description"]
    assert rule["Targets"][0]["Arn"] == {
        "Fn::GetAtt": [function_named(template, "Prov-reaper"), "Arn"]
    }
    permission = only(template, "AWS::Lambda::Permission")["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"


def test_the_reaper_failure_queue_is_the_template_yaml_queue_to_alarm_on() -> None:
    stack = new_stack("Prov")
    provider = AuroraExpressProvider(stack, "Provider", reaper=True)
    queue = provider.reaper_failure_queue
    assert queue is not None
    assert provider.reaper_failure_queue is queue
    (queue_id,) = of_type(synth(stack), "AWS::SQS::Queue")
    assert stack.resolve(queue.queue_url) == {"Ref": queue_id}
    assert stack.resolve(queue.queue_arn) == {"Fn::GetAtt": [queue_id, "Arn"]}
    assert AuroraExpressProvider(new_stack(), "Provider").reaper_failure_queue is None


def test_without_the_reaper_there_is_no_reaper_function_nor_schedule(
    built: dict[str, Json],
) -> None:
    assert of_type(built["defaults"], "AWS::Events::Rule") == {}
    assert "Prov-reaper" not in {
        evaluate(f["Properties"]["FunctionName"])
        for f in of_type(built["defaults"], "AWS::Lambda::Function").values()
    }


@pytest.mark.parametrize("case", CASES)
def test_the_outputs_are_template_yamls_with_the_same_exports(
    case: str, built: dict[str, Json]
) -> None:
    parameters = CASES[case][1]
    outputs = built[case]["Outputs"]
    expected = {
        k: v
        for k, v in TEMPLATE["Outputs"].items()
        if "Condition" not in v or _holds(TEMPLATE["Conditions"][v["Condition"]], parameters)
    }
    assert set(outputs) == set(expected)
    ids = built_ids(built[case], NAMES)
    for name, output in expected.items():
        assert evaluate(outputs[name].get("Export")) == evaluate(output.get("Export"))
        assert evaluate(outputs[name]["Value"]) == evaluate(output["Value"], parameters, ids)
        assert outputs[name]["Description"] == output["Description"]


def test_without_a_migrations_bucket_the_migrations_role_reads_no_bucket() -> None:
    stack = new_stack("Prov")
    AuroraExpressProvider(stack, "Provider")
    template = synth(stack)
    statements = role_statements(template, function_named(template, "Prov-migrations"))
    expected = [
        s
        for s in TEMPLATE["Resources"]["MigrationsProviderFunction"]["Properties"]["Policies"][0][
            "Statement"
        ]
        if "MigrationsBucketName" not in str(s)
    ]
    assert atoms(statements) == atoms(expected, DEFAULTS)
    assert not any(a.startswith("s3:") for _, a, _, _ in atoms(statements))


def test_a_bucket_of_the_app_is_read_by_its_name() -> None:
    stack = new_stack("Prov")
    bucket = s3.Bucket(stack, "Sources")
    AuroraExpressProvider(stack, "Provider", migrations_bucket=bucket)
    template = synth(stack)
    bucket_id = next(iter(of_type(template, "AWS::S3::Bucket")))
    reads = {
        (action, resource)
        for _, action, resource, _ in atoms(
            role_statements(template, function_named(template, "Prov-migrations"))
        )
        if action.startswith("s3:")
    }
    assert reads == {
        ("s3:ListBucket", f"arn:aws:s3:::<ref {bucket_id}>"),
        ("s3:GetObject", f"arn:aws:s3:::<ref {bucket_id}>/*"),
    }


def test_every_parameter_of_template_yaml_is_a_prop() -> None:
    props = set(inspect.signature(AuroraExpressProvider.__init__).parameters)
    assert set(PARAMETER_PROPS) == set(TEMPLATE["Parameters"])
    assert set(PARAMETER_PROPS.values()) <= props


RANGE = "must be a number from 1 to 1000"


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"max_clusters": 0}, f"max_clusters (template.yaml's MaxClusters) {RANGE}, not '0'."),
        (
            {"max_clusters": 1001},
            f"max_clusters (template.yaml's MaxClusters) {RANGE}, not '1001'.",
        ),
        (
            {"migrations_db_user": "app-user"},
            "migrations_db_user (template.yaml's MigrationsDbUser) must match "
            "^[A-Za-z_*][A-Za-z0-9_$*]*$, not 'app-user'.",
        ),
        (
            {"log_retention": logs.RetentionDays.INFINITE},
            "log_retention (template.yaml's LogRetentionInDays) must be one of "
            "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, "
            "2192, 2557, 2922, 3288, 3653, not 'INFINITE'.",
        ),
        (
            {"tracing": lambda_.Tracing.DISABLED},
            "tracing (template.yaml's Tracing) must be one of Active, PassThrough, not 'Disabled'.",
        ),
    ],
)
def test_a_prop_outside_template_yamls_constraints_fails_naming_it(
    props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as failure:
        AuroraExpressProvider(new_stack(), "Provider", **props)
    assert str(failure.value) == message


def test_there_is_one_provider_per_stack_since_its_functions_are_named_after_it() -> None:
    stack = new_stack("Prov")
    AuroraExpressProvider(stack, "Provider")
    with pytest.raises(ValueError, match="one AuroraExpressProvider per stack"):
        AuroraExpressProvider(stack, "Another")


def test_the_shipped_copy_of_template_yaml_is_up_to_date() -> None:
    assert provider_template.COPY.read_text() == provider_template.render(TEMPLATE)


def test_a_provider_from_stack_exports_imports_what_template_yamls_outputs_export() -> None:
    stack = new_stack("Branch")
    provider = AuroraExpressProvider.from_stack_exports(stack, "Provider", "aurora-express")
    ExpressCluster(stack, "Db", provider=provider)
    token = only(synth(stack), "Custom::AuroraExpress")["Properties"]["ServiceToken"]
    export = TEMPLATE["Outputs"]["ClusterServiceToken"]["Export"]["Name"]
    stack_name = {"AWS::StackName": "aurora-express"}
    assert token == {"Fn::ImportValue": evaluate(export, stack_name)}
    migrations_export = TEMPLATE["Outputs"]["MigrationsServiceToken"]["Export"]["Name"]
    assert stack.resolve(provider.migrations_service_token) == {
        "Fn::ImportValue": evaluate(migrations_export, stack_name)
    }


def test_a_provider_from_service_tokens_uses_them_as_they_are() -> None:
    stack = new_stack("Branch")
    arn = "arn:aws:lambda:eu-west-1:123456789012:function:aurora-express-cluster"
    provider = AuroraExpressProvider.from_service_tokens(
        stack, "Provider", cluster_service_token=arn
    )
    ExpressCluster(stack, "Db", provider=provider)
    assert only(synth(stack), "Custom::AuroraExpress")["Properties"]["ServiceToken"] == arn
    assert provider.migrations_role is None


def test_a_cluster_in_another_stack_uses_the_providers_function_across_stacks() -> None:
    app = cdk.App(context={"aws:cdk:bundling-stacks": []})
    provider_stack = cdk.Stack(app, "Prov")
    provider = AuroraExpressProvider(provider_stack, "Provider")
    branch = cdk.Stack(app, "Branch")
    ExpressCluster(branch, "Db", provider=provider)
    token = only(synth(branch), "Custom::AuroraExpress")["Properties"]["ServiceToken"]
    assert "Fn::ImportValue" in token


def _with(change: Any) -> Any:
    template = copy.deepcopy(TEMPLATE)
    change(template)
    return lambda: template


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (
            lambda t: t["Resources"]["ClusterProviderFunction"]["Properties"].update(
                ReservedConcurrentExecutions=2
            ),
            "ReservedConcurrentExecutions",
        ),
        (lambda t: t["Resources"].update(Topic={"Type": "AWS::SNS::Topic"}), "AWS::SNS::Topic"),
        (
            lambda t: t["Resources"]["ClusterProviderFunction"]["Properties"].update(
                EventInvokeConfig={
                    "DestinationConfig": {"OnFailure": {"Type": "SNS", "Destination": "arn"}}
                }
            ),
            "a destination OnFailure",
        ),
        (
            lambda t: t["Resources"]["ClusterProviderFunction"]["Properties"]["Policies"].append(
                "AWSLambdaVPCAccessExecutionRole"
            ),
            "AWSLambdaVPCAccessExecutionRole",
        ),
    ],
)
def test_a_template_yaml_it_cannot_build_fails_the_synth_rather_than_differ(
    monkeypatch: pytest.MonkeyPatch, change: Any, named: str
) -> None:
    monkeypatch.setattr(provider_template, "load", _with(change))
    with pytest.raises(UnsupportedTemplate, match=named):
        AuroraExpressProvider(new_stack(), "Provider")
