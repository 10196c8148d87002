"""A cold start loads what the request needs: each handler imported, one Delete handled.

A fresh interpreter imports the handler module and handles a Delete that
CloudFormation confirms (moto's server), as a new Lambda execution
environment would; then ``sys.modules`` is looked at
(``tests.support.imports``). A migrations Delete touches nothing: no
PostgreSQL driver, no SQL parser, no property models. A cluster Delete
needs boto3's RDS client and reads ``OnDelete`` leniently: no pydantic.
"""

from __future__ import annotations

import json
from typing import Any

from aurora_express.local.cfn_local import ResponseCollector
from tests.support.confirmed import confirmed_event
from tests.support.imports import loaded_after

SERVICE_TOKEN = "arn:aws:lambda:us-east-1:123456789012:function:aurora-express-coldstart"


def _handle_once(module: str, event: dict[str, Any]) -> str:
    """Import ``module`` and hand it ``event`` with a minimal Lambda context."""
    return f"""
import json, time
class Context:
    function_name = "aurora-express-coldstart"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    invoked_function_arn = {SERVICE_TOKEN!r}
    def get_remaining_time_in_millis(self):
        return 900_000
import {module} as handler_module
handler_module.handler(json.loads({json.dumps(event)!r}), Context())
"""


def _delete(resource_type: str, physical_id: str, props: dict[str, Any], url: str) -> Any:
    return confirmed_event(
        "Delete",
        resource_type,
        props,
        response_url=url,
        service_token=SERVICE_TOKEN,
        logical_id="Db",
        physical_id=physical_id,
    )


def test_a_migrations_delete_loads_no_driver_parser_nor_models(
    aws: str, cfn: ResponseCollector
) -> None:
    inline = [{"Name": "V1__a.sql", "Sql": "SELECT 1"}]
    props = {"ClusterIdentifier": "app-db", "Migrations": inline}
    event = _delete(
        "Custom::AuroraExpressMigrations",
        "app-db/postgres/aurora_express.schema_migrations",
        props,
        cfn.url("migrations"),
    )
    loaded = loaded_after(_handle_once("provider.migrations.handler", event))
    (answer,) = cfn.responses("migrations")
    assert answer.body["Status"] == "SUCCESS", answer.body
    assert loaded.isdisjoint({"psycopg", "pglast", "pydantic", "moto"}), loaded


def test_a_cluster_delete_loads_boto3_but_no_models(aws: str, cfn: ResponseCollector) -> None:
    event = _delete("Custom::AuroraExpress", "app-db-missing", {"OnDelete": "Delete"}, cfn.url("c"))
    loaded = loaded_after(_handle_once("provider.cluster.handler", event))
    (answer,) = cfn.responses("c")
    assert answer.body["Status"] == "SUCCESS", answer.body
    assert "boto3" in loaded
    assert loaded.isdisjoint({"psycopg", "pglast", "pydantic", "moto"}), loaded
