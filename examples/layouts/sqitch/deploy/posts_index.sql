-- Deploy app:posts_index to pg
-- requires: posts

CREATE INDEX CONCURRENTLY posts_author_idx ON posts (author_id);
