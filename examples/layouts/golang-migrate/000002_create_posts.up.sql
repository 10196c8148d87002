BEGIN;

CREATE TABLE IF NOT EXISTS posts (
    id BIGSERIAL PRIMARY KEY,
    author_id BIGINT NOT NULL REFERENCES users (id),
    body TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS posts_author_idx ON posts (author_id);

COMMIT;
