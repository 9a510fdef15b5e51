-- Key ranges: an UPDATE or DELETE of rows in a known range of an integer
-- column invalidates only the cached results whose scans of the table are
-- bounded to an overlapping range of that column.  Every result after a
-- write is checked against the data: what invalidation keeps must still
-- be right.
CREATE SCHEMA key_ranges_test;
SET search_path = key_ranges_test, public;
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses FROM hybridcache_stats();

CREATE TABLE acc (id int PRIMARY KEY, grp int, bal int, big bigint);
INSERT INTO acc SELECT g, g % 10, 0, g * 1000000000::bigint
  FROM generate_series(1, 1000) g;
CREATE INDEX ON acc (big);
ANALYZE acc;

-- three readers of different ranges, cached
SELECT bal FROM acc WHERE id = 5;
SELECT sum(bal) FROM acc WHERE id BETWEEN 100 AND 199;
SELECT count(*), sum(bal) FROM acc WHERE id > 900;
SELECT hybridcache_reset_stats();

-- a write of row 150: only the 100..199 range is stale
UPDATE acc SET bal = bal + 1 WHERE id = 150;
SELECT bal FROM acc WHERE id = 5;
SELECT sum(bal) FROM acc WHERE id BETWEEN 100 AND 199;
SELECT count(*), sum(bal) FROM acc WHERE id > 900;
SELECT * FROM counters;			-- 2 hits, 1 miss

-- a write of row 5 and one of rows 950..960
SELECT hybridcache_reset_stats();
UPDATE acc SET bal = 7 WHERE id = 5;
DELETE FROM acc WHERE id BETWEEN 950 AND 960;
SELECT bal FROM acc WHERE id = 5;
SELECT sum(bal) FROM acc WHERE id BETWEEN 100 AND 199;
SELECT count(*), sum(bal) FROM acc WHERE id > 900;
SELECT * FROM counters;			-- 1 hit, 2 misses

-- bounds at the edges: < and > exclude, <= and >= include
SELECT count(*) FROM acc WHERE id < 10;
SELECT count(*) FROM acc WHERE 20 < id AND id <= 30;
SELECT hybridcache_reset_stats();
UPDATE acc SET bal = 1 WHERE id = 10;	-- outside both
SELECT count(*) FROM acc WHERE id < 10;
SELECT count(*) FROM acc WHERE 20 < id AND id <= 30;
UPDATE acc SET bal = 1 WHERE id = 30;	-- inside the second
SELECT count(*) FROM acc WHERE id < 10;
SELECT count(*) FROM acc WHERE 20 < id AND id <= 30;
SELECT * FROM counters;			-- 3 hits, 1 miss

-- writes that may move a row to another key, or add rows, are whole-table
SELECT count(*) FROM acc WHERE id BETWEEN 950 AND 960;
UPDATE acc SET id = 955 WHERE id = 999;			-- moves a row into it
SELECT count(*) FROM acc WHERE id BETWEEN 950 AND 960;
INSERT INTO acc VALUES (956, 0, 0, 0);
SELECT count(*) FROM acc WHERE id BETWEEN 950 AND 960;
SELECT sum(bal) FROM acc WHERE id BETWEEN 100 AND 199;
SELECT hybridcache_reset_stats();
UPDATE acc SET bal = 0 WHERE grp = 3 AND id > 990;	-- bounded: a range
SELECT sum(bal) FROM acc WHERE id BETWEEN 100 AND 199;
UPDATE acc SET bal = 0 WHERE bal = 12345;			-- no bound on id
SELECT sum(bal) FROM acc WHERE id BETWEEN 100 AND 199;
SELECT * FROM counters;			-- 1 hit, 1 miss

-- a writer bounded on another column invalidates readers of any range
SELECT bal FROM acc WHERE id = 7;
UPDATE acc SET bal = 3 WHERE grp = 7 AND big = 7000000000;	-- id 7, by grp
SELECT bal FROM acc WHERE id = 7;
-- and a reader bounded on big sees a writer bounded on big by range
SELECT count(*), sum(bal) FROM acc WHERE big BETWEEN 1 AND 100000000000;
SELECT hybridcache_reset_stats();
UPDATE acc SET bal = 4 WHERE big = 500000000000;			-- id 500: outside
SELECT count(*), sum(bal) FROM acc WHERE big BETWEEN 1 AND 100000000000;
UPDATE acc SET bal = 4 WHERE big = 50000000000;			-- id 50: inside
SELECT count(*), sum(bal) FROM acc WHERE big BETWEEN 1 AND 100000000000;
SELECT * FROM counters;			-- 1 hit, 1 miss

