-- Plans kept for repeated simple-protocol SELECTs (plan_reuse.c): reused
-- once the result was cached, dropped when what they depend on changes,
-- and never a way around permission checks.
CREATE SCHEMA reuse_test;
SET search_path = reuse_test, public;
CREATE TABLE t (id int PRIMARY KEY, v int);
INSERT INTO t SELECT g, g % 7 FROM generate_series(1, 100) g;

CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores, plans_reused FROM hybridcache_stats();

-- the first run stores the result and keeps the plan; later runs reuse it
SELECT hybridcache_reset_stats();
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT * FROM counters;

-- the same query spelled differently analyses to the same tree
select v, COUNT(*) from t group by v order by v;
SELECT plans_reused FROM counters;

-- a write invalidates the result, not the plan: the kept plan computes it
UPDATE t SET v = 0 WHERE id = 1;
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT * FROM counters;

-- DDL on the table drops the plan: planned again, then kept again
SELECT hybridcache_reset_stats();
ALTER TABLE t ADD COLUMN w int DEFAULT 3;
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT * FROM counters;

-- an inlined SQL function replaced: the kept plan holds the old body and
-- must be dropped, or the old result would come back under the old key
CREATE FUNCTION bump(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1';
SELECT hybridcache_reset_stats();
SELECT sum(bump(v)) FROM t;
SELECT sum(bump(v)) FROM t;
SELECT sum(bump(v)) FROM t;
SELECT hits, plans_reused FROM counters;
CREATE OR REPLACE FUNCTION bump(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1000';
SELECT sum(bump(v)) FROM t;
SELECT sum(bump(v)) FROM t;
SELECT hits, plans_reused FROM counters;

-- a view redefined analyses to another tree
CREATE VIEW small AS SELECT id, v FROM t WHERE id <= 10;
SELECT count(*), sum(v) FROM small;
SELECT count(*), sum(v) FROM small;
CREATE OR REPLACE VIEW small AS SELECT id, v FROM t WHERE id <= 20;
SELECT count(*), sum(v) FROM small;

-- partitions: the kept plan's partitions are locked and a new partition
-- drops it
CREATE TABLE p (k int, x int) PARTITION BY RANGE (k);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE TABLE p2 PARTITION OF p FOR VALUES FROM (10) TO (20);
INSERT INTO p SELECT g % 20, g FROM generate_series(1, 200) g;
SELECT hybridcache_reset_stats();
SELECT k / 10 AS part, count(*), sum(x) FROM p GROUP BY 1 ORDER BY 1;
SELECT k / 10 AS part, count(*), sum(x) FROM p GROUP BY 1 ORDER BY 1;
SELECT plans_reused FROM counters;
CREATE TABLE p3 (k int, x int);
INSERT INTO p3 VALUES (25, 1000);
ALTER TABLE p ATTACH PARTITION p3 FOR VALUES FROM (20) TO (30);
SELECT k / 10 AS part, count(*), sum(x) FROM p GROUP BY 1 ORDER BY 1;
SELECT plans_reused FROM counters;

-- permissions are checked on every execution: a role that loses the
-- membership granting SELECT gets an error, not the cached rows
CREATE ROLE reuse_reader;
CREATE ROLE reuse_group;
GRANT USAGE ON SCHEMA reuse_test TO reuse_reader;
GRANT SELECT ON t TO reuse_group;
GRANT reuse_group TO reuse_reader;
SET ROLE reuse_reader;
SELECT count(*), sum(v) FROM t WHERE id > 50;
SELECT count(*), sum(v) FROM t WHERE id > 50;
RESET ROLE;
SELECT hybridcache_reset_stats();
SET ROLE reuse_reader;
SELECT count(*), sum(v) FROM t WHERE id > 50;
RESET ROLE;
SELECT hits, plans_reused FROM counters;
-- the membership change drops kept plans; the check fails as without them
REVOKE reuse_group FROM reuse_reader;
SET ROLE reuse_reader;
SELECT count(*), sum(v) FROM t WHERE id > 50;
RESET ROLE;

-- plans are kept per role: one role's plan, with a SQL function the
-- planner inlined because that role may execute it, never serves another
-- role, which the executor must check; the same for a function that is
-- not inlined (its check is recorded and repeated for every hit)
CREATE FUNCTION plus_one(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1';
CREATE FUNCTION plus_two(int) RETURNS int LANGUAGE plpgsql IMMUTABLE
  AS 'BEGIN RETURN $1 + 2; END';
REVOKE EXECUTE ON FUNCTION plus_one(int), plus_two(int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION plus_one(int), plus_two(int) TO reuse_group;
GRANT SELECT ON t TO reuse_reader;
CREATE ROLE reuse_other;
GRANT USAGE ON SCHEMA reuse_test TO reuse_other;
GRANT SELECT ON t TO reuse_other;
GRANT reuse_group TO reuse_reader;
SET ROLE reuse_reader;
SELECT sum(plus_one(v)) FROM t;
SELECT sum(plus_two(v)) FROM t;
RESET ROLE;
SELECT hybridcache_reset_stats();
SET ROLE reuse_reader;
SELECT sum(plus_one(v)) FROM t;
SELECT sum(plus_two(v)) FROM t;
RESET ROLE;
SELECT hits, plans_reused FROM counters;
SET ROLE reuse_other;
SELECT sum(plus_one(v)) FROM t;
SELECT sum(plus_two(v)) FROM t;
RESET ROLE;
-- EXECUTE revoked from the role that keeps the plans: pg_proc changed
REVOKE EXECUTE ON FUNCTION plus_two(int) FROM reuse_group;
SET ROLE reuse_reader;
SELECT sum(plus_two(v)) FROM t;
SELECT sum(plus_one(v)) FROM t;
RESET ROLE;

-- the bypass hint: the comment moves the statement's end, so the hinted
-- statement has its own key and is planned and bypassed as before
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT hybridcache_reset_stats();
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
/* hybridcache: off */ SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT hits, plans_reused FROM counters;
SELECT count(*) FROM hybridcache_bypass_stats() WHERE reason = 'hint' AND count = 1;

-- DISCARD PLANS drops kept plans; so does turning the setting off
SELECT hybridcache_reset_stats();
DISCARD PLANS;
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT plans_reused FROM counters;
SET hybridcache.reuse_plans = off;
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT v, count(*) FROM t GROUP BY v ORDER BY v;
SELECT hits, plans_reused FROM counters;
RESET hybridcache.reuse_plans;

-- prepared statements: a hit of a plan the plan cache keeps is served
-- without starting the plan (stub, plan_stub.c) from its second execution
-- on, after the same privilege checks; revoking EXECUTE on a function it
-- calls, or SELECT on its table, makes the next execution fail as it
-- would without the cache
GRANT EXECUTE ON FUNCTION plus_two(int) TO reuse_group;
GRANT SELECT ON t TO reuse_group;
REVOKE SELECT ON t FROM reuse_reader;
\setenv PGDATABASE :DBNAME
\! perl test/pgproto.pl 'query SET plan_cache_mode = force_generic_plan' 'query SET client_min_messages = debug2' 'query SET ROLE reuse_reader' 'parse q SELECT sum(reuse_test.plus_two(v)) FROM reuse_test.t WHERE id > $1' 'bind - q 10' 'execute - 0' 'bind - q 10' 'execute - 0' 'bind - q 10' 'execute - 0' 'bind - q 20' 'execute - 0' 'bind - q 20' 'execute - 0' 'sync' 'query RESET ROLE' 'query REVOKE EXECUTE ON FUNCTION reuse_test.plus_two(int) FROM reuse_group' 'query SET ROLE reuse_reader' 'bind - q 10' 'execute - 0' 'sync' 'query RESET ROLE' 'query GRANT EXECUTE ON FUNCTION reuse_test.plus_two(int) TO reuse_group' 'query SET ROLE reuse_reader' 'bind - q 10' 'execute - 0' 'bind - q 10' 'execute - 0' 'sync' 'query RESET ROLE' 'query REVOKE SELECT ON reuse_test.t FROM reuse_group' 'query SET ROLE reuse_reader' 'bind - q 10' 'execute - 0' 'sync' | grep -v 'bind <unnamed>\|parse q:\|^CommandComplete SET\|^ReadyForQuery'

-- custom plans (made for each execution's parameter values) are kept per
-- parameter values: the same values skip planning, and share the kept
-- plan's stub; other values plan; a write changes the result, not the plan;
-- DDL drops the plan
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'query SET plan_cache_mode = force_custom_plan' 'query SET client_min_messages = debug2' 'parse c SELECT count(*), sum(v) FROM reuse_test.t WHERE id > $1' 'bind - c 10' 'execute - 0' 'bind - c 10' 'execute - 0' 'bind - c 10' 'execute - 0' 'bind - c 10' 'execute - 0' 'bind - c 90' 'execute - 0' 'sync' 'query UPDATE reuse_test.t SET v = v + 1 WHERE id = 95' 'bind - c 90' 'execute - 0' 'bind - c 90' 'execute - 0' 'sync' 'query ALTER TABLE reuse_test.t ADD COLUMN z int' 'bind - c 10' 'execute - 0' 'sync' | grep -v 'bind <unnamed>\|parse c:\|^CommandComplete SET\|^ReadyForQuery'
SELECT plans_reused, hits, misses FROM counters;

-- a kept custom plan reaches the plan cache as a stand-in for the real
-- plan: the portal still describes each column's table column, a hit is
-- served from the stub, and a miss after a write runs the real plan
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl origins 'query SET plan_cache_mode = force_custom_plan' 'query SET client_min_messages = debug2' 'parse s SELECT id, v, v + 1 AS w FROM reuse_test.t WHERE id BETWEEN $1 AND $2 ORDER BY id' 'bind - s 3 4' 'describe P -' 'execute - 0' 'bind - s 3 4' 'describe P -' 'execute - 0' 'bind - s 3 4' 'describe P -' 'execute - 0' 'sync' 'query UPDATE reuse_test.t SET v = v + 10 WHERE id = 3' 'bind - s 3 4' 'describe P -' 'execute - 0' 'bind - s 3 4' 'describe P -' 'execute - 0' 'sync' | grep -v 'bind <unnamed>\|parse s:\|^CommandComplete SET\|^ReadyForQuery'
SELECT plans_reused, hits, misses FROM counters;
UPDATE reuse_test.t SET v = v - 10 WHERE id = 3;

-- the key of a custom plan's tree is remembered by the statement's text,
-- but only for an equal tree: after search_path names another table, the
-- same text plans and reads that table
CREATE SCHEMA reuse_other_schema;
CREATE TABLE reuse_other_schema.t (id int PRIMARY KEY, v int);
INSERT INTO reuse_other_schema.t SELECT g, -g FROM generate_series(1, 10) g;
\! perl test/pgproto.pl 'query SET plan_cache_mode = force_custom_plan' 'query SET search_path = reuse_test' 'parse s SELECT id, v FROM t WHERE id BETWEEN $1 AND $2 ORDER BY id' 'bind - s 3 4' 'execute - 0' 'bind - s 3 4' 'execute - 0' 'bind - s 3 4' 'execute - 0' 'sync' 'query SET search_path = reuse_other_schema' 'bind - s 3 4' 'execute - 0' 'bind - s 3 4' 'execute - 0' 'sync' 'query SET search_path = reuse_test' 'bind - s 3 4' 'execute - 0' 'sync' | grep -v '^CommandComplete SET\|^ReadyForQuery'
-- the same for a simple-protocol text (remembered when seen again)
SET search_path = reuse_test;
SELECT id, v FROM t WHERE id BETWEEN 3 AND 4 ORDER BY id;
SELECT id, v FROM t WHERE id BETWEEN 3 AND 4 ORDER BY id;
SELECT id, v FROM t WHERE id BETWEEN 3 AND 4 ORDER BY id;
SET search_path = reuse_other_schema;
SELECT id, v FROM t WHERE id BETWEEN 3 AND 4 ORDER BY id;
SELECT id, v FROM t WHERE id BETWEEN 3 AND 4 ORDER BY id;
SET search_path = reuse_test, public;
DROP SCHEMA reuse_other_schema CASCADE;

-- the fast-path protocol: a function called with a FunctionCall message
-- runs at top level but with no client query string, and may read on an
-- older snapshot: a cursor it opens on a query the cache holds is never a
-- hit served without starting the plan, however often it runs
CREATE FUNCTION fp_count() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  c CURSOR FOR SELECT count(*) FROM reuse_test.t;
  n bigint;
BEGIN
  OPEN c; FETCH c INTO n; CLOSE c;
  RETURN n;
END $$;
\! perl test/pgproto.pl 'query SET client_min_messages = debug2' 'query SELECT count(*) FROM reuse_test.t' 'query SELECT count(*) FROM reuse_test.t' 'fcall reuse_test.fp_count()' 'fcall reuse_test.fp_count()' 'fcall reuse_test.fp_count()' 'fcall reuse_test.fp_count()' | grep -v '^CommandComplete SET\|^ReadyForQuery'

REVOKE ALL ON t FROM reuse_group, reuse_reader, reuse_other;
REVOKE ALL ON FUNCTION plus_one(int), plus_two(int) FROM reuse_group;
REVOKE ALL ON SCHEMA reuse_test FROM reuse_reader, reuse_other;
DROP ROLE reuse_reader;
DROP ROLE reuse_other;
DROP ROLE reuse_group;
DROP SCHEMA reuse_test CASCADE;
