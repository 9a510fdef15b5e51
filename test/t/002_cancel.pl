# A long replay can be cancelled or terminated, and its pin on the entry is
# released on every exit path.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cancel');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'hybridcache'
hybridcache.min_exec_time = 0
hybridcache.shared_memory = 64MB
hybridcache.max_entry_size = 24MB
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE TABLE big (id int PRIMARY KEY, pad text);
INSERT INTO big SELECT g, repeat('x', 40) FROM generate_series(1, 300000) g;
ANALYZE big;
});

my $q = 'SELECT id, pad FROM big WHERE id > 0 ORDER BY id';

# store the 300000-row result
$node->safe_psql('postgres', $q);
is($node->safe_psql('postgres',
		'SELECT rows, pinned FROM hybridcache_entries() WHERE rows = 300000'),
	'300000|0', 'large result stored and not pinned');

# a statement timeout fires during the replay of the hit
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
SELECT count(*) FROM big WHERE id > 0;
SET statement_timeout = '5ms';
$q;
});
like($stderr, qr/canceling statement due to statement timeout/,
	'replay cancelled by statement_timeout');
is($node->safe_psql('postgres', 'SELECT l1_hits FROM hybridcache_stats()'),
	'1', 'the cancelled statement was a hit');
is($node->safe_psql('postgres', 'SELECT sum(pinned) FROM hybridcache_entries()'),
	'0', 'no pin left after the cancel');

# a client that stops reading leaves the backend blocked mid-replay with the
# entry pinned; terminating that backend releases the pin
my $out = '';
my $h = IPC::Run::start(
	[ $^X, 'test/pgproto.pl', '-h', $node->host, '-p', $node->port,
	  '-d', 'postgres', "query $q" ],
	'>', \$out, '2>', \my $err);
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event = 'ClientWrite'}),
	'backend blocked sending the cached rows');
is($node->safe_psql('postgres', 'SELECT sum(pinned) FROM hybridcache_entries()'),
	'1', 'entry pinned during the replay');
$node->safe_psql('postgres',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'ClientWrite'});
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE wait_event = 'ClientWrite'}),
	'blocked backend terminated');
is($node->safe_psql('postgres', 'SELECT sum(pinned) FROM hybridcache_entries()'),
	'0', 'no pin left after the backend exited');
$h->kill_kill;

# the entry can still be served, replaced and evicted
is($node->safe_psql('postgres', "SELECT count(*) FROM ($q) s"), '300000',
	'entry still usable');
$node->safe_psql('postgres', 'UPDATE big SET pad = pad WHERE id = 1');
$node->safe_psql('postgres', $q);
is($node->safe_psql('postgres',
		'SELECT count(*), sum(pinned) FROM hybridcache_entries() WHERE rows = 300000'),
	'1|0', 'replaced entry freed, new one unpinned');

$node->stop;
done_testing();
