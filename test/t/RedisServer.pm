# A throwaway redis-server for the TAP tests: loopback only, a fixed high
# port, its own directory, no persistence unless asked.  Only the process
# this module started is ever signalled, by its pid.
package RedisServer;

use strict;
use warnings;
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

sub new
{
	my ($class, %args) = @_;
	my $self = {
		port => $args{port},
		dir => PostgreSQL::Test::Utils::tempdir("redis_$args{port}"),
		requirepass => $args{requirepass},
		persist => $args{persist} // 0,
		pid => undef,
	};
	return bless $self, $class;
}

sub port { return $_[0]->{port}; }
sub url { return "redis://127.0.0.1:$_[0]->{port}"; }

# postgresql.conf lines for a server that uses this Redis as L2, caching
# even the cheapest statements, with short timeouts for tests; %over
# replaces or adds hybridcache.* settings (names without the prefix).
sub l2_conf
{
	my ($self, %over) = @_;
	my %set = (
		min_exec_time => '0',
		l2_min_exec_time => '0',
		redis_url => "'" . $self->url . "'",
		redis_timeout => '1s',
		redis_heartbeat_timeout => '1s',
		redis_backoff_min => '100ms',
		redis_backoff_max => '1s',
		%over);
	return "shared_preload_libraries = 'hybridcache'\n"
	  . join('', map { "hybridcache.$_ = $set{$_}\n" } sort keys %set);
}

# hybridcache_redis_stats() columns of a server, '|'-separated
sub stats_on
{
	my ($self, $node, $cols) = @_;
	return $node->safe_psql('postgres', "SELECT $cols FROM hybridcache_redis_stats()");
}

# Wait until a server sees this Redis up; a primary also with its
# heartbeat written.  Returns whether it did.
sub wait_up_on
{
	my ($self, $node) = @_;
	return $node->poll_query_until('postgres',
		"SELECT state = 'up' AND (pg_is_in_recovery() OR last_heartbeat IS NOT NULL) FROM hybridcache_redis_stats()");
}

sub start
{
	my ($self) = @_;
	my @cmd = (
		'redis-server', '--port', $self->{port}, '--bind', '127.0.0.1',
		'--dir', $self->{dir}, '--daemonize', 'yes',
		'--pidfile', "$self->{dir}/redis.pid",
		'--logfile', "$self->{dir}/redis.log",
		'--appendonly', 'no',
		'--save', ($self->{persist} ? '3600 1' : ''));
	push @cmd, '--requirepass', $self->{requirepass} if $self->{requirepass};
	die "port $self->{port} on 127.0.0.1 is in use: cannot start redis-server there"
	  unless PostgreSQL::Test::Cluster::can_bind('127.0.0.1', $self->{port});
	unlink "$self->{dir}/redis.pid";
	system(@cmd) == 0 or die "could not start redis-server";
	for (1 .. 200)
	{
		if (-s "$self->{dir}/redis.pid" && $self->cli_ok('PING'))
		{
			open my $fh, '<', "$self->{dir}/redis.pid" or die;
			chomp(my $pid = <$fh>);
			close $fh;
			$self->{pid} = $pid;
			return;
		}
		usleep(50_000);
	}
	my $log = PostgreSQL::Test::Utils::slurp_file("$self->{dir}/redis.log")
	  if -f "$self->{dir}/redis.log";
	die "redis-server on port $self->{port} did not come up within 10 s; its log:\n"
	  . ($log // "(none)\n");
}

# redis-cli against this server; returns stdout without the trailing newline
sub cli
{
	my ($self, @args) = @_;
	my @cmd = ('redis-cli', '-p', $self->{port}, '--no-auth-warning');
	push @cmd, '-a', $self->{requirepass} if $self->{requirepass};
	my ($stdout, $stderr);
	IPC::Run::run([ @cmd, @args ], '>', \$stdout, '2>', \$stderr);
	chomp $stdout if defined $stdout;
	return $stdout;
}

sub cli_ok
{
	my ($self, @args) = @_;
	my $out = $self->cli(@args);
	return defined $out && $out eq 'PONG';
}

sub signal
{
	my ($self, $sig) = @_;
	kill $sig, $self->{pid} if $self->{pid};
}

# SIGKILL and wait until the port is free
sub kill9
{
	my ($self) = @_;
	$self->signal('KILL');
	$self->_wait_gone;
}

sub stop
{
	my ($self) = @_;
	return unless $self->{pid};
	$self->signal('CONT');
	$self->signal('TERM');
	$self->_wait_gone;
}

sub _wait_gone
{
	my ($self) = @_;
	for (1 .. 200)
	{
		last unless kill 0, $self->{pid};
		usleep(50_000);
	}
	$self->{pid} = undef;
}

sub DESTROY
{
	my ($self) = @_;
	$self->stop if $self->{pid};
}

1;
