# Logical replication: the apply worker writes without running the
# executor hooks, so tables that receive changes are watched with
# hybridcache_watch(), whose row-level trigger fires in replica mode.
# Rows applied on the subscriber invalidate the subscriber's cached results.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('publisher');
$pub->init(allows_streaming => 'logical');
$pub->start;

my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'hybridcache'\nhybridcache.min_exec_time = 0");
$sub->start;

my $ddl = q{
CREATE TABLE prices (id int PRIMARY KEY, price numeric);
CREATE TABLE stock (id int PRIMARY KEY, qty int);
CREATE TABLE unwatched (id int PRIMARY KEY);
};
$pub->safe_psql('postgres', $ddl);
$pub->safe_psql('postgres', q{
INSERT INTO prices SELECT g, g * 10 FROM generate_series(1, 5) g;
INSERT INTO stock SELECT g, 100 FROM generate_series(1, 5) g;
INSERT INTO unwatched VALUES (1);
CREATE PUBLICATION pub FOR TABLE prices, stock, unwatched;
});
$sub->safe_psql('postgres', $ddl);
$sub->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
SELECT hybridcache_watch('prices');
SELECT hybridcache_watch('stock');
});
my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION sub CONNECTION '$connstr' PUBLICATION pub");
$sub->wait_for_subscription_sync($pub, 'sub');

my $q_prices = 'SELECT count(*), sum(price) FROM prices';
my $q_stock = 'SELECT sum(qty) FROM stock';

is($sub->safe_psql('postgres', $q_prices), '5|150', 'initial data on the subscriber');
$sub->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
is($sub->safe_psql('postgres', $q_prices), '5|150', 'second read');
is($sub->safe_psql('postgres', 'SELECT l1_hits FROM hybridcache_stats()'),
	'1', 'served from the cache on the subscriber');

# INSERT, UPDATE, DELETE applied by the apply worker
$pub->safe_psql('postgres', 'INSERT INTO prices VALUES (6, 60)');
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', $q_prices), '6|210', 'applied INSERT invalidates');

$pub->safe_psql('postgres', 'UPDATE prices SET price = price + 1 WHERE id = 1');
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', $q_prices), '6|211', 'applied UPDATE invalidates');

$pub->safe_psql('postgres', 'DELETE FROM prices WHERE id = 6');
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', $q_prices), '5|151', 'applied DELETE invalidates');

# a multi-table transaction and a TRUNCATE
is($sub->safe_psql('postgres', $q_stock), '500', 'stock cached');
$pub->safe_psql('postgres', q{
BEGIN;
UPDATE stock SET qty = qty - 1;
UPDATE prices SET price = 0 WHERE id = 2;
COMMIT;
});
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', $q_stock), '495', 'applied transaction invalidates stock');
is($sub->safe_psql('postgres', $q_prices), '5|131', 'and prices');

is($sub->safe_psql('postgres', $q_stock), '495', 'stock cached again');
$pub->safe_psql('postgres', 'TRUNCATE stock');
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', $q_stock), '', 'applied TRUNCATE invalidates');

my ($inval) = $sub->safe_psql('postgres',
	q{SELECT invalidations > 0 FROM hybridcache_table_stats() WHERE relid = 'prices'::regclass});
is($inval, 't', 'invalidations counted for the subscribed table');

# a subscribed table without the trigger is never cached: its applied
# changes would go unseen
$sub->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM unwatched'), '1', 'unwatched table read');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM unwatched'), '1', 'and read again');
is($sub->safe_psql('postgres',
		q{SELECT count FROM hybridcache_bypass_stats() WHERE reason = 'unwatched_subscription'}),
	'2', 'reads of the unwatched subscribed table bypass the cache');
$pub->safe_psql('postgres', 'INSERT INTO unwatched VALUES (2)');
$pub->wait_for_catchup('sub');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM unwatched'), '2', 'fresh without the trigger');

# watching it makes it cacheable
$sub->safe_psql('postgres', q{SELECT hybridcache_watch('unwatched')});
$sub->safe_psql('postgres', 'SELECT count(*) FROM unwatched');
$sub->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
$sub->safe_psql('postgres', 'SELECT count(*) FROM unwatched');
is($sub->safe_psql('postgres', 'SELECT l1_hits FROM hybridcache_stats()'), '1',
	'watched subscribed table is cached');

$sub->stop;
$pub->stop;
done_testing();
