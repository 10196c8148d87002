-- aurora-express:no-transaction
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction block: the line
-- above makes this file run one statement at a time, outside a transaction,
-- so the index is built without locking writers out of the table.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_customer_id_idx ON orders (customer_id);
