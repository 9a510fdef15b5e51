-- The extended query protocol, driven by a small protocol-level client:
-- command tags, row limits with PortalSuspended, partial fetches,
-- parameters and binary results are the same on a miss and on a hit.
CREATE SCHEMA protocol_test;
SET search_path = protocol_test, public;
CREATE TABLE five (id int PRIMARY KEY, v text);
INSERT INTO five SELECT g, 'v' || g FROM generate_series(1, 5) g;
CREATE TABLE four (id int PRIMARY KEY);
INSERT INTO four SELECT generate_series(1, 4);
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();
\setenv PGDATABASE :DBNAME

-- simple protocol: same rows and tag on miss and hit
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'query SELECT id FROM protocol_test.five WHERE id < 4 ORDER BY id' 'query SELECT id FROM protocol_test.five WHERE id < 4 ORDER BY id'
SELECT * FROM counters;

-- a row limit of 2 over 5 rows: 2, PortalSuspended, 2, PortalSuspended,
-- 1, SELECT 1; stored on the third Execute; the hit replays identically
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'parse s SELECT id, v FROM protocol_test.five ORDER BY id' 'bind p s' 'execute p 2' 'execute p 2' 'execute p 2' 'sync'
SELECT * FROM counters;
\! perl test/pgproto.pl 'parse s SELECT id, v FROM protocol_test.five ORDER BY id' 'bind p s' 'execute p 2' 'execute p 2' 'execute p 2' 'sync'
SELECT * FROM counters;

-- a portal closed after a partial fetch is not stored
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'parse s SELECT id FROM protocol_test.five WHERE id > 1 ORDER BY id' 'bind p s' 'execute p 2' 'close P p' 'sync'
SELECT * FROM counters;
SELECT count FROM hybridcache_bypass_stats() WHERE reason = 'incomplete';

-- 4 rows with a row limit of 2: complete only after the Execute that
-- returns no row
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'parse s SELECT id FROM protocol_test.four ORDER BY id' 'bind p s' 'execute p 2' 'execute p 2' 'sync'
SELECT * FROM counters;
\! perl test/pgproto.pl 'parse s SELECT id FROM protocol_test.four ORDER BY id' 'bind p s' 'execute p 2' 'execute p 2' 'execute p 2' 'sync'
SELECT * FROM counters;
\! perl test/pgproto.pl 'parse s SELECT id FROM protocol_test.four ORDER BY id' 'bind p s' 'execute p 2' 'execute p 2' 'execute p 2' 'sync'
SELECT * FROM counters;

-- parameters: each value is its own key; NULL is not the string 'NULL'
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'parse s SELECT id, v FROM protocol_test.five WHERE id = $1 OR v = $2' 'bind - s 1 x' 'execute - 0' 'bind - s 2 x' 'execute - 0' 'bind - s 1 x' 'execute - 0' 'bind - s NULL v3' 'execute - 0' "bind - s NULL 'NULL'" 'execute - 0' 'bind - s NULL v3' 'execute - 0' 'sync'
SELECT * FROM counters;

-- the same bytes as a text and as a varchar parameter are different keys
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'parset t 25 SELECT count(*) FROM protocol_test.five WHERE v = $1' 'parset vc 1043 SELECT count(*) FROM protocol_test.five WHERE v = $1' 'bind - t v2' 'execute - 0' 'bind - vc v2' 'execute - 0' 'bind - vc v2' 'execute - 0' 'sync'
SELECT * FROM counters;

-- a prepared statement executed many times with the same and other values
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'parse q SELECT v FROM protocol_test.five WHERE id = $1' 'bind - q 1' 'execute - 0' 'bind - q 1' 'execute - 0' 'bind - q 2' 'execute - 0' 'bind - q 1' 'execute - 0' 'bind - q 2' 'execute - 0' 'sync'
SELECT * FROM counters;

-- the admission rule: a prepared statement that ran faster than
-- hybridcache.min_exec_time is not captured again on its next misses; once
-- the threshold allows it, its next run is stored
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'query SET hybridcache.min_exec_time = '"'"'1h'"'" 'parse q SELECT v FROM protocol_test.five WHERE id = $1' 'bind - q 4' 'execute - 0' 'bind - q 4' 'execute - 0' 'bind - q 4' 'execute - 0' 'sync' 'query SET hybridcache.min_exec_time = 0' 'bind - q 4' 'execute - 0' 'bind - q 4' 'execute - 0' 'sync' | grep -c DataRow
SELECT * FROM counters;
SELECT count FROM hybridcache_bypass_stats() WHERE reason = 'cheap';

-- binary results, stored by a text-format execution
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'parse s SELECT id, v FROM protocol_test.five WHERE id = 5' 'bind - s' 'execute - 0' 'bindb - s' 'execute - 0' 'bind - s' 'execute - 0' 'sync'
SELECT * FROM counters;

-- two portals of one statement open at once, one capturing, one replaying
SELECT hybridcache_reset_stats();
\! perl test/pgproto.pl 'query BEGIN' 'parse s SELECT id FROM protocol_test.five ORDER BY id' 'bind p1 s' 'execute p1 0' 'bind p2 s' 'bind p3 s' 'execute p2 3' 'execute p3 1' 'execute p2 3' 'execute p3 10' 'sync' 'query COMMIT'
SELECT * FROM counters;

-- an error in the middle of an extended-protocol batch
\! perl test/pgproto.pl 'parse s SELECT 1/(id - 3) FROM protocol_test.five ORDER BY id' 'bind - s' 'execute - 0' 'sync' 'query SELECT count(*) FROM protocol_test.five'

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA protocol_test CASCADE;
RESET client_min_messages;
