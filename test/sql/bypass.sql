-- Every reason for not serving or storing a statement, each counted once
-- by hybridcache_bypass_stats(), and the statement still answered right.
CREATE SCHEMA bypass_test;
SET search_path = bypass_test, public;
CREATE TABLE t (id int PRIMARY KEY, v text);
INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 5) g;
CREATE SEQUENCE s;
CREATE TEMP TABLE tmp (id int);
INSERT INTO tmp VALUES (1);
CREATE UNLOGGED TABLE unlogged_t (id int);
INSERT INTO unlogged_t VALUES (1);

-- reasons counted since the last reset, excluding the statistics queries
-- themselves (which call volatile functions)
CREATE FUNCTION bypassed() RETURNS TABLE (reason text, count bigint)
LANGUAGE sql AS $$
  SELECT reason, count FROM hybridcache_bypass_stats() WHERE count > 0
  ORDER BY reason
$$;
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();

-- hybridcache.enabled = off, for a session and with SET LOCAL
SELECT hybridcache_reset_stats();
SET hybridcache.enabled = off;
SELECT v FROM t WHERE id = 1;
SELECT v FROM t WHERE id = 1;
RESET hybridcache.enabled;
BEGIN;
SET LOCAL hybridcache.enabled = off;
SELECT v FROM t WHERE id = 1;
COMMIT;
SELECT * FROM bypassed();
SELECT * FROM counters;

-- mutable functions: volatile and stable ones are never cached
SELECT hybridcache_reset_stats();
SELECT count(*) FROM t WHERE id < random() * 0 + 10;
SELECT id FROM t WHERE now() > '2000-01-01' AND id = 1;
SELECT nextval('s') FROM t WHERE id = 1;
SELECT nextval('s') FROM t WHERE id = 1;
SELECT id FROM t WHERE clock_timestamp() > '2000-01-01' AND id = 1;
SELECT to_char(id, '999') FROM t WHERE id = 1;
SELECT current_schema FROM t WHERE id = 1;
SELECT * FROM bypassed();

-- a volatile user function with a side effect runs every time
CREATE TABLE calls (n int);
CREATE FUNCTION touch(int) RETURNS int LANGUAGE sql VOLATILE AS
  'INSERT INTO calls VALUES ($1) RETURNING $1';
SELECT touch(id) FROM t WHERE id = 1;
SELECT touch(id) FROM t WHERE id = 1;
SELECT count(*) FROM calls;

-- relations that are never cached: temporary, catalogs, sequences,
-- system views; unlogged tables are (in shared memory only)
SELECT hybridcache_reset_stats();
SELECT id FROM tmp;
SELECT count(*) >= 0 FROM pg_class WHERE relname = 't';
SELECT last_value > 0 FROM s;
SELECT id FROM unlogged_t;
SELECT id FROM unlogged_t;
CREATE EXTENSION file_fdw;
CREATE SERVER files FOREIGN DATA WRAPPER file_fdw;
CREATE FOREIGN TABLE ft (x int) SERVER files OPTIONS (program 'echo 7');
SELECT x FROM ft;
SELECT * FROM bypassed();
SELECT * FROM counters;

-- statements that are not plain SELECTs
SELECT hybridcache_reset_stats();
SELECT id FROM t WHERE id = 1 FOR UPDATE;
SELECT id FROM t WHERE id = 2 FOR SHARE;
WITH d AS (DELETE FROM t WHERE id = 5 RETURNING id) SELECT id FROM d;
SELECT count(*) FROM t TABLESAMPLE SYSTEM (100);
SELECT row(id, v) FROM t WHERE id = 1;
SELECT 1 AS no_table;
SELECT * FROM generate_series(1, 2);
SELECT * FROM bypassed();

-- REPEATABLE READ and SERIALIZABLE never hit
SELECT v FROM t WHERE id = 3;
SELECT hybridcache_reset_stats();
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT v FROM t WHERE id = 3;
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT v FROM t WHERE id = 3;
COMMIT;
SELECT * FROM bypassed();
SELECT * FROM counters;

