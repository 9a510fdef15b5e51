-- TTLs: hybridcache.ttl and hybridcache.table_ttl are the reader's maximum
-- accepted age of a cached result.
CREATE SCHEMA ttl_test;
SET search_path = ttl_test, public;
CREATE TABLE orders (id int);
CREATE TABLE products (id int);
INSERT INTO orders VALUES (1);
INSERT INTO products VALUES (1);
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();

-- settings are checked, with units
SET hybridcache.ttl = '2min';
SHOW hybridcache.ttl;
SET hybridcache.ttl = -1;
SET hybridcache.ttl = 'forever';
RESET hybridcache.ttl;
SHOW hybridcache.ttl;
SET hybridcache.table_ttl = 'orders=5s, public.products=1h, "Audit Log"=0, ttl_test.products = 90';
SHOW hybridcache.table_ttl;
SET hybridcache.table_ttl = 'orders';
SET hybridcache.table_ttl = 'orders=soon';
SET hybridcache.table_ttl = 'orders=-5';
SET hybridcache.table_ttl = 'a.b.c=5';
SET hybridcache.table_ttl = 'orders=5,,products=1';
SET hybridcache.table_ttl = '=5';
SHOW hybridcache.table_ttl;
RESET hybridcache.table_ttl;
SET hybridcache.tll = 5;
SET hybridcache.shared_memory = '1GB';
SET hybridcache.max_entry_size = 0;

-- an entry older than the reader's TTL is not served
SELECT hybridcache_reset_stats();
SELECT count(*) FROM orders;
SET hybridcache.ttl = '1s';
SELECT count(*) FROM orders;
SELECT pg_sleep(1.1);
SELECT count(*) FROM orders;
SELECT * FROM counters;

-- per reader: an entry stored long ago still serves a reader with a
-- longer TTL, but not one whose table_ttl for a dependency is shorter
SELECT hybridcache_reset_stats();
SET hybridcache.ttl = '1h';
SELECT count(*) FROM products;
SELECT pg_sleep(1.1);
SET hybridcache.table_ttl = 'orders=1s';
SELECT count(*) FROM products;
SET hybridcache.table_ttl = 'other_schema.products=1s';
SELECT count(*) FROM products;
SELECT * FROM counters;
SET hybridcache.table_ttl = 'ttl_test.products=1s';
SELECT count(*) FROM products;
SELECT * FROM counters;
SELECT pg_sleep(1.1);
SET hybridcache.table_ttl = 'products=1s';
SELECT count(*) FROM products;
SELECT * FROM counters;

-- the smallest TTL of all tables read applies
SELECT hybridcache_reset_stats();
RESET hybridcache.table_ttl;
SELECT count(*) FROM orders, products;
SELECT pg_sleep(1.1);
SET hybridcache.table_ttl = 'orders=1h, products=1s';
SELECT count(*) FROM orders, products;
SELECT * FROM counters;

-- a table renamed gets the TTL of its new name
SET hybridcache.table_ttl = 'renamed=0';
SELECT count(*) FROM orders;
ALTER TABLE orders RENAME TO renamed;
SELECT count(*) FROM renamed;
SELECT count FROM hybridcache_bypass_stats() WHERE reason = 'ttl_zero';

RESET hybridcache.ttl;
RESET hybridcache.table_ttl;
RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA ttl_test CASCADE;
RESET client_min_messages;
