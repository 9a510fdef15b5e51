#!/usr/bin/env bash
#
# run.sh - hybridcache benchmark harness.
#
# Measures, side by side in one run with alternating repetitions, plain
# PostgreSQL 15, hybridcache (disabled, L1 hits, misses, L2 hits on a
# standby whose L1 is off, with a plain Redis GET of the same size beside
# them) and pgpool-II's in-memory query cache (on and off) with pgbench,
# plus TPC-B.  Reports tps,
# average latency and server CPU per transaction in
# test/bench/results/<timestamp>/ (results.md, chart.png, raw.csv, logs/).
# See test/bench/README.md for what each configuration means.
#
#   test/bench/run.sh            full run (~35 min)
#   QUICK=1 test/bench/run.sh    smoke test (~3 min, fewer combinations)
#
# Environment (defaults in brackets, QUICK=1 defaults after the slash):
#   BENCH_SECONDS     length of one measurement in s          [4 / 2]
#   BENCH_WARMUP      warm-up in s before the first repetition of the
#                     cache configurations                    [2 / 1]
#   BENCH_REPS        repetitions (median is reported)        [3 / 1]
#   BENCH_STATEMENTS  [select1 pk join agg mixed tpcb]; also available:
#                     mixed_ro (the mixed workload without its writes)
#   BENCH_CONFIGS     only these configurations (e.g. "hc_on hc_l2
#                     redis_get"), in their usual order  [all]
#   BENCH_PROTOCOLS   pgbench -M values     [simple prepared]
#   BENCH_CLIENTS     pgbench -c (= -j)     [1 4 / 4]
#   BENCH_TPCB_PROTOCOLS  protocols for TPC-B [simple]
#   BENCH_SCALE       pgbench scale factor  [10]
#   BENCH_PORT        plain PostgreSQL port; hybridcache uses +1, the
#                     L2 primary +2 and its standby +3             [62432]
#   BENCH_REDIS_PORT  Redis for the L2 configurations             [62379]
#   BENCH_PGPOOL_PORT pgpool with cache; pgpool without cache uses -1 [62999]
#   BENCH_PIN_CPU     the CPU that 1-client cells run on: every server
#                     process and pgbench are pinned to it, so that a
#                     round trip is a switch on one core rather than a
#                     wake-up on the other ("" runs them unpinned)  [0]
#   BENCH_OUT         output directory      [test/bench/results/<timestamp>]
#   BENCH_KEEP_TMP=1  keep the temporary directory (clusters, logs)
#
# Needs root (or sudo) only to install missing Debian packages.  The
# hybridcache extension must already be installed (make install).  As root,
# servers run as the postgres OS user.  Everything runs in a mktemp -d
# directory, on 127.0.0.1 and a Unix socket, and is stopped on exit.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PG_BIN=/usr/lib/postgresql/15/bin
PGPOOL=/usr/sbin/pgpool
PYTHON=/usr/bin/python3
REDIS_SERVER=/usr/bin/redis-server
REDIS_CLI=/usr/bin/redis-cli
REDIS_BENCH=/usr/bin/redis-benchmark
DB=bench

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	def_secs=2 def_warm=1 def_reps=1 def_clients="4"
else
	def_secs=4 def_warm=2 def_reps=3 def_clients="1 4"
fi
SECS=${BENCH_SECONDS:-$def_secs}
WARM=${BENCH_WARMUP:-$def_warm}
REPS=${BENCH_REPS:-$def_reps}
STATEMENTS=${BENCH_STATEMENTS:-select1 pk join agg mixed tpcb}
CONFIGS_ONLY=${BENCH_CONFIGS:-}
PROTOCOLS=${BENCH_PROTOCOLS:-simple prepared}
CLIENTS=${BENCH_CLIENTS:-$def_clients}
TPCB_PROTOCOLS=${BENCH_TPCB_PROTOCOLS:-simple}
SCALE=${BENCH_SCALE:-10}
PG_PORT=${BENCH_PORT:-62432}
HC_PORT=$((PG_PORT + 1))
HCR_PORT=$((PG_PORT + 2))     # hybridcache with Redis: the primary ...
HCS_PORT=$((PG_PORT + 3))     # ... and its standby, where L2 hits are measured
REDIS_PORT=${BENCH_REDIS_PORT:-62379}
POOL_PORT=${BENCH_PGPOOL_PORT:-62999}
POOL_OFF_PORT=$((POOL_PORT - 1))
PIN_CPU=${BENCH_PIN_CPU-0}
OUT=${BENCH_OUT:-$HERE/results/$(date +%Y%m%d-%H%M%S)}
KEEP_TMP=${BENCH_KEEP_TMP:-0}

