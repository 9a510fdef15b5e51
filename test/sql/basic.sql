-- Miss then hit: identical results, counters, and keys that neither
-- collide nor depend on spelling.
CREATE SCHEMA basic_test;
SET search_path = basic_test, public;
CREATE TABLE a (id int PRIMARY KEY, v text);
CREATE TABLE b (id int PRIMARY KEY, v text);
INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 10) g;
INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 3) g;

CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();

SELECT hybridcache_reset_stats();
SELECT id, v FROM a WHERE id <= 3 ORDER BY id;
SELECT id, v FROM a WHERE id <= 3 ORDER BY id;
SELECT * FROM counters;

-- count(*) over two tables with identical plan trees never share an entry
SELECT count(*) FROM a;
SELECT count(*) FROM b;
SELECT count(*) FROM a;
SELECT count(*) FROM b;
SELECT * FROM counters;

-- whitespace, case of keywords and a trailing semicolon do not change the key
SELECT hybridcache_reset_stats();
SELECT v FROM a WHERE id = 5;
select   v   from a   where id=5
;
SELECT v FROM a WHERE id = 5; SELECT v FROM a WHERE id = 5;
SELECT * FROM counters;

-- different constants are different keys
SELECT v FROM a WHERE id = 6;
SELECT * FROM counters;

-- joins, aggregates, sorts, LIMIT/OFFSET, subqueries, CTEs, set operations,
-- window functions: each served from the cache the second time, unchanged
SELECT hybridcache_reset_stats();
SELECT a.id, a.v, b.v FROM a JOIN b USING (id) ORDER BY 1;
SELECT a.id, a.v, b.v FROM a JOIN b USING (id) ORDER BY 1;
SELECT length(v), count(*) FROM a GROUP BY 1 ORDER BY 1;
SELECT length(v), count(*) FROM a GROUP BY 1 ORDER BY 1;
SELECT id FROM a ORDER BY id DESC LIMIT 3 OFFSET 2;
SELECT id FROM a ORDER BY id DESC LIMIT 3 OFFSET 2;
SELECT id FROM a WHERE id IN (SELECT id FROM b) ORDER BY id;
SELECT id FROM a WHERE id IN (SELECT id FROM b) ORDER BY id;
WITH c AS (SELECT id FROM b) SELECT count(*) FROM c;
WITH c AS (SELECT id FROM b) SELECT count(*) FROM c;
SELECT v FROM a WHERE id < 3 UNION ALL SELECT v FROM b WHERE id < 3 ORDER BY 1;
SELECT v FROM a WHERE id < 3 UNION ALL SELECT v FROM b WHERE id < 3 ORDER BY 1;
SELECT id, sum(id) OVER (ORDER BY id) FROM b;
SELECT id, sum(id) OVER (ORDER BY id) FROM b;
SELECT * FROM counters;

-- empty results are cached as well
SELECT * FROM a WHERE id < 0;
SELECT * FROM a WHERE id < 0;

-- named composite rows are cached and replayed
SELECT a FROM a WHERE id = 1;
SELECT a FROM a WHERE id = 1;
SELECT * FROM counters;

-- every type of column survives the round trip
CREATE TABLE types (i2 int2, i8 int8, f4 float4, f8 float8, n numeric, b bool,
  t text, vc varchar(5), c char(3), by bytea, d date, ts timestamp,
  tz timestamptz, iv interval, j jsonb, arr int[], u uuid, nul int);
INSERT INTO types VALUES (-2, 9000000000, 1.5, 2.25, 123.4500, true, 'text',
  'vc', 'c', '\x00ff', '2024-02-29', '2024-02-29 12:34:56',
  '2024-02-29 12:34:56+02', '1 day 2 hours', '{"k": [1, 2]}', '{1,NULL,3}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', NULL);
SET TimeZone = 'UTC';
SELECT * FROM types;
SELECT * FROM types;
-- output settings apply at send time, not at store time
SET TimeZone = 'Asia/Tokyo';
SET DateStyle = 'SQL, DMY';
SET bytea_output = 'escape';
SELECT * FROM types;
RESET TimeZone;
RESET DateStyle;
RESET bytea_output;
SELECT * FROM counters;

-- hybridcache_entries() lists what is cached
SELECT relations, rows, bytes > 0 AS has_bytes, pinned
FROM hybridcache_entries()
WHERE 'b'::regclass = ANY (relations)
ORDER BY relations::text, rows;

-- the client encoding is applied at send time too
CREATE TABLE words (w text);
INSERT INTO words VALUES ('café'), ('naïve');
SELECT w FROM words WHERE w LIKE 'caf%';
SET client_encoding = 'LATIN1';
SELECT w FROM words WHERE w LIKE 'caf%' \gset enc_
SELECT :'enc_w' = convert_from('\x636166e9', 'LATIN1') AS converted;
RESET client_encoding;
SELECT w FROM words WHERE w LIKE 'caf%';
SELECT * FROM counters;

-- a table in another schema with the same name is another table
CREATE SCHEMA other;
CREATE TABLE other.a (id int, v text);
INSERT INTO other.a VALUES (1, 'other');
SET search_path = other, public;
SELECT v FROM a WHERE id = 1;
SET search_path = basic_test, public;
SELECT v FROM a WHERE id = 1;
SELECT v FROM a WHERE id = 1;
DROP SCHEMA other CASCADE;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA basic_test CASCADE;
RESET client_min_messages;