-- a BEFORE UPDATE trigger could change the key: whole-table writes
CREATE TABLE trg (id int PRIMARY KEY, v int);
INSERT INTO trg SELECT g, 0 FROM generate_series(1, 100) g WHERE g <> 50;
CREATE FUNCTION move_row() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN IF NEW.v = 99 THEN NEW.id := 50; END IF; RETURN NEW; END $$;
CREATE TRIGGER trg_move BEFORE UPDATE ON trg
  FOR EACH ROW EXECUTE FUNCTION move_row();
SELECT count(*), sum(v) FROM trg WHERE id BETWEEN 40 AND 60;
UPDATE trg SET v = 99 WHERE id = 100;	-- becomes row 50
SELECT count(*), sum(v) FROM trg WHERE id BETWEEN 40 AND 60;

-- joins: each table has its own range, or none
CREATE TABLE grp (g int PRIMARY KEY, name text);
INSERT INTO grp SELECT g, 'g' || g FROM generate_series(0, 9) g;
SELECT a.id, g.name FROM acc a JOIN grp g ON g.g = a.grp
 WHERE a.id BETWEEN 300 AND 302 ORDER BY a.id;
SELECT hybridcache_reset_stats();
UPDATE acc SET bal = 1 WHERE id = 303;			-- outside the acc range
SELECT a.id, g.name FROM acc a JOIN grp g ON g.g = a.grp
 WHERE a.id BETWEEN 300 AND 302 ORDER BY a.id;
UPDATE grp SET name = 'renamed' WHERE g = 5;	-- grp is read whole
SELECT a.id, g.name FROM acc a JOIN grp g ON g.g = a.grp
 WHERE a.id BETWEEN 300 AND 302 ORDER BY a.id;
SELECT * FROM counters;			-- 1 hit, 1 miss

-- a table scanned twice: the hull of both ranges
SELECT (SELECT sum(bal) FROM acc WHERE id = 400) AS a,
       (SELECT sum(bal) FROM acc WHERE id = 410) AS b;
SELECT hybridcache_reset_stats();
UPDATE acc SET bal = 2 WHERE id = 420;			-- outside the hull
SELECT (SELECT sum(bal) FROM acc WHERE id = 400) AS a,
       (SELECT sum(bal) FROM acc WHERE id = 410) AS b;
UPDATE acc SET bal = 2 WHERE id = 405;			-- inside the hull
SELECT (SELECT sum(bal) FROM acc WHERE id = 400) AS a,
       (SELECT sum(bal) FROM acc WHERE id = 410) AS b;
UPDATE acc SET bal = 2 WHERE id = 410;
SELECT (SELECT sum(bal) FROM acc WHERE id = 400) AS a,
       (SELECT sum(bal) FROM acc WHERE id = 410) AS b;
SELECT * FROM counters;			-- 1 hit, 2 misses

-- one scan unbounded: the table is read whole
SELECT (SELECT sum(bal) FROM acc WHERE id = 400) AS a,
       (SELECT max(bal) FROM acc) AS b;
UPDATE acc SET bal = 8 WHERE id = 998;
SELECT (SELECT sum(bal) FROM acc WHERE id = 400) AS a,
       (SELECT max(bal) FROM acc) AS b;

-- OR is not a bound: the table is read whole
SELECT count(*), sum(bal) FROM acc WHERE id = 1 OR id = 2;
UPDATE acc SET bal = 9 WHERE id = 2;
SELECT count(*), sum(bal) FROM acc WHERE id = 1 OR id = 2;

-- prepared statements: the range comes from the parameters, also with the
-- generic plan (each write is its own transaction: Sync)
\setenv PGDATABASE :DBNAME
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'query SET plan_cache_mode = force_generic_plan' 'parse rd SELECT sum(bal) FROM key_ranges_test.acc WHERE id BETWEEN $1 AND $2' 'parse wr UPDATE key_ranges_test.acc SET bal = bal + 1 WHERE id = $1' 'bind - rd 600 610' 'execute - 0' 'bind - rd 700 710' 'execute - 0' 'sync' 'bind - wr 605' 'execute - 0' 'sync' 'bind - rd 600 610' 'execute - 0' 'bind - rd 700 710' 'execute - 0' 'sync' 'bind - wr 611' 'execute - 0' 'sync' 'bind - rd 600 610' 'execute - 0' 'sync' | grep -v 'bind <unnamed>\|parse rd:\|parse wr:\|^CommandComplete SET\|^ReadyForQuery'
SELECT * FROM counters;			-- 2 hits, 3 misses

