-- N+1: render invoices the naive way, like an ORM with lazy loading:
-- one query for the items of each order, then one query per order item for
-- its product. \gexec runs each generated statement as its own query.
\set ON_ERROR_STOP on
SELECT stmt
  FROM (SELECT o.id AS order_id, 0 AS item_id,
               format('SELECT id, product_id, qty, price FROM order_items WHERE order_id = %s', o.id) AS stmt
          FROM orders o WHERE o.id BETWEEN 1 AND 1000
        UNION ALL
        SELECT oi.order_id, oi.id,
               format('SELECT name, price FROM products WHERE id = %s', oi.product_id)
          FROM order_items oi WHERE oi.order_id BETWEEN 1 AND 1000) AS s
 ORDER BY order_id, item_id
\gexec
