-- mixed_page.sql - mixed workload, weight 20: a page of 20 accounts
-- (LIMIT/OFFSET), Zipf-distributed page number (popular first pages).
\set page random_zipfian(0, 999, 1.1)
SELECT aid, abalance FROM pgbench_accounts ORDER BY aid LIMIT 20 OFFSET :page * 20;
