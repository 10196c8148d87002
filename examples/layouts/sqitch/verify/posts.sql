-- Verify app:posts on pg

BEGIN;

SELECT 1/COUNT(*) FROM pg_class WHERE relname = 'posts';

ROLLBACK;
