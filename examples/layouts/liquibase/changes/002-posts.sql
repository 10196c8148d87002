--liquibase formatted sql

--changeset ada:create-posts
CREATE TABLE posts (
    id bigserial PRIMARY KEY,
    author_id bigint NOT NULL REFERENCES users (id),
    body text NOT NULL
);
--rollback DROP TABLE posts;

--changeset ada:posts-touch splitStatements:false endDelimiter:/
CREATE FUNCTION posts_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NEW;
END;
$$
/
--rollback DROP FUNCTION posts_touch();

--changeset ada:index-posts runInTransaction:false
CREATE INDEX CONCURRENTLY posts_author_idx ON posts (author_id);
--rollback DROP INDEX CONCURRENTLY posts_author_idx;

--changeset ada:post-counts runOnChange:true
CREATE OR REPLACE VIEW user_post_counts AS
SELECT u.id, u.name, count(p.id) AS posts FROM users u LEFT JOIN posts p ON p.author_id = u.id GROUP BY u.id, u.name;
--rollback DROP VIEW user_post_counts;
