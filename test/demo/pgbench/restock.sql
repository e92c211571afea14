-- Restock job (one client, a few times a second): locks the 3 best sellers,
-- then "talks to the warehouse API" for 150 ms before committing, so
-- checkouts of those products wait behind it.
BEGIN;
UPDATE products SET stock = stock + 100 WHERE id BETWEEN 1 AND 3;
\sleep 150 ms
COMMIT;
