-- The store check: a result computed from a snapshot that cannot see a
-- registered writer is never stored, so it can never be served after that
-- writer commits.  Prepared transactions make a writer that is registered
-- but not yet committed, from a single session.
CREATE SCHEMA consistency_test;
SET search_path = consistency_test, public;
CREATE TABLE acct (id int PRIMARY KEY, balance int);
INSERT INTO acct VALUES (1, 100), (2, 100);
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores, stores_refused FROM hybridcache_stats();

-- a writer prepared before the reader's snapshot, committed after it
SELECT hybridcache_reset_stats();
BEGIN;
UPDATE acct SET balance = balance - 30 WHERE id = 1;
PREPARE TRANSACTION 'w1';
SELECT sum(balance), min(balance) FROM acct;
SELECT sum(balance), min(balance) FROM acct;
SELECT * FROM counters;
COMMIT PREPARED 'w1';
SELECT sum(balance), min(balance) FROM acct;
SELECT sum(balance), min(balance) FROM acct;
SELECT * FROM counters;

-- the same with a rolled back prepared writer: still no stale store while
-- it was in doubt, and the old data afterwards
SELECT hybridcache_reset_stats();
BEGIN;
DELETE FROM acct;
PREPARE TRANSACTION 'w2';
SELECT count(*) FROM acct;
ROLLBACK PREPARED 'w2';
SELECT count(*) FROM acct;
SELECT count(*) FROM acct;
SELECT * FROM counters;

-- a writer that commits while a reader's portal is half-way: the reader's
-- rows come from its older snapshot and are not stored
SELECT hybridcache_reset_stats();
\setenv PGDATABASE :DBNAME
\! perl test/pgproto.pl 'parse s SELECT id, balance FROM consistency_test.acct ORDER BY id' 'bind p s' 'execute p 1' 'query_other UPDATE consistency_test.acct SET balance = 0' 'execute p 0' 'sync' 'query SELECT id, balance FROM consistency_test.acct ORDER BY id'
SELECT id, balance FROM acct ORDER BY id;
SELECT * FROM counters;

-- the ring case: a writer registered before the reader read the
-- generations (so they do not move) commits between the reader's snapshot
-- and its store; only the writer's XID in the ring refuses the store
SELECT hybridcache_reset_stats();
BEGIN;
UPDATE acct SET balance = 42 WHERE id = 2;
PREPARE TRANSACTION 'w3';
\! perl test/pgproto.pl 'parse s SELECT id, balance FROM consistency_test.acct ORDER BY id' 'bind p s' 'execute p 1' 'query_other COMMIT PREPARED '"'"'w3'"'"'' 'execute p 0' 'sync' 'query SELECT id, balance FROM consistency_test.acct ORDER BY id'
SELECT id, balance FROM acct ORDER BY id;
SELECT * FROM counters;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA consistency_test CASCADE;
RESET client_min_messages;
