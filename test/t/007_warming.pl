# Cache warming: hybridcache_warm() runs the declared queries as their
# roles, and after a restart a background worker warms the cache before the
# first client asks.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('warming');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'hybridcache'
hybridcache.min_exec_time = 0
hybridcache.warm_databases = 'postgres'
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE TABLE products (id int PRIMARY KEY, category int, price numeric);
INSERT INTO products SELECT g, g % 10, g * 1.5 FROM generate_series(1, 10000) g;
CREATE TABLE secret (x int);
CREATE ROLE reader;
GRANT SELECT ON products TO reader;
INSERT INTO hybridcache.warm_queries (query, role_name) VALUES
  ('SELECT category, count(*), sum(price) FROM products GROUP BY category ORDER BY category', 'reader'),
  ('SELECT count(*) FROM secret', 'reader'),
  ('SELECT max(price) FROM products', CURRENT_USER);
});

my $q1 = 'SELECT category, count(*), sum(price) FROM products GROUP BY category ORDER BY category';
my $q2 = 'SELECT max(price) FROM products';

# on demand
is($node->safe_psql('postgres', 'SELECT string_agg(outcome, \', \' ORDER BY id) FROM hybridcache_warm()'),
	'stored, error: permission denied for table secret, stored',
	'warming runs each query as its role and reports each outcome');
is($node->safe_psql('postgres',
		'SELECT count(*) FROM hybridcache.warm_queries WHERE last_warmed IS NOT NULL'),
	'3', 'outcomes recorded in the table');

# at server start
$node->restart;
ok($node->wait_for_log(qr/hybridcache warmed database "postgres": 2 of 3 queries stored/),
	'warming worker ran after the restart');
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
my $r1 = $node->safe_psql('postgres', $q1);
my $r2 = $node->safe_psql('postgres', $q2);
is($node->safe_psql('postgres', 'SELECT l1_hits, misses FROM hybridcache_stats()'),
	'2|0', 'the first client reads after the restart are hits');
is($r1, $node->safe_psql('postgres', "SET hybridcache.enabled = off; $q1"),
	'warmed result equals the uncached result');
is($r2, $node->safe_psql('postgres', "SET hybridcache.enabled = off; $q2"),
	'second warmed result equals the uncached result');

# warming again after everything was invalidated, once that has committed
my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{
SET hybridcache.warm_after_invalidate_all = on;
BEGIN;
SELECT hybridcache_invalidate_all();
COMMIT;
});
ok($node->wait_for_log(qr/hybridcache warmed database "postgres": 2 of 3 queries stored/, $offset),
	'warmed again after hybridcache_invalidate_all()');
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
$node->safe_psql('postgres', $q1);
is($node->safe_psql('postgres', 'SELECT l1_hits, misses FROM hybridcache_stats()'),
	'1|0', 'hit after the invalidation, thanks to warming');

# warming is only for the privileged
$node->safe_psql('postgres', 'CREATE ROLE nobody_special LOGIN');
my ($ret, $out, $err) = $node->psql('postgres', 'SELECT * FROM hybridcache_warm()',
	extra_params => [ '-U', 'nobody_special' ]);
like($err, qr/permission denied for function hybridcache_warm/, 'not callable by everyone');

$node->stop;
done_testing();
