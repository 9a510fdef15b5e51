# L2 (Redis) shared by a primary and a physical standby: hits across
# servers and restarts, invalidation by writes on the primary, Redis
# restarted empty or from an old snapshot, corrupt, truncated, forged and
# foreign values, and authentication failures.
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RedisServer;
use Test::More;
use Time::HiRes qw(usleep);

my $redis = RedisServer->new(port => 61391, persist => 1);
$redis->start;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', $redis->l2_conf);
$primary->start;
$primary->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE TABLE items (id int PRIMARY KEY, grp int, val int);
INSERT INTO items SELECT g, g % 10, 1 FROM generate_series(1, 10000) g;
});

$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
# L2 alone here; 010_standby_l1.pl tests the standby's own cache
$standby->append_conf('postgresql.conf', 'hybridcache.standby_l1 = off');
$standby->start;

my $q = 'SELECT grp, sum(val) FROM items WHERE grp < 3 GROUP BY grp ORDER BY grp';

sub l2stats { return $redis->stats_on(@_); }

sub reset_stats
{
	$_->safe_psql('postgres', 'SELECT hybridcache_reset_stats()') for @_;
}

sub wait_up
{
	my ($node) = @_;
	ok($redis->wait_up_on($node), $node->name . ': Redis is up');
}

wait_up($primary);
wait_up($standby);
$primary->wait_for_catchup($standby);

# (a) computed on the primary, an L2 hit on the standby
reset_stats($primary, $standby);
is($primary->safe_psql('postgres', $q), "0|1000\n1|1000\n2|1000", 'primary: result');
is(l2stats($primary, 'l2_misses, l2_stores'), '1|1', 'primary: L2 miss, then stored');
is($standby->safe_psql('postgres', $q), "0|1000\n1|1000\n2|1000", 'standby: result');
is(l2stats($standby, 'l2_hits, l2_stores'), '1|0', 'standby: L2 hit, never a store');
is($standby->safe_psql('postgres', 'SELECT l1_hits, stores FROM hybridcache_stats()'),
	'0|0', 'standby: no L1 use');

# the primary's own L1 serves it; after a restart L2 refills L1
$primary->restart;
wait_up($primary);
reset_stats($primary);
is($primary->safe_psql('postgres', $q), "0|1000\n1|1000\n2|1000", 'after restart: result');
is(l2stats($primary, 'l2_hits'), '1', 'after restart: L2 hit');
is($primary->safe_psql('postgres', $q), "0|1000\n1|1000\n2|1000", 'after restart: again');
is($primary->safe_psql('postgres', 'SELECT l1_hits, l2_hits FROM hybridcache_stats()'),
	'1|1', 'the L2 hit was copied into L1');

# (b) a write on the primary: once replayed, the standby never returns the
# old result, from L2 or otherwise
$primary->safe_psql('postgres', 'UPDATE items SET val = 2 WHERE id = 10');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $q), "0|1001\n1|1000\n2|1000", 'standby after write: new result');
is($primary->safe_psql('postgres', $q), "0|1001\n1|1000\n2|1000", 'primary after write: new result');
reset_stats($standby);
is($standby->safe_psql('postgres', $q), "0|1001\n1|1000\n2|1000", 'standby: new result from L2');
is(l2stats($standby, 'l2_hits'), '1', 'standby: the new result is an L2 hit');
# several writes in a row, each checked on the standby
for my $v (3 .. 6)
{
	$primary->safe_psql('postgres', "UPDATE items SET val = $v WHERE id = 20");
	$primary->wait_for_catchup($standby);
	my $expect = 999 + $v + 1;
	is($standby->safe_psql('postgres', $q), "0|$expect\n1|1000\n2|1000",
		"standby after write $v: new result");
	$primary->safe_psql('postgres', $q);
}

