"""``Custom::AuroraExpress``: Aurora PostgreSQL express configuration clusters."""
