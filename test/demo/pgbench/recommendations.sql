-- Slow tail by an external dependency: product recommendations call a
-- scoring service that is usually instant but answers in 200 ms 2% of the
-- time (simulated with pg_sleep).
\set cat random(0, 19)
\set delay_ms case when random(1, 100) <= 2 then 200 else 0 end
SELECT p.id, p.name, p.price
  FROM products p CROSS JOIN pg_sleep(:delay_ms / 1000.0)
 WHERE p.category = :cat
 ORDER BY p.price DESC
 LIMIT 5;
