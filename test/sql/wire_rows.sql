-- Results kept as the DataRow messages sent to the client (wire_rows.c):
-- a hit sends them only to a client that would get the very same bytes;
-- with other result formats or output settings it converts the cached
-- tuples again.  The DEBUG lines show which way a hit went.
CREATE SCHEMA wire_test;
SET search_path = wire_test, public;
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE wt (id int PRIMARY KEY, ts timestamptz, d date, iv interval,
  f float8, r real, b bytea, t text, n numeric, u uuid, j jsonb, bo bool,
  c "char", nm name, vc varchar(8), bp char(4), i8 bigint, i2 smallint);
INSERT INTO wt VALUES
  (1, '2026-01-02 03:04:05.678+00', '2026-01-02', '1 day 02:03:04', 0.30000000000000004, 1.1,
   '\xdeadbeef', 'café', 12.345, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
   '{"a": [1, 2.50]}', true, 'x', 'nm', 'vc', 'bp', 9007199254740993, -2),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE other (id int, m mood, a int[], mo money);
INSERT INTO other VALUES (1, 'ok', '{1,2}', 3.5);
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, MDY';
SET IntervalStyle = 'postgres';
SET extra_float_digits = 1;
SET bytea_output = 'hex';
SELECT hybridcache_reset_stats();

SET client_min_messages = debug2;
-- stored, then served as sent
SELECT * FROM wt ORDER BY id;
SELECT * FROM wt ORDER BY id;

-- each output setting changes the bytes: the hit converts the tuples
-- again, and sends the stored bytes once the settings are back
SET TimeZone = 'Asia/Tokyo';
SELECT * FROM wt ORDER BY id;
SET TimeZone = 'UTC';
SET DateStyle = 'SQL, DMY';
SELECT * FROM wt ORDER BY id;
SET DateStyle = 'ISO, MDY';
SET IntervalStyle = 'sql_standard';
SELECT * FROM wt ORDER BY id;
SET IntervalStyle = 'postgres';
SET extra_float_digits = 0;
SELECT * FROM wt ORDER BY id;
SET extra_float_digits = 1;
SET bytea_output = 'escape';
SELECT * FROM wt ORDER BY id;
SET bytea_output = 'hex';
SELECT * FROM wt ORDER BY id;

-- types whose output can change without a write, or that depend on
-- other types or on the locale, are never kept as sent: a renamed enum
-- label shows on the next hit
SELECT * FROM other;
SELECT * FROM other;
ALTER TYPE mood RENAME VALUE 'ok' TO 'fine';
SELECT * FROM other;
RESET client_min_messages;
SELECT * FROM counters;

-- client_encoding: the same text in UTF8 and LATIN1 (bytes shown in hex)
SELECT hybridcache_reset_stats();
\setenv PGDATABASE :DBNAME
\! perl test/pgproto.pl 'query SELECT t FROM wire_test.wt WHERE id = 1' 'query SELECT t FROM wire_test.wt WHERE id = 1' 'query SET client_encoding = LATIN1' 'query SELECT t FROM wire_test.wt WHERE id = 1' | perl -pe 's/([\x80-\xff])/sprintf("<%02x>", ord $1)/ge'
SELECT * FROM counters;

-- result formats: stored in binary, served as sent to a binary client and
-- converted for a text one; NULLs in both
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'query SET client_min_messages = debug2' 'parse s SELECT id, i8, i2, f, t, ts, n FROM wire_test.wt ORDER BY id' 'bindb - s' 'execute - 0' 'bindb - s' 'execute - 0' 'bind - s' 'execute - 0' 'sync' | grep -v 'bind <unnamed>\|parse s:'
SELECT * FROM counters;

-- a row limit over rows sent as stored: suspended and resumed in place
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'query SET client_min_messages = debug2' 'parse s SELECT id, t FROM wire_test.wt ORDER BY id' 'bind p s' 'execute p 0' 'sync' 'bind p s' 'execute p 1' 'execute p 1' 'execute p 1' 'sync' | grep -v 'bind p to s\|parse s:'
SELECT * FROM counters;

-- off: hits convert the tuples; what is stored has no wire rows
SET hybridcache.wire_rows = off;
SELECT hybridcache_invalidate_all() IS NOT NULL;
SET client_min_messages = debug2;
SELECT id, t FROM wt ORDER BY id;
SELECT id, t FROM wt ORDER BY id;
RESET hybridcache.wire_rows;
SELECT id, t FROM wt ORDER BY id;
RESET client_min_messages;

RESET search_path;
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;
RESET extra_float_digits;
RESET bytea_output;
SET client_min_messages = warning;
DROP SCHEMA wire_test CASCADE;
RESET client_min_messages;
