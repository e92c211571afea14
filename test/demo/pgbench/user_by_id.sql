-- Fast point query: one user by primary key.
\set uid random(1, 5000)
SELECT id, email, name FROM users WHERE id = :uid;
