-- mixed_point.sql - mixed workload, weight 40: point read, Zipf-distributed key.
\set aid random_zipfian(1, 100000 * :scale, 1.1)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
