#!/usr/bin/perl
#
# pgproto.pl - a tiny PostgreSQL v3 wire-protocol test client.
#
# Dependency-free (core Perl modules only).  Used by the regression tests to
# drive the extended query protocol (Parse/Bind/Execute with max_rows, named
# and unnamed statements/portals, binary results ...) which psql cannot do,
# printing one stable, diff-friendly line per backend message.
#
# Usage:
#   perl test/pgproto.pl [-d db] [-U user] [-h host] [-p port] [-t secs] CMD...
#   perl test/pgproto.pl [options] < script      (one CMD per line; blank
#                                                 lines and '#' lines skipped)
#
# Connection: PGHOST (a directory, i.e. starting with '/', means the Unix
# socket $PGHOST/.s.PGSQL.$PGPORT; anything else is a TCP host name; unset
# means /var/run/postgresql, then /tmp), PGPORT (5432), PGDATABASE and
# PGUSER (both default to the OS user name).  Options override the
# environment.  Only trust authentication is supported.
#
# Note for pg_regress: psql does not export the database it is connected
# to, so in a test use e.g.
#     \setenv PGDATABASE :DBNAME
#     \! perl test/pgproto.pl 'query SELECT 1'
#
# Commands ("-" names the unnamed statement/portal):
#   query <sql>                     simple Query; reads until ReadyForQuery
#   query_other <sql>               the same on a second connection, run to
#                                   completion in between (lines "other: ...")
#   parse <stmt|-> <sql>            Parse, parameter types unspecified
#   parset <stmt|-> <oid,...> <sql> Parse with these parameter type OIDs
#   bind  <portal|-> <stmt|-> [param ...]
#                                   Bind, text parameters, text results.
#                                   Params are whitespace separated; NULL is
#                                   SQL NULL; 'single quoted' params may hold
#                                   spaces ('' is a quote, 'NULL' the string)
#   bindb <portal|-> <stmt|-> [param ...]
#                                   same, but all result columns binary
#   execute <portal|-> <maxrows>    Execute + Flush; reads until
#                                   CommandComplete, PortalSuspended,
#                                   EmptyQueryResponse or ErrorResponse
#   describe <S|P> <name|->         Describe (response read at next sync/flush)
#   close <S|P> <name|->            Close    (response read at next sync/flush)
#   sync                            Sync; reads until ReadyForQuery
#   origins                         from now on, RowDescription also shows
#                                   each column's table column: @attnum
#                                   when the table OID is set
#   flush                           Flush; prints whatever arrives until the
#                                   server is quiet for 200 ms (best effort:
#                                   timing dependent, prefer sync in tests)
#   fcall <function>                a fast-path FunctionCall of a function
#                                   without arguments, named as for
#                                   ::regprocedure (its OID is looked up
#                                   first, silently); text result; reads
#                                   until ReadyForQuery
#
# parse/bind/describe/close only send; their responses are printed by the
# next execute/sync/flush.  After an ErrorResponse in the extended protocol
# the server ignores everything until Sync, so later executes/flushes before
# the sync read nothing.  A Terminate is sent at the end; anything sent but
# not yet read by then is not printed.
#
# Output, one line per message:
#   ParseComplete, BindComplete, CloseComplete, NoData, PortalSuspended,
#   EmptyQueryResponse, ParameterDescription <n>,
#   RowDescription <n>: name(typeoid) ..., DataRow: v1|v2|... (NULL for
#   SQL NULL, binary values as \x<hex>, newlines in text as \n),
#   CommandComplete <tag>, ErrorResponse <SQLSTATE>: <message>,
#   NoticeResponse <severity>: <message>, ReadyForQuery <I|T|E>,
#   NotificationResponse <channel>: <payload>,
#   FunctionCallResponse: <value> (NULL for SQL NULL).
# ParameterStatus, BackendKeyData and authentication messages are skipped.
#
# Exit status: 0 when the script ran (even if the server reported errors),
# 1 on usage errors, 2 on connection, protocol or timeout failures.

