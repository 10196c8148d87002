INSERT INTO users (name, email) VALUES ('Ada', 'ada@example.com')
ON CONFLICT DO NOTHING;
