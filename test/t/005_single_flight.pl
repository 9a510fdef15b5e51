# Single-flight: identical misses arriving while one backend computes the
# result wait for it instead of running the statement too; a waiter that
# times out, or whose filler fails, runs the statement itself.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('single_flight');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'hybridcache'
hybridcache.min_exec_time = 0
max_parallel_workers_per_gather = 0
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE TABLE big (g int, x int);
INSERT INTO big SELECT g % 50, g FROM generate_series(1, 60000) g;
ANALYZE big;
});

# about two seconds of work: 72 million joined rows
my $q = 'SELECT count(*), sum(a.x - b.x) FROM big a JOIN big b USING (g)';
my $expected = '72000000|0';

sub start_psql
{
	my ($opts) = @_;
	my %h = (out => '', err => '');
	local $ENV{PGOPTIONS} = $opts // '';
	$h{handle} = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c', $q ],
		'>', \$h{out}, '2>', \$h{err});
	return \%h;
}

sub wait_for
{
	my ($cond, $what) = @_;
	ok($node->poll_query_until('postgres', $cond), $what);
}

# the filler has announced its computation
my $running = q{SELECT count(*) = 1 FROM hybridcache_entries() WHERE computing};
my $waiting = qq{SELECT count(*) = 3 FROM pg_stat_activity
  WHERE query = '$q' AND wait_event_type = 'Extension'};

sub stats
{
	return $node->safe_psql('postgres',
		'SELECT misses, l1_hits, stores, single_flight_waits, single_flight_timeouts FROM hybridcache_stats()');
}

# 1. three waiters are served the filler's result
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
my $filler = start_psql();
wait_for($running, 'filler running');
my @waiters = map { start_psql('-c hybridcache.single_flight_timeout=60s') } 1 .. 3;
wait_for($waiting, 'three identical misses waiting for it');
for my $h ($filler, @waiters)
{
	$h->{handle}->finish;
	is($h->{out}, "$expected\n", 'correct result');
}
is(stats(), '1|3|1|3|0', 'executed once: one miss, three hits after waiting, one store');

# 2. waiters that time out run the statement themselves, correctly
$node->safe_psql('postgres', q{SELECT hybridcache_invalidate('big')});
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
$filler = start_psql();
wait_for($running, 'filler running again');
@waiters = map { start_psql('-c hybridcache.single_flight_timeout=200ms') } 1 .. 3;
for my $h ($filler, @waiters)
{
	$h->{handle}->finish;
	is($h->{out}, "$expected\n", 'correct result after a timeout');
}
my ($misses, $hits, $stores, $waits, $timeouts) = split /\|/, stats();
is($timeouts, '3', 'three waits timed out');
is($misses, '4', 'every timed-out waiter ran the statement');

# 3. a filler that is cancelled wakes its waiters at once
$node->safe_psql('postgres', q{SELECT hybridcache_invalidate('big')});
$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
$filler = start_psql();
wait_for($running, 'filler running a third time');
@waiters = map { start_psql('-c hybridcache.single_flight_timeout=60s') } 1 .. 3;
wait_for($waiting, 'waiters waiting with a long timeout');
$node->safe_psql('postgres', qq{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
  WHERE query = '$q' AND state = 'active' AND wait_event IS NULL});
$filler->{handle}->finish;
like($filler->{err}, qr/canceling statement due to user request/, 'filler cancelled');
for my $h (@waiters)
{
	$h->{handle}->finish;
	is($h->{out}, "$expected\n", 'waiter of a cancelled filler: correct result');
}
($misses, $hits, $stores, $waits, $timeouts) = split /\|/, stats();
is($waits, '3', 'three waits');
is($timeouts, '0', 'none of them waited for the timeout');
is($node->safe_psql('postgres', 'SELECT count(*) FROM hybridcache_entries() WHERE rows = 1'),
	'1', 'one entry stored after all');

$node->stop;
done_testing();
