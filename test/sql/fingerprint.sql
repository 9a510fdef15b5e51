-- The plan fingerprint: statements that differ in one detail of their plan
-- never share an entry, and each is a hit when it runs again.
--
-- Every statement below runs twice.  If the plan hashing walker missed the
-- detail that tells a statement from the one before it, the first run would
-- be served the previous statement's rows (the result shows it) and the
-- counters at the end would show one hit too many.  With
-- hybridcache.debug_check_fingerprint on (test/hybridcache.conf) the walker
-- is also checked against the plan text and warns on a mismatch.
CREATE SCHEMA fp_test;
SET search_path = fp_test, public;
CREATE TABLE t (id int PRIMARY KEY, v int, w int, s text, arr int[],
                n numeric, f float8, b bool);
INSERT INTO t VALUES
  (1, 3, 10, 'a', '{1,2,3}', 1.5, 0.1, true),
  (2, 1, 20, 'B', '{4,5,6}', 2.25, 0.2, false),
  (3, NULL, 30, 'c', '{7,8,9}', NULL, NULL, NULL),
  (4, 2, 40, 'D', '{1,5,9}', 1.50, 0.3, true);
CREATE TABLE u (id int, x int);
INSERT INTO u VALUES (1, 100), (2, 200), (5, 500);
CREATE TYPE pair AS (a int, b int);
CREATE TABLE c (id int, p pair);
INSERT INTO c VALUES (1, (10, 20)), (2, (30, 40));

CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();
SELECT hybridcache_reset_stats();

-- sort direction, NULLS FIRST/LAST, collation
SELECT id FROM t ORDER BY v;
SELECT id FROM t ORDER BY v;
SELECT id FROM t ORDER BY v DESC;
SELECT id FROM t ORDER BY v DESC;
SELECT id FROM t ORDER BY v NULLS FIRST;
SELECT id FROM t ORDER BY v NULLS FIRST;
SELECT s FROM t ORDER BY s COLLATE "C";
SELECT s FROM t ORDER BY s COLLATE "C";
SELECT s FROM t ORDER BY s COLLATE "und-x-icu";
SELECT s FROM t ORDER BY s COLLATE "und-x-icu";

-- operators, columns, constants of several types
SELECT id FROM t WHERE v < 2 ORDER BY id;
SELECT id FROM t WHERE v < 2 ORDER BY id;
SELECT id FROM t WHERE v <= 2 ORDER BY id;
SELECT id FROM t WHERE v <= 2 ORDER BY id;
SELECT id FROM t WHERE w <= 2 ORDER BY id;
SELECT id FROM t WHERE w <= 2 ORDER BY id;
SELECT id FROM t WHERE s = 'a';
SELECT id FROM t WHERE s = 'a';
SELECT id FROM t WHERE s = 'B';
SELECT id FROM t WHERE s = 'B';
SELECT id, n * 1.5 FROM t WHERE id = 1;
SELECT id, n * 1.5 FROM t WHERE id = 1;
SELECT id, n * 1.50 FROM t WHERE id = 1;
SELECT id, n * 1.50 FROM t WHERE id = 1;
SELECT id FROM t WHERE f = 0.1;
SELECT id FROM t WHERE f = 0.1;
SELECT id FROM t WHERE f = 0.2;
SELECT id FROM t WHERE f = 0.2;
SELECT id FROM t WHERE b = true ORDER BY id;
SELECT id FROM t WHERE b = true ORDER BY id;
SELECT id FROM t WHERE b = false ORDER BY id;
SELECT id FROM t WHERE b = false ORDER BY id;
SELECT length(s::varchar(1) || 'xy') FROM t WHERE id = 1;
SELECT length(s::varchar(1) || 'xy') FROM t WHERE id = 1;
SELECT length(('ab' || s)::varchar(2)) FROM t WHERE id = 1;
SELECT length(('ab' || s)::varchar(2)) FROM t WHERE id = 1;
SELECT length(('ab' || s)::varchar(3)) FROM t WHERE id = 1;
SELECT length(('ab' || s)::varchar(3)) FROM t WHERE id = 1;