use strict;
use warnings;
use IO::Socket::INET;
use IO::Socket::UNIX;
use Getopt::Long;
use IO::Handle;

$| = 1;

my ($opt_db, $opt_user, $opt_host, $opt_port);
my $timeout = $ENV{PGPROTO_TIMEOUT} || 30;

sub usage
{
	print STDERR "usage: $0 [-d db] [-U user] [-h host] [-p port] [-t timeout_secs] CMD...\n";
	exit 1;
}

Getopt::Long::Configure('no_ignore_case', 'bundling', 'require_order');
GetOptions(
	'd|dbname=s'   => \$opt_db,
	'U|username=s' => \$opt_user,
	'h|host=s'     => \$opt_host,
	'p|port=i'     => \$opt_port,
	't|timeout=f'  => \$timeout,
	'help'         => sub { usage() },
) or usage();

sub fail
{
	print STDERR "pgproto.pl: @_\n";
	exit 2;
}

# ---------------------------------------------------------------- commands

my @commands;
if (@ARGV)
{
	@commands = @ARGV;
}
else
{
	while (my $line = <STDIN>)
	{
		chomp $line;
		next if $line =~ /^\s*(#|$)/;
		push @commands, $line;
	}
}

# ---------------------------------------------------------------- connect

my $osuser = getpwuid($<) // $ENV{USER} // 'postgres';
my $user = $opt_user // $ENV{PGUSER} // $osuser;
my $db   = $opt_db   // $ENV{PGDATABASE} // $user;
my $port = $opt_port // $ENV{PGPORT} // 5432;
my $host = $opt_host // $ENV{PGHOST};

my $sock;
if (defined $host && $host ne '' && $host !~ m{^/})
{
	$sock = IO::Socket::INET->new(
		PeerAddr => $host,
		PeerPort => $port,
		Proto    => 'tcp',
		Timeout  => $timeout)
	  or fail("could not connect to $host:$port: $@");
}
else
{
	my @dirs = (defined $host && $host ne '') ? ($host) : ('/var/run/postgresql', '/tmp');
	my $path;
	for my $d (@dirs)
	{
		$path = "$d/.s.PGSQL.$port";
		last if -S $path;
	}
	$sock = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $path)
	  or fail("could not connect to Unix socket $path: $!");
}
binmode $sock;

# ---------------------------------------------------------------- low level I/O

my $rbuf = '';

sub send_raw
{
	my ($data) = @_;
	my $off = 0;
	while ($off < length $data)
	{
		my $n = syswrite($sock, $data, length($data) - $off, $off);
		fail("write failed: $!") unless defined $n;
		$off += $n;
	}
}

# Frontend message: type byte, int32 length (self-inclusive), body.
sub send_msg
{
	my ($type, $body) = @_;
	send_raw($type . pack('N', 4 + length $body) . $body);
}

# Read more bytes into $rbuf, waiting at most $secs.  Returns false on
# timeout; dies on EOF or error.
sub fill
{
	my ($secs) = @_;
	my $rin = '';
	vec($rin, fileno($sock), 1) = 1;
	my $nfound = select(my $rout = $rin, undef, undef, $secs);
	return 0 if $nfound == 0;
	my $n = sysread($sock, $rbuf, 65536, length $rbuf);
	fail("read failed: $!") unless defined $n;
	fail("server closed the connection unexpectedly") if $n == 0;
	return 1;
}

# Return (type, body) of the next backend message, or () if nothing
# complete arrived within $secs.  With $what, a timeout is fatal.
sub read_msg
{
	my ($secs, $what) = @_;
	while (1)
	{
		if (length $rbuf >= 5)
		{
			my ($type, $len) = unpack('a N', $rbuf);
			fail("bad message length $len for message type '$type'") if $len < 4;
			if (length $rbuf >= 1 + $len)
			{
				my $body = substr($rbuf, 5, $len - 4);
				substr($rbuf, 0, 1 + $len) = '';
				return ($type, $body);
			}
		}
		next if fill($secs);
		fail("timed out after ${secs}s waiting for $what") if defined $what;
		return ();
	}
}