# Settings shared by both clusters, and those of the hybridcache cluster.
SHARED_BUFFERS=1GB
HC_SHARED_MEMORY=256MB
HC_MAX_ENTRIES=100000
HC_MIN_EXEC_TIME=0
MISS_NONCE_MAX=1000000000000000   # :nonce range in "hc miss" runs

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

for v in SECS WARM REPS SCALE PG_PORT POOL_PORT REDIS_PORT; do
	[[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer: ${!v}"
done
{ [ "$SECS" -ge 1 ] && [ "$REPS" -ge 1 ]; } || die "BENCH_SECONDS and BENCH_REPS must be >= 1"
for v in $STATEMENTS; do
	[[ "$v" =~ ^(select1|pk|join|agg|mixed|mixed_ro|tpcb)$ ]] || die "unknown statement in BENCH_STATEMENTS: $v"
done
for v in $CONFIGS_ONLY; do
	[[ "$v" =~ ^(plain|hc_off|hc_on|hc_noreuse|hc_miss|hc_l2|redis_get|pgpool_cache|pgpool_off)$ ]] ||
		die "unknown configuration in BENCH_CONFIGS: $v"
done
for v in $PROTOCOLS $TPCB_PROTOCOLS; do
	[[ "$v" =~ ^(simple|extended|prepared)$ ]] || die "unknown pgbench protocol: $v"
done
for v in $CLIENTS; do
	[[ "$v" =~ ^[1-9][0-9]?$ ]] || die "BENCH_CLIENTS: 1 to 99 clients, not $v"
done
MAX_CLIENTS=$(tr ' ' '\n' <<<"$CLIENTS" | sort -n | tail -1)
# pgpool needs a child per client (plus one for the statistics queries), and
# PostgreSQL a connection per client and per child of each pgpool.
POOL_CHILDREN=$((MAX_CLIENTS + 4 > 8 ? MAX_CLIENTS + 4 : 8))
MAX_CONNECTIONS=$((2 * POOL_CHILDREN + MAX_CLIENTS + 10))

# ---------------------------------------------------------------- packages

install_deps()
{
	local pkgs=(postgresql-15 postgresql-client-15 pgpool2 gnuplot-nox python3
		redis-server redis-tools)
	local missing=() p
	for p in "${pkgs[@]}"; do
		[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	log "installing Debian packages: ${missing[*]}"
	local sudo=()
	is_root || sudo=(sudo)
	# The pgpool2 package would start a system pgpool where services may
	# start; the harness never uses it (it runs its own instances).
	if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y --no-install-recommends "${missing[@]}"; then
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y --no-install-recommends "${missing[@]}"
	fi
}

install_deps
for f in "$PG_BIN/pgbench" "$PG_BIN/initdb" "$PG_BIN/pg_basebackup" "$PGPOOL" "$PYTHON" \
	/usr/bin/gnuplot "$REDIS_SERVER" "$REDIS_CLI" "$REDIS_BENCH"; do
	[ -x "$f" ] || die "missing $f"
done
[ -f "$("$PG_BIN/pg_config" --pkglibdir)/hybridcache.so" ] ||
	die "hybridcache is not installed: run 'make install' first"

port_in_use() { (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$PG_PORT" "$HC_PORT" "$HCR_PORT" "$HCS_PORT" "$POOL_PORT" "$POOL_OFF_PORT" "$REDIS_PORT"; do
	port_in_use "$p" && die "port $p is already in use (set BENCH_PORT / BENCH_PGPOOL_PORT)"
done

# ------------------------------------------------------- temporary directory

WORK=$(mktemp -d /tmp/hcbench.XXXXXX)
if is_root; then
	chown postgres: "$WORK"
	as_owner() { runuser -u postgres -- "$@"; }
else
	as_owner() { "$@"; }
fi
POOL_PIDS=()   # runuser/pgpool pids started in the background

cleanup()
{
	local rc=$? d pid
	trap - EXIT INT TERM
	set +e
	for d in pgpool_cache pgpool_off; do
		if [ -f "$WORK/$d/pgpool.pid" ]; then
			as_owner "$PGPOOL" -f "$WORK/$d/pgpool.conf" -m fast stop >/dev/null 2>&1
		fi
	done
	for pid in "${POOL_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	for d in hcs plain hc hcr; do
		if [ -f "$WORK/$d/postmaster.pid" ]; then
			as_owner "$PG_BIN/pg_ctl" -D "$WORK/$d" -m fast -w -s stop
		fi
	done
	if [ -f "$WORK/redis/redis.pid" ]; then
		pid=$(cat "$WORK/redis/redis.pid")
		kill "$pid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	if [ "$KEEP_TMP" = 1 ] || [ $rc -ne 0 ]; then
		log "kept temporary directory $WORK"
	else
		rm -rf "$WORK"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$OUT/logs"
START_TS=$(date +%s)
log "output: $OUT"
log "temporary directory: $WORK"

# ------------------------------------------------------------------ clusters

psql_at() # port, psql args...
{
	local port=$1
	shift
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$WORK" -p "$port" -U postgres "$@"
}

start_cluster() # name
{
	as_owner "$PG_BIN/pg_ctl" -D "$WORK/$1" -l "$WORK/$1.log" -w -s start ||
		{ cat "$WORK/$1.log" >&2; die "cannot start cluster $1"; }
}

log "creating the plain cluster and the pgbench data set (scale $SCALE)"
as_owner "$PG_BIN/initdb" -D "$WORK/plain" -U postgres -A trust -E UTF8 --locale=C >/dev/null
cat >>"$WORK/plain/postgresql.conf" <<EOF

# --- test/bench/run.sh ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK'
max_connections = $MAX_CONNECTIONS
shared_buffers = $SHARED_BUFFERS
synchronous_commit = off
autovacuum = off
jit = off
max_parallel_workers_per_gather = 0
checkpoint_timeout = 30min
max_wal_size = 8GB
EOF
start_cluster plain
psql_at "$PG_PORT" -d postgres -c "CREATE DATABASE $DB"
"$PG_BIN/pgbench" -h "$WORK" -p "$PG_PORT" -U postgres -i -I dtGvp -s "$SCALE" -q "$DB" \
	>"$OUT/logs/pgbench-init.log" 2>&1 || { cat "$OUT/logs/pgbench-init.log" >&2; die "pgbench -i failed"; }
psql_at "$PG_PORT" -d "$DB" -c "CREATE EXTENSION pg_prewarm"
as_owner "$PG_BIN/pg_ctl" -D "$WORK/plain" -m fast -w -s stop

hc_conf() # port -> the settings of a hybridcache cluster
{
	cat <<EOF
port = $1
shared_preload_libraries = 'hybridcache'
hybridcache.shared_memory = $HC_SHARED_MEMORY
hybridcache.max_entries = $HC_MAX_ENTRIES
hybridcache.min_exec_time = $HC_MIN_EXEC_TIME
EOF
}

log "copying it into the hybridcache cluster"
as_owner cp -a "$WORK/plain" "$WORK/hc"
hc_conf "$HC_PORT" >>"$WORK/hc/postgresql.conf"
# the same again with Redis, as the primary of a standby whose L1 is off:
# every statement served from the cache there is an L2 hit
as_owner cp -a "$WORK/plain" "$WORK/hcr"
{
	hc_conf "$HCR_PORT"
	echo "hybridcache.l2_min_exec_time = 0"
	echo "hybridcache.redis_url = 'redis://127.0.0.1:$REDIS_PORT'"
	echo "hybridcache.standby_l1 = off"
} >>"$WORK/hcr/postgresql.conf"
log "starting Redis ($("$REDIS_SERVER" --version | cut -d' ' -f1-3))"
as_owner mkdir -p "$WORK/redis"
as_owner "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$WORK/redis" \
	--daemonize yes --pidfile "$WORK/redis/redis.pid" --logfile "$WORK/redis/redis.log" \
	--save '' --appendonly no >/dev/null
for _ in $(seq 100); do
	[ "$("$REDIS_CLI" -p "$REDIS_PORT" PING 2>/dev/null)" = PONG ] && [ -s "$WORK/redis/redis.pid" ] && break
	sleep 0.1
done
[ "$("$REDIS_CLI" -p "$REDIS_PORT" PING 2>/dev/null)" = PONG ] || die "Redis did not start"
REDIS_PID=$(cat "$WORK/redis/redis.pid")

start_cluster plain
start_cluster hc
start_cluster hcr
psql_at "$HC_PORT" -d "$DB" -c "CREATE EXTENSION hybridcache"
psql_at "$HCR_PORT" -d "$DB" -c "CREATE EXTENSION hybridcache"
log "creating the standby of the Redis cluster"
as_owner "$PG_BIN/pg_basebackup" -h "$WORK" -p "$HCR_PORT" -U postgres -D "$WORK/hcs" -R -X stream -c fast
echo "port = $HCS_PORT" | as_owner tee -a "$WORK/hcs/postgresql.conf" >/dev/null
start_cluster hcs
for _ in $(seq 100); do
	[ "$(psql_at "$HCS_PORT" -d "$DB" -c "SELECT state FROM hybridcache_redis_stats()" 2>/dev/null)" = up ] && break
	sleep 0.1
done
[ "$(psql_at "$HCS_PORT" -d "$DB" -c "SELECT state FROM hybridcache_redis_stats()")" = up ] ||
	die "the standby cannot use Redis"
HC_VERSION=$(psql_at "$HC_PORT" -d "$DB" -c "SELECT hybridcache_version()")
[ -z "$(psql_at "$PG_PORT" -d "$DB" -c "SHOW shared_preload_libraries")" ] ||
	die "the plain cluster preloads libraries"
for port in "$PG_PORT" "$HC_PORT" "$HCR_PORT" "$HCS_PORT"; do
	psql_at "$port" -d "$DB" -c "SELECT sum(pg_prewarm(oid::regclass)) FROM pg_class
		WHERE relname LIKE 'pgbench\_%' AND relkind IN ('r', 'i')" >/dev/null
done
PLAIN_PID=$(head -1 "$WORK/plain/postmaster.pid")
HC_PID=$(head -1 "$WORK/hc/postmaster.pid")
HCS_PID=$(head -1 "$WORK/hcs/postmaster.pid")
HCR_PID=$(head -1 "$WORK/hcr/postmaster.pid")

# -------------------------------------------------------------------- pgpool

# One pgpool instance with the query cache and one without, both in front of
# the plain cluster, so that configurations can alternate without restarts.
start_pgpool() # dir, port, memory_cache_enabled
{
	local dir=$WORK/$1 port=$2 cache=$3
	as_owner mkdir -p "$dir/oiddir"
	as_owner touch "$dir/pcp.conf" "$dir/pool_hba.conf"
	as_owner tee "$dir/pgpool.conf" >/dev/null <<EOF
# generated by test/bench/run.sh
# Not 'raw': pgpool 4.3 in raw mode leaves an internal transaction open after
# an autocommit UPDATE sent with the extended protocol, and pgbench -M
# prepared aborts ("end of script reached without completing the last
# transaction").  streaming_replication with one node is the usual
# single-server setup.
backend_clustering_mode = 'streaming_replication'
listen_addresses = '127.0.0.1'
port = $port
socket_dir = '$dir'
pcp_listen_addresses = ''
pcp_port = $((port - 100))
pcp_socket_dir = '$dir'
wd_ipc_socket_dir = '$dir'
use_watchdog = off
backend_hostname0 = '127.0.0.1'
backend_port0 = $PG_PORT
backend_weight0 = 1
backend_flag0 = 'DISALLOW_TO_FAILOVER'
enable_pool_hba = off
pool_passwd = ''
num_init_children = $POOL_CHILDREN
max_pool = 1
child_life_time = 0
child_max_connections = 0
connection_life_time = 0
client_idle_limit = 0
connection_cache = on
load_balance_mode = off
sr_check_period = 0
sr_check_user = 'postgres'
health_check_period = 0
failover_on_backend_error = off
pid_file_name = '$dir/pgpool.pid'
logdir = '$dir'
log_destination = 'stderr'
memory_cache_enabled = $cache
memqcache_method = 'shmem'
memqcache_total_size = 256MB
memqcache_max_num_cache = 1000000
memqcache_expire = 0
memqcache_auto_cache_invalidation = on
memqcache_maxcache = 400kB
memqcache_cache_block_size = 1MB
memqcache_oiddir = '$dir/oiddir'
EOF
	as_owner "$PGPOOL" -n -f "$dir/pgpool.conf" -F "$dir/pcp.conf" -a "$dir/pool_hba.conf" \
		>"$WORK/$1.log" 2>&1 &
	POOL_PIDS+=($!)
	local i
	for i in $(seq 100); do
		if "$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 -p "$port" -U postgres -d "$DB" \
			-c "SELECT 1" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	cat "$WORK/$1.log" >&2
	die "pgpool ($1) did not start"
}

pool_cache_stats() # port -> "hits selects"
{
	# SHOW pool_cache: num_cache_hits | num_selects | cache_hit_ratio | ...
	"$PG_BIN/psql" -X -q -A -t -F ' ' -h 127.0.0.1 -p "$1" -U postgres -d "$DB" \
		-c "SHOW pool_cache" | awk '{ print $1, $2 }'
}

log "starting pgpool-II ($("$PGPOOL" --version 2>&1)) with and without the query cache"
start_pgpool pgpool_cache "$POOL_PORT" on
start_pgpool pgpool_off "$POOL_OFF_PORT" off
# pgpool's pid file ends with NUL bytes
POOL_PID=$(tr -dc '0-9' <"$WORK/pgpool_cache/pgpool.pid")
POOL_OFF_PID=$(tr -dc '0-9' <"$WORK/pgpool_off/pgpool.pid")

# pgpool must really serve hits, or the pgpool columns are meaningless.
read -r h0 _ < <(pool_cache_stats "$POOL_PORT")
for _ in 1 2 3; do
	"$PG_BIN/psql" -X -q -A -t -h 127.0.0.1 -p "$POOL_PORT" -U postgres -d "$DB" \
		-c "SELECT abalance FROM pgbench_accounts WHERE aid = 1" >/dev/null
done
read -r h1 _ < <(pool_cache_stats "$POOL_PORT")
[ $((h1 - h0)) -ge 2 ] || die "pgpool's query cache serves no hits (see $WORK/pgpool_cache.log)"
log "pgpool query cache serves hits ($((h1 - h0)) of 3)"

# ------------------------------------------------------------ measurements

configs_for() # statement -> configurations, in their base order
{
	local c
	for c in $(all_configs_for "$1"); do
		if [ -z "$CONFIGS_ONLY" ] || [[ " $CONFIGS_ONLY " == *" $c "* ]]; then
			printf '%s ' "$c"
		fi
	done
}

all_configs_for() # statement -> every configuration it is measured in
{
	case $1 in
		select1|mixed|mixed_ro) echo "plain hc_off hc_on pgpool_cache pgpool_off" ;;
		pk|join|agg) echo "plain hc_off hc_on hc_noreuse hc_miss hc_l2 redis_get pgpool_cache pgpool_off" ;;
		tpcb) echo "plain hc_off hc_on" ;;
		*) die "unknown statement $1" ;;
	esac
}

protocols_for() { if [ "$1" = tpcb ]; then echo "$TPCB_PROTOCOLS"; else echo "$PROTOCOLS"; fi; }

# pgbench for one configuration; prints pgbench's output.
run_pgbench() # statement protocol clients config seconds
{
	local stmt=$1 proto=$2 clients=$3 cfg=$4 secs=$5
	local conn=(-h "$WORK" -p "$HC_PORT") opts="" nonce_max=1 script=()
	case $cfg in
		plain) conn=(-h "$WORK" -p "$PG_PORT") ;;
		hc_off) opts="-c hybridcache.enabled=off" ;;
		hc_on) ;;
		hc_noreuse) opts="-c hybridcache.reuse_plans=off" ;;
		hc_miss) nonce_max=$MISS_NONCE_MAX ;;
		hc_l2) conn=(-h "$WORK" -p "$HCS_PORT") ;;
		hc_l2_fill) conn=(-h "$WORK" -p "$HCR_PORT") ;;
		pgpool_cache) conn=(-h 127.0.0.1 -p "$POOL_PORT") ;;
		pgpool_off) conn=(-h 127.0.0.1 -p "$POOL_OFF_PORT") ;;
	esac
	case $stmt in
		select1) script=(-f "$HERE/select1.sql") ;;
		pk|join|agg) script=(-f "$HERE/$stmt.sql" -D "nonce_max=$nonce_max") ;;
		mixed) script=(-f "$HERE/mixed_point.sql@40" -f "$HERE/mixed_page.sql@20"
			-f "$HERE/mixed_join.sql@20" -f "$HERE/mixed_agg.sql@10"
			-f "$HERE/mixed_write.sql@10") ;;
		mixed_ro) script=(-f "$HERE/mixed_point.sql@40" -f "$HERE/mixed_page.sql@20"
			-f "$HERE/mixed_join.sql@20" -f "$HERE/mixed_agg.sql@10") ;;
		tpcb) script=(-b tpcb-like) ;;
	esac
	[ "$stmt" = tpcb ] || script+=(-s "$SCALE")
	PGOPTIONS=$opts $(client_cpus "$clients") "$PG_BIN/pgbench" -n -U postgres "${conn[@]}" -M "$proto" \
		-c "$clients" -j "$clients" -T "$secs" "${script[@]}" "$DB" 2>&1
}

