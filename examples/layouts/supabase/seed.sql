-- Run by `supabase db reset` locally; never a migration.
insert into public.users (name, email) values ('Grace', 'grace@example.com');
