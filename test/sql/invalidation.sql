-- Every kind of writer invalidates the cached results that read what it
-- wrote: the statement after the write always sees the new data.
CREATE SCHEMA invalidation_test;
SET search_path = invalidation_test, public;
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();

CREATE TABLE w (id int PRIMARY KEY, v text);
INSERT INTO w SELECT g, 'v' || g FROM generate_series(1, 3) g;

-- INSERT, UPDATE, DELETE
SELECT hybridcache_reset_stats();
SELECT count(*), max(v) FROM w;
SELECT count(*), max(v) FROM w;
INSERT INTO w VALUES (4, 'v4');
SELECT count(*), max(v) FROM w;
UPDATE w SET v = 'z' WHERE id = 1;
SELECT count(*), max(v) FROM w;
DELETE FROM w WHERE id = 1;
SELECT count(*), max(v) FROM w;
SELECT count(*), max(v) FROM w;
SELECT * FROM counters;

-- a write that affects no row and a rolled-back write are harmless
UPDATE w SET v = 'never' WHERE id = -1;
BEGIN;
DELETE FROM w;
ROLLBACK;
SELECT count(*), max(v) FROM w;

-- COPY FROM
SELECT count(*), max(v) FROM w;
COPY w FROM STDIN;
10	v10
\.
SELECT count(*), max(v) FROM w;

-- writes of triggers are not seen by the hooks in replica mode; the
-- executor hook still sees the statement itself
SET session_replication_role = replica;
INSERT INTO w VALUES (11, 'v11');
RESET session_replication_role;
SELECT count(*), max(v) FROM w;

-- a data-modifying CTE inside a SELECT
SELECT count(*), max(v) FROM w;
WITH d AS (DELETE FROM w WHERE id = 11 RETURNING id) SELECT count(*) FROM d;
SELECT count(*), max(v) FROM w;

-- DML inside a function
CREATE FUNCTION add_row(int) RETURNS void LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO w VALUES ($1, 'fn'); END $$;
SELECT count(*), max(v) FROM w;
SELECT add_row(12);
SELECT count(*), max(v) FROM w;

-- TRUNCATE and TRUNCATE ... CASCADE
CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int, pid int REFERENCES parent ON DELETE CASCADE);
INSERT INTO parent VALUES (1), (2);
INSERT INTO child VALUES (1, 1), (2, 2);
SELECT count(*) FROM child;
SELECT count(*) FROM child;
DELETE FROM parent WHERE id = 1;
SELECT count(*) FROM child;
SELECT count(*) FROM child;
TRUNCATE parent CASCADE;
SELECT count(*) FROM child;
SELECT count(*), max(v) FROM w;
TRUNCATE w;
SELECT count(*), max(v) FROM w;
INSERT INTO w VALUES (1, 'again');

-- partitions: a write to a leaf invalidates queries of the parent, and a
-- write through the parent invalidates queries of a leaf
CREATE TABLE pt (k int, v text) PARTITION BY RANGE (k);
CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (10);
CREATE TABLE pt2 PARTITION OF pt FOR VALUES FROM (10) TO (20);
INSERT INTO pt VALUES (1, 'a'), (11, 'b');
SELECT count(*) FROM pt;
SELECT count(*) FROM pt;
INSERT INTO pt1 VALUES (2, 'c');
SELECT count(*) FROM pt;
SELECT count(*) FROM pt2;
SELECT count(*) FROM pt2;
INSERT INTO pt VALUES (12, 'd');
SELECT count(*) FROM pt2;
SELECT count(*) FROM pt WHERE k = 1;
SELECT count(*) FROM pt WHERE k = 1;
UPDATE pt SET k = 3 WHERE k = 1;
SELECT count(*) FROM pt WHERE k = 1;
-- attaching and detaching partitions
CREATE TABLE pt3 (k int, v text);
INSERT INTO pt3 VALUES (25, 'e');
SELECT count(*) FROM pt;
ALTER TABLE pt ATTACH PARTITION pt3 FOR VALUES FROM (20) TO (30);
SELECT count(*) FROM pt;
SELECT count(*) FROM pt;
ALTER TABLE pt DETACH PARTITION pt3;
SELECT count(*) FROM pt;

