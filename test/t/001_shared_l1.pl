# The shared-memory cache (L1) across backends, restarts and a full arena.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('l1');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'hybridcache'
hybridcache.min_exec_time = 0
hybridcache.shared_memory = 1MB
hybridcache.max_entries = 128
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE TABLE items (id int PRIMARY KEY, grp int, pad text);
INSERT INTO items SELECT g, g % 1000, repeat('x', 20) FROM generate_series(1, 100000) g;
ANALYZE items;
});

my $q = 'SELECT grp, count(*) FROM items WHERE grp < 3 GROUP BY grp ORDER BY grp';
my $expected = "0|100\n1|100\n2|100";

sub stats
{
	my ($cols) = @_;
	return $node->safe_psql('postgres', "SELECT $cols FROM hybridcache_stats()");
}

# every safe_psql call is a new backend: one stores, the others hit
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
is($node->safe_psql('postgres', $q), $expected, 'first backend: correct result');
is(stats('l1_hits, misses, stores'), '0|1|1', 'first backend missed and stored');
for my $i (1 .. 3)
{
	is($node->safe_psql('postgres', $q), $expected, "backend $i after it: correct result");
}
is(stats('l1_hits, misses, stores'), '3|1|1', 'the other backends hit the shared entry');

# a write committed in one backend is seen by the next statement of another
$node->safe_psql('postgres', 'UPDATE items SET grp = 1 WHERE id = 1000');
is($node->safe_psql('postgres', $q), "0|99\n1|101\n2|100", 'write seen by another backend');

# a restart empties the cache
$node->restart;
is(stats('entries'), '0', 'no entries after restart');
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
is($node->safe_psql('postgres', $q), "0|99\n1|101\n2|100", 'correct after restart');
is(stats('l1_hits, misses'), '0|1', 'first read after restart is a miss');

# a full cache evicts and keeps working: 400 distinct results of ~10 kB in a
# 1 MB arena with 128 entries, from one session
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
my $script = '';
for my $i (0 .. 399)
{
	$script .= "SELECT count(*), sum(length(pad)) FROM (SELECT pad FROM items WHERE grp = $i ORDER BY id) s;\n";
	$script .= "SELECT id, pad FROM items WHERE grp = $i ORDER BY id;\n" if $i % 4 == 0;
}
my ($ret, $stdout, $stderr) = $node->psql('postgres', $script);
is($ret, 0, 'no statement failed while the cache was full');
is($stderr, '', 'no error or warning while the cache was full');
my @lines = grep { /^\d+\|\d+$/ } split /\n/, $stdout;
my @bad = grep { $_ !~ /^(99|100|101)\|(1980|2000|2020)$/ } @lines;
is(scalar(@lines), 400, 'all aggregate results returned');
is(scalar(@bad), 0, 'all aggregate results correct');
my ($entries, $used, $limit, $evictions, $stores) =
  split /\|/, stats('entries, bytes_used, bytes_limit, evictions, stores');
cmp_ok($evictions, '>', 0, 'entries were evicted');
cmp_ok($entries, '<=', 128, 'no more entries than hybridcache.max_entries');
cmp_ok($used, '<=', $limit, 'bytes used within the arena');
cmp_ok($stores, '>=', 400, 'every result was stored');

# the most recent results are still there
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
$node->safe_psql('postgres',
	"SELECT count(*), sum(length(pad)) FROM (SELECT pad FROM items WHERE grp = 399 ORDER BY id) s");
is(stats('l1_hits'), '1', 'most recent entry survived eviction');

# sustained churn is reported once in the server log
my $churn = '';
for my $i (0 .. 1499)
{
	$churn .= "SELECT count(*) FROM items WHERE id = $i + 1000 * 0;\n";
}
($ret, $stdout, $stderr) = $node->psql('postgres', $churn);
is($ret, 0, 'churning statements succeeded');
ok($node->wait_for_log(qr/hybridcache evicted \d+ cached results while storing \d+ within a minute/),
	'eviction churn reported in the log');

$node->stop;
done_testing();