hit_counters() # config -> "hits lookups" (pgpool: raw "num_cache_hits num_selects")
{
	case $1 in
		hc_l2) psql_at "$HCS_PORT" -d "$DB" -F ' ' \
			-c "SELECT l2_hits, l1_hits + l2_hits + misses FROM hybridcache_stats()" ;;
		hc_*) psql_at "$HC_PORT" -d "$DB" -F ' ' \
			-c "SELECT l1_hits, l1_hits + misses FROM hybridcache_stats()" ;;
		pgpool_cache) pool_cache_stats "$POOL_PORT" ;;
		*) echo "0 0" ;;
	esac
}

# Statements served from / looked up in pgpool's cache, from the deltas of
# SHOW pool_cache (num_cache_hits H, num_selects S).  With the simple
# protocol a hit counts one H and a miss one S.  With the extended protocol
# (pgbench -M extended and prepared) pgpool 4.3 counts every SELECT in S and
# a hit in H as well (checked with all-hit and all-miss runs).
pool_hits() # protocol dH dS -> "hits lookups"
{
	if [ "$1" = simple ]; then
		echo "$2 $(($2 + $3))"
	else
		echo "$2 $3"
	fi
}

# Fill the cache before the first repetition of a cache configuration.
# pgpool 4.3 stores the result of a named prepared statement only on its
# first execution in a session, not when it is executed again with other
# parameters (pgbench -M prepared stores almost nothing), but it does serve
# prepared statements from entries stored through the extended protocol
# (unnamed statements).  So that the "pgpool cache" column measures hits,
# its prepared runs of the hot-set statements are warmed with -M extended.
warm_up() # statement protocol clients config
{
	local stmt=$1 proto=$2 clients=$3 cfg=$4
	[ "$WARM" -gt 0 ] || return 0
	case $cfg in
		hc_on|hc_noreuse) ;;
		hc_l2)
			# only a primary stores in L2: fill it there, then note the size
			# of the values the standby reads, for the Redis GET beside it
			cfg=hc_l2_fill ;;
		pgpool_cache)
			if [ "$proto" = prepared ] && [[ "$stmt" != mixed* ]]; then
				proto=extended
			fi ;;
		*) return 0 ;;
	esac
	run_pgbench "$stmt" "$proto" "$clients" "$cfg" "$WARM" \
		>"$OUT/logs/$stmt-$2-c$clients-$4-warmup.log" || true
	if [ "$cfg" = hc_l2_fill ]; then
		local b0 h0 b1 h1
		read -r b0 h0 < <(psql_at "$HCS_PORT" -d "$DB" -F ' ' \
			-c "SELECT bytes_received, l2_hits FROM hybridcache_redis_stats()")
		"$PG_BIN/pgbench" -n -U postgres -h "$WORK" -p "$HCS_PORT" -M "$proto" -t 50 \
			-f "$HERE/$stmt.sql" -D nonce_max=1 -s "$SCALE" "$DB" >/dev/null 2>&1 || true
		read -r b1 h1 < <(psql_at "$HCS_PORT" -d "$DB" -F ' ' \
			-c "SELECT bytes_received, l2_hits FROM hybridcache_redis_stats()")
		L2_VALUE_SIZE=$(( h1 > h0 ? (b1 - b0) / (h1 - h0) : 0 ))
		log "$stmt $proto: L2 values of $L2_VALUE_SIZE bytes"
	fi
}

