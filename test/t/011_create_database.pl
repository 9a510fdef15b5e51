# CREATE DATABASE in fresh sessions while another session runs DDL in the
# same database.  The DDL's relcache invalidations reach the CREATE
# DATABASE backend inside the command's PG_ENSURE_ERROR_CLEANUP section;
# an exit callback hybridcache registered there (lazily, on the first
# invalidation it counted) used to break that section: "before_shmem_exit
# callback ... is not the latest entry", then a crash at backend exit.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('createdb');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'hybridcache'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION hybridcache');

# DDL in a loop until told to stop
my $ddl = PostgreSQL::Test::Utils::tempdir() . '/ddl.sql';
open my $fh, '>', $ddl or die "could not write $ddl: $!";
print $fh "CREATE TABLE tt$_ (a int); DROP TABLE tt$_;\n" for 1 .. 20000;
close $fh;
my ($out, $err) = ('', '');
my $bg = IPC::Run::start(
	[ 'psql', '-X', '-q', '-f', $ddl, '-h', $node->host, '-p', $node->port, 'postgres' ],
	'>', \$out, '2>', \$err);
# the DDL is under way before the first CREATE DATABASE
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%TABLE tt%' AND pid <> pg_backend_pid()")
  or die 'the DDL session did not start';

my $failed = 0;
for my $i (1 .. 40)
{
	my ($ret, $o, $e) = $node->psql('postgres',
		"CREATE DATABASE cdb$i TEMPLATE template0");
	if ($ret != 0)
	{
		diag("CREATE DATABASE cdb$i: $e");
		$failed++;
		last;
	}
	$node->safe_psql('postgres', "DROP DATABASE cdb$i");
}
$bg->kill_kill;

is($failed, 0, 'every CREATE DATABASE succeeded during concurrent DDL');
ok(!$node->log_contains('is not the latest entry'), 'no exit callback out of order');
ok(!$node->log_contains('terminated by signal'), 'no backend crashed');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still up');

$node->stop;
done_testing();
