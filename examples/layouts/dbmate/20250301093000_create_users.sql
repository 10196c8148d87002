-- migrate:up
create table users (
  id bigserial primary key,
  name text not null,
  email text
);

-- migrate:down
drop table users;