# A plain Redis GET of a value of the size the standby reads, with
# redis-benchmark from the same number of clients: the floor of an L2 hit.
# Prints pgbench-like "tps = ...", "latency average = ... ms" and
# "number of transactions actually processed: ..." lines.
run_redis_get() # clients seconds
{
	local clients=$1 secs=$2 size=${L2_VALUE_SIZE:-0} n out rps
	[ "$size" -gt 0 ] || { echo "no L2 value size known"; return 1; }
	# redis-benchmark GETs the key "key:__rand_int__" (no -r): give it a
	# value of the size first, or every GET would read nothing
	head -c "$size" /dev/zero | tr '\0' x |
		"$REDIS_CLI" -p "$REDIS_PORT" -x SET 'key:__rand_int__' >/dev/null || return 1
	# about secs seconds at ~25k GETs per second and client
	n=$((secs * 25000 * clients))
	out=$($(client_cpus "$clients") "$REDIS_BENCH" -h 127.0.0.1 -p "$REDIS_PORT" -c "$clients" -n "$n" \
		-t get -q 2>&1 | tr '\r' '\n') || return 1
	rps=$(sed -n 's/^GET: \([0-9.]*\) requests per second.*/\1/p' <<<"$out" | tail -1)
	[ -n "$rps" ] || { printf '%s\n' "$out"; return 1; }
	printf '%s\n' "$out" | tail -1
	echo "value size = $size bytes, $("$REDIS_CLI" -p "$REDIS_PORT" STRLEN 'key:__rand_int__') read by each GET"
	echo "number of transactions actually processed: $n"
	awk -v r="$rps" -v c="$clients" 'BEGIN {
		printf "latency average = %.3f ms\n", 1000 * c / r
		printf "tps = %f (without initial connection time)\n", r }'
}

