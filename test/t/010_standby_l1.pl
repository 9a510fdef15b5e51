# A hot standby's own L1, kept current by the primary's stream in Redis:
# hits on the standby, never a result older than the standby's snapshot
# while the primary writes, replay paused, Redis lost and back, a gap in
# the stream, a malformed message, and a restart of the standby.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RedisServer;
use Test::More;
use Time::HiRes qw(usleep);

my $redis = RedisServer->new(port => 61394);
$redis->start;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', $redis->l2_conf);
$primary->start;
$primary->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE TABLE items (id int PRIMARY KEY, grp int, val int);
INSERT INTO items SELECT g, g % 10, 1 FROM generate_series(1, 10000) g;
CREATE TABLE counter (id int PRIMARY KEY, n bigint);
INSERT INTO counter SELECT g, 0 FROM generate_series(1, 10) g;
});

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;

my $q = 'SELECT grp, sum(val) FROM items WHERE grp < 3 GROUP BY grp ORDER BY grp';

sub stats
{
	my ($node, $cols) = @_;
	return $node->safe_psql('postgres', "SELECT $cols FROM hybridcache_stats()");
}

sub rstats { return $redis->stats_on(@_); }

sub following
{
	ok($standby->poll_query_until('postgres',
			"SELECT stream = 'following' FROM hybridcache_redis_stats()"),
		"standby follows the stream ($_[0])");
}

# run sql on node until the counter col of hybridcache_stats() grows
sub wait_counter
{
	my ($node, $sql, $col) = @_;
	my $start = stats($node, $col);
	for (1 .. 200)
	{
		$node->safe_psql('postgres', $sql);
		return 1 if stats($node, $col) > $start;
		usleep(50_000);
	}
	return 0;
}

# the uncached answer, for comparison
sub uncached
{
	my ($node, $sql) = @_;
	return $node->safe_psql('postgres',
		"BEGIN; SET LOCAL hybridcache.enabled = off; $sql; COMMIT;");
}

following('start');
is(rstats($primary, 'stream'), 'publishing', 'primary publishes the stream');
$primary->wait_for_catchup($standby);

# (a) a result computed on the standby is stored there and then a hit
$standby->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
is($standby->safe_psql('postgres', $q), "0|1000\n1|1000\n2|1000", 'standby: first result');
is($standby->safe_psql('postgres', $q), "0|1000\n1|1000\n2|1000", 'standby: second result');
is(stats($standby, 'l1_hits, misses, stores'), '1|1|1', 'standby: stored in its L1, then a hit');
is(rstats($standby, 'l2_stores'), '0', 'standby: never stores in Redis');

# (b) every kind of write on the primary: once replayed, the standby's
# next read is fresh, and the read after it a hit again
my @writes = (
	'UPDATE items SET val = 2 WHERE id = 10',
	'INSERT INTO items VALUES (10001, 1, 5)',
	'DELETE FROM items WHERE id = 20',
	"COPY items FROM PROGRAM 'echo 10002,2,7' WITH (FORMAT csv)",
	'BEGIN; UPDATE items SET val = 3 WHERE id = 30; UPDATE items SET val = 4 WHERE id = 31; COMMIT',
	'SELECT hybridcache_invalidate(\'items\')',
	'TRUNCATE counter',
	'ALTER TABLE items ALTER COLUMN val TYPE bigint USING val * 2',
	'UPDATE items SET val = val / 2');
for my $w (@writes)
{
	$primary->safe_psql('postgres', $w);
	$primary->wait_for_catchup($standby);
	my $expect = uncached($standby, $q);
	is($standby->safe_psql('postgres', $q), $expect, "after '$w': fresh on the standby");
	ok(wait_counter($standby, $q, 'l1_hits'), "after '$w': hits again");
	is($standby->safe_psql('postgres', $q), $expect, "after '$w': the hit is fresh too");
}
$primary->safe_psql('postgres', 'INSERT INTO counter SELECT g, 0 FROM generate_series(1, 10) g');

# (c) under a stream of writes on the primary, every cached read on the
# standby is at least as new as an uncached read just before it
my $script = PostgreSQL::Test::Utils::tempdir() . '/standby_reads.sql';
open my $fh, '>', $script or die;
for (1 .. 4000)
{
	print $fh "BEGIN; SET LOCAL hybridcache.enabled = off; SELECT sum(n) AS b FROM counter \\gset\nCOMMIT;\n";
	print $fh "SELECT sum(n) AS c FROM counter \\gset\n";
	print $fh "\\echo :b :c\n";
}
close $fh;
$standby->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
my $wscript = PostgreSQL::Test::Utils::tempdir() . '/write.sql';
open $fh, '>', $wscript or die;
print $fh "\\set id random(1, 10)\nUPDATE counter SET n = n + 1 WHERE id = :id;\n";
close $fh;
my $writer = IPC::Run::start(
	[ 'pgbench', '-n', '-T', '120', '-R', '400', '-c', '2', '-f', $wscript,
	  '-h', $primary->host, '-p', $primary->port, 'postgres' ],
	'>', \my $wout, '2>', \my $werr);
# the writer is under way before the reads start
ok($primary->poll_query_until('postgres', 'SELECT sum(n) > 0 FROM counter'),
	'the writer is writing');
my ($out, $err) = ('', '');
IPC::Run::run([ 'psql', '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', $script,
	'-h', $standby->host, '-p', $standby->port, 'postgres' ], '>', \$out, '2>', \$err);
