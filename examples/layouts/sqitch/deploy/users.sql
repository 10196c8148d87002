-- Deploy app:users to pg

BEGIN;

CREATE TABLE users (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email text
);

COMMIT;
