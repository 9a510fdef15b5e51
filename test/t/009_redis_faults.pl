# Redis failures under load: killed with SIGKILL while pgbench runs (no
# failed query, caching resumes when Redis is back) and paused with SIGSTOP
# (no statement waits longer than hybridcache.redis_timeout for it).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RedisServer;
use Test::More;
use Time::HiRes qw(usleep);

my $redis = RedisServer->new(port => 61393);
$redis->start;

my $budget_ms = 20;
my $node = PostgreSQL::Test::Cluster->new('faults');
$node->init;
$node->append_conf('postgresql.conf',
	$redis->l2_conf(redis_timeout => "${budget_ms}ms", redis_backoff_max => '500ms'));
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE TABLE items (id int PRIMARY KEY, grp int, val int);
INSERT INTO items SELECT g, g % 500, 1 FROM generate_series(1, 50000) g;
ANALYZE items;
CREATE TABLE counters (id int PRIMARY KEY, n int);
INSERT INTO counters SELECT g, 0 FROM generate_series(0, 99) g;
});

sub l2 { return $redis->stats_on($node, @_); }

sub wait_state
{
	my ($state) = @_;
	return $node->poll_query_until('postgres',
		"SELECT state = '$state' FROM hybridcache_redis_stats()");
}

ok(wait_state('up'), 'Redis up');
ok($node->poll_query_until('postgres',
		'SELECT last_heartbeat IS NOT NULL FROM hybridcache_redis_stats()'),
	'heartbeat written');

# (c) SIGKILL under a pgbench load of cached reads and some writes
my $script = $node->basedir . '/load.sql';
open my $fh, '>', $script or die;
print $fh q{\set g random(0, 49)
\set id random(1, 50000)
SELECT grp, count(*), sum(val) FROM items WHERE grp = :g GROUP BY grp;
SELECT grp, count(*), sum(val) FROM items WHERE grp = :g + 50 GROUP BY grp;
\if :id % 10 = 0
UPDATE counters SET n = n + 1 WHERE id = :id % 100;
\endif
};
close $fh;

my ($out, $err) = ('', '');
my $pgbench = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '4', '-j', '2', '-T', '12', '-f', $script,
	  $node->connstr('postgres') ],
	'>', \$out, '2>', \$err);

ok($node->poll_query_until('postgres', 'SELECT l2_stores > 20 FROM hybridcache_redis_stats()'),
	'load is storing to L2');
$redis->kill9;
ok(wait_state('down'), 'Redis killed: seen as down');
my $hits_down = $node->safe_psql('postgres', 'SELECT l1_hits FROM hybridcache_stats()');
ok($node->poll_query_until('postgres', "SELECT l1_hits > $hits_down FROM hybridcache_stats()"),
	'L1 keeps serving while Redis is down');
$redis->start;
ok(wait_state('up'), 'Redis back: seen as up again');
ok($node->poll_query_until('postgres', 'SELECT last_heartbeat > now() - interval \'1s\' FROM hybridcache_redis_stats()'),
	'heartbeat written to the new Redis');
# A new statement's lookup and store share the 20 ms budget, which a new
# backend's connection under this load can use up: try new statements until
# one is stored, as an application would see caching resume.
my $stores_up = l2('l2_stores');
my $resumed = 0;
for my $g (400 .. 449)
{
	$node->safe_psql('postgres', "SELECT grp, count(*) FROM items WHERE grp = $g GROUP BY grp");
	$resumed = 1, last if l2('l2_stores') > $stores_up;
}
ok($resumed, 'caching in Redis resumed');
ok($pgbench->finish, 'pgbench exited successfully') or diag("pgbench: $out\n$err");
like($out, qr/number of failed transactions: 0 /, 'no failed transaction');
my ($processed) = $out =~ /number of transactions actually processed: (\d+)/;
cmp_ok($processed // 0, '>', 100, 'pgbench ran transactions throughout');
unlike($err, qr/ERROR|FATAL|abort/i, 'no error reported to pgbench');

# the data is consistent: cached and uncached agree
my $check = 'SELECT grp, count(*), sum(val) FROM items WHERE grp < 100 GROUP BY grp ORDER BY grp';
is($node->safe_psql('postgres', $check),
	$node->safe_psql('postgres', "SET hybridcache.enabled = off; $check"),
	'cached results equal uncached ones after the load');

# (d) SIGSTOP: every statement finishes within the budget plus its normal
# execution time.  One session runs misses (new parameters each time, so
# each one asks Redis) and writes (which register in Redis before commit).
sub timed_run
{
	my ($from) = @_;
	my $sql = "\\timing on\n";
	for my $i ($from .. $from + 59)
	{
		$sql .= "SELECT grp, count(*), sum(val) FROM items WHERE grp = @{[ $i % 500 ]} AND id > $i GROUP BY grp;\n";
		$sql .= "UPDATE items SET val = val WHERE id = $i;\n" if $i % 5 == 0;
	}
	my ($ret, $stdout, $stderr) = $node->psql('postgres', $sql);
	my @times = ($stdout =~ /^Time: ([\d.]+) ms/mg);
	return ($ret, $stderr, \@times);
}

sub max { my $m = 0; $_ > $m and $m = $_ for @{ $_[0] }; return $m; }

ok(wait_state('up'), 'Redis up before the pause');
my ($ret, $stderr, $normal) = timed_run(1000);
is($ret, 0, 'baseline run succeeded');
my $normal_max = max($normal);

$redis->signal('STOP');
($ret, $stderr, my $paused) = timed_run(2000);
is($ret, 0, 'no statement failed while Redis was paused');
is($stderr, '', 'no error or warning while Redis was paused');
my $paused_max = max($paused);
diag(sprintf('worst statement latency: %.2f ms with Redis, %.2f ms with Redis paused (budget %d ms)',
		$normal_max, $paused_max, $budget_ms));
cmp_ok($paused_max, '<', $normal_max + $budget_ms + 100,
	'no statement waited longer than the budget while Redis was paused');
ok(scalar(@$paused) >= 60, 'every statement was timed');
# the breaker closes between the worker's failed attempts (a write that
# could not register shows 'fenced' then); each attempt opens it again
ok(wait_state('down'), 'the paused Redis is seen as down');
cmp_ok(l2('errors_timeout'), '>', 0, 'the pause was counted as timeouts');

$redis->signal('CONT');
ok(wait_state('up'), 'Redis resumed: up again (no fence left)');
my $stores_before = l2('l2_stores');
$node->safe_psql('postgres', 'SELECT grp, count(*) FROM items WHERE grp = 7 AND id > 3 GROUP BY grp');
cmp_ok(l2('l2_stores'), '>', $stores_before, 'storing to Redis again after the pause');
is($node->safe_psql('postgres', $check),
	$node->safe_psql('postgres', "SET hybridcache.enabled = off; $check"),
	'cached results equal uncached ones after the pause');

$node->stop;
$redis->stop;
done_testing();