$writer->kill_kill;
diag("writer: $werr") if defined $werr && $werr =~ /error/i;
my ($reads, $stale, $moved) = (0, 0, 0);
for my $line (split /\n/, $out)
{
	my ($b, $c) = split / /, $line;
	$reads++;
	$stale++ if $c < $b;
}
my $first = (split /\n/, $out)[0] // '0 0';
my $last = (split /\n/, $out)[-1] // '0 0';
$moved = (split / /, $last)[0] - (split / /, $first)[0];
my ($hits, $misses) = split /\|/, stats($standby, 'l1_hits, misses');
diag("standby under writes: $reads reads, the counter moved by $moved, $hits L1 hits, $misses misses, $stale stale");
is($err, '', 'standby reads ran without errors');
is($reads, 4000, 'every read was checked');
ok($moved > 0, 'the primary wrote while the standby read');
ok($hits > 0, 'the standby served L1 hits while the primary wrote');
is($stale, 0, 'no cached read on the standby was older than the uncached one before it');

# (d) replay paused: writes arrive in the stream first; the standby keeps
# answering from what it has replayed and does not store over it
$primary->wait_for_catchup($standby);
my $before = uncached($standby, $q);
is($standby->safe_psql('postgres', $q), $before, 'before the pause: result');
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$standby->poll_query_until('postgres', "SELECT pg_get_wal_replay_pause_state() = 'paused'");
$primary->safe_psql('postgres', 'UPDATE items SET val = val + 100 WHERE id = 40');
ok(wait_counter($standby, $q, 'stores_refused'),
	'replay paused: the result the paused standby computes is not stored');
is($standby->safe_psql('postgres', $q), $before, 'replay paused: the replayed state is returned');
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$primary->wait_for_catchup($standby);
my $after = uncached($standby, $q);
isnt($after, $before, 'replay resumed: the write is visible');
is($standby->safe_psql('postgres', $q), $after, 'replay resumed: fresh result');

# (e) Redis lost: no L1 hits on the standby until it is back; meanwhile
# the primary writes; afterwards the standby is fresh and hits again
$redis->kill9;
ok($standby->poll_query_until('postgres',
		"SELECT stream <> 'following' FROM hybridcache_redis_stats()"),
	'Redis lost: the standby stops following');
$primary->safe_psql('postgres', 'UPDATE items SET val = val + 1 WHERE id = 50');
$primary->wait_for_catchup($standby);
$hits = stats($standby, 'l1_hits');
my $lost = uncached($standby, $q);
is($standby->safe_psql('postgres', $q), $lost, 'Redis lost: fresh result');
is($standby->safe_psql('postgres', $q), $lost, 'Redis lost: fresh result again');
is(stats($standby, 'l1_hits'), $hits, 'Redis lost: no L1 hits');
$redis->start;
following('Redis back');
$primary->safe_psql('postgres', 'UPDATE items SET val = val + 1 WHERE id = 51');
$primary->wait_for_catchup($standby);
my $back = uncached($standby, $q);
is($standby->safe_psql('postgres', $q), $back, 'Redis back: fresh result');
ok(wait_counter($standby, $q, 'l1_hits'), 'Redis back: L1 hits again');

# (f) a message lost from the stream (as if trimmed before the standby
# read it: its number is skipped): the standby resyncs, flushing what it
# had; a malformed message does the same
my $resyncs = rstats($standby, 'stream_resyncs');
my $skey = (grep { /:s$/ } split /\n/, $redis->cli('--scan', '--pattern', '*:s'))[0];
$redis->cli('INCR', "${skey}n");
$primary->safe_psql('postgres', 'UPDATE items SET val = val + 1 WHERE id = 52');
ok($standby->poll_query_until('postgres',
		"SELECT stream_resyncs > $resyncs FROM hybridcache_redis_stats()"),
	'message lost: the standby resyncs');
following('after the gap');
$primary->wait_for_catchup($standby);
my $gap = uncached($standby, $q);
is($standby->safe_psql('postgres', $q), $gap, 'after the gap: fresh result');
$resyncs = rstats($standby, 'stream_resyncs');
$redis->cli('XADD', $skey, '*', 'm', 'w not-a-number');
ok($standby->poll_query_until('postgres',
		"SELECT stream_resyncs > $resyncs FROM hybridcache_redis_stats()"),
	'malformed message: the standby resyncs');
following('after the malformed message');
is($standby->safe_psql('postgres', $q), $gap, 'after the malformed message: result');

# (g) a restarted standby starts empty and follows again
$standby->restart;
following('standby restarted');
$standby->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');
$primary->wait_for_catchup($standby);
$standby->safe_psql('postgres', $q);
is($standby->safe_psql('postgres', $q), uncached($standby, $q), 'standby restarted: result');
is(stats($standby, 'l1_hits'), '1', 'standby restarted: L1 hit');

# hybridcache.standby_l1 = off: the standby stops following and uses L2 only
$standby->append_conf('postgresql.conf', 'hybridcache.standby_l1 = off');
$standby->reload;
ok($standby->poll_query_until('postgres', "SELECT stream = 'off' FROM hybridcache_redis_stats()"),
	'standby_l1 = off: not following');
$hits = stats($standby, 'l1_hits');
$standby->safe_psql('postgres', $q);
$standby->safe_psql('postgres', $q);
is(stats($standby, 'l1_hits'), $hits, 'standby_l1 = off: no L1 hits');

$standby->stop;
$primary->stop;
$redis->stop;
done_testing();
