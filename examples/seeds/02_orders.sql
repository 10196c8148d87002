INSERT INTO orders (customer_id, status, total_cents)
SELECT c.id, s.status::order_status, s.total_cents
FROM (VALUES
        ('ada@example.com',   'paid',      4200),
        ('ada@example.com',   'shipped',   1999),
        ('grace@example.com', 'pending',   12500),
        ('edsger@example.com', 'cancelled', 800)
     ) AS s (email, status, total_cents)
JOIN customers c ON c.email = s.email
WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id);
