-- Fast: the last 10 orders of a user (index on orders.user_id).
\set uid random(1, 5000)
SELECT id, status, created_at FROM orders WHERE user_id = :uid ORDER BY created_at DESC LIMIT 10;
