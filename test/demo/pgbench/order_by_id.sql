-- Fast point query: one order by primary key.
\set oid random(1, 50000)
SELECT id, user_id, status, created_at FROM orders WHERE id = :oid;
