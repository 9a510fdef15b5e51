-- pk.sql - primary-key lookup over a hot set of 1,000 accounts.
-- :nonce is 1 for every configuration except "hc miss", where run.sh passes
-- -D nonce_max=1000000000000000 so that every statement is a new cache key
-- (the extra constant column costs the same in every configuration).
\set aid random(1, 1000)
\set nonce random(1, :nonce_max)
SELECT abalance, :nonce::bigint AS nonce FROM pgbench_accounts WHERE aid = :aid;