sub cstr { return $_[0] . "\0"; }

# ---------------------------------------------------------------- decoding

# Error/notice fields: list of (code byte, C string), terminated by \0.
sub parse_fields
{
	my ($body) = @_;
	my %f;
	while ($body =~ /\G([^\0])([^\0]*)\0/gc)
	{
		$f{$1} = $2;
	}
	return \%f;
}

sub text_value
{
	my ($v) = @_;
	$v =~ s/\n/\\n/g;
	$v =~ s/\r/\\r/g;
	return $v;
}

my $binary_results = 0;    # result format of the portal being executed
my $show_origins = 0;      # RowDescription shows table columns

# Print one backend message; returns its type.
sub show_msg
{
	my ($type, $body) = @_;

	if ($type eq '1') { print "ParseComplete\n" }
	elsif ($type eq '2') { print "BindComplete\n" }
	elsif ($type eq '3') { print "CloseComplete\n" }
	elsif ($type eq 'n') { print "NoData\n" }
	elsif ($type eq 's') { print "PortalSuspended\n" }
	elsif ($type eq 'I') { print "EmptyQueryResponse\n" }
	elsif ($type eq 't')
	{
		my $n = unpack('n', $body);
		print "ParameterDescription $n\n";
	}
	elsif ($type eq 'T')
	{
		my $n = unpack('n', $body);
		my $pos = 2;
		my @cols;
		for (1 .. $n)
		{
			my $end = index($body, "\0", $pos);
			fail("malformed RowDescription") if $end < 0;
			my $name = substr($body, $pos, $end - $pos);
			$pos = $end + 1;
			# table oid, attnum, type oid, typlen, typmod, format
			my ($tableoid, $attnum, $typoid) = unpack('N n N n N n', substr($body, $pos, 18));
			$pos += 18;
			push @cols, "$name($typoid)"
			  . ($show_origins && $tableoid != 0 ? "\@$attnum" : '');
		}
		print "RowDescription $n:", (map { " $_" } @cols), "\n";
	}
	elsif ($type eq 'D')
	{
		my $n = unpack('n', $body);
		my $pos = 2;
		my @vals;
		for (1 .. $n)
		{
			my $len = unpack('l>', substr($body, $pos, 4));
			$pos += 4;
			if ($len < 0)
			{
				push @vals, 'NULL';
				next;
			}
			my $v = substr($body, $pos, $len);
			$pos += $len;
			push @vals, $binary_results ? '\\x' . unpack('H*', $v) : text_value($v);
		}
		print 'DataRow: ', join('|', @vals), "\n";
	}
	elsif ($type eq 'V')
	{
		my $len = unpack('l>', $body);
		print 'FunctionCallResponse: ',
		  ($len < 0 ? 'NULL' : text_value(substr($body, 4, $len))), "\n";
	}
	elsif ($type eq 'C')
	{
		my ($tag) = unpack('Z*', $body);
		print "CommandComplete $tag\n";
	}
	elsif ($type eq 'E')
	{
		my $f = parse_fields($body);
		printf "ErrorResponse %s: %s\n", $f->{C} // '?????', text_value($f->{M} // '');
	}
	elsif ($type eq 'N')
	{
		my $f = parse_fields($body);
		printf "NoticeResponse %s: %s\n", $f->{V} // $f->{S} // '?', text_value($f->{M} // '');
	}
	elsif ($type eq 'Z')
	{
		print "ReadyForQuery $body\n";
	}
	elsif ($type eq 'A')
	{
		my (undef, $channel, $payload) = unpack('N Z* Z*', $body);
		print "NotificationResponse $channel: ", text_value($payload), "\n";
	}
	elsif ($type eq 'S' || $type eq 'K')
	{
		# ParameterStatus / BackendKeyData: run-dependent noise
	}
	elsif ($type eq 'G')
	{
		print "CopyInResponse\n";
		send_msg('f', cstr('COPY FROM STDIN is not supported by pgproto.pl'));
	}
	elsif ($type eq 'H') { print "CopyOutResponse\n" }
	elsif ($type eq 'd') { print 'CopyData: ', text_value($body =~ s/\n\z//r), "\n" }
	elsif ($type eq 'c') { print "CopyDone\n" }
	else
	{
		fail("unexpected message type '$type'");
	}
	return $type;
}

# Read and print messages until one whose type is in $stop_types.
sub read_until
{
	my ($stop_types, $what) = @_;
	while (1)
	{
		my ($type, $body) = read_msg($timeout, $what);
		show_msg($type, $body);
		return $type if index($stop_types, $type) >= 0;
	}
}

# ---------------------------------------------------------------- startup

# StartupMessage: int32 length, int32 protocol 3.0, name/value pairs, \0.
my $startup = pack('N', 196608)
  . cstr('user') . cstr($user)
  . cstr('database') . cstr($db)
  . cstr('client_encoding') . cstr('UTF8') . "\0";
send_raw(pack('N', 4 + length $startup) . $startup);

my %auth_names = (2 => 'Kerberos V5', 3 => 'cleartext password', 5 => 'MD5 password',
	7 => 'GSSAPI', 9 => 'SSPI', 10 => 'SASL (SCRAM)');
while (1)
{
	my ($type, $body) = read_msg($timeout, 'the startup response');
	if ($type eq 'R')
	{
		my $code = unpack('N', $body);
		next if $code == 0;
		fail(sprintf("server requested %s authentication (code %d); pgproto.pl supports trust authentication only",
			$auth_names{$code} // 'unknown', $code));
	}
	elsif ($type eq 'E')
	{
		my $f = parse_fields($body);
		fail(sprintf("connection to database \"%s\" as user \"%s\" failed: %s %s: %s",
			$db, $user, $f->{S} // '', $f->{C} // '', $f->{M} // ''));
	}
	elsif ($type eq 'Z') { last }
	elsif ($type eq 'S' || $type eq 'K' || $type eq 'A' || $type eq 'v') { next }
	elsif ($type eq 'N') { show_msg($type, $body) }
	else { fail("unexpected message type '$type' during startup") }
}

# ---------------------------------------------------------------- run script

# Parse a list of bind parameters: bare words, NULL, or 'quoted strings'.
sub split_params
{
	my ($s) = @_;
	my @p;
	while (1)
	{
		$s =~ /\G\s*/gc;
		last if (pos($s) // 0) >= length $s;
		if ($s =~ /\G'((?:[^']|'')*)'(?=\s|\z)/gc)
		{
			push @p, $1 =~ s/''/'/gr;
		}
		elsif ($s =~ /\G(\S+)/gc)
		{
			push @p, $1 eq 'NULL' ? undef : $1;
		}
		else
		{
			die "bad parameter list: $s\n";
		}
	}
	return @p;
}

sub name_arg { return $_[0] eq '-' ? '' : $_[0]; }

my %portal_binary;         # portal name => bound with binary results?
my $error_pending = 0;     # ErrorResponse seen; server skips until Sync

for my $cmdline (@commands)
{
	my ($cmd, $rest) = $cmdline =~ /^\s*(\S+)\s*(.*?)\s*\z/s
	  or next;
	my @a = split ' ', $rest;

	my $bad = sub { print STDERR "pgproto.pl: bad command: $cmdline\n"; exit 1; };

	if ($cmd eq 'query_other')
	{
		# the same query on a second connection, run to completion before
		# this connection goes on; its output lines are marked "other:"
		STDOUT->flush();
		my @argv = ($^X, $0);
		push @argv, '-d', $opt_db if defined $opt_db;
		push @argv, '-U', $opt_user if defined $opt_user;
		push @argv, '-h', $opt_host if defined $opt_host;
		push @argv, '-p', $opt_port if defined $opt_port;
		open(my $other, '-|', @argv, "query $rest")
		  or fail("could not run a second connection: $!");
		while (my $line = <$other>)
		{
			print "other: $line";
		}
		close($other) or fail("second connection failed");
	}
	elsif ($cmd eq 'query')
	{
		send_msg('Q', cstr($rest));
		$binary_results = 0;
		read_until('Z', 'ReadyForQuery');
	}
	elsif ($cmd eq 'parse')
	{
		my ($name, $sql) = $rest =~ /^(\S+)\s*(.*)\z/s or $bad->();
		send_msg('P', cstr(name_arg($name)) . cstr($sql) . pack('n', 0));
	}
	elsif ($cmd eq 'parset')
	{
		my ($name, $types, $sql) = $rest =~ /^(\S+)\s+([0-9,]+)\s+(.*)\z/s or $bad->();
		my @oids = split /,/, $types;
		send_msg('P', cstr(name_arg($name)) . cstr($sql)
			  . pack('n', scalar @oids) . join('', map { pack('N', $_) } @oids));
	}
	elsif ($cmd eq 'bind' || $cmd eq 'bindb')
	{
		my ($portal, $stmt, $ptext) = $rest =~ /^(\S+)\s+(\S+)\s*(.*)\z/s or $bad->();
		my @params = eval { split_params($ptext) };
		$bad->() if $@;
		my $body = cstr(name_arg($portal)) . cstr(name_arg($stmt));
		$body .= pack('n', 0);                     # all parameters text
		$body .= pack('n', scalar @params);
		for my $p (@params)
		{
			$body .= defined $p ? pack('l>', length $p) . $p : pack('l>', -1);
		}
		my $binary = $cmd eq 'bindb';
		$body .= $binary ? pack('n n', 1, 1) : pack('n', 0);
		send_msg('B', $body);
		$portal_binary{name_arg($portal)} = $binary;
	}
	elsif ($cmd eq 'execute')
	{
		@a == 2 && $a[1] =~ /^\d+$/ or $bad->();
		my $portal = name_arg($a[0]);
		send_msg('E', cstr($portal) . pack('N', $a[1]));
		send_msg('H', '');
		next if $error_pending;    # server ignores it until Sync
		$binary_results = $portal_binary{$portal} // 0;
		my $t = read_until('CsIE', "the result of '$cmdline'");
		$error_pending = 1 if $t eq 'E';
	}
	elsif ($cmd eq 'describe' || $cmd eq 'close')
	{
		@a == 2 && $a[0] =~ /^[SP]$/ or $bad->();
		send_msg($cmd eq 'describe' ? 'D' : 'C', $a[0] . cstr(name_arg($a[1])));
	}
	elsif ($cmd eq 'origins')
	{
		@a == 0 or $bad->();
		$show_origins = 1;
	}
	elsif ($cmd eq 'sync')
	{
		@a == 0 or $bad->();
		send_msg('S', '');
		read_until('Z', 'ReadyForQuery');
		$error_pending = 0;
	}
	elsif ($cmd eq 'fcall')
	{
		@a == 1 or $bad->();
		(my $lit = $a[0]) =~ s/'/''/g;
		send_msg('Q', cstr("SELECT '$lit'::regprocedure::oid"));
		my $oid;
		while (1)
		{
			my ($type, $body) = read_msg($timeout, "the OID of $a[0]");
			if ($type eq 'D')
			{
				my $len = unpack('l>', substr($body, 2, 4));
				$oid = substr($body, 6, $len);
			}
			elsif ($type eq 'E')
			{
				show_msg($type, $body);
			}
			last if $type eq 'Z';
		}
		next unless defined $oid;
		# function OID, no argument formats, no arguments, text result
		send_msg('F', pack('N n n n', $oid, 0, 0, 0));
		read_until('Z', 'ReadyForQuery');
	}
	elsif ($cmd eq 'flush')
	{
		@a == 0 or $bad->();
		send_msg('H', '');
		while (my ($type, $body) = read_msg(0.2))
		{
			show_msg($type, $body);
			$error_pending = 1 if $type eq 'E';
		}
	}
	else
	{
		$bad->();
	}
}

send_msg('X', '');
close $sock;
exit 0;
