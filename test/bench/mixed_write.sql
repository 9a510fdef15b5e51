-- mixed_write.sql - mixed workload, weight 10: single-row update of a
-- Zipf-distributed account (the same hot keys the reads use).
\set aid random_zipfian(1, 100000 * :scale, 1.1)
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;
