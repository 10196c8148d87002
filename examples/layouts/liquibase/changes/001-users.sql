--liquibase formatted sql

--changeset ada:create-users
--comment: the users table
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email text
);
--rollback DROP TABLE users;
