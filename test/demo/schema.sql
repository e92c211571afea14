-- postgres_latdiag demo: a small online shop.
-- Deterministic data (no random()): 5,000 users, 1,000 products,
-- 50,000 orders spread over 2024 and ~150,000 order items.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

DROP TABLE IF EXISTS order_items, orders, products, users;

CREATE TABLE users (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE products (
    id       bigserial PRIMARY KEY,
    name     text NOT NULL,
    category int NOT NULL,
    price    numeric(10,2) NOT NULL,
    stock    int NOT NULL
);

CREATE TABLE orders (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL REFERENCES users,
    status     text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE order_items (
    id         bigserial PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders,
    product_id bigint NOT NULL REFERENCES products,
    qty        int NOT NULL,
    price      numeric(10,2) NOT NULL
);

INSERT INTO users (email, name, created_at)
SELECT 'user' || i || '@example.com', 'User ' || i,
       timestamptz '2023-01-01 00:00+00' + i * interval '1 hour'
FROM generate_series(1, 5000) AS i ORDER BY i;

INSERT INTO products (name, category, price, stock)
SELECT 'Product ' || i, i % 20, 1 + (i * 37 % 5000) / 100.0, 1000000
FROM generate_series(1, 1000) AS i ORDER BY i;

INSERT INTO orders (user_id, status, created_at)
SELECT 1 + (i * 7919) % 5000,
       (ARRAY['new', 'paid', 'shipped', 'shipped', 'delivered'])[1 + i % 5],
       timestamptz '2024-01-01 00:00+00' + (i * 365.0 / 50000) * interval '1 day'
FROM generate_series(1, 50000) AS i ORDER BY i;

-- 1 to 5 items per order (3 on average).
INSERT INTO order_items (order_id, product_id, qty, price)
SELECT o.id, p.id, 1 + (o.id + k) % 3, p.price
FROM orders o
CROSS JOIN LATERAL generate_series(1, 1 + o.id % 5) AS k
JOIN products p ON p.id = 1 + (o.id * 31 + k * 97) % 1000
ORDER BY o.id, k;

CREATE INDEX orders_user_id_idx ON orders (user_id);
CREATE INDEX orders_created_at_idx ON orders (created_at);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);

VACUUM ANALYZE users, products, orders, order_items;
