-- Large values stored out of line (TOAST) are cached by value, never as
-- pointers into the TOAST table, which UPDATE and VACUUM may empty (or
-- refill with another row's value).
CREATE SCHEMA toast_test;
SET search_path = toast_test, public;
CREATE TABLE big (id int PRIMARY KEY, body text);
ALTER TABLE big ALTER COLUMN body SET STORAGE EXTERNAL;
INSERT INTO big VALUES (1, repeat('a', 100000)), (2, repeat('b', 100000));
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();

SELECT hybridcache_reset_stats();
SELECT bytes_used AS before FROM hybridcache_stats() \gset
SELECT id, body FROM big WHERE id = 1 \gset miss_
-- the entry holds the 100 kB value itself
SELECT bytes_used - :before > 100000 AS cached_by_value FROM hybridcache_stats();
SELECT id, body FROM big WHERE id = 1 \gset hit_
SELECT md5(:'miss_body') = md5(repeat('a', 100000)) AS miss_ok,
       md5(:'hit_body') = md5(repeat('a', 100000)) AS hit_ok;
SELECT * FROM counters;

-- UPDATE and VACUUM free the old chunks: the next reads are fresh, the
-- hit after them replays the new value, and no chunk is ever missing
UPDATE big SET body = repeat('c', 100000) WHERE id = 1;
VACUUM big;
SELECT id, body FROM big WHERE id = 1 \gset after_
SELECT id, body FROM big WHERE id = 1 \gset again_
SELECT md5(:'after_body') = md5(repeat('c', 100000)) AS after_ok,
       md5(:'again_body') = md5(repeat('c', 100000)) AS again_ok;
SELECT id, body FROM big WHERE id = 2 \gset two_
SELECT md5(:'two_body') = md5(repeat('b', 100000)) AS right_row;
SELECT * FROM counters;

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA toast_test CASCADE;
RESET client_min_messages;
