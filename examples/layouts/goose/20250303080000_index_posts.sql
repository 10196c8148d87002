-- +goose NO TRANSACTION
-- +goose Up
CREATE INDEX CONCURRENTLY posts_author_idx ON posts (author_id);

-- +goose Down
DROP INDEX CONCURRENTLY posts_author_idx;
