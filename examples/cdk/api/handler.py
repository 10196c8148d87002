"""Counts the branch database's customers: an IAM auth token as the password, TLS verify-full."""

from __future__ import annotations

import os
from typing import Any

import boto3
import certifi
import psycopg

rds = boto3.client("rds")


def handler(event: Any, context: Any) -> dict[str, int]:
    host, port, user = os.environ["DB_HOST"], int(os.environ["DB_PORT"]), os.environ["DB_USER"]
    # A token lives 15 minutes: make one for each connection, never log it.
    token = rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user)
    with psycopg.connect(
        host=host,
        port=port,
        user=user,
        password=token,
        dbname=os.environ["DB_NAME"],
        sslmode="verify-full",
        sslrootcert=certifi.where(),  # the gateway's certificate is from a public CA
        connect_timeout=30,
    ) as connection:
        row = connection.execute("SELECT count(*) FROM customers").fetchone()
    return {"customers": row[0] if row else 0}
