"""ExpressMigrations: folders as S3 assets the provider reads, revisions, grants, properties."""

from __future__ import annotations

import inspect
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import boto3
import moto
import pytest
from aws_cdk import assertions, cx_api

from aurora_express.cdk import (
    AuroraExpressProvider,
    ExpressCluster,
    ExpressMigrations,
    PropertyError,
)
from aurora_express.cfn_values import stringify
from aurora_express.lint._kinds import kinds
from provider.common.errors import InvalidProperty
from provider.migrations import layouts, sources
from provider.migrations.properties import MigrationsProperties, parse
from tests.aurora_express.cdk.cfn import (
    PSEUDO,
    Json,
    atoms,
    evaluate,
    function_named,
    new_stack,
    only,
    role_statements,
    synth,
)

ROOT = Path(__file__).resolve().parents[3]
MIGRATIONS = ROOT / "examples" / "migrations"
SEEDS = ROOT / "examples" / "seeds"
TYPE = "Custom::AuroraExpressMigrations"
ASSETS_BUCKET = f"cdk-hnb659fds-assets-{PSEUDO['AWS::AccountId']}-{PSEUDO['AWS::Region']}"
CLUSTER_TOKEN = "arn:aws:lambda:eu-west-1:123456789012:function:p-cluster"
MIGRATIONS_TOKEN = "arn:aws:lambda:eu-west-1:123456789012:function:p-migrations"


def imported(stack: cdk.Stack) -> Any:
    return AuroraExpressProvider.from_service_tokens(
        stack,
        "Provider",
        cluster_service_token=CLUSTER_TOKEN,
        migrations_service_token=MIGRATIONS_TOKEN,
    )


def schema(stack: cdk.Stack, provider: Any = None, **props: Any) -> ExpressMigrations:
    db = ExpressCluster(stack, "Db", provider=provider or imported(stack))
    return ExpressMigrations(stack, "Schema", cluster=db, **props)


def assembled(stack: cdk.Stack) -> cx_api.CloudAssembly:
    app = stack.node.root
    assert isinstance(app, cdk.App)
    return app.synth()


def properties_of(**props: Any) -> Json:
    stack = new_stack()
    schema(stack, **{"migrations": MIGRATIONS, **props})
    found: Json = only(synth(stack), TYPE)["Properties"]
    return found


@pytest.fixture(scope="module")
def built() -> tuple[cdk.Stack, ExpressMigrations, Json]:
    """A provider built in the stack, a cluster, and migrations and seeds from folders."""
    stack = new_stack()
    provider = AuroraExpressProvider(stack, "Provider")
    migrations = schema(stack, provider, migrations=MIGRATIONS, seeds=SEEDS, layout="flyway")
    return stack, migrations, synth(stack)


# -- the asset wiring -----------------------------------------------------------


def test_a_folder_becomes_an_asset_whose_zip_is_the_migrations_s3_uri(built: Any) -> None:
    _, migrations, template = built
    properties = only(template, TYPE)["Properties"]
    key = f"{migrations.assets[0].asset_hash}.zip"
    assert evaluate(properties["MigrationsS3Uri"]) == f"s3://{ASSETS_BUCKET}/{key}"
    assert evaluate(properties["SeedsS3Uri"]) == (
        f"s3://{ASSETS_BUCKET}/{migrations.assets[1].asset_hash}.zip"
    )


def test_the_asset_is_published_as_a_zip_at_that_key(built: Any) -> None:
    """What cdk-assets uploads (the stack's asset manifest) is where the URI points."""
    stack, migrations, _ = built
    assembly = assembled(stack)
    manifest = json.loads(
        (Path(assembly.directory) / f"{stack.artifact_id}.assets.json").read_text()
    )
    entry = manifest["files"][migrations.assets[0].asset_hash]
    assert entry["source"]["packaging"] == "zip"
    (destination,) = entry["destinations"].values()
    assert destination["objectKey"] == f"{migrations.assets[0].asset_hash}.zip"
    assert evaluate({"Fn::Sub": destination["bucketName"]}) == ASSETS_BUCKET


def test_the_revision_is_a_hash_of_the_assets(built: Any) -> None:
    _, migrations, template = built
    revision = only(template, TYPE)["Properties"]["Revision"]
    hashes = [a.asset_hash for a in migrations.assets]
    assert len(revision) == 64
    assert revision not in hashes  # both folders count


def test_with_one_folder_the_revision_is_its_asset_hash() -> None:
    stack = new_stack()
    migrations = schema(stack, migrations=MIGRATIONS)
    assert only(synth(stack), TYPE)["Properties"]["Revision"] == migrations.assets[0].asset_hash


def _revision(folder: Path) -> str:
    return str(properties_of(migrations=folder)["Revision"])


