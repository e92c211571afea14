-- Install the extension in the regression database; every later file uses it.
CREATE EXTENSION postgres_latdiag;
SELECT extversion FROM pg_extension WHERE extname = 'postgres_latdiag';
SHOW latdiag.track;
-- the objects the install script promises
SELECT c.relname, c.relkind FROM pg_class c
  WHERE c.relname LIKE 'latdiag\_%' ORDER BY c.relname COLLATE "C";
SELECT p.proname, p.pronargs AS input_args, p.proretset AS returns_set
  FROM pg_proc p WHERE p.proname LIKE 'latdiag\_%'
  ORDER BY p.proname COLLATE "C", p.pronargs;
