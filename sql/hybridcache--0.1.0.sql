/* hybridcache--0.1.0.sql: install script */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION hybridcache" to load this file. \quit

CREATE FUNCTION hybridcache_version()
RETURNS text
AS 'MODULE_PATHNAME', 'hybridcache_version'
LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION hybridcache_version() IS
'version of the loaded hybridcache library';

--
-- Statistics
--
CREATE FUNCTION hybridcache_stats(
    OUT l1_hits bigint,
    OUT l2_hits bigint,
    OUT misses bigint,
    OUT stores bigint,
    OUT stores_refused bigint,
    OUT bypasses bigint,
    OUT evictions bigint,
    OUT invalidations bigint,
    OUT entries bigint,
    OUT bytes_used bigint,
    OUT bytes_limit bigint,
    OUT hit_ratio double precision,
    OUT single_flight_waits bigint,
    OUT single_flight_timeouts bigint,
    OUT plans_reused bigint,
    OUT stats_reset timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'hybridcache_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION hybridcache_stats() IS
'cache-wide hits, misses, stores, bypasses, evictions, invalidations and memory';

CREATE FUNCTION hybridcache_bypass_stats(
    OUT reason text,
    OUT count bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'hybridcache_bypass_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION hybridcache_bypass_stats() IS
'statements that were not served or stored, by reason';

CREATE FUNCTION hybridcache_redis_stats(
    OUT state text,
    OUT server text,
    OUT l2_hits bigint,
    OUT l2_misses bigint,
    OUT l2_stores bigint,
    OUT l2_rejected bigint,
    OUT round_trips bigint,
    OUT skipped bigint,
    OUT errors_connect bigint,
    OUT errors_timeout bigint,
    OUT errors_io bigint,
    OUT errors_auth bigint,
    OUT errors_reply bigint,
    OUT errors_too_large bigint,
    OUT bytes_sent bigint,
    OUT bytes_received bigint,
    OUT fenced_writes bigint,
    OUT last_error text,
    OUT last_error_time timestamptz,
    OUT down_until timestamptz,
    OUT last_heartbeat timestamptz,
    OUT heartbeat_lsn pg_lsn,
    OUT stream text,
    OUT stream_lsn pg_lsn,
    OUT stream_lag_bytes bigint,
    OUT stream_resyncs bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'hybridcache_redis_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION hybridcache_redis_stats() IS
'state of the Redis second-level cache: up, down, fenced or off, with round trips, errors and L2 hits';

CREATE FUNCTION hybridcache_table_stats(
    OUT relid regclass,
    OUT hits bigint,
    OUT misses bigint,
    OUT invalidations bigint,
    OUT last_invalidation timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'hybridcache_table_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION hybridcache_table_stats() IS
'per-table hits, misses and invalidations in this database';

CREATE FUNCTION hybridcache_entries(
    OUT dbid oid,
    OUT relations regclass[],
    OUT rows bigint,
    OUT bytes bigint,
    OUT created timestamptz,
    OUT exec_time double precision,
    OUT usage_count integer,
    OUT pinned integer,
    OUT computing boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'hybridcache_entries'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION hybridcache_entries() IS
'one row per cached result (database, tables read, size, age, execution time saved per hit, usage, pins), and one per result being computed';

CREATE FUNCTION hybridcache_query_stats(
    OUT dbid oid,
    OUT fingerprint text,
    OUT queryid bigint,
    OUT query text,
    OUT hits bigint,
    OUT misses bigint,
    OUT stores bigint,
    OUT invalidated bigint,
    OUT bytes bigint,
    OUT mean_exec_time double precision,
    OUT total_saved_time double precision,
    OUT hit_ratio double precision,
    OUT last_used timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'hybridcache_query_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION hybridcache_query_stats() IS
'per query shape: hits, misses, stores, results found out of date, size, mean execution time of a miss and time saved by hits';

CREATE FUNCTION hybridcache_reset_stats()
RETURNS void
AS 'MODULE_PATHNAME', 'hybridcache_reset_stats'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

COMMENT ON FUNCTION hybridcache_reset_stats() IS
'resets the statistics of hybridcache_stats(), hybridcache_bypass_stats() and hybridcache_table_stats()';

CREATE FUNCTION hybridcache_explain(
    query text,
    OUT verdict text,
    OUT reason text)
RETURNS record
AS 'MODULE_PATHNAME', 'hybridcache_explain'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION hybridcache_explain(text) IS
'what the cache would do with a SELECT now: hit, miss, or bypass and why';

--
-- Invalidation
--
CREATE FUNCTION hybridcache_invalidate(regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'hybridcache_invalidate'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION hybridcache_invalidate(regclass) IS
'drops the cached results that read a table, when the transaction commits';

CREATE FUNCTION hybridcache_invalidate_all()
RETURNS void
AS 'MODULE_PATHNAME', 'hybridcache_invalidate_all'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION hybridcache_invalidate_all() IS
'drops every cached result, when the transaction commits';

CREATE FUNCTION cache_invalidate()
RETURNS trigger
AS 'MODULE_PATHNAME', 'cache_invalidate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION cache_invalidate() IS
'trigger function: registers a write of the table it is attached to';

--
-- Watching tables with invalidation triggers.  The executor and utility
-- hooks already see every ordinary write; the triggers are for writers they
-- cannot see, such as logical replication apply.  A statement-level trigger
-- that always fires covers INSERT, UPDATE, DELETE, TRUNCATE and COPY; a
-- row-level trigger that fires only in replica mode covers the apply
-- worker, which fires no statement-level triggers.
--
CREATE FUNCTION hybridcache_watch(tbl regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
BEGIN
    SELECT relkind INTO kind FROM pg_class WHERE oid = tbl;
    IF kind IS NULL OR kind NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', tbl
            USING ERRCODE = 'wrong_object_type',
                  HINT = 'Only tables and partitioned tables can be watched.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = tbl AND tgname = 'hybridcache_invalidate') THEN
        EXECUTE format('CREATE TRIGGER hybridcache_invalidate'
                       ' AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.cache_invalidate()', tbl);
        EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER hybridcache_invalidate', tbl);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgrelid = tbl AND tgname = 'hybridcache_invalidate_replica') THEN
        EXECUTE format('CREATE TRIGGER hybridcache_invalidate_replica'
                       ' AFTER INSERT OR UPDATE OR DELETE ON %s'
                       ' FOR EACH ROW EXECUTE FUNCTION @extschema@.cache_invalidate()', tbl);
        EXECUTE format('ALTER TABLE %s ENABLE REPLICA TRIGGER hybridcache_invalidate_replica', tbl);
    END IF;
END;
$$;

COMMENT ON FUNCTION hybridcache_watch(regclass) IS
'adds the invalidation triggers to a table';

CREATE FUNCTION hybridcache_unwatch(tbl regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('DROP TRIGGER IF EXISTS hybridcache_invalidate ON %s', tbl);
    EXECUTE format('DROP TRIGGER IF EXISTS hybridcache_invalidate_replica ON %s', tbl);
END;
$$;

COMMENT ON FUNCTION hybridcache_unwatch(regclass) IS
'removes the invalidation triggers from a table';

CREATE FUNCTION hybridcache_watch_all()
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t regclass;
    n integer := 0;
BEGIN
    FOR t IN
        SELECT c.oid::regclass
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p')
          AND NOT c.relispartition
          AND c.relpersistence <> 't'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\_%'
          AND pg_has_role(c.relowner, 'USAGE')
          AND NOT EXISTS (SELECT 1 FROM pg_trigger tg
                          WHERE tg.tgrelid = c.oid
                            AND tg.tgname = 'hybridcache_invalidate')
        ORDER BY c.oid
    LOOP
        PERFORM @extschema@.hybridcache_watch(t);
        n := n + 1;
    END LOOP;
    RETURN n;
END;
$$;

COMMENT ON FUNCTION hybridcache_watch_all() IS
'adds the invalidation triggers to every table whose owner role the current role is a member of; returns how many';

--
-- Cache warming
--
-- The table lives in a schema of its own, so that CREATE EXTENSION adds no
-- table to the schemas applications and migration tools look at.
CREATE SCHEMA hybridcache;

CREATE TABLE hybridcache.warm_queries (
    id serial PRIMARY KEY,
    query text NOT NULL,
    role_name name NOT NULL DEFAULT current_user,
    enabled boolean NOT NULL DEFAULT true,
    last_warmed timestamptz,
    last_result text
);

COMMENT ON TABLE hybridcache.warm_queries IS
'SELECT statements that hybridcache_warm() runs, each as its role, to fill the cache';

SELECT pg_catalog.pg_extension_config_dump('hybridcache.warm_queries', '');
SELECT pg_catalog.pg_extension_config_dump('hybridcache.warm_queries_id_seq', '');

CREATE FUNCTION hybridcache_warm(OUT id integer, OUT outcome text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'hybridcache_warm'
LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION hybridcache_warm() IS
'runs the enabled queries of hybridcache.warm_queries, each as its role, storing their results';

-- Administrative functions: superusers only, unless granted.
REVOKE ALL ON SCHEMA hybridcache FROM PUBLIC;
REVOKE ALL ON TABLE hybridcache.warm_queries FROM PUBLIC;
REVOKE ALL ON FUNCTION hybridcache_warm() FROM PUBLIC;
REVOKE ALL ON FUNCTION hybridcache_reset_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION hybridcache_invalidate(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION hybridcache_invalidate_all() FROM PUBLIC;
-- entries of every database are listed: monitoring roles only
REVOKE ALL ON FUNCTION hybridcache_entries() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hybridcache_entries() TO pg_read_all_stats;
REVOKE ALL ON FUNCTION hybridcache_query_stats() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION hybridcache_query_stats() TO pg_read_all_stats;
