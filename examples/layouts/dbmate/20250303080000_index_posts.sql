-- migrate:up transaction:false
create index concurrently posts_author_idx on posts (author_id);

-- migrate:down transaction:false
drop index concurrently posts_author_idx;
