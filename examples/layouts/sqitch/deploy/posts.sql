-- Deploy app:posts to pg
-- requires: users

BEGIN;

CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES users (id),
    body text NOT NULL
);

COMMIT;
