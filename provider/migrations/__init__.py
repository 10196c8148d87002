"""Custom::AuroraExpressMigrations: SQL migrations and seeds over IAM auth tokens and TLS.

handler (wiring) and the CLI -> migrator (the one entry: source, target, options)
-> engine (plan, lock, apply, record) on a psycopg connection; layouts, sources,
statements and plan are pure.
"""
