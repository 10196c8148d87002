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
from aws_cdk import aws_s3 as s3

from aurora_express import provider_template
from aurora_express.cdk import AuroraExpressProvider, ExpressCluster
from aurora_express.cdk._template import UnsupportedTemplate
from aurora_express.cdk.provider import PARAMETER_PROPS
from tests.aurora_express.cdk.cfn import (
    Json,
    atoms,
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
        },
        {
            "MaxClusters": "7",
            "EnableReaper": "true",
            "ArmReaper": "true",
            "ReaperSchedule": "rate(30 minutes)",
            "MigrationsBucketName": "my-migrations",
            "MigrationsDbUser": "migrator",
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


def sam_functions(parameters: dict[str, str]) -> dict[str, Json]:
    """template.yaml's functions that its conditions keep, by name, Globals applied.

    (Globals and the functions set disjoint keys, but MemorySize: a plain override.)
    """
    functions = {}
    for resource in TEMPLATE["Resources"].values():
        condition = resource.get("Condition")
        if condition and not _holds(TEMPLATE["Conditions"][condition], parameters):
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
    assert function["LoggingConfig"]["LogFormat"] == expected["LoggingConfig"]["LogFormat"]
    assert evaluate(function["Environment"]["Variables"]) == evaluate(
        expected["Environment"]["Variables"], parameters
    )


@pytest.mark.parametrize(("case", "name"), _pairs())
def test_each_role_allows_what_template_yaml_allows_and_nothing_else(
    case: str, name: str, built: dict[str, Json]
) -> None:
    parameters = CASES[case][1]
    expected = [s for p in sam_functions(parameters)[name]["Policies"] for s in p["Statement"]]
    statements = role_statements(built[case], function_named(built[case], name))
    assert atoms(statements) == atoms(expected, parameters)


@pytest.mark.parametrize(("case", "name"), _pairs())
def test_each_role_is_lambdas_with_the_basic_execution_policy_as_sam_makes_it(
    case: str, name: str, built: dict[str, Json]
) -> None:
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
    assert evaluate(role["Properties"]["ManagedPolicyArns"]) == [BASIC_EXECUTION]


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
    outputs = built[case]["Outputs"]
    expected = {k: v for k, v in TEMPLATE["Outputs"].items()}
    assert set(outputs) >= set(expected)
    for name, output in expected.items():
        assert evaluate(outputs[name]["Export"]["Name"]) == evaluate(output["Export"]["Name"])
        function = output["Value"]["Fn::GetAtt"][0]
        sam_name = evaluate(TEMPLATE["Resources"][function]["Properties"]["FunctionName"])
        target = function_named(built[case], sam_name)
        assert outputs[name]["Value"] == {"Fn::GetAtt": [target, "Arn"]}


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
        (lambda t: t["Resources"].update(Queue={"Type": "AWS::SQS::Queue"}), "AWS::SQS::Queue"),
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