-- IN lists, ANY and ALL, NULL tests, boolean tests, CASE, COALESCE, LEAST
SELECT id FROM t WHERE v IN (1, 2) ORDER BY id;
SELECT id FROM t WHERE v IN (1, 2) ORDER BY id;
SELECT id FROM t WHERE v IN (1, 3) ORDER BY id;
SELECT id FROM t WHERE v IN (1, 3) ORDER BY id;
SELECT id FROM t WHERE v <> ALL ('{1,3}') ORDER BY id;
SELECT id FROM t WHERE v <> ALL ('{1,3}') ORDER BY id;
SELECT id FROM t WHERE v IS NULL ORDER BY id;
SELECT id FROM t WHERE v IS NULL ORDER BY id;
SELECT id FROM t WHERE v IS NOT NULL ORDER BY id;
SELECT id FROM t WHERE v IS NOT NULL ORDER BY id;
SELECT id FROM t WHERE b IS TRUE ORDER BY id;
SELECT id FROM t WHERE b IS TRUE ORDER BY id;
SELECT id FROM t WHERE b IS NOT FALSE ORDER BY id;
SELECT id FROM t WHERE b IS NOT FALSE ORDER BY id;
SELECT id, CASE WHEN v > 1 THEN 'x' ELSE 'y' END FROM t ORDER BY id;
SELECT id, CASE WHEN v > 1 THEN 'x' ELSE 'y' END FROM t ORDER BY id;
SELECT id, CASE WHEN v > 1 THEN 'x' ELSE 'z' END FROM t ORDER BY id;
SELECT id, CASE WHEN v > 1 THEN 'x' ELSE 'z' END FROM t ORDER BY id;
SELECT id, coalesce(v, 0) FROM t ORDER BY id;
SELECT id, coalesce(v, 0) FROM t ORDER BY id;
SELECT id, coalesce(v, 1) FROM t ORDER BY id;
SELECT id, coalesce(v, 1) FROM t ORDER BY id;
SELECT id, greatest(v, 2) FROM t ORDER BY id;
SELECT id, greatest(v, 2) FROM t ORDER BY id;
SELECT id, least(v, 2) FROM t ORDER BY id;
SELECT id, least(v, 2) FROM t ORDER BY id;

-- arrays, composite fields
SELECT arr[1] FROM t ORDER BY id;
SELECT arr[1] FROM t ORDER BY id;
SELECT arr[2] FROM t ORDER BY id;
SELECT arr[2] FROM t ORDER BY id;
SELECT arr[1:2] FROM t ORDER BY id;
SELECT arr[1:2] FROM t ORDER BY id;
SELECT arr[2:3] FROM t ORDER BY id;
SELECT arr[2:3] FROM t ORDER BY id;
SELECT (p).a FROM c ORDER BY id;
SELECT (p).a FROM c ORDER BY id;
SELECT (p).b FROM c ORDER BY id;
SELECT (p).b FROM c ORDER BY id;

-- LIMIT, OFFSET, DISTINCT
SELECT id FROM t ORDER BY id LIMIT 2;
SELECT id FROM t ORDER BY id LIMIT 2;
SELECT id FROM t ORDER BY id LIMIT 3;
SELECT id FROM t ORDER BY id LIMIT 3;
SELECT id FROM t ORDER BY id LIMIT 2 OFFSET 1;
SELECT id FROM t ORDER BY id LIMIT 2 OFFSET 1;
SELECT v % 2 FROM t ORDER BY 1;
SELECT v % 2 FROM t ORDER BY 1;
SELECT DISTINCT v % 2 FROM t ORDER BY 1;
SELECT DISTINCT v % 2 FROM t ORDER BY 1;

-- aggregates: star, DISTINCT, ORDER BY inside, FILTER, grouping sets
SELECT count(*) FROM t;
SELECT count(*) FROM t;
SELECT count(v) FROM t;
SELECT count(v) FROM t;
SELECT sum(v % 2) FROM t;
SELECT sum(v % 2) FROM t;
SELECT sum(DISTINCT v % 2) FROM t;
SELECT sum(DISTINCT v % 2) FROM t;
SELECT string_agg(s, ',' ORDER BY s COLLATE "C") FROM t;
SELECT string_agg(s, ',' ORDER BY s COLLATE "C") FROM t;
SELECT string_agg(s, ',' ORDER BY s COLLATE "C" DESC) FROM t;
SELECT string_agg(s, ',' ORDER BY s COLLATE "C" DESC) FROM t;
SELECT count(*) FILTER (WHERE v > 1) FROM t;
SELECT count(*) FILTER (WHERE v > 1) FROM t;
SELECT v % 2 AS k, b, count(*) FROM t GROUP BY ROLLUP (1, 2) ORDER BY 1, 2, 3;
SELECT v % 2 AS k, b, count(*) FROM t GROUP BY ROLLUP (1, 2) ORDER BY 1, 2, 3;
SELECT v % 2 AS k, b, count(*) FROM t GROUP BY GROUPING SETS ((1), (2)) ORDER BY 1, 2, 3;
SELECT v % 2 AS k, b, count(*) FROM t GROUP BY GROUPING SETS ((1), (2)) ORDER BY 1, 2, 3;