# (b2) One session on the standby, whose plan is kept (plan_reuse.c): its
# L2 hits skip the plan's start, a stub standing in; a write on the primary
# is never missed; and the miss after it asks Redis once, not again after
# the plan's start.
my $qk = 'SELECT grp, sum(val) FROM items WHERE grp < 4 GROUP BY grp ORDER BY grp';
sub uncached { return $primary->safe_psql('postgres', "/* hybridcache: off */ $qk"); }
sub mget_calls
{
	my ($n) = $redis->cli('INFO', 'commandstats') =~ /cmdstat_mget:calls=(\d+)/;
	return $n // 0;
}
my $before_k = uncached();
$primary->safe_psql('postgres', $qk);
my $bg = $standby->background_psql('postgres', on_error_stop => 0);
$bg->query('SET client_min_messages = debug2');
reset_stats($standby);
my ($all_right, $stub_hits) = (1, 0);
for (1 .. 4)
{
	$bg->{stderr} = '';
	$all_right = 0 if $bg->query($qk) ne $before_k;
	$stub_hits++ if $bg->{stderr} =~ /hit served without starting the plan/;
}
ok($all_right, 'kept plan on the standby: correct results');
is(l2stats($standby, 'l2_hits, l2_misses'), '4|0', 'kept plan on the standby: L2 hits');
cmp_ok($stub_hits, '>=', 1, 'kept plan on the standby: L2 hits without starting the plan');
$primary->safe_psql('postgres', 'UPDATE items SET val = 5 WHERE id = 33');
$primary->wait_for_catchup($standby);
my $after_k = uncached();
isnt($after_k, $before_k, 'the write changed the result');
reset_stats($standby);
my $mget0 = mget_calls();
is($bg->query($qk), $after_k, 'kept plan after a write: new result');
is(mget_calls() - $mget0, 1, 'kept plan after a write: one lookup');
is(l2stats($standby, 'l2_hits, l2_misses'), '0|1', 'kept plan after a write: an L2 miss');
$primary->safe_psql('postgres', $qk);
$bg->{stderr} = '';
is($bg->query($qk), $after_k, 'kept plan, stored again: result');
like($bg->{stderr}, qr/hit served without starting the plan/,
	'kept plan, stored again: an L2 hit without starting the plan');
is(l2stats($standby, 'l2_hits, l2_misses'), '1|1', 'kept plan, stored again: counted');
$bg->quit;
# the write made the entry of $q out of date too: store it again
$primary->safe_psql('postgres', $q);

# Lookups run no script: MGET of the heartbeat, epoch and generations,
# GETRANGE of the entry and PTTL of the lease.  Registrations run theirs by
# SHA1 (EVALSHA), never as text (EVAL).
my $stats = $redis->cli('INFO', 'commandstats');
like($stats, qr/cmdstat_mget:calls=[1-9]/, 'lookups use MGET');
like($stats, qr/cmdstat_evalsha:calls=[1-9]/, 'registrations use EVALSHA');
unlike($stats, qr/cmdstat_eval:/, 'no EVAL with the script text');
sub cached_scripts
{
	my ($n) = $redis->cli('INFO', 'memory') =~ /number_of_cached_scripts:(\d+)/;
	return $n // -1;
}
my $expect_b = "0|1006\n1|1000\n2|1000";
my $port = $redis->port;
# COPY ... TO PROGRAM runs redis-cli from inside a session; the program
# reads COPY's output first: if it exited before PostgreSQL wrote that, the
# write would fail (broken pipe).
sub redis_from_sql
{
	my ($cmd) = @_;
	return "COPY (SELECT 1) TO PROGRAM 'cat > /dev/null; $cmd';\n";
}
reset_stats($standby);
# one session: the lookup after the flush runs on a connection that had
# loaded the scripts before it, and needs none
is($standby->safe_psql('postgres', "$q;\n"
		. redis_from_sql("redis-cli -p $port SCRIPT FLUSH > /dev/null")
		. "$q;"),
	"$expect_b\n$expect_b", 'scripts flushed mid-session: correct results');
is(l2stats($standby, 'l2_hits, errors_reply'), '2|0',
	'scripts flushed mid-session: lookups need no script');

# A generation that does not exist takes the lookup script, which creates
# it.  With the scripts flushed as well, that lookup fails (NOSCRIPT: a
# miss, never an error) and the connection's next handshake loads them.
my $relid = $standby->safe_psql('postgres', "SELECT 'items'::regclass::oid");
my ($gen_key) = grep { /:g:\d+:$relid$/ } split /\n/, $redis->cli('KEYS', '*:g:*');
ok(defined $gen_key, 'the generation of items is in Redis');
$gen_key //= 'none';
reset_stats($standby);
is($standby->safe_psql('postgres', "$q;\n"
		. redis_from_sql("redis-cli -p $port SCRIPT FLUSH > /dev/null; "
			. "redis-cli -p $port DEL $gen_key > /dev/null")
		. "$q;"),
	"$expect_b\n$expect_b", 'generation deleted, scripts flushed: correct results');
is(l2stats($standby, 'l2_hits, errors_reply >= 1'), '1|t',
	'generation deleted, scripts flushed: a hit, then a failed lookup (NOSCRIPT)');
