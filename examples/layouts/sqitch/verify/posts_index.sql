-- Verify app:posts_index on pg

BEGIN;

SELECT 1/COUNT(*) FROM pg_class WHERE relname = 'posts_author_idx';

ROLLBACK;