-- window functions: ordering and frames
SELECT id, rank() OVER (ORDER BY w) FROM t ORDER BY id;
SELECT id, rank() OVER (ORDER BY w) FROM t ORDER BY id;
SELECT id, rank() OVER (ORDER BY w DESC) FROM t ORDER BY id;
SELECT id, rank() OVER (ORDER BY w DESC) FROM t ORDER BY id;
SELECT id, sum(w) OVER (ORDER BY id ROWS 1 PRECEDING) FROM t ORDER BY id;
SELECT id, sum(w) OVER (ORDER BY id ROWS 1 PRECEDING) FROM t ORDER BY id;
SELECT id, sum(w) OVER (ORDER BY id ROWS 2 PRECEDING) FROM t ORDER BY id;
SELECT id, sum(w) OVER (ORDER BY id ROWS 2 PRECEDING) FROM t ORDER BY id;
SELECT id, sum(w) OVER (ORDER BY w RANGE 10 PRECEDING) FROM t ORDER BY id;
SELECT id, sum(w) OVER (ORDER BY w RANGE 10 PRECEDING) FROM t ORDER BY id;

-- joins: kind and condition; subqueries; set operations
SELECT t.id, u.x FROM t JOIN u ON t.id = u.id ORDER BY 1, 2;
SELECT t.id, u.x FROM t JOIN u ON t.id = u.id ORDER BY 1, 2;
SELECT t.id, u.x FROM t LEFT JOIN u ON t.id = u.id ORDER BY 1, 2;
SELECT t.id, u.x FROM t LEFT JOIN u ON t.id = u.id ORDER BY 1, 2;
SELECT t.id, u.x FROM t FULL JOIN u ON t.id = u.id ORDER BY 1, 2;
SELECT t.id, u.x FROM t FULL JOIN u ON t.id = u.id ORDER BY 1, 2;
SELECT t.id, u.x FROM t JOIN u ON t.v = u.id ORDER BY 1, 2;
SELECT t.id, u.x FROM t JOIN u ON t.v = u.id ORDER BY 1, 2;
SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id) ORDER BY id;
SELECT id FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.id = t.id) ORDER BY id;
SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.id = t.id) ORDER BY id;
SELECT id FROM t WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.id = t.id) ORDER BY id;
SELECT id, (SELECT max(x) FROM u WHERE u.id <= t.id) FROM t ORDER BY id;
SELECT id, (SELECT max(x) FROM u WHERE u.id <= t.id) FROM t ORDER BY id;
SELECT id, (SELECT min(x) FROM u WHERE u.id <= t.id) FROM t ORDER BY id;
SELECT id, (SELECT min(x) FROM u WHERE u.id <= t.id) FROM t ORDER BY id;
SELECT id FROM t UNION SELECT id FROM u ORDER BY 1;
SELECT id FROM t UNION SELECT id FROM u ORDER BY 1;
SELECT id FROM t INTERSECT SELECT id FROM u ORDER BY 1;
SELECT id FROM t INTERSECT SELECT id FROM u ORDER BY 1;
SELECT id FROM t EXCEPT SELECT id FROM u ORDER BY 1;
SELECT id FROM t EXCEPT SELECT id FROM u ORDER BY 1;
WITH RECURSIVE r(k) AS (SELECT min(id) FROM t UNION ALL SELECT k + 1 FROM r WHERE k < 3)
SELECT k FROM r;
WITH RECURSIVE r(k) AS (SELECT min(id) FROM t UNION ALL SELECT k + 1 FROM r WHERE k < 3)
SELECT k FROM r;
WITH RECURSIVE r(k) AS (SELECT min(id) FROM t UNION ALL SELECT k + 1 FROM r WHERE k < 4)
SELECT k FROM r;
WITH RECURSIVE r(k) AS (SELECT min(id) FROM t UNION ALL SELECT k + 1 FROM r WHERE k < 4)
SELECT k FROM r;
SELECT t.id, g FROM t, generate_series(1, 2) g WHERE t.id = 1 ORDER BY 2;
SELECT t.id, g FROM t, generate_series(1, 2) g WHERE t.id = 1 ORDER BY 2;
SELECT t.id, g FROM t, generate_series(1, 3) g WHERE t.id = 1 ORDER BY 2;
SELECT t.id, g FROM t, generate_series(1, 3) g WHERE t.id = 1 ORDER BY 2;
SELECT t.id, val FROM t, (VALUES (1), (2)) AS vals(val) WHERE t.id = val ORDER BY 1;
SELECT t.id, val FROM t, (VALUES (1), (2)) AS vals(val) WHERE t.id = val ORDER BY 1;
SELECT t.id, val FROM t, (VALUES (1), (3)) AS vals(val) WHERE t.id = val ORDER BY 1;
SELECT t.id, val FROM t, (VALUES (1), (3)) AS vals(val) WHERE t.id = val ORDER BY 1;

-- 74 different statements, each stored once and then served once
SELECT * FROM counters;

-- the key ignores the planner's cost estimates: the same plan costed
-- differently is served from the entry stored above
SET cpu_tuple_cost = 0.5;
SET cpu_operator_cost = 0.1;
SELECT count(v) FROM t;
SELECT count(*) FROM t;
RESET cpu_tuple_cost;
RESET cpu_operator_cost;
SELECT * FROM counters;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA fp_test CASCADE;
RESET client_min_messages;