my $reloaded = 0;
for (1 .. 200)
{
	$reloaded = 1, last if cached_scripts() >= 3;
	usleep(50_000);
}
ok($reloaded, 'the workers loaded the scripts again');
wait_up($standby);
reset_stats($standby);
is($standby->safe_psql('postgres', $q), $expect_b, 'scripts loaded again: result');
is(l2stats($standby, 'l2_misses, errors_reply'), '1|0',
	'scripts loaded again: a miss, the entry was stored under the old generation');
like($redis->cli('GET', $gen_key), qr/^\d+$/, 'the lookup script created the generation');
# the primary's next store carries the new generation: the standby hits it
$primary->safe_psql('postgres', 'UPDATE items SET val = 6 WHERE id = 20');
$primary->wait_for_catchup($standby);
$primary->safe_psql('postgres', $q);
reset_stats($standby);
is($standby->safe_psql('postgres', $q), $expect_b, 'new generation: result');
is(l2stats($standby, 'l2_hits'), '1', 'new generation: an L2 hit');

# (e) Redis restarted empty: no stale hit
$redis->stop;
$primary->safe_psql('postgres', 'UPDATE items SET val = 7 WHERE id = 30');
$redis->{persist} = 0;
unlink "$redis->{dir}/dump.rdb";
$redis->start;
$redis->{persist} = 1;
wait_up($primary);
$primary->wait_for_catchup($standby);
my $expect_e = "0|1012\n1|1000\n2|1000";
is($standby->safe_psql('postgres', $q), $expect_e, 'Redis restarted empty: standby correct');
is($primary->safe_psql('postgres', $q), $expect_e, 'Redis restarted empty: primary correct');
is($standby->safe_psql('postgres', $q), $expect_e, 'Redis restarted empty: standby correct again');

# Redis restarted from an old snapshot: its generations miss later writes
$primary->safe_psql('postgres', $q);    # entry and generations in Redis
$redis->cli('SAVE');
$primary->safe_psql('postgres', 'UPDATE items SET val = 8 WHERE id = 40');
$redis->kill9;
$redis->start;                           # loads the old snapshot
wait_up($primary);
$primary->wait_for_catchup($standby);
my $expect_s = "0|1019\n1|1000\n2|1000";
is($standby->safe_psql('postgres', $q), $expect_s, 'Redis from an old snapshot: standby not stale');
is($primary->safe_psql('postgres', $q), $expect_s, 'Redis from an old snapshot: primary not stale');

# (f) corrupt, truncated, foreign and forged values: a miss, never a crash
sub entry_key
{
	my @keys = grep { /:e:/ } split /\n/, $redis->cli('--scan', '--pattern', '*:e:*');
	return $keys[0];
}

# wait until the primary's worker has written its heartbeat (again)
sub wait_heartbeat_on
{
	my ($server) = @_;
	for (1 .. 200)
	{
		return 1 if $server->cli('--scan', '--pattern', '*:hb') ne '';
		usleep(50_000);
	}
	return 0;
}
sub wait_heartbeat { return wait_heartbeat_on($redis); }

sub fresh_entry
{
	$redis->cli('FLUSHALL');
	ok(wait_heartbeat(), 'heartbeat back after FLUSHALL');
	$primary->safe_psql('postgres', 'SELECT hybridcache_invalidate_all()');
	$primary->safe_psql('postgres', $q);
	my $key = entry_key();
	ok(defined $key, 'an entry was stored in Redis');
	return $key;
}

sub expect_rejected
{
	my ($what) = @_;
	reset_stats($standby);
	is($standby->safe_psql('postgres', $q), $expect_s, "$what value: correct result");
	is(l2stats($standby, 'l2_hits, l2_rejected'), '0|1', "$what value: rejected");
	is($standby->safe_psql('postgres', 'SELECT 1'), '1', "$what value: server still up");
}

my $key = fresh_entry();
$redis->cli('SETRANGE', $key, '200', 'garbage!');
expect_rejected('corrupt');

$key = fresh_entry();
$redis->cli('EVAL', "redis.call('SET', KEYS[1], string.sub(redis.call('GET', KEYS[1]), 1, 60)) return 1", '1', $key);
expect_rejected('truncated');

$key = fresh_entry();
$redis->cli('DEL', $key);
$redis->cli('HSET', $key, 'f', 'v');
expect_rejected('foreign');

$key = fresh_entry();
$redis->cli('SET', $key, 'x' x 100);
expect_rejected('short');

