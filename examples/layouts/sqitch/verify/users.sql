-- Verify app:users on pg

BEGIN;

SELECT 1/COUNT(*) FROM pg_class WHERE relname = 'users';

ROLLBACK;
