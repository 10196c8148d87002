-- Flyway layout: V<version>__<description>.sql, applied in version order,
-- each in its own transaction together with its history row.
CREATE TABLE customers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE customers IS 'People who place orders; one row per login.';