# ---------------------------------------------------------------- CPU pinning

# 1-client cells run with every server process (postmasters and all their
# children, pgpool and Redis) and the client on one CPU.  With one client
# nothing else is runnable while a statement travels between client and
# server, and on this VM a wake-up on the other, idle, CPU costs more than
# the statements measured here (a primary-key lookup: ~10,000 tps unpinned,
# ~40,000 pinned): unpinned, 1-client cells measure the hypervisor's idle
# wake-ups more than the servers.  New backends inherit the postmaster's
# CPU set.  4-client cells use every CPU.
# The CPUs a cell with that many clients runs on: PIN_CPU for 1 client,
# "" (all CPUs) otherwise.
cell_cpus() # clients
{
	if [ "$1" = 1 ]; then echo "$PIN_CPU"; fi
}

# Sets the CPUs of every server process, "" = all CPUs.
pin_servers() # cpu list
{
	local cpus=${1:-0-$((NCPU - 1))} pid
	for pid in $("$PYTHON" "$HERE/procstat.py" --tree "$PLAIN_PID" "$HC_PID" \
		"$HCR_PID" "$HCS_PID" "$REDIS_PID" "$POOL_PID" "$POOL_OFF_PID"); do
		taskset -a -p -c "$cpus" "$pid" >/dev/null 2>&1 || true
	done
}

