"""Custom::AuroraExpressMigrations: SQL migrations and seeds over IAM auth tokens and TLS.

handler (wiring) -> service (I/O wiring) -> engine (plan, lock, apply, record) on a
psycopg connection; layouts/sources/statements/plan are pure and reused by the CLI.
"""
