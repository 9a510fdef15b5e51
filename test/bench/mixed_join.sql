-- mixed_join.sql - mixed workload, weight 20: the 100-row join + sort of
-- join.sql over a Zipf-distributed 1,000-account range.
\set lo 1 + 1000 * random_zipfian(0, 100 * :scale - 1, 1.1)
SELECT a.aid, a.abalance, b.bid, b.bbalance
  FROM pgbench_accounts a JOIN pgbench_branches b ON b.bid = a.bid
 WHERE a.aid BETWEEN :lo AND :lo + 999
 ORDER BY a.abalance DESC, a.aid
 LIMIT 100;
