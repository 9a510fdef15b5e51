#!/usr/bin/env bash
#
# demo.sh - try hybridcache on a throwaway PostgreSQL 15 cluster.
#
#   scripts/demo.sh          install deps, build + install the extension,
#                            (re)create the demo cluster and Redis, load
#                            scripts/demo.sql and run a cached query
#   scripts/demo.sh stop     stop the demo PostgreSQL and Redis, delete the dir
#
# Environment:
#   HYBRIDCACHE_DEMO_DIR     demo directory   (default /tmp/hybridcache-demo;
#                            holds pgdata/, logs, the Unix socket, Redis files)
#   HYBRIDCACHE_DEMO_PORT    PostgreSQL port  (default 63432)
#   HYBRIDCACHE_DEMO_REDIS_PORT  Redis port   (default 63379)
#   HYBRIDCACHE_DEMO_NO_EXT=1    skip building/loading the extension (only
#                            useful to test this script itself)
#
# PostgreSQL listens on 127.0.0.1 and a Unix socket in the demo directory,
# with trust authentication: it is a local throwaway, not for real data.
# As root, the servers run as the `postgres` OS user (initdb refuses root).

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/common.sh
source scripts/common.sh

DEMO_DIR=${HYBRIDCACHE_DEMO_DIR:-/tmp/hybridcache-demo}
DEMO_PORT=${HYBRIDCACHE_DEMO_PORT:-63432}
REDIS_PORT=${HYBRIDCACHE_DEMO_REDIS_PORT:-63379}
NO_EXT=${HYBRIDCACHE_DEMO_NO_EXT:-0}
PGDATA_DIR=$DEMO_DIR/pgdata
MARKER=$DEMO_DIR/.hybridcache-demo     # proves the dir is ours to delete
DB_USER=postgres                       # superuser name given to initdb

