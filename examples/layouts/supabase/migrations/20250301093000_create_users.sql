create table public.users (
  id bigint generated always as identity primary key,
  name text not null,
  email text
);

alter table public.users enable row level security;
