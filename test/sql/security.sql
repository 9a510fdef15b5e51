-- Privileges are checked on every hit, and results that depend on the
-- role or on row-level-security context are never shared across them.
CREATE SCHEMA security_test;
SET search_path = security_test, public;
CREATE VIEW counters AS
  SELECT l1_hits AS hits, misses, stores FROM hybridcache_stats();
GRANT USAGE ON SCHEMA security_test TO PUBLIC;
GRANT SELECT ON counters TO PUBLIC;

CREATE ROLE hc_alice;
CREATE ROLE hc_bob;
CREATE ROLE hc_bypass BYPASSRLS;

-- row-level security keyed by current_user
CREATE TABLE docs (id int, owner name, body text);
INSERT INTO docs VALUES (1, 'hc_alice', 'alice 1'), (2, 'hc_alice', 'alice 2'),
                        (3, 'hc_bob', 'bob 1');
ALTER TABLE docs ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON docs USING (owner = current_user);
GRANT SELECT ON docs TO hc_alice, hc_bob, hc_bypass;

SELECT hybridcache_reset_stats();
SET ROLE hc_alice;
SELECT id, body FROM docs ORDER BY id;
SELECT id, body FROM docs ORDER BY id;
SET ROLE hc_bob;
SELECT id, body FROM docs ORDER BY id;
SELECT id, body FROM docs ORDER BY id;
SET ROLE hc_bypass;
SELECT id, body FROM docs ORDER BY id;
RESET ROLE;
-- the owner is not subject to its own policy, unless row_security is off
SELECT id, body FROM docs ORDER BY id;
SET row_security = off;
SELECT id, body FROM docs ORDER BY id;
RESET row_security;
SET ROLE hc_alice;
SET row_security = off;
SELECT id, body FROM docs ORDER BY id;
RESET row_security;
RESET ROLE;
SELECT * FROM counters;

-- a changed policy applies at once
ALTER POLICY own ON docs USING (owner = current_user AND id > 1);
SET ROLE hc_alice;
SELECT id, body FROM docs ORDER BY id;
RESET ROLE;

-- row-level security keyed by a custom setting, per tenant
CREATE TABLE orders (id int, tenant text, amount int);
INSERT INTO orders VALUES (1, 'acme', 10), (2, 'acme', 20), (3, 'globex', 35);
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON orders USING (tenant = current_setting('app.tenant'));
GRANT SELECT ON orders TO hc_alice;
SELECT hybridcache_reset_stats();
SET ROLE hc_alice;
SET app.tenant = 'acme';
SELECT count(*), sum(amount) FROM orders;
SELECT count(*), sum(amount) FROM orders;
SET app.tenant = 'globex';
SELECT count(*), sum(amount) FROM orders;
SELECT count(*), sum(amount) FROM orders;
SET app.tenant = 'acme';
SELECT count(*), sum(amount) FROM orders;
RESET app.tenant;
SELECT count(*), sum(amount) FROM orders;
RESET ROLE;
SELECT * FROM counters;

-- queries that call current_user directly are keyed by the role too
CREATE TABLE notes (owner name, note text);
INSERT INTO notes VALUES ('hc_alice', 'for alice'), ('hc_bob', 'for bob');
GRANT SELECT ON notes TO hc_alice, hc_bob;
SET ROLE hc_alice;
SELECT note FROM notes WHERE owner = current_user;
SET ROLE hc_bob;
SELECT note FROM notes WHERE owner = current_user;
RESET ROLE;

-- column privileges are checked on what would be a hit
CREATE TABLE secrets (id int, public_part text, secret_part text);
INSERT INTO secrets VALUES (1, 'visible', 'hidden');
GRANT SELECT (id, public_part) ON secrets TO hc_alice;
SELECT id, public_part, secret_part FROM secrets;
SELECT id, public_part, secret_part FROM secrets;
SET ROLE hc_alice;
SELECT id, public_part, secret_part FROM secrets;
SELECT id, public_part FROM secrets;
RESET ROLE;

-- a revoked EXECUTE privilege is checked on what would be a hit
CREATE FUNCTION shout(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS
  $$ BEGIN RETURN upper($1); END $$;
GRANT SELECT ON secrets TO hc_bob;
SET ROLE hc_bob;
SELECT shout(public_part) FROM secrets;
SELECT shout(public_part) FROM secrets;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION shout(text) FROM PUBLIC;
SET ROLE hc_bob;
SELECT shout(public_part) FROM secrets;
RESET ROLE;

-- a SECURITY DEFINER function at top level is volatile by default: not cached
CREATE FUNCTION definer_count() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS
  'SELECT count(*) FROM docs';
SELECT hybridcache_reset_stats();
SET ROLE hc_bob;
SELECT definer_count() FROM secrets;
RESET ROLE;
SELECT count FROM hybridcache_bypass_stats() WHERE reason = 'mutable_function';

-- settings that only superusers may read are never part of a key
SELECT hybridcache_reset_stats();
SELECT count(*) FROM orders WHERE current_setting('data_directory') <> '';
SELECT count FROM hybridcache_bypass_stats() WHERE reason = 'mutable_function';

RESET search_path;
SET client_min_messages = warning;
DROP SCHEMA security_test CASCADE;
RESET client_min_messages;
DROP ROLE hc_alice;
DROP ROLE hc_bob;
DROP ROLE hc_bypass;
