-- Revert app:users from pg

BEGIN;

DROP TABLE users;

COMMIT;
