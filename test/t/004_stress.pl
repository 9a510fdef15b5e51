# Stress harness: for a fixed time, several clients read monotonically
# growing counters and aggregates through the cache while others write
# (single statements, multi-statement transactions, rollbacks, TRUNCATE
# with refill, COPY), in the simple and the prepared protocol.  Every cached
# read is checked against uncached reads taken just before and just after
# it in the same session:
#
#     uncached before <= cached <= uncached after
#
# and tenants under row-level security never see each other's rows.  Any
# violation is recorded in a table and fails the test.
#
# HYBRIDCACHE_STRESS_SECONDS sets the duration (default 40).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;

my $seconds = $ENV{HYBRIDCACHE_STRESS_SECONDS} // 40;

my $node = PostgreSQL::Test::Cluster->new('stress');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'hybridcache'
hybridcache.min_exec_time = 0
hybridcache.shared_memory = 32MB
max_connections = 40
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL);
INSERT INTO counters SELECT g, 0 FROM generate_series(1, 20) g;
CREATE TABLE hist (x int);
CREATE TABLE tenant_data (tenant text, v int);
INSERT INTO tenant_data SELECT 't' || (g % 4), g FROM generate_series(1, 400) g;
ALTER TABLE tenant_data ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_data FORCE ROW LEVEL SECURITY;
CREATE POLICY p ON tenant_data USING (tenant = current_setting('app.tenant'));
CREATE ROLE app LOGIN;
GRANT SELECT, INSERT ON tenant_data TO app;
CREATE TABLE violations (what text, before bigint, cached bigint, after bigint);
GRANT INSERT ON violations TO app;
});

my $dir = PostgreSQL::Test::Utils::tempdir;

sub script
{
	my ($name, $text) = @_;
	my $path = "$dir/$name.sql";
	open my $fh, '>', $path or die "could not write $path: $!";
	print $fh $text;
	close $fh;
	return $path;
}

# one check: uncached, cached, uncached; a violation is recorded
sub check_block
{
	my ($what, $sql) = @_;
	return qq{BEGIN;
SET LOCAL hybridcache.enabled = off;
$sql \\gset before_
COMMIT;
$sql \\gset cached_
BEGIN;
SET LOCAL hybridcache.enabled = off;
$sql \\gset after_
COMMIT;
\\if :before_v > :cached_v
INSERT INTO violations VALUES ('$what', :before_v, :cached_v, :after_v);
\\elif :cached_v > :after_v
INSERT INTO violations VALUES ('$what', :before_v, :cached_v, :after_v);
\\endif
};
}

my $read_sum = script('read_sum',
	check_block('sum', 'SELECT sum(n) AS v FROM counters'));
my $read_point = script('read_point',
	"\\set id random(1, 20)\n"
	  . check_block('point', 'SELECT n AS v FROM counters WHERE id = :id'));
my $read_join = script('read_join',
	check_block('join',
		'SELECT count(*) + coalesce(sum(c.n), 0) AS v FROM counters c JOIN counters d ON d.id = c.id WHERE c.id <= 10'));
my $read_hist = script('read_hist',
	check_block('hist', 'SELECT count(*) AS v FROM hist'));

my $write_one = script('write_one', q{\set id random(1, 20)
UPDATE counters SET n = n + 1 WHERE id = :id;
});
my $write_multi = script('write_multi', q{\set a random(1, 20)
\set b random(1, 20)
BEGIN;
UPDATE counters SET n = n + 1 WHERE id = :a;
SELECT sum(n) FROM counters;
UPDATE counters SET n = n + 1 WHERE id = :b;
COMMIT;
});
my $write_rollback = script('write_rollback', q{\set id random(1, 20)
BEGIN;
UPDATE counters SET n = n + 1000000 WHERE id = :id;
SELECT sum(n) FROM counters;
ROLLBACK;
});
# TRUNCATE and refill with one row more than before: the count only grows
my $write_truncate = script('write_truncate', q{BEGIN;
LOCK hist;
SELECT count(*) AS c FROM hist \gset
TRUNCATE hist;
INSERT INTO hist SELECT generate_series(1, :c + 1);
COMMIT;
});
my $write_copy = script('write_copy', q{COPY hist FROM PROGRAM 'seq 1 3';
});

