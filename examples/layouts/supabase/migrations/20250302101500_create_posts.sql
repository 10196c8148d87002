create table public.posts (
  id bigint generated always as identity primary key,
  author_id bigint not null references public.users (id),
  body text not null
);

create index posts_author_idx on public.posts (author_id);
