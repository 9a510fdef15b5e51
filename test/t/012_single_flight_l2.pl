# Single-flight across servers: while the primary computes a result that
# L2 lacks, it holds a lease in Redis, and a standby missing the same
# result waits for it to appear in L2 instead of computing it too.  A
# waiter whose lease ends without a result (the primary's statement was
# cancelled) computes the result itself.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RedisServer;
use Test::More;
use Time::HiRes qw(usleep time);

my $redis = RedisServer->new(port => 61395);
$redis->start;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	$redis->l2_conf(single_flight_timeout => '4s'));
$primary->start;
# slow(): declared IMMUTABLE so that the statement is cacheable; it logs
# each time it really runs, on the server that runs it
$primary->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE TABLE sf (k int, v int);
INSERT INTO sf VALUES (1, 10), (2, 20);
CREATE FUNCTION slow(x int) RETURNS int IMMUTABLE LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_sleep(1.5);
  RAISE LOG 'slow() computed %', x;
  RETURN x;
END $$;
});
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->append_conf('postgresql.conf', 'hybridcache.single_flight_timeout = 3s');
$standby->start;
for my $node ($primary, $standby)
{
	ok($redis->wait_up_on($node), $node->name . ': Redis is up');
}

sub computed
{
	my ($node) = @_;
	my $log = slurp_file($node->logfile);
	my @m = $log =~ /LOG:  slow\(\) computed/g;
	return scalar @m;
}

sub lease_exists
{
	return $redis->cli('--scan', '--pattern', '*:l:*') ne '';
}

# (a) the standby waits for the primary's result
my $q = 'SELECT k, slow(v) FROM sf WHERE k = 1';
my ($out, $err) = ('', '');
my $bg = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-c', $q, '-h', $primary->host, '-p', $primary->port, 'postgres' ],
	'>', \$out, '2>', \$err);
my $leased = 0;
for (1 .. 100)
{
	$leased = lease_exists();
	last if $leased;
	usleep(10_000);
}
ok($leased, 'the primary took a lease in Redis');
my $t0 = time;
is($standby->safe_psql('postgres', $q), '1|10', 'standby: result');
my $waited = time - $t0;
$bg->finish;
is($out, "1|10\n", 'primary: result');
is(computed($primary), 1, 'the primary computed the result once');
is(computed($standby), 0, 'the standby did not compute it');
is($standby->safe_psql('postgres', 'SELECT l2_hits, single_flight_waits FROM hybridcache_stats()'),
	'1|1', 'standby: one wait, then an L2 hit');
ok(!lease_exists(), 'the store removed the lease');
diag(sprintf('standby waited %.2f s', $waited));

# (b) the primary's statement is cancelled: the standby waits until the
# lease ends and then computes the result itself, correctly
$q = 'SELECT k, slow(v) FROM sf WHERE k = 2';
($out, $err) = ('', '');
$bg = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-c', $q, '-h', $primary->host, '-p', $primary->port, 'postgres' ],
	'>', \$out, '2>', \$err);
$leased = 0;
for (1 .. 100)
{
	$leased = lease_exists();
	last if $leased;
	usleep(10_000);
}
ok($leased, 'the primary took a lease again');
$primary->safe_psql('postgres',
	"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = '$q'");
$bg->finish;
like($err, qr/canceling statement/, 'primary: statement cancelled');
$t0 = time;
is($standby->safe_psql('postgres', $q), '2|20', 'standby: result after the lease ended');
$waited = time - $t0;
is(computed($standby), 1, 'the standby computed it itself');
is($standby->safe_psql('postgres', 'SELECT single_flight_timeouts FROM hybridcache_stats()'),
	'1', 'standby: the wait timed out');
ok($waited < 3 + 1.5 + 2, sprintf('standby: bounded wait (%.2f s)', $waited));

$standby->stop;
$primary->stop;
$redis->stop;
done_testing();