# tenants: each sees only its own rows; the setting is part of the key
my $tenant = script('tenant', q{\set t random(0, 3)
SELECT set_config('app.tenant', 't' || :t, false);
SELECT count(*) AS foreign_rows FROM tenant_data WHERE tenant <> current_setting('app.tenant') \gset
\if :foreign_rows > 0
INSERT INTO violations VALUES ('tenant', 0, :foreign_rows, 0);
\endif
SELECT count(*) AS mine FROM tenant_data \gset
\if :mine <> 100
INSERT INTO violations VALUES ('tenant_count', 100, :mine, 100);
\endif
});

$node->safe_psql('postgres', 'SELECT hybridcache_reset_stats()');

my @common = ('-n', '-T', $seconds, '-h', $node->host, '-p', $node->port);
my @runs = (
	# readers, simple protocol
	[ 'pgbench', @common, '-c', '3', '-M', 'simple',
	  '-f', "$read_sum\@4", '-f', "$read_point\@4", '-f', "$read_join\@2",
	  '-f', "$read_hist\@2", 'postgres' ],
	# readers, prepared statements
	[ 'pgbench', @common, '-c', '3', '-M', 'prepared',
	  '-f', "$read_sum\@4", '-f', "$read_point\@4", '-f', "$read_join\@2",
	  '-f', "$read_hist\@2", 'postgres' ],
	# writers, throttled so that reads dominate as in a read-heavy service
	[ 'pgbench', @common, '-c', '2', '-M', 'prepared', '-R', '60',
	  '-f', "$write_one\@6", '-f', "$write_multi\@2", '-f', "$write_rollback\@1",
	  '-f', "$write_truncate\@1", '-f', "$write_copy\@1", 'postgres' ],
	# tenants as a non-superuser role under FORCE ROW LEVEL SECURITY
	[ 'pgbench', @common, '-c', '2', '-M', 'prepared', '-U', 'app',
	  '-f', $tenant, 'postgres' ],
);

my @handles;
my @outputs;
for my $i (0 .. $#runs)
{
	my ($out, $err) = ('', '');
	push @outputs, [ \$out, \$err ];
	push @handles, IPC::Run::start($runs[$i], '>', \$out, '2>', \$err);
}
for my $i (0 .. $#handles)
{
	ok($handles[$i]->finish, "pgbench run $i finished without error")
	  or diag(${ $outputs[$i][1] });
}

my $checks = 0;
for my $i (0, 1)
{
	my $out = ${ $outputs[$i][0] };
	$checks += $1 if $out =~ /number of transactions actually processed: (\d+)/;
}
my $tenant_checks = 0;
$tenant_checks = $1
  if ${ $outputs[3][0] } =~ /number of transactions actually processed: (\d+)/;
my $writes = 0;
$writes = $1
  if ${ $outputs[2][0] } =~ /number of transactions actually processed: (\d+)/;

my $violations = $node->safe_psql('postgres', 'SELECT count(*) FROM violations');
my ($hits, $misses, $stores, $refused) = split /\|/, $node->safe_psql('postgres',
	'SELECT l1_hits, misses, stores, stores_refused FROM hybridcache_stats()');
my $ratio = ($hits + $misses) ? $hits / ($hits + $misses) : 0;

diag(sprintf(
	"stress: %ds, %d checked reads, %d tenant checks, %d write transactions, "
	  . "%d hits, %d misses, %d stores, %d refused, hit ratio %.1f%%, %d violations",
	$seconds, $checks, $tenant_checks, $writes, $hits, $misses, $stores,
	$refused, 100 * $ratio, $violations));
diag($node->safe_psql('postgres', 'SELECT * FROM violations LIMIT 20'))
  if $violations > 0;

cmp_ok($checks, '>', 100, 'reads were checked');
cmp_ok($tenant_checks, '>', 10, 'tenant separation was checked');
cmp_ok($writes, '>', 10, 'writes ran');
cmp_ok($hits, '>', 0, 'reads were served from the cache');
is($violations, '0', 'no cached read outside [uncached before, uncached after]');

$node->stop;
done_testing();
