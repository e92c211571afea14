-- Checkout: decrement the stock of a product and record the order.
-- 15% of checkouts buy one of the 3 best sellers (products 1-3), whose rows
-- the restock job (restock.sql) keeps locked now and then: the UPDATE then
-- waits on a row lock, which is its slow tail.
\set uid random(1, 5000)
\set pid case when random(1, 100) <= 15 then random(1, 3) else random(4, 1000) end
\set qty random(1, 3)
BEGIN;
UPDATE products SET stock = stock - :qty WHERE id = :pid;
INSERT INTO orders (user_id, status, created_at) VALUES (:uid, 'new', now()) RETURNING id AS new_order \gset
INSERT INTO order_items (order_id, product_id, qty, price) SELECT :new_order, id, :qty, price FROM products WHERE id = :pid;
COMMIT;
