-- agg.sql - expensive aggregate: full scan of pgbench_accounts (1,000,000
-- rows at scale 10) grouped by branch, ~150 ms per execution.
-- :nonce: see pk.sql.
\set nonce random(1, :nonce_max)
SELECT bid, count(*), sum(abalance), :nonce::bigint AS nonce
  FROM pgbench_accounts GROUP BY bid ORDER BY bid;
