-- mixed_agg.sql - mixed workload, weight 10: aggregate over a 10,000-account
-- range (index range scan), Zipf-distributed range.
\set lo 1 + 10000 * random_zipfian(0, 10 * :scale - 1, 1.1)
SELECT count(*), sum(abalance), min(abalance), max(abalance)
  FROM pgbench_accounts WHERE aid BETWEEN :lo AND :lo + 9999;