# larger than any entry can be (hybridcache.max_entry_size is 1 MB here):
# refused without reading all of it
$key = fresh_entry();
$redis->cli('SETRANGE', $key, 8 * 1024 * 1024, 'x');
expect_rejected('oversized');
cmp_ok(l2stats($standby, 'bytes_received'), '<', 2 * 1024 * 1024,
	'oversized value: not read in full');

ok($standby->log_contains('hybridcache ignored an invalid cached result in Redis'),
	'invalid values are logged');

# forged: signed with a secret other than ours
for my $node ($primary, $standby)
{
	$node->append_conf('postgresql.conf', "hybridcache.redis_secret = 'first secret'");
	$node->reload;
}
$key = fresh_entry();
reset_stats($standby);
is($standby->safe_psql('postgres', $q), $expect_s, 'signed value: result');
is(l2stats($standby, 'l2_hits, l2_rejected'), '1|0', 'signed value: accepted with the same secret');
$standby->append_conf('postgresql.conf', "hybridcache.redis_secret = 'another secret'");
$standby->reload;
$standby->poll_query_until('postgres', "SELECT current_setting('hybridcache.redis_secret') = 'another secret'");
expect_rejected('forged');

# the secret and the URL are hidden from ordinary roles
$primary->safe_psql('postgres', 'CREATE ROLE alice LOGIN');
is($primary->safe_psql('postgres',
		"SET ROLE alice; SELECT count(*) FROM pg_settings WHERE name IN ('hybridcache.redis_url', 'hybridcache.redis_secret')"),
	'0', 'Redis URL and secret not in pg_settings for ordinary roles');
my ($ret, $out, $err) = $primary->psql('postgres', 'SET ROLE alice; SHOW hybridcache.redis_secret');
isnt($ret, 0, 'SHOW of the secret refused for ordinary roles');

# (g) a wrong or missing password: a clear log line, L1-only operation
my $locked = RedisServer->new(port => 61392, requirepass => 'right horse');
$locked->start;
my $pwfile = $primary->basedir . '/redis_password';
sub write_password
{
	open my $fh, '>', $pwfile or die;
	print $fh "$_[0]\n";
	close $fh;
}
write_password('wrong battery');
for my $case (['missing', "hybridcache.redis_url = '@{[ $locked->url ]}'"],
	['wrong', "hybridcache.redis_password_file = '$pwfile'"])
{
	my ($label, $setting) = @$case;
	my $offset = -s $primary->logfile;
	$primary->append_conf('postgresql.conf', $setting);
	$primary->reload;
	ok($primary->poll_query_until('postgres',
			"SELECT state = 'down' AND last_error LIKE 'auth:%' FROM hybridcache_redis_stats()"),
		"$label password: Redis is down with an authentication error");
	ok($primary->wait_for_log(qr/hybridcache could not authenticate to Redis at 127\.0\.0\.1:61392/, $offset),
		"$label password: clear log line");
	ok(!$primary->log_contains('wrong battery', 0), "$label password: password not logged");
	reset_stats($primary);
	$primary->safe_psql('postgres', 'UPDATE items SET val = 1 WHERE id = 50');
	is($primary->safe_psql('postgres', $q), $expect_s, "$label password: correct result");
	is($primary->safe_psql('postgres', $q), $expect_s, "$label password: correct again");
	is($primary->safe_psql('postgres', 'SELECT l1_hits, l2_hits FROM hybridcache_stats()'),
		'1|0', "$label password: L1 keeps working");
}
write_password('right horse');
$primary->reload;
wait_up($primary);
ok(wait_heartbeat_on($locked), 'right password: heartbeat written');
reset_stats($primary);
$primary->safe_psql('postgres', 'SELECT hybridcache_invalidate_all()');
$primary->safe_psql('postgres', $q);
is(l2stats($primary, 'l2_stores, errors_auth'), '1|0', 'right password: L2 in use');

# bad settings are refused with a clear message and change nothing
($ret, $out, $err) = $primary->psql('postgres', "ALTER SYSTEM SET hybridcache.redis_url = 'redis://db.example.com:6379'");
like($err, qr/is not a numeric IP address/, 'host names refused');
($ret, $out, $err) = $primary->psql('postgres', "ALTER SYSTEM SET hybridcache.redis_url = 'http://127.0.0.1'");
like($err, qr/must start with "redis:\/\/"/, 'other schemes refused');
($ret, $out, $err) = $primary->psql('postgres', "ALTER SYSTEM SET hybridcache.redis_url = 'redis://127.0.0.1:99999'");
like($err, qr/port must be a number/, 'bad port refused');

$standby->stop;
$primary->stop;
$locked->stop;
$redis->stop;
done_testing();
