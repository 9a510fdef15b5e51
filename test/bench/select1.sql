-- select1.sql - the cheapest statement: no table, so hybridcache never
-- caches it (bypass reason no_relation); measures the per-statement overhead
-- of the hooks and of pgpool.
SELECT 1;
