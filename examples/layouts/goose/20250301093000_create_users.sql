-- +goose Up
CREATE TABLE users (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    email text
);

-- +goose Down
DROP TABLE users;
