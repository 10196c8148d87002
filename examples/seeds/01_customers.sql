-- Seed data: applied after the migrations, each file in a transaction, and
-- again when its text changes (SeedMode: OnChange). Written to be re-runnable.
INSERT INTO customers (email, name) VALUES
    ('ada@example.com',   'Ada Lovelace'),
    ('grace@example.com', 'Grace Hopper'),
    ('edsger@example.com', 'Edsger Dijkstra')
ON CONFLICT (email) DO NOTHING;