# the command prefix that runs a client of a cell with that many clients
client_cpus() # clients
{
	local cpus
	cpus=$(cell_cpus "$1")
	if [ -n "$cpus" ]; then echo "taskset -c $cpus"; fi
}

CSV=$OUT/raw.csv
echo "statement,protocol,clients,config,rep,seconds,tps,latency_ms,transactions,failed,server_cpu_us,pgpool_cpu_us,cpu_us_per_txn,cache_hits,cache_lookups,client_cpu_us,other_cpu_us,steal_us,wall_us" >"$CSV"
NCPU=$(nproc)

# Set variable $1 to the CPU time (µs) of the children this shell has waited
# for (pgbench, ...).  `times` must run in this shell, not in a $(...).
children_cpu_us() # variable
{
	times >"$WORK/times"
	printf -v "$1" '%s' "$(awk 'NR == 2 {
		split($1, u, /[ms]/); split($2, s, /[ms]/)
		printf "%.0f\n", ((u[1] + s[1]) * 60 + u[2] + s[2]) * 1e6 }' "$WORK/times")"
}

measure() # statement protocol clients config rep
{
	local stmt=$1 proto=$2 clients=$3 cfg=$4 rep=$5
	local name="$stmt-$proto-c$clients-$cfg-r$rep" roots=("$PLAIN_PID")
	case $cfg in
		hc_l2) roots=("$HCS_PID" "$REDIS_PID") ;;
		redis_get) roots=("$REDIS_PID") ;;
		hc_*) roots=("$HC_PID") ;;
		pgpool_cache) roots+=("$POOL_PID") ;;
		pgpool_off) roots+=("$POOL_OFF_PID") ;;
	esac

	# s = server tree, p = pgpool tree, b = machine busy, st = steal,
	# k = this shell's children (pgbench), t = wall clock
	local h0 l0 h1 l1 s0 p0 b0 st0 s1 p1 b1 st1 k0 k1 t0 t1 out
	read -r h0 l0 < <(hit_counters "$cfg")
	read -r s0 p0 b0 st0 < <("$PYTHON" "$HERE/procstat.py" "${roots[@]}")
	children_cpu_us k0
	t0=$(date +%s%N)
	if [ "$cfg" = redis_get ]; then
		# one protocol is enough for Redis
		[ "$proto" = simple ] || return 0
		if ! out=$(run_redis_get "$clients" "$SECS"); then
			printf '%s\n' "$out" >"$OUT/logs/$name.log"
			log "redis-benchmark failed for $name, see $OUT/logs/$name.log"
			return 0
		fi
	elif ! out=$(run_pgbench "$stmt" "$proto" "$clients" "$cfg" "$SECS"); then
		printf '%s\n' "$out" >"$OUT/logs/$name.log"
		log "pgbench failed for $name, see $OUT/logs/$name.log"
		return 0
	fi
	children_cpu_us k1
	read -r s1 p1 b1 st1 < <("$PYTHON" "$HERE/procstat.py" "${roots[@]}")
	t1=$(date +%s%N)
	read -r h1 l1 < <(hit_counters "$cfg")
	printf '%s\n' "$out" >"$OUT/logs/$name.log"

	local tps lat txns failed
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1/p' <<<"$out")
	txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")
	if [ -z "$tps" ] || [ -z "$txns" ] || [ "$txns" -eq 0 ]; then
		log "no result for $name, see $OUT/logs/$name.log"
		return 0
	fi
	local pcpu=$((p1 - p0)) client=$((k1 - k0)) wall=$(((t1 - t0) / 1000))
	local cpu=$((s1 - s0 + pcpu))
	# CPU used by anything else on the machine meanwhile (other users'
	# jobs, the kernel, this harness): a noise indicator
	local other=$((b1 - b0 - cpu - client))
	[ $other -ge 0 ] || other=0
	local per=$((cpu / txns)) hits=$((h1 - h0)) lookups=$((l1 - l0))
	if [ "$cfg" = pgpool_cache ]; then
		read -r hits lookups < <(pool_hits "$proto" "$hits" "$lookups")
	fi
	echo "$stmt,$proto,$clients,$cfg,$rep,$SECS,$tps,$lat,$txns,${failed:-0},$cpu,$pcpu,$per,$hits,$lookups,$client,$other,$((st1 - st0)),$wall" >>"$CSV"
	local hit=""
	[ "$lookups" -gt 0 ] && hit=", hits $((hits * 100 / lookups))%"
	log "$(printf '[%d/%d] %-7s %-8s c%-2s %-12s r%d: %10.0f tps %8s µs/txn, other load %3d%%%s' \
		"$DONE" "$TOTAL" "$stmt" "$proto" "$clients" "$cfg" "$rep" "$tps" "$per" \
		$((other * 100 / (wall * NCPU))) "$hit")"
}