-- lists bound by the hull of their elements, in readers and writers
SELECT count(*), sum(bal) FROM acc WHERE id IN (200, 205, 210);
SELECT hybridcache_reset_stats();
UPDATE acc SET bal = bal + 1 WHERE id IN (211, 300);			-- outside
SELECT count(*), sum(bal) FROM acc WHERE id IN (200, 205, 210);
UPDATE acc SET bal = bal + 1 WHERE id = ANY ('{150, 207}');	-- in the hull
SELECT count(*), sum(bal) FROM acc WHERE id IN (200, 205, 210);
DELETE FROM acc WHERE id IN (205, 999999);
SELECT count(*), sum(bal) FROM acc WHERE id IN (200, 205, 210);
SELECT * FROM counters;			-- 1 hit, 2 misses

-- generic plans keep "$1 + 9" and "= ANY ($1)": evaluated per execution
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'query SET plan_cache_mode = force_generic_plan' 'parse ra SELECT count(*), sum(bal) FROM key_ranges_test.acc WHERE id BETWEEN $1 AND $1 + 9' 'parse rl SELECT count(*), sum(bal) FROM key_ranges_test.acc WHERE id = ANY ($1::int[])' 'parse wl UPDATE key_ranges_test.acc SET bal = bal + 1 WHERE id = ANY ($1::int[])' 'bind - ra 620' 'execute - 0' 'bind - rl {640,650}' 'execute - 0' 'sync' 'bind - wl {631,635}' 'execute - 0' 'sync' 'bind - ra 620' 'execute - 0' 'bind - rl {640,650}' 'execute - 0' 'sync' 'bind - wl {625,645}' 'execute - 0' 'sync' 'bind - ra 620' 'execute - 0' 'bind - rl {640,650}' 'execute - 0' 'sync' | grep -v 'bind <unnamed>\|parse r[al]:\|parse wl:\|^CommandComplete SET\|^ReadyForQuery'
SELECT * FROM counters;			-- 2 hits, 4 misses

-- a transaction's own writes, and a rolled-back range write
BEGIN;
UPDATE acc SET bal = 100 WHERE id = 800;
SELECT bal FROM acc WHERE id = 800;
ROLLBACK;
SELECT bal FROM acc WHERE id = 800;
SELECT bal FROM acc WHERE id = 800;

-- many range writes in one transaction end up as a whole-table write
SELECT bal FROM acc WHERE id = 1;
DO $$ BEGIN
  FOR i IN 500..560 LOOP
    EXECUTE format('UPDATE acc SET bal = bal WHERE id = %s', i);
  END LOOP;
END $$;
SELECT hybridcache_reset_stats();
SELECT bal FROM acc WHERE id = 1;
SELECT * FROM counters;			-- 0 hits, 1 miss

-- off: every write invalidates every reader of the table
SET hybridcache.key_ranges = off;
SELECT bal FROM acc WHERE id = 5;
SELECT hybridcache_reset_stats();
UPDATE acc SET bal = 1 WHERE id = 6;
SELECT bal FROM acc WHERE id = 5;
SELECT * FROM counters;			-- 0 hits, 1 miss
RESET hybridcache.key_ranges;

-- a function that is not built in may read the table's other rows, even
-- when (wrongly) declared IMMUTABLE: such a plan reads its tables whole
CREATE FUNCTION rich(int) RETURNS bigint IMMUTABLE LANGUAGE sql
  AS 'SELECT count(*) FROM key_ranges_test.acc WHERE bal > $1';
SELECT id, rich(id * 1000) FROM acc WHERE id = 1;
UPDATE acc SET bal = 5000 WHERE id = 500;
SELECT id, rich(id * 1000) FROM acc WHERE id = 1;

-- "$1 + 10" that does not fit its type is no bound: the uncached query
-- fails once it evaluates the sum, and so must the next execution
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'query SET plan_cache_mode = force_generic_plan' 'query SET enable_indexscan = off' 'query SET enable_bitmapscan = off' 'parset ov 23 SELECT count(*) FROM key_ranges_test.acc WHERE bal IS NULL AND big <= $1 + 10' 'bind - ov 2147483640' 'execute - 0' 'bind - ov 2147483640' 'execute - 0' 'sync' 'query UPDATE key_ranges_test.acc SET bal = NULL WHERE big = 3000000000' 'bind - ov 2147483640' 'execute - 0' 'sync' | grep -v 'bind <unnamed>\|parse ov:\|^CommandComplete SET\|^ReadyForQuery'
SELECT * FROM counters;			-- 1 hit, 2 misses

DROP SCHEMA key_ranges_test CASCADE;