-- own writes: after writing a table, this transaction bypasses the cache
-- for it and sees its own change; a rolled-back savepoint stays bypassed
SELECT v FROM t WHERE id = 4;
SELECT hybridcache_reset_stats();
BEGIN;
UPDATE t SET v = 'mine' WHERE id = 4;
SELECT v FROM t WHERE id = 4;
SAVEPOINT sp;
UPDATE t SET v = 'gone' WHERE id = 4;
ROLLBACK TO sp;
SELECT v FROM t WHERE id = 4;
ROLLBACK;
SELECT v FROM t WHERE id = 4;
SELECT * FROM bypassed();

-- nested statements: functions, DO, CALL, EXPLAIN ANALYZE, CREATE TABLE AS,
-- SELECT INTO, COPY (SELECT ...) TO, CREATE MATERIALIZED VIEW, cursors
SELECT hybridcache_reset_stats();
CREATE FUNCTION f_plpgsql() RETURNS bigint LANGUAGE plpgsql AS
  $$ BEGIN RETURN (SELECT count(*) FROM t); END $$;
CREATE FUNCTION f_sql() RETURNS SETOF t LANGUAGE sql STABLE AS
  $$ SELECT * FROM t ORDER BY id $$;
SELECT f_plpgsql();
DO $$ BEGIN PERFORM count(*) FROM t; END $$;
CREATE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN PERFORM count(*) FROM t; END $$;
CALL p();
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT count(*) FROM t;
CREATE TABLE ctas AS SELECT * FROM t;
SELECT * INTO select_into FROM t;
COPY (SELECT id, v FROM t ORDER BY id) TO STDOUT;
CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM t;
SELECT (SELECT count(*) FROM ctas), (SELECT count(*) FROM select_into), (SELECT n FROM mv);
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM t ORDER BY id;
FETCH 2 FROM c;
MOVE 1 IN c;
FETCH ALL FROM c;
CLOSE c;
DECLARE sc SCROLL CURSOR WITH HOLD FOR SELECT id FROM t ORDER BY id;
FETCH LAST FROM sc;
FETCH PRIOR FROM sc;
COMMIT;
FETCH FIRST FROM sc;
CLOSE sc;
PREPARE q AS SELECT v FROM t WHERE id = $1;
EXECUTE q(2);
EXECUTE q(2);
SELECT * FROM bypassed();

-- plain EXPLAIN neither executes nor stores
SELECT hybridcache_reset_stats();
EXPLAIN (COSTS OFF) SELECT v FROM t WHERE id = 2;
SELECT * FROM counters;

-- a TTL of zero disables caching
SELECT hybridcache_reset_stats();
SET hybridcache.ttl = 0;
SELECT v FROM t WHERE id = 2;
RESET hybridcache.ttl;
SET hybridcache.table_ttl = 't=0';
SELECT v FROM t WHERE id = 2;
RESET hybridcache.table_ttl;
SELECT * FROM bypassed();

-- results above hybridcache.max_entry_size are served but not stored
SELECT hybridcache_reset_stats();
SET hybridcache.max_entry_size = '1kB';
SELECT count(*), sum(length(pad)) FROM (SELECT t.id, repeat('x', 100) AS pad FROM t, generate_series(1, 20) g) s;
SELECT t.id, g, repeat('x', 100) AS pad FROM t, generate_series(1, 3) g ORDER BY 1, 2;
SELECT t.id, g, repeat('x', 100) AS pad FROM t, generate_series(1, 3) g ORDER BY 1, 2;
RESET hybridcache.max_entry_size;
SELECT * FROM bypassed();
SELECT * FROM counters;

-- results that ran faster than hybridcache.min_exec_time are not stored
SELECT hybridcache_reset_stats();
SET hybridcache.min_exec_time = '1h';
SELECT v FROM t WHERE id = 3 AND v IS NOT NULL;
SELECT v FROM t WHERE id = 3 AND v IS NOT NULL;
RESET hybridcache.min_exec_time;
SELECT * FROM bypassed();
SELECT * FROM counters;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA bypass_test CASCADE;
RESET client_min_messages;

-- a database without the extension is left alone
SELECT hybridcache_reset_stats();
\set regression_db :DBNAME
CREATE DATABASE hc_no_extension;
\c hc_no_extension
CREATE TABLE t (id int);
SELECT count(*) FROM t;
\c :regression_db
SELECT count FROM hybridcache_bypass_stats() WHERE reason = 'not_installed';
DROP DATABASE hc_no_extension;
