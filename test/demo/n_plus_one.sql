-- N+1: render invoices the naive way, like an ORM with lazy loading:
-- one query for the items of each order, then one query per order item for
-- its product. \gexec runs each generated statement as its own query.
\set ON_ERROR_STOP on
-- \gexec runs each non-null column of each row, left to right: per order its
-- items query, then the product query of each of its (1 to 5) items.
SELECT format('SELECT id, product_id, qty, price FROM order_items WHERE order_id = %s', o.id),
       p[1], p[2], p[3], p[4], p[5]
  FROM orders o,
       LATERAL (SELECT array_agg(format('SELECT name, price FROM products WHERE id = %s', oi.product_id)
                                 ORDER BY oi.id) AS p
                  FROM order_items oi WHERE oi.order_id = o.id) AS items
 WHERE o.id BETWEEN 1 AND 1000
 ORDER BY o.id
\gexec
