-- What the cache would do with a statement: the EXPLAIN notice,
-- hybridcache_explain(), and the statement-level bypass hint.
CREATE SCHEMA explain_test;
SET search_path = explain_test, public;
CREATE TABLE ex (id int PRIMARY KEY, v text);
INSERT INTO ex VALUES (1, 'a'), (2, 'b');
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();

-- off by default: EXPLAIN says nothing about the cache
EXPLAIN (COSTS OFF) SELECT v FROM ex WHERE id = 1;
SET hybridcache.explain_notice = on;
SELECT hybridcache_reset_stats();
EXPLAIN (COSTS OFF) SELECT v FROM ex WHERE id = 1;
SELECT v FROM ex WHERE id = 1;
-- (the detail of a hit shows timings: not printed here)
\set VERBOSITY terse
EXPLAIN (COSTS OFF) SELECT v FROM ex WHERE id = 1;
\set VERBOSITY default
EXPLAIN (COSTS OFF) SELECT v, now() FROM ex;
-- the detail names the key ranges a result reads (key_ranges.sql)
EXPLAIN (COSTS OFF) SELECT count(*) FROM ex WHERE id BETWEEN 2 AND 9;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ex WHERE id > 1;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ex WHERE id IN (1, 2) AND id < 0;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ex a JOIN ex b ON b.id = a.id + 1
  WHERE a.id <= 1 AND b.id <= 2;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ex;
-- looking changes no statistics and stores nothing
SELECT * FROM counters;
-- EXPLAIN ANALYZE executes for real and never uses the cache
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT v FROM ex WHERE id = 1;
RESET hybridcache.explain_notice;

-- the same verdicts as a function
SELECT * FROM hybridcache_explain('SELECT v FROM ex WHERE id = 1');
SELECT * FROM hybridcache_explain('SELECT v FROM ex WHERE id = 2');
SELECT * FROM hybridcache_explain('SELECT v FROM ex, pg_class WHERE id = 2 LIMIT 1');
SELECT * FROM hybridcache_explain('SELECT random() FROM ex');
SELECT * FROM hybridcache_explain('/* hybridcache: off */ SELECT v FROM ex WHERE id = 1');
BEGIN;
UPDATE ex SET v = 'c' WHERE id = 2;
SELECT * FROM hybridcache_explain('SELECT v FROM ex WHERE id = 1');
ROLLBACK;
SELECT * FROM hybridcache_explain('SELECT 1; SELECT 2');
SELECT * FROM hybridcache_explain('DELETE FROM ex');
SELECT * FROM hybridcache_explain('SELECT * FROM no_such_table');
SELECT * FROM hybridcache_explain(NULL);
SELECT count(*) FROM ex;

-- a leading comment "hybridcache: off" bypasses the cache for one statement
SELECT hybridcache_reset_stats();
/* hybridcache: off */ SELECT v FROM ex WHERE id = 1;
/*hybridcache:OFF*/ SELECT v FROM ex WHERE id = 1;
/* some other comment */ /* HybridCache: off */ SELECT v FROM ex WHERE id = 1;
/* hybridcache: on */ SELECT v FROM ex WHERE id = 1;
SELECT v FROM ex WHERE id = 1 /* hybridcache: off */;
SELECT * FROM counters;
SELECT count FROM hybridcache_bypass_stats() WHERE reason = 'hint';

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA explain_test CASCADE;
RESET client_min_messages;
