-- join.sql - 100-row join + sort: a 1,000-account range joined with its
-- branch, top 100 by balance.  100 different ranges (hot set).
-- :nonce: see pk.sql.
\set lo 1 + 1000 * random(0, 99)
\set nonce random(1, :nonce_max)
SELECT a.aid, a.abalance, b.bid, b.bbalance, :nonce::bigint AS nonce
  FROM pgbench_accounts a JOIN pgbench_branches b ON b.bid = a.bid
 WHERE a.aid BETWEEN :lo AND :lo + 999
 ORDER BY a.abalance DESC, a.aid
 LIMIT 100;