case "$DEMO_DIR" in
	/*) ;;
	*) die "HYBRIDCACHE_DEMO_DIR must be an absolute path: $DEMO_DIR" ;;
esac

# Run a command as the demo servers' owner: postgres when we are root.
as_owner()
{
	if is_root; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

psql_demo()
{
	"$PG_BIN/psql" -X -v ON_ERROR_STOP=1 -h "$DEMO_DIR" -p "$DEMO_PORT" -U "$DB_USER" "$@"
}

# Stop the demo servers (if running) and delete the demo directory.
stop_demo()
{
	if [ ! -e "$DEMO_DIR" ]; then
		return 0
	fi
	if [ ! -f "$MARKER" ] && [ -n "$(ls -A "$DEMO_DIR")" ]; then
		die "$DEMO_DIR exists but was not created by demo.sh; refusing to touch it"
	fi

	if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
		log "stopping demo PostgreSQL ($PGDATA_DIR)"
		as_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -s stop ||
			log "warning: pg_ctl stop failed (server not running?)"
	fi

	if [ -f "$DEMO_DIR/redis.pid" ]; then
		local pid
		pid=$(cat "$DEMO_DIR/redis.pid")
		# only signal the pid if it still is a redis-server
		if [[ "$pid" =~ ^[0-9]+$ ]] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "redis-server" ]; then
			log "stopping demo Redis (pid $pid)"
			kill "$pid"
			for _ in $(seq 50); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.1
			done
			! kill -0 "$pid" 2>/dev/null || die "Redis (pid $pid) did not stop"
		fi
	fi

	log "removing $DEMO_DIR"
	rm -rf "$DEMO_DIR"
}

# Fail early, with a clear message, if a port is already taken.
check_port_free()
{
	local port=$1 what=$2
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		die "port $port ($what) on 127.0.0.1 is already in use; set another one in the environment (see the header of $0)"
	fi
}

start_demo()
{
	install_deps
	if [ "$NO_EXT" = 1 ]; then
		log "HYBRIDCACHE_DEMO_NO_EXT=1: not building or loading the extension"
	else
		build_and_install
	fi

	stop_demo       # a previous demo, if any
	check_port_free "$DEMO_PORT" "PostgreSQL"
	check_port_free "$REDIS_PORT" "Redis"

	log "creating demo directory $DEMO_DIR"
	mkdir -p "$DEMO_DIR"
	touch "$MARKER"
	if is_root; then
		chown -R postgres:postgres "$DEMO_DIR"
	fi

	log "initialising the demo cluster"
	as_owner "$PG_BIN/initdb" -D "$PGDATA_DIR" -U "$DB_USER" -A trust -E UTF8 --locale=C.UTF-8 >"$DEMO_DIR/initdb.log" ||
		{ cat "$DEMO_DIR/initdb.log" >&2; die "initdb failed"; }

	{
		echo ""
		echo "# --- added by scripts/demo.sh ---"
		echo "port = $DEMO_PORT"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$DEMO_DIR'"
		if [ "$NO_EXT" != 1 ]; then
			echo "shared_preload_libraries = 'pg_stat_statements, hybridcache'"
			echo "hybridcache.shared_memory = '64MB'"
			echo "hybridcache.redis_url = 'redis://127.0.0.1:$REDIS_PORT'"
		fi
	} >>"$PGDATA_DIR/postgresql.conf"

	log "starting PostgreSQL on port $DEMO_PORT"
	as_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$DEMO_DIR/postgres.log" -w start >/dev/null ||
		{ tail -n 30 "$DEMO_DIR/postgres.log" >&2; die "PostgreSQL failed to start (log: $DEMO_DIR/postgres.log)"; }

	# Redis is not used by the extension yet, but will be.
	log "starting Redis on port $REDIS_PORT"
	as_owner redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
		--save '' --appendonly no --daemonize yes \
		--pidfile "$DEMO_DIR/redis.pid" --dir "$DEMO_DIR" \
		--logfile "$DEMO_DIR/redis.log"
	for _ in $(seq 50); do
		[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && [ -s "$DEMO_DIR/redis.pid" ] && break
		sleep 0.1
	done
	[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] ||
		{ tail -n 20 "$DEMO_DIR/redis.log" >&2 || true; die "Redis failed to start (log: $DEMO_DIR/redis.log)"; }

	log "creating database demo"
	psql_demo -q -d postgres -c "CREATE DATABASE demo"
	if [ "$NO_EXT" != 1 ]; then
		psql_demo -q -d demo -c "CREATE EXTENSION hybridcache" -c "CREATE EXTENSION pg_stat_statements"
	fi

	log "loading scripts/demo.sql (20 categories, 200k products, 1M orders)"
	local t0=$SECONDS
	psql_demo -q -d demo -c "SET client_min_messages = warning" -f scripts/demo.sql
	log "loaded in $((SECONDS - t0)) s"

	log "running the showcase"
	local stats="SELECT * FROM hybridcache_stats();"
	local per_query="SELECT q.calls, h.hits, h.misses, round(h.mean_exec_time::numeric, 1) AS miss_ms, round(h.total_saved_time::numeric, 1) AS saved_ms, left(q.query, 60) AS query FROM hybridcache_query_stats() h JOIN pg_stat_statements q USING (dbid, queryid) ORDER BY h.total_saved_time DESC;"
	if [ "$NO_EXT" = 1 ]; then
		stats="\\echo (HYBRIDCACHE_DEMO_NO_EXT=1: no hybridcache_stats())"
		per_query=""
	fi
	psql_demo -d demo <<EOF
\\timing on
\\set revenue 'SELECT c.name AS category, count(*) AS orders, sum(o.quantity) AS units, sum(o.quantity * p.price) AS revenue FROM orders o JOIN products p USING (product_id) JOIN categories c USING (category_id) GROUP BY c.name ORDER BY revenue DESC LIMIT 5;'
\\echo
\\echo '-- Top 5 categories by revenue (joins 1M orders with 200k products):'
\\echo :revenue
\\echo
\\echo '-- 1st run: cache miss, the query is executed'
:revenue
\\echo
\\echo '-- 2nd run: cache hit'
:revenue
\\echo
\\echo '-- 3rd run: cache hit'
:revenue
\\echo
\\echo '-- A write to a table the query reads invalidates its cached results:'
\\echo 'UPDATE products SET price = price * 1.10 WHERE category_id = (SELECT category_id FROM categories WHERE name = ''Audio'');'
UPDATE products SET price = price * 1.10 WHERE category_id = (SELECT category_id FROM categories WHERE name = 'Audio');
\\echo
\\echo '-- 4th run: cache miss again, fresh result (Audio revenue up 10%)'
:revenue
\\echo
\\echo '-- Cache statistics:'
$stats
\\echo '-- Per query, joined with pg_stat_statements:'
$per_query
EOF

	if [ "$NO_EXT" != 1 ]; then
		log "restarting PostgreSQL: its shared-memory cache (L1) starts empty, Redis (L2) keeps the results"
		as_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$DEMO_DIR/postgres.log" -w restart >/dev/null ||
			die "PostgreSQL failed to restart (log: $DEMO_DIR/postgres.log)"
		local i
		for i in $(seq 1 100); do
			[ "$(psql_demo -d demo -Atc "SELECT state = 'up' AND last_heartbeat IS NOT NULL FROM hybridcache_redis_stats()" 2>/dev/null)" = t ] && break
			sleep 0.1
		done
		psql_demo -d demo <<EOF
\\timing on
\\set revenue 'SELECT c.name AS category, count(*) AS orders, sum(o.quantity) AS units, sum(o.quantity * p.price) AS revenue FROM orders o JOIN products p USING (product_id) JOIN categories c USING (category_id) GROUP BY c.name ORDER BY revenue DESC LIMIT 5;'
\\echo
\\echo '-- 5th run, after the restart: an L2 hit from Redis (then copied into L1)'
:revenue
\\echo '-- 6th run: an L1 hit again'
:revenue
\\echo
\\echo '-- Redis statistics:'
SELECT state, server, l2_hits, l2_misses, l2_stores, round_trips, last_heartbeat IS NOT NULL AS heartbeat FROM hybridcache_redis_stats();
EOF
	fi

	local stop_cmd="scripts/demo.sh stop"
	[ -z "${HYBRIDCACHE_DEMO_DIR:-}" ] || stop_cmd="HYBRIDCACHE_DEMO_DIR=$DEMO_DIR $stop_cmd"
	cat <<EOF

The demo is running.
  Connect:  psql -h $DEMO_DIR -p $DEMO_PORT -U $DB_USER -d demo
       or:  psql -h 127.0.0.1 -p $DEMO_PORT -U $DB_USER -d demo
  Redis:    redis-cli -h 127.0.0.1 -p $REDIS_PORT
  Logs:     $DEMO_DIR/postgres.log, $DEMO_DIR/redis.log
  Stop:     $stop_cmd
EOF
}

case "${1:-start}" in
	start) start_demo ;;
	stop)
		stop_demo
		log "demo stopped"
		;;
	*)
		echo "usage: $0 [start|stop]" >&2
		exit 1
		;;
esac
