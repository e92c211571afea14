-- Slow for a reason: order_items.product_id is a foreign key without an
-- index, so each lookup reads the whole ~150k-row table to keep a few rows.
\set pid random(1, 1000)
SELECT count(*) AS sold, sum(qty) AS units FROM order_items WHERE product_id = :pid;
