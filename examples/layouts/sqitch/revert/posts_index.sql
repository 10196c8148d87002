-- Revert app:posts_index from pg

BEGIN;

DROP INDEX posts_author_idx;

COMMIT;
