# The postgres_exporter queries in monitoring/postgres_exporter.yml run as a
# pg_read_all_stats member and return every column they declare as a metric.
# (A line-oriented reader: the file keeps to the simple layout it uses.)
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('monitoring');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'hybridcache'\nhybridcache.min_exec_time = 0");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION hybridcache;
CREATE ROLE exporter LOGIN IN ROLE pg_read_all_stats;
CREATE TABLE t (id int);
INSERT INTO t VALUES (1);
SELECT count(*) FROM t;
SELECT count(*) FROM t;
});

open my $fh, '<', 'monitoring/postgres_exporter.yml' or die "cannot open the queries file: $!";
my (%sections, $section, $in_query);
while (my $line = <$fh>)
{
	next if $line =~ /^\s*#/;
	if ($line =~ /^(\w+):\s*$/)
	{
		$section = $1;
		$sections{$section} = { query => '', metrics => [] };
		$in_query = 0;
	}
	elsif ($line =~ /^  query: \|\s*$/)
	{
		$in_query = 1;
	}
	elsif ($line =~ /^  metrics:/)
	{
		$in_query = 0;
	}
	elsif ($in_query && $line =~ /^    (.*)$/)
	{
		$sections{$section}{query} .= "$1\n";
	}
	elsif ($line =~ /^    - (\w+):\s*$/)
	{
		push @{ $sections{$section}{metrics} }, $1;
	}
}
close $fh;

is_deeply([ sort keys %sections ],
	[qw(hybridcache hybridcache_bypass hybridcache_query hybridcache_redis hybridcache_table)],
	'all sections read');

for my $name (sort keys %sections)
{
	my $q = $sections{$name}{query};
	my ($ret, $out, $err) = $node->psql('postgres', "\\pset tuples_only off\n$q",
		extra_params => [ '-U', 'exporter' ]);
	is($ret, 0, "$name: query runs as a pg_read_all_stats member") or diag($err);
	my ($header) = split /\n/, $out;
	my %cols = map { $_ => 1 } split /\|/, ($header // '');
	for my $m (@{ $sections{$name}{metrics} })
	{
		ok($cols{$m}, "$name: column $m returned");
	}
}

$node->stop;
done_testing();
