-- Slow tail by data volume: the revenue report usually covers one day
-- (~400 order items), but 4% of the time someone asks for the whole year
-- (~150,000 order items): same query, very different latency.
\set day random(0, 360)
\set span case when random(1, 100) <= 4 then 365 else 1 end
SELECT p.category, count(*) AS items, sum(oi.qty * oi.price) AS revenue
  FROM orders o
  JOIN order_items oi ON oi.order_id = o.id
  JOIN products p ON p.id = oi.product_id
 WHERE o.created_at >= date '2024-01-01' + :day
   AND o.created_at < date '2024-01-01' + :day + :span
 GROUP BY p.category
 ORDER BY revenue DESC;
