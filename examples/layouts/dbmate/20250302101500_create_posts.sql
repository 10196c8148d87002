-- migrate:up
create table posts (
  id bigserial primary key,
  author_id bigint not null references users (id),
  body text not null
);

-- migrate:down
drop table posts;
