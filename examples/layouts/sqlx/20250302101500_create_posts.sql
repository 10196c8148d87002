-- Add migration script here
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES users (id),
    body text NOT NULL
);