-- views: reading through a view, writing through an updatable view and
-- through an INSTEAD OF trigger
CREATE TABLE base (id int PRIMARY KEY, v text);
INSERT INTO base VALUES (1, 'one'), (2, 'two');
CREATE VIEW bv AS SELECT id, v FROM base WHERE id > 0;
SELECT string_agg(v, ',' ORDER BY id) FROM bv;
SELECT string_agg(v, ',' ORDER BY id) FROM bv;
UPDATE bv SET v = 'uno' WHERE id = 1;
SELECT string_agg(v, ',' ORDER BY id) FROM bv;
SELECT string_agg(v, ',' ORDER BY id) FROM base;
CREATE VIEW iv AS SELECT id, v FROM base;
CREATE FUNCTION iv_insert() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO base VALUES (NEW.id, NEW.v); RETURN NEW; END $$;
CREATE TRIGGER iv_insert INSTEAD OF INSERT ON iv
  FOR EACH ROW EXECUTE FUNCTION iv_insert();
INSERT INTO iv VALUES (3, 'three');
SELECT string_agg(v, ',' ORDER BY id) FROM base;
SELECT string_agg(v, ',' ORDER BY id) FROM bv;

-- materialized views: plain and concurrent refresh
CREATE MATERIALIZED VIEW mv AS SELECT count(*) AS n FROM base;
CREATE UNIQUE INDEX ON mv (n);
SELECT n FROM mv;
SELECT n FROM mv;
INSERT INTO base VALUES (4, 'four');
SELECT n FROM mv;
REFRESH MATERIALIZED VIEW mv;
SELECT n FROM mv;
SELECT n FROM mv;
INSERT INTO base VALUES (5, 'five');
REFRESH MATERIALIZED VIEW CONCURRENTLY mv;
SELECT n FROM mv;

-- DDL: a column rewritten to new values of the same type, a redefined
-- function, a table dropped and created again under the same name
CREATE TABLE rw (id int, v text);
INSERT INTO rw VALUES (1, 'one'), (2, 'two');
SELECT string_agg(v, ',' ORDER BY id) FROM rw;
SELECT string_agg(v, ',' ORDER BY id) FROM rw;
ALTER TABLE rw ALTER COLUMN v TYPE text USING upper(v);
SELECT string_agg(v, ',' ORDER BY id) FROM rw;
CREATE FUNCTION plus(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS
  $$ BEGIN RETURN $1 + 1; END $$;
SELECT plus(id) FROM base WHERE id = 1;
SELECT plus(id) FROM base WHERE id = 1;
CREATE OR REPLACE FUNCTION plus(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS
  $$ BEGIN RETURN $1 + 100; END $$;
SELECT plus(id) FROM base WHERE id = 1;
CREATE TABLE dropme (x int);
INSERT INTO dropme VALUES (1);
SELECT sum(x) FROM dropme;
SELECT sum(x) FROM dropme;
DROP TABLE dropme;
CREATE TABLE dropme (x int);
INSERT INTO dropme VALUES (41), (1);
SELECT sum(x) FROM dropme;

-- manual invalidation is transactional
SELECT count(*) FROM base;
SELECT hybridcache_reset_stats();
BEGIN;
SELECT hybridcache_invalidate('base');
ROLLBACK;
SELECT count(*) FROM base;
BEGIN;
SAVEPOINT s1;
SELECT hybridcache_invalidate_all();
ROLLBACK TO s1;
COMMIT;
SELECT count(*) FROM base;
SELECT * FROM counters;
SELECT hybridcache_invalidate('base');
SELECT count(*) FROM base;
SELECT hybridcache_invalidate_all();
SELECT count(*) FROM base;
SELECT * FROM counters;
SELECT hybridcache_invalidate(0);
SELECT hybridcache_invalidate('no_such_table');
SELECT hybridcache_invalidate(NULL);

-- invalidation triggers are opt-in and idempotent
SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'hybridcache%';
SELECT hybridcache_watch('w');
SELECT hybridcache_watch('w');
SELECT tgname, tgenabled, tgtype FROM pg_trigger
  WHERE tgrelid = 'w'::regclass ORDER BY tgname;
SELECT count(*), max(v) FROM w;
INSERT INTO w VALUES (2, 'watched');
SELECT count(*), max(v) FROM w;
SELECT hybridcache_unwatch('w');
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'w'::regclass;
SELECT hybridcache_watch('bv');
SELECT hybridcache_watch_all() > 0 AS watched_some;
SELECT hybridcache_watch_all();
SELECT cache_invalidate();
SET hybridcache.auto_watch = on;
CREATE TABLE born_watched (x int);
RESET hybridcache.auto_watch;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'born_watched'::regclass ORDER BY 1;
-- the trigger works where the hooks are blind: writes from replica mode
-- are also registered by it, and COPY into a watched table
COPY born_watched FROM STDIN;
7
\.
SELECT sum(x) FROM born_watched;
SELECT sum(x) FROM born_watched;
SET session_replication_role = replica;
INSERT INTO born_watched VALUES (8);
RESET session_replication_role;
SELECT sum(x) FROM born_watched;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA invalidation_test CASCADE;
RESET client_min_messages;
