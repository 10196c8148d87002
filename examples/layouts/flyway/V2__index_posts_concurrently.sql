-- PostgreSQL refuses CREATE INDEX CONCURRENTLY in a transaction block;
-- the provider detects it and runs this file one statement at a time.
CREATE INDEX CONCURRENTLY IF NOT EXISTS posts_author_idx ON posts (author_id);