def test_an_unchanged_folder_keeps_its_revision_and_a_changed_one_gets_a_new_one(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(MIGRATIONS, first)
    shutil.copytree(MIGRATIONS, second)
    assert _revision(first) == _revision(second) == _revision(MIGRATIONS)
    (second / "V3__add_notes.sql").write_text("ALTER TABLE customers ADD COLUMN notes text;\n")
    assert _revision(second) != _revision(first)


def test_the_migrations_role_may_read_exactly_those_assets_and_no_other_object(
    built: Any,
) -> None:
    _, migrations, template = built
    statements = role_statements(template, function_named(template, "Prov-migrations"))
    reads = {(a, r, c) for _, a, r, c in atoms(statements) if a.startswith("s3:")}
    assert reads == {
        ("s3:GetObject", f"arn:aws:s3:::{ASSETS_BUCKET}/{asset.asset_hash}.zip", "null")
        for asset in migrations.assets
    }


def test_the_migrations_run_after_the_grant_is_in_place(built: Any) -> None:
    """The resource calls the function, which CloudFormation creates after the role's policy."""
    _, _, template = built
    function_id = function_named(template, "Prov-migrations")
    assert only(template, TYPE)["Properties"]["ServiceToken"] == {
        "Fn::GetAtt": [function_id, "Arn"]
    }
    policy = role_statements(template, function_id)
    assert policy
    depends = template["Resources"][function_id]["DependsOn"]
    assert any("DefaultPolicy" in name for name in depends)


def test_the_provider_reads_the_asset_the_way_cdk_assets_uploads_it(
    built: Any, tmp_path: Path
) -> None:
    stack, migrations, template = built
    assembly = assembled(stack)
    staged = Path(assembly.directory) / f"asset.{migrations.assets[0].asset_hash}"
    archive = tmp_path / "asset.zip"
    with zipfile.ZipFile(archive, "w") as zipped:  # as cdk-assets zips a folder: relative paths
        for path in sorted(staged.rglob("*")):
            if path.is_file():
                zipped.write(path, path.relative_to(staged).as_posix())
    uri = evaluate(only(template, TYPE)["Properties"]["MigrationsS3Uri"])
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket=ASSETS_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_object(Bucket=ASSETS_BUCKET, Key=uri.split("/", 3)[3], Body=archive.read_bytes())
        read = sources.from_s3(s3, uri, "MigrationsS3Uri")
    assert read.files == sources.from_directory(MIGRATIONS).files
    names = [m.name for m in layouts.load(read, "flyway")]
    assert names == [m.name for m in layouts.load(sources.from_directory(MIGRATIONS), "flyway")]


def test_an_imported_provider_gets_no_grant_from_this_app() -> None:
    stack = new_stack()
    schema(stack, migrations=MIGRATIONS)
    assertions.Template.from_stack(stack).resource_count_is("AWS::IAM::Policy", 0)


# -- other sources --------------------------------------------------------------


def test_an_s3_prefix_is_passed_as_it_is_and_read_below_that_prefix_only() -> None:
    stack = new_stack()
    provider = AuroraExpressProvider(stack, "Provider")
    schema(stack, provider, migrations="s3://team-bucket/app/migrations/", revision="abc1234")
    template = synth(stack)
    assert (
        only(template, TYPE)["Properties"]["MigrationsS3Uri"] == "s3://team-bucket/app/migrations/"
    )
    statements = role_statements(template, function_named(template, "Prov-migrations"))
    reads = {(a, r, c) for _, a, r, c in atoms(statements) if a.startswith("s3:")}
    assert reads == {
        ("s3:GetObject", "arn:aws:s3:::team-bucket/app/migrations/*", "null"),
        (
            "s3:ListBucket",
            "arn:aws:s3:::team-bucket",
            json.dumps({"StringLike": {"s3:prefix": "app/migrations/*"}}),
        ),
    }


def test_an_s3_zip_is_read_as_that_one_object() -> None:
    stack = new_stack()
    provider = AuroraExpressProvider(stack, "Provider")
    schema(stack, provider, migrations="s3://team-bucket/app.zip", revision="abc1234")
    template = synth(stack)
    statements = role_statements(template, function_named(template, "Prov-migrations"))
    reads = {(a, r) for _, a, r, _ in atoms(statements) if a.startswith("s3:")}
    assert reads == {("s3:GetObject", "arn:aws:s3:::team-bucket/app.zip")}


def test_an_s3_source_without_a_revision_warns_that_changes_would_not_run() -> None:
    stack = new_stack()
    schema(stack, migrations="s3://team-bucket/app/migrations/")
    assertions.Annotations.from_stack(stack).has_warning(
        "/Prov/Schema", assertions.Match.string_like_regexp("set revision")
    )


def test_inline_migrations_are_the_migrations_list_in_order() -> None:
    properties = properties_of(migrations={"002_b.sql": "SELECT 2;", "001_a.sql": "SELECT 1;"})
    assert properties["Migrations"] == [
        {"Name": "002_b.sql", "Sql": "SELECT 2;"},
        {"Name": "001_a.sql", "Sql": "SELECT 1;"},
    ]
    assert "Revision" not in properties


def test_a_folder_that_does_not_exist_fails_naming_the_prop(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"migrations must be a folder or a \.zip file"):
        properties_of(migrations=tmp_path / "missing")


# -- every property -------------------------------------------------------------

# prop -> (value, the property, what the provider receives)
PROPS: dict[str, tuple[Any, str, Any]] = {
    "layout": ("flyway", "Layout", "flyway"),
    "database": ("app", "Database", "app"),
    "username": ("migrator", "Username", "migrator"),
    "placeholders": ({"schema": "app"}, "Placeholders", {"schema": "app"}),
    "keep_tool_history": (False, "KeepToolHistory", "false"),
    "seed_mode": ("Always", "SeedMode", "Always"),
    "history_table": ("ops.history", "HistoryTable", "ops.history"),
    "lock_timeout_seconds": (10, "LockTimeoutSeconds", "10"),
    "statement_timeout_seconds": (600, "StatementTimeoutSeconds", "600"),
    "allow_out_of_order": (True, "AllowOutOfOrder", "true"),
    "revision": ("0123abc", "Revision", "0123abc"),
    "service_timeout": (cdk.Duration.minutes(20), "ServiceTimeout", "1200"),
}
SOURCES = {"migrations", "seeds"}  # tested above: folders, S3 URIs, inline lists
KNOWN = {f.alias or n for n, f in MigrationsProperties.model_fields.items()}


def test_every_prop_is_in_this_table_and_every_property_of_the_provider_has_a_prop() -> None:
    props = set(inspect.signature(ExpressMigrations.__init__).parameters)
    assert props - {"self", "scope", "id", "cluster", "provider"} == set(PROPS) | SOURCES
    covered = {cfn for _, cfn, _ in PROPS.values()} | {
        "ServiceToken",
        "ClusterIdentifier",
        "Migrations",
        "MigrationsS3Uri",
        "Seeds",
        "SeedsS3Uri",
    }
    # Endpoint and Port: ExpressCluster gives ClusterIdentifier, from which the provider finds both.
    assert KNOWN - {"Endpoint", "Port"} <= covered


@pytest.mark.parametrize("prop", PROPS)
def test_each_prop_reaches_the_provider_as_the_property_it_names(prop: str) -> None:
    value, cfn, sent = PROPS[prop]
    if cfn not in KNOWN:
        with pytest.raises(PropertyError, match=f"Property {cfn}: is not a property"):
            properties_of(**{prop: value})
        return
    properties = stringify(properties_of(**{prop: value}))
    assert properties[cfn] == sent
    literal = {k: v for k, v in properties.items() if isinstance(v, str | list)}
    assert parse({**literal, "ClusterIdentifier": "db"}) is not None


def test_the_cluster_is_named_by_its_identifier_attribute() -> None:
    stack = new_stack()
    db = ExpressCluster(stack, "Db", provider=imported(stack))
    ExpressMigrations(stack, "Schema", cluster=db, migrations=MIGRATIONS)
    properties = only(synth(stack), TYPE)["Properties"]
    assert properties["ClusterIdentifier"] == stack.resolve(db.cluster_identifier)
    assert properties["ServiceToken"] == MIGRATIONS_TOKEN


def _reason(raw: dict[str, Any]) -> str:
    with pytest.raises(InvalidProperty) as failure:
        parse({"ServiceToken": MIGRATIONS_TOKEN, "ClusterIdentifier": "db", **raw})
    return failure.value.reason


@pytest.mark.parametrize(
    ("props", "raw"),
    [
        ({"layout": "rails"}, {"Layout": "rails"}),
        ({"lock_timeout_seconds": -1}, {"LockTimeoutSeconds": "-1"}),
        ({"seed_mode": "Sometimes"}, {"SeedMode": "Sometimes"}),
        ({"history_table": "a.b.c"}, {"HistoryTable": "a.b.c"}),
    ],
)
def test_a_bad_property_fails_at_synth_with_the_providers_own_reason(
    props: dict[str, Any], raw: dict[str, Any]
) -> None:
    with pytest.raises(PropertyError) as failure:
        properties_of(**props)
    assert failure.value.problems == [f"{TYPE} Prov/Schema: {_reason(raw).rstrip('.')}."]


def test_a_provider_without_a_migrations_token_is_refused_before_anything_is_built() -> None:
    stack = new_stack()
    provider = AuroraExpressProvider.from_service_tokens(
        stack, "Provider", cluster_service_token=CLUSTER_TOKEN
    )
    db = ExpressCluster(stack, "Db", provider=provider)
    with pytest.raises(ValueError, match="no migrations ServiceToken"):
        ExpressMigrations(stack, "Schema", cluster=db, migrations=MIGRATIONS)


@pytest.mark.parametrize(
    "attribute", ["AppliedCount", "LatestVersion", "SeedsApplied", "HistoryTable"]
)
def test_each_attribute_is_a_property(attribute: str) -> None:
    assert attribute in kinds()[TYPE].attributes
    stack = new_stack()
    migrations = schema(stack, migrations=MIGRATIONS)
    name = "".join(f"_{c.lower()}" if c.isupper() else c for c in attribute).lstrip("_")
    logical_id = stack.get_logical_id(migrations.resource.node.default_child)  # type: ignore[arg-type]
    assert stack.resolve(getattr(migrations, name)) == {"Fn::GetAtt": [logical_id, attribute]}
