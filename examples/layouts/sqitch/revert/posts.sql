-- Revert app:posts from pg

BEGIN;

DROP TABLE posts;

COMMIT;
