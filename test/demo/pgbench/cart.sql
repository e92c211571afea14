-- Checkout page with an N+1 loop, as a lazy-loading ORM renders it: one
-- query for the cart (the user's 8 latest order items; every user has ~30),
-- then one query per item for its product, each a separate statement and
-- round trip.
\set uid random(1, 5000)
SELECT oi.product_id, oi.qty FROM order_items oi JOIN orders o ON o.id = oi.order_id
 WHERE o.user_id = :uid ORDER BY oi.id DESC LIMIT 8;
\set p1 random(1, 1000)
SELECT name, price, stock FROM products WHERE id = :p1;
\set p2 random(1, 1000)
SELECT name, price, stock FROM products WHERE id = :p2;
\set p3 random(1, 1000)
SELECT name, price, stock FROM products WHERE id = :p3;
\set p4 random(1, 1000)
SELECT name, price, stock FROM products WHERE id = :p4;
\set p5 random(1, 1000)
SELECT name, price, stock FROM products WHERE id = :p5;
\set p6 random(1, 1000)
SELECT name, price, stock FROM products WHERE id = :p6;
\set p7 random(1, 1000)
SELECT name, price, stock FROM products WHERE id = :p7;
\set p8 random(1, 1000)
SELECT name, price, stock FROM products WHERE id = :p8;
