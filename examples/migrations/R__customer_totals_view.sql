-- A repeatable migration: applied after the versioned ones, and again
-- whenever its text changes.
CREATE OR REPLACE VIEW customer_totals AS
SELECT c.id,
       c.name,
       count(o.id)                       AS orders,
       coalesce(sum(o.total_cents), 0)   AS total_cents
FROM customers c
LEFT JOIN orders o ON o.customer_id = c.id AND o.status <> 'cancelled'
GROUP BY c.id, c.name;