# Count measurements for the progress display.
TOTAL=0
for stmt in $STATEMENTS; do
	read -r -a cfgs <<<"$(configs_for "$stmt")"
	read -r -a protos <<<"$(protocols_for "$stmt")"
	read -r -a nclients <<<"$CLIENTS"
	TOTAL=$((TOTAL + ${#protos[@]} * ${#nclients[@]} * ${#cfgs[@]} * REPS))
done
DONE=0

cat >"$OUT/meta.txt" <<EOF
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
host=$(uname -srm), $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo)
ncpu=$NCPU
cpu_model=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
postgresql=$("$PG_BIN/postgres" --version)
pgpool=$("$PGPOOL" --version 2>&1)
pin_cpu=$PIN_CPU
redis=$("$REDIS_SERVER" --version | cut -d' ' -f1-3)
hybridcache=$HC_VERSION
quick=$QUICK
seconds=$SECS
warmup=$WARM
reps=$REPS
scale=$SCALE
statements=$STATEMENTS
configs=${CONFIGS_ONLY:-all}
protocols=$PROTOCOLS
tpcb_protocols=$TPCB_PROTOCOLS
clients=$CLIENTS
shared_buffers=$SHARED_BUFFERS
hc_settings=hybridcache.shared_memory=$HC_SHARED_MEMORY, hybridcache.max_entries=$HC_MAX_ENTRIES, hybridcache.min_exec_time=$HC_MIN_EXEC_TIME
EOF

log "running $TOTAL measurements of ${SECS}s ($REPS repetitions)"
for stmt in $STATEMENTS; do
	read -r -a cfgs <<<"$(configs_for "$stmt")"
	n=${#cfgs[@]}
	for proto in $(protocols_for "$stmt"); do
		for clients in $CLIENTS; do
			pin_servers "$(cell_cpus "$clients")"
			for ((rep = 1; rep <= REPS; rep++)); do
				# rotate the order each repetition
				for ((i = 0; i < n; i++)); do
					cfg=${cfgs[$(((i + rep - 1) % n))]}
					[ "$rep" -gt 1 ] || warm_up "$stmt" "$proto" "$clients" "$cfg"
					DONE=$((DONE + 1))
					measure "$stmt" "$proto" "$clients" "$cfg" "$rep"
				done
			done
		done
	done
done

# -------------------------------------------------------------------- report

END_TS=$(date +%s)
echo "runtime_s=$((END_TS - START_TS))" >>"$OUT/meta.txt"
cp "$WORK"/*.log "$OUT/logs/" 2>/dev/null || true
log "writing the report"
"$PYTHON" "$HERE/report.py" "$OUT"
log "done in $(((END_TS - START_TS) / 60)) min $(((END_TS - START_TS) % 60)) s: $OUT/results.md, $OUT/chart.png"
