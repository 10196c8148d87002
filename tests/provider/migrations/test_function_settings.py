"""Each function's settings: read once, defaults when unset, a bad value names its variable.

The cluster and reaper functions are here too: the three share one parser
(``provider.common.settings``) and one rule for a value that does not parse.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import certifi
import pytest
from moto import mock_aws

from aurora_express.local.cfn_local import LambdaContext, ResponseCollector
from provider.cluster import handler as cluster_handler
from provider.cluster.settings import ClusterSettings, Timing
from provider.common.settings import Cached, Environ, SettingsError
from provider.migrations import handler as migrations_handler
from provider.migrations.settings import MigrationsSettings, Tls
from provider.reaper import handler as reaper_handler
from provider.reaper.settings import ReaperSettings
from tests.support.confirmed import confirmed_event

TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:aurora-express"

# -- the defaults -------------------------------------------------------------------


def test_with_nothing_set_every_setting_is_its_default() -> None:
    assert ClusterSettings.from_env({}) == ClusterSettings()
    assert ClusterSettings().timing == Timing(1.0, 30.0, 45.0, 90.0, 10.0)
    assert ClusterSettings().max_clusters == 20
    assert MigrationsSettings.from_env({}) == MigrationsSettings()
    assert MigrationsSettings().tls == Tls("verify-full", certifi.where())
    assert MigrationsSettings().connect_timeout == 300.0
    assert ReaperSettings.from_env({}) == ReaperSettings(armed=False)


def test_an_empty_variable_means_the_default() -> None:
    empty = {"MAX_CLUSTERS": "", "AURORA_EXPRESS_POLL_SECONDS": " ", "LOG_LEVEL": ""}
    assert ClusterSettings.from_env(empty) == ClusterSettings()
    assert ReaperSettings.from_env({"REAPER_ARMED": ""}).armed is False


def test_values_are_read_under_the_names_the_template_and_readme_use() -> None:
    cluster = ClusterSettings.from_env(
        {"MAX_CLUSTERS": "5", "AURORA_EXPRESS_POLL_SECONDS": "0.02", "LOG_LEVEL": "debug"}
    )
    assert (cluster.max_clusters, cluster.timing.poll_seconds) == (5, 0.02)
    assert cluster.log_level == "DEBUG"
    migrations = MigrationsSettings.from_env(
        {"DB_SSLMODE": "require", "DB_SSLROOTCERT": "/ca.pem", "DB_CONNECT_TIMEOUT_SECONDS": "9"}
    )
    assert migrations.tls == Tls("require", "/ca.pem")
    assert migrations.connect_timeout == 9.0
    assert ReaperSettings.from_env({"REAPER_ARMED": "TRUE"}).armed is True


def test_the_token_region_is_aws_region_else_aws_default_region() -> None:
    assert MigrationsSettings.from_env({"AWS_DEFAULT_REGION": "eu-west-1"}).region == "eu-west-1"
    both = {"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert MigrationsSettings.from_env(both).region == "eu-west-2"


# -- a value that does not parse ------------------------------------------------------------


BAD = [
    (ClusterSettings.from_env, "MAX_CLUSTERS", "many", "an integer from 1 to 1000"),
    (ClusterSettings.from_env, "MAX_CLUSTERS", "0", "an integer from 1 to 1000"),
    (ClusterSettings.from_env, "AURORA_EXPRESS_POLL_SECONDS", "soon", "a positive number"),
    (ClusterSettings.from_env, "AURORA_EXPRESS_SAFETY_SECONDS", "-1", "a positive number"),
    (ClusterSettings.from_env, "AURORA_EXPRESS_GIVE_UP_SECONDS", "nan", "a positive number"),
    (ClusterSettings.from_env, "LOG_LEVEL", "LOUD", "one of DEBUG, INFO"),
    (MigrationsSettings.from_env, "DB_SSLMODE", "verify_full", "one of disable, allow"),
    (MigrationsSettings.from_env, "DB_CONNECT_TIMEOUT_SECONDS", "5m", "a positive number"),
    (ReaperSettings.from_env, "REAPER_ARMED", "yes", "true or false"),
]


@pytest.mark.parametrize(("read", "name", "value", "expected"), BAD)
def test_a_value_that_does_not_parse_is_an_error_naming_the_variable(
    read: Callable[[Environ], object], name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        read({name: value})
    assert caught.value.name == name
    assert caught.value.reason == (
        f"The provider's environment variable {name} must be {caught.value.expected}, "
        f"not {value!r}."
    )
    assert expected in caught.value.reason


# -- read once ----------------------------------------------------------------------


def test_settings_are_parsed_once_while_their_variables_stay_the_same() -> None:
    env = {"MAX_CLUSTERS": "3"}
    reads: list[Environ] = []

    def read(e: Environ) -> ClusterSettings:
        reads.append(e)
        return ClusterSettings.from_env(e)

    cached = Cached(read, env)
    assert len(reads) == 1  # at construction: the cold start
    assert cached.get().max_clusters == 3
    assert cached.get() is cached.get()
    env["UNRELATED"] = "x"
    assert cached.get().max_clusters == 3
    assert len(reads) == 1


def test_settings_are_read_afresh_when_a_variable_they_read_changes() -> None:
    env = {"MAX_CLUSTERS": "3"}
    cached = Cached(ClusterSettings.from_env, env)
    env["MAX_CLUSTERS"] = "4"
    assert cached.get().max_clusters == 4
    del env["MAX_CLUSTERS"]
    assert cached.get().max_clusters == 20


def test_a_bad_value_at_the_cold_start_is_raised_by_get_not_at_import() -> None:
    env = {"MAX_CLUSTERS": "lots"}
    cached = Cached(ClusterSettings.from_env, env)  # does not raise
    for _ in range(2):
        with pytest.raises(SettingsError, match="MAX_CLUSTERS"):
            cached.get()
    env["MAX_CLUSTERS"] = "2"
    assert cached.get().max_clusters == 2


# -- the handlers answer, naming the variable --------------------------------------------------


@pytest.fixture
def cfn() -> Iterator[ResponseCollector]:
    with ResponseCollector() as collector:
        yield collector


def test_the_migrations_function_fails_a_request_naming_a_bad_variable(
    cfn: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_SSLMODE", "strict")
    with mock_aws():
        event = confirmed_event(
            "Create",
            "Custom::AuroraExpressMigrations",
            {"Endpoint": "db.invalid", "Migrations": [{"Name": "V1__a.sql", "Sql": "SELECT 1"}]},
            response_url=cfn.url("m"),
            service_token=TOKEN,
            logical_id="Schema",
        )
        migrations_handler.handler(event, LambdaContext(function_name="aurora-express-migrations"))
    answer = cfn.wait("m", timeout=10)
    assert answer is not None
    assert answer.body["Status"] == "FAILED"
    assert answer.body["Reason"].startswith(
        "The provider's environment variable DB_SSLMODE must be one of disable, allow"
    )


def test_a_direct_invocation_answers_failed_json_naming_a_bad_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DB_CONNECT_TIMEOUT_SECONDS", "forever")
    out = migrations_handler.handler({"Action": "plan", "Endpoint": "db.invalid"}, LambdaContext())
    assert out == {
        "Action": "plan",
        "Status": "FAILED",
        "Reason": "The provider's environment variable DB_CONNECT_TIMEOUT_SECONDS must be a "
        "positive number of seconds, not 'forever'.",
    }


def test_a_delete_of_migrations_needs_no_settings(
    cfn: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Delete touches nothing, so a broken variable never blocks a stack's deletion."""
    monkeypatch.setenv("DB_SSLMODE", "strict")
    with mock_aws():
        event = confirmed_event(
            "Delete",
            "Custom::AuroraExpressMigrations",
            {"Endpoint": "db.invalid"},
            response_url=cfn.url("d"),
            service_token=TOKEN,
            logical_id="Schema",
            physical_id="db.invalid:5432/postgres/aurora_express.schema_migrations",
        )
        migrations_handler.handler(event, LambdaContext(function_name="aurora-express-migrations"))
    answer = cfn.wait("d", timeout=10)
    assert answer is not None
    assert answer.body["Status"] == "SUCCESS"


def test_the_cluster_function_fails_a_request_naming_a_bad_variable(
    cfn: ResponseCollector, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_CLUSTERS", "twenty")
    with mock_aws():
        event = confirmed_event(
            "Create",
            "Custom::AuroraExpress",
            {"ClusterIdentifier": "app-db"},
            response_url=cfn.url("c"),
            service_token=TOKEN,
            logical_id="Db",
        )
        cluster_handler.handler(event, LambdaContext())
        answer = cfn.wait("c", timeout=10)
    assert answer is not None
    assert answer.body["Status"] == "FAILED"
    assert answer.body["Reason"] == (
        "The provider's environment variable MAX_CLUSTERS must be an integer from 1 to 1000, "
        "not 'twenty'."
    )


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_reaper_stops_before_listing_anything_naming_a_bad_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REAPER_ARMED", "armed")
    with pytest.raises(SettingsError, match="REAPER_ARMED must be true or false, not 'armed'"):
        reaper_handler.handler({}, LambdaContext(function_name="aurora-express-reaper"))
