-- Monitoring functions: per-query and per-table statistics, the entry
-- listing, resets and who may call what.
CREATE SCHEMA monitoring_test;
SET search_path = monitoring_test, public;
CREATE TABLE m (id int PRIMARY KEY, v text);
INSERT INTO m SELECT g, 'v' || g FROM generate_series(1, 10) g;

SELECT hybridcache_reset_stats();
SELECT count(*) FROM hybridcache_query_stats();
SELECT v FROM m WHERE id = 1;
SELECT v FROM m WHERE id = 1;
SELECT v FROM m WHERE id = 1;
SELECT count(*) FROM m;
UPDATE m SET v = 'x' WHERE id = 5;
SELECT count(*) FROM m;
SELECT count(*) FROM m;

-- one row per query shape, with its text
SELECT query, hits, misses, stores, invalidated, bytes > 0 AS has_bytes,
       mean_exec_time >= 0 AS timed, round(hit_ratio::numeric, 2) AS hit_ratio,
       fingerprint ~ '^t[0-9a-f]{16}$' AS text_keyed, queryid, last_used IS NOT NULL AS used
FROM hybridcache_query_stats() ORDER BY query;
SELECT total_saved_time > 0 AS saved FROM hybridcache_query_stats()
WHERE query LIKE 'SELECT v FROM m%';

-- prepared statements: every parameter value counts toward one row
PREPARE q(int) AS SELECT v FROM m WHERE id = $1;
SELECT hybridcache_reset_stats();
\setenv PGDATABASE :DBNAME
\! perl test/pgproto.pl 'parse s SELECT v FROM monitoring_test.m WHERE id = $1' 'bind - s 2' 'execute - 0' 'bind - s 3' 'execute - 0' 'bind - s 2' 'execute - 0' 'sync' > /dev/null
SELECT query, hits, misses, stores FROM hybridcache_query_stats();

-- with query IDs computed, rows are keyed by queryid (as in pg_stat_statements)
SELECT hybridcache_reset_stats();
SET compute_query_id = on;
SELECT v FROM m WHERE id = 7;
SELECT v FROM m WHERE id = 8;
SELECT v FROM m WHERE id = 7;
RESET compute_query_id;
SELECT fingerprint ~ '^q[0-9a-f]{16}$' AS queryid_keyed, queryid IS NOT NULL AS has_queryid,
       hits, misses, stores
FROM hybridcache_query_stats();

-- per table
SELECT relid, hits, misses, invalidations, last_invalidation IS NOT NULL AS invalidated
FROM hybridcache_table_stats() WHERE relid = 'm'::regclass;

-- a full table (hybridcache.max_query_stats is 1000 here) makes room for
-- new texts by forgetting the least used 5 % at once: 1,100 texts used once
-- leave between 950 and 999 rows, and the text used three times
SELECT hybridcache_reset_stats();
SELECT v FROM m WHERE id = 2;
SELECT v FROM m WHERE id = 2;
SELECT v FROM m WHERE id = 2;
\set ECHO none
\o /dev/null
SELECT format('SELECT %s AS n, v FROM m WHERE id = 3', g) FROM generate_series(1, 1100) g \gexec
\o
\set ECHO all
SELECT count(*) BETWEEN 950 AND 999 AS made_room FROM hybridcache_query_stats();
SELECT hits, misses FROM hybridcache_query_stats() WHERE query = 'SELECT v FROM m WHERE id = 2';
SELECT count(*) FROM hybridcache_query_stats() WHERE query LIKE 'SELECT 1100 AS n,%';
-- new texts are not the first to go: a new row starts at the median usage,
-- so 200 new texts used once displace 1,000 older ones used twice
SELECT hybridcache_reset_stats();
\set ECHO none
\o /dev/null
SELECT format('SELECT %s AS j, v FROM m WHERE id = 4', g)
FROM generate_series(1, 1000) g, generate_series(1, 2) r ORDER BY g \gexec
SELECT format('SELECT %s AS k, v FROM m WHERE id = 4', g) FROM generate_series(1, 200) g \gexec
\o
\set ECHO all
SELECT count(*) FROM hybridcache_query_stats() WHERE query LIKE 'SELECT % AS k,%';

-- everything resets together
SELECT hybridcache_reset_stats();
SELECT count(*) FROM hybridcache_query_stats();
SELECT count(*) FROM hybridcache_table_stats();
SELECT l1_hits, misses, stores, bypasses, stats_reset > now() - interval '1 minute' AS recent
FROM hybridcache_stats();

-- privileges: statistics for everyone, listings and administration for
-- monitoring roles and superusers
CREATE ROLE hc_app;
CREATE ROLE hc_monitor IN ROLE pg_read_all_stats;
SET ROLE hc_app;
SELECT count(*) >= 0 FROM hybridcache_stats();
SELECT count(*) >= 0 FROM hybridcache_bypass_stats();
SELECT count(*) >= 0 FROM hybridcache_table_stats();
SELECT count(*) >= 0 FROM hybridcache_entries();
SELECT count(*) >= 0 FROM hybridcache_query_stats();
SELECT hybridcache_reset_stats();
SELECT hybridcache_invalidate_all();
SET ROLE hc_monitor;
SELECT count(*) >= 0 FROM hybridcache_entries();
SELECT count(*) >= 0 FROM hybridcache_query_stats();
RESET ROLE;
DROP ROLE hc_app;
DROP ROLE hc_monitor;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA monitoring_test CASCADE;
RESET client_min_messages;
