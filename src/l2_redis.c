/*-------------------------------------------------------------------------
 *
 * l2_redis.c
 *	  The Redis tier (L2): deadline-bound I/O, circuit breaker, entry codec,
 *	  writer registration and the primary's heartbeat.
 *
 * This is the only file that talks to hiredis.  Every backend opens its
 * own non-blocking connection on first use and drives it through a
 * WaitEventSet (the socket plus the process latch), so one statement
 * never waits longer than hybridcache.redis_timeout in total and query
 * cancel and statement_timeout interrupt a wait.  No path in this file
 * raises an error: a Redis problem is a miss, a counter, and at most one
 * LOG line each time Redis becomes unavailable.
 *
 * Keys live under "<prefix>:<system identifier>:<major>:<format>":
 *
 *	  :hb				heartbeat, refreshed by the primary's worker with
 *						an expiry of hybridcache.redis_heartbeat_timeout
 *	  :epoch			bumped to invalidate every L2 entry at once
 *	  :g:<db>:<rel>		generation of one relation
 *	  :e:<db>:<key>		one cached result
 *	  :l:<db>:<key>		the primary's lease on computing that result
 *	  :s				the stream of the primary's registrations, heartbeats
 *						and flushes, which standbys follow into their L1
 *
 * Coherence (DESIGN.md "Across servers"): a writer on the primary bumps
 * the Redis generations of what it wrote before it commits, after its
 * local registration.  An L2 lookup reads, in one MGET, the heartbeat,
 * the epoch and the generations of the statement's dependencies, and then
 * the entry; the entry is served only if the generations and epoch
 * recorded in it equal the ones read.  A result stored to L2 carries the
 * generations the storing statement's own lookup returned, read before
 * the local store check (invalidation.c) that proves the result current;
 * so any writer the stored result misses bumps a generation after that
 * read and makes the entry unservable.
 *
 * The Lua scripts are loaded once per connection (SCRIPT LOAD in the
 * handshake) and then run by their SHA1 (EVALSHA).  Lookups, the most
 * frequent command, use the lookup script only when an epoch or
 * generation has to be created: running a script costs Redis about ten
 * times the commands in it.
 *
 * A writer that cannot reach Redis cannot fail its commit; it "fences" L2
 * instead: the primary stops reading and writing L2 until its worker has
 * bumped the epoch, which it does once Redis answers again.  Other
 * servers stop using L2 when the primary's heartbeat expires, and the
 * worker stops the heartbeat while a fence is pending, so the window in
 * which a standby might still read an entry a fenced write made stale is
 * bounded by hybridcache.redis_heartbeat_timeout.  The worker also bumps
 * the epoch when it finds a Redis other than the one it last bumped it on
 * (INFO run_id: Redis may have restarted from an old snapshot), when its
 * server was promoted, and at start unless the server was shut down
 * cleanly with no fence pending (a marker file holding that run_id).
 *
 * Standbys keep an L1 of their own, fed by the stream (INTERNALS.md 7).
 * Each registration is also appended to the stream with the writer's XID,
 * in the same script, before the writer commits; the primary's worker
 * appends heartbeats carrying its WAL insert position and next XID (after
 * every commit that registered, and at least every half second).  A
 * standby's worker applies the stream to its generations and writer rings
 * in order.  A standby backend may use an L1 entry only when the applied
 * heartbeat position is at least its replay position: every commit its
 * snapshot can see registered before that heartbeat was written, so its
 * registration has been applied.  When the standby may have missed part
 * of the stream (first start, Redis restarted or trimmed the stream, the
 * primary fenced a write), it flushes its L1 and waits for the second
 * heartbeat after the gap, whose next XID bounds every writer it can have
 * missed; that bound becomes a floor no stored result's snapshot may be
 * older than.
 *
 * Values are the L1 entry format behind a small header with the Redis
 * stamp and a CRC-32C, or an HMAC-SHA256 when hybridcache.redis_secret is
 * set.  Values that fail any check are a miss and a counter; without a
 * secret, whoever can write to Redis can make the cache serve other rows,
 * so set one when Redis is shared with anything untrusted.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/l2_redis.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "lib/stringinfo.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha1.h"
#include "common/pg_prng.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "port/pg_crc32c.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#define HC_L2_MAGIC			0x48434C32	/* "HCL2" */
#define HC_L2_FLAG_HMAC		0x0001
#define HC_L2_MAC_LEN		32
#define HC_L2_CLEAN_MARKER	"hybridcache_l2_clean"
#define HC_L2_LOG_INTERVAL_MS	60000

/* a value larger than a stored entry can be is foreign */
#define HC_L2_MAX_VALUE() \
	((Size) hc_max_entry_size_kb * 1024 + 64 * 1024)

typedef enum hcRedisError
{
	HC_RE_NONE,
	HC_RE_CONNECT,
	HC_RE_TIMEOUT,
	HC_RE_IO,
	HC_RE_AUTH,
	HC_RE_REPLY,
	HC_RE_TOO_LARGE,
	HC_RE_INTERRUPTED			/* not Redis' fault: no breaker */
} hcRedisError;

static const char *const error_kinds[] = {
	"none", "connect", "timeout", "io", "auth", "reply", "too_large",
	"interrupted"
};

typedef struct hcL2Shared
{
	slock_t		mutex;			/* protects the fields below the atomics */
	pg_atomic_uint64 down_until;	/* TimestampTz; 0: not down */
	pg_atomic_uint64 fence_count;	/* write transactions Redis missed */
	pg_atomic_uint64 fence_cleared; /* fence_count an epoch bump covers */
	int			failures;		/* consecutive failures, 0: up */
	TimestampTz last_error_time;
	char		last_error[256];
	TimestampTz last_heartbeat;
	uint64		heartbeat_lsn;
	TimestampTz last_invalid_log;	/* rate limit for bad values */
	TimestampTz last_down_log;	/* rate limit for "unavailable" lines */
	bool		down_logged;	/* the current outage was logged */
	/* the stream: on a standby, the applied heartbeat position (0: L1 off) */
	pg_atomic_uint64 stream_lsn;
	pg_atomic_uint64 stream_resyncs;	/* gaps the standby recovered from */
	Latch	   *worker_latch;	/* set by writers after they commit */
	bool		stream_active;	/* the worker is publishing or following */
} hcL2Shared;

/* On-the-wire header of an L2 value; the L1 blob follows the gens. */
typedef struct hcL2Header
{
	uint32		magic;
	uint16		format;
	uint16		flags;
	uint32		ndeps;
	uint32		reserved;
	uint64		blob_len;
	uint64		epoch;
	uint8		mac[HC_L2_MAC_LEN];
} hcL2Header;

typedef struct hcRedisCmd
{
	int			argc;
	const char **argv;
	size_t	   *argvlen;
} hcRedisCmd;

/* A command made of argc C strings; len receives their lengths. */
static void
cmd_of_strings(hcRedisCmd *cmd, int argc, const char **argv, size_t *len)
{
	int			i;

	for (i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	cmd->argc = argc;
	cmd->argv = argv;
	cmd->argvlen = len;
}

static hcL2Shared *l2 = NULL;

static void disconnect(void);

/* this process' connection */
static redisContext *conn = NULL;
static uint32 conn_version = 0;
static bool conn_handshake_done = false;
static char conn_run_id[48];	/* INFO run_id of the connected Redis */
static WaitEventSet *conn_wes = NULL;
static int	conn_sock_pos = -1;
static uint32 conn_sock_events = 0;
static bool am_worker = false;
static bool worker_reconnected = false;

/*
 * Lookup, when an epoch or generation is missing (lookup_plain() does the
 * rest without a script): the heartbeat must exist and have been written
 * to this very Redis process (ARGV[3] is its run_id: a heartbeat restored
 * from an old snapshot does not count); returns {1, epoch, gens..., value,
 * lease}, where value is 0 when absent, -1 when too large, -2 when not a string,
 * and lease the milliseconds left of the primary's lease on computing
 * this result (KEYS[4]), 0 when there is none.  Missing generations (and
 * epoch) start at a random value, never at a value an old entry could
 * carry.
 */
static const char lookup_script[] =
"local hb = redis.call('GET', KEYS[1])\n"
"if not hb or string.sub(hb, 1, #ARGV[3] + 1) ~= ARGV[3] .. ' ' then return {0} end\n"
"local out = {1}\n"
"for i = 2, #KEYS do\n"
"  if i ~= 3 and i ~= 4 then\n"
"    local v = redis.call('GET', KEYS[i])\n"
"    if not v then\n"
"      redis.call('SET', KEYS[i], ARGV[2] .. i, 'NX')\n"
"      v = redis.call('GET', KEYS[i])\n"
"    end\n"
"    out[#out + 1] = v\n"
"  end\n"
"end\n"
"local t = redis.call('TYPE', KEYS[3]).ok\n"
"if t == 'none' then out[#out + 1] = 0\n"
"elseif t ~= 'string' then out[#out + 1] = -2\n"
"elseif redis.call('STRLEN', KEYS[3]) > tonumber(ARGV[1]) then out[#out + 1] = -1\n"
"else out[#out + 1] = redis.call('GET', KEYS[3]) end\n"
"out[#out + 1] = math.max(redis.call('PTTL', KEYS[4]), 0)\n"
"return out\n";

/*
 * Registration: bump each generation (KEYS[3..]), or give a missing one a
 * new value, and append ARGV[2] to the stream KEYS[1], which keeps about
 * ARGV[3] messages, numbered by the counter KEYS[2] so that a follower
 * can tell when it missed some.  Heartbeats use it without generations.
 */
static const char register_script[] =
"for i = 3, #KEYS do\n"
"  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('INCR', KEYS[i])\n"
"  else redis.call('SET', KEYS[i], ARGV[1] .. i) end\n"
"end\n"
"local n = redis.call('INCR', KEYS[2])\n"
"redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'm', n .. ' ' .. ARGV[2])\n"
"return n\n";

/*
 * Following the stream KEYS[1] (standby): ARGV[1] is the id of the last
 * message applied, '' when there is none.  Returns {1, last id, counter}
 * when there is none, or when the stream restarted below it (start after
 * the last message), else {0, last id, counter, id, message, ...} with up
 * to ARGV[2] messages after ARGV[1].
 */
static const char follow_script[] =
"local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)\n"
"local lastid = last[1] and last[1][1] or '0-0'\n"
"local seq = redis.call('GET', KEYS[2]) or '0'\n"
"local function before(a, b)\n"
"  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')\n"
"  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')\n"
"  ams, aseq, bms, bseq = tonumber(ams), tonumber(aseq), tonumber(bms), tonumber(bseq)\n"
"  return ams < bms or (ams == bms and aseq < bseq)\n"
"end\n"
"if ARGV[1] == '' or before(lastid, ARGV[1]) then return {1, lastid, seq} end\n"
"local out = {0, lastid, seq}\n"
"for _, e in ipairs(redis.call('XRANGE', KEYS[1], '(' .. ARGV[1], '+', 'COUNT', ARGV[2])) do\n"
"  out[#out + 1] = e[1]\n"
"  out[#out + 1] = e[2][2] or ''\n"
"end\n"
"return out\n";

/*
 * The scripts are sent once per connection (SCRIPT LOAD, in the
 * handshake) and then run by their SHA1 with EVALSHA, so a lookup does not
 * carry the lookup script's text.  A Redis that lost them (SCRIPT FLUSH)
 * answers NOSCRIPT: that command fails like any other Redis error, and the
 * next one loads the scripts again.
 */
typedef enum hcScript
{
	HC_SCRIPT_LOOKUP,
	HC_SCRIPT_REGISTER,
	HC_SCRIPT_FOLLOW,
	HC_NUM_SCRIPTS
} hcScript;

static const char *const script_text[HC_NUM_SCRIPTS] = {
	lookup_script, register_script, follow_script
};

/* SHA1 (hex) of each script: what EVALSHA names it by */
static char script_sha_hex[HC_NUM_SCRIPTS][2 * SHA1_DIGEST_LENGTH + 1];

/*
 * Compute the scripts' SHA1s; called from _PG_init, so that backends
 * inherit them.  If that fails, commands send the scripts' text (EVAL).
 */
void
hc_l2_init_scripts(void)
{
	/* OpenSSL-backed hashes register with a resource owner */
	ResourceOwner saved = CurrentResourceOwner;
	ResourceOwner owner = ResourceOwnerCreate(NULL, "hybridcache scripts");
	int			id;

	CurrentResourceOwner = owner;
	for (id = 0; id < HC_NUM_SCRIPTS; id++)
	{
		pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA1);
		uint8		digest[SHA1_DIGEST_LENGTH];
		int			i;

		if (ctx == NULL ||
			pg_cryptohash_init(ctx) < 0 ||
			pg_cryptohash_update(ctx, (const uint8 *) script_text[id],
								 strlen(script_text[id])) < 0 ||
			pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		{
			ereport(LOG,
					(errmsg("hybridcache could not compute the SHA1 of its Redis scripts: %s",
							ctx ? pg_cryptohash_error(ctx) : "out of memory"),
					 errdetail("Each command sends the script's text instead.")));
			pg_cryptohash_free(ctx);
			memset(script_sha_hex, 0, sizeof(script_sha_hex));
			break;
		}
		pg_cryptohash_free(ctx);
		for (i = 0; i < SHA1_DIGEST_LENGTH; i++)
			snprintf(&script_sha_hex[id][2 * i], 3, "%02x", digest[i]);
	}
	CurrentResourceOwner = saved;
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_BEFORE_LOCKS, false, true);
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_LOCKS, false, true);
	ResourceOwnerRelease(owner, RESOURCE_RELEASE_AFTER_LOCKS, false, true);
	ResourceOwnerDelete(owner);
}

/* Make argv[0] and argv[1] run script id. */
static void
set_script(const char **argv, hcScript id)
{
	if (script_sha_hex[id][0] != '\0')
	{
		argv[0] = "EVALSHA";
		argv[1] = script_sha_hex[id];
	}
	else
	{
		argv[0] = "EVAL";
		argv[1] = script_text[id];
	}
}

/* about this many messages stay in the stream */
#define HC_STREAM_MAXLEN	"100000"
/* messages a standby applies per round trip */
#define HC_STREAM_BATCH		500

/*---- shared memory ----*/

Size
hc_l2_shmem_size(void)
{
	return MAXALIGN(sizeof(hcL2Shared));
}

void
hc_l2_shmem_init(void)
{
	bool		found;

	l2 = ShmemInitStruct("hybridcache redis", sizeof(hcL2Shared), &found);
	if (!found)
	{
		memset(l2, 0, sizeof(hcL2Shared));
		SpinLockInit(&l2->mutex);
		pg_atomic_init_u64(&l2->down_until, 0);
		pg_atomic_init_u64(&l2->fence_count, 0);
		pg_atomic_init_u64(&l2->fence_cleared, 0);
		pg_atomic_init_u64(&l2->stream_lsn, 0);
		pg_atomic_init_u64(&l2->stream_resyncs, 0);
	}
}

static bool
fenced(void)
{
	return pg_atomic_read_u64(&l2->fence_count) !=
		pg_atomic_read_u64(&l2->fence_cleared);
}

/*---- circuit breaker ----*/

static bool
breaker_open(void)
{
	uint64		until = pg_atomic_read_u64(&l2->down_until);

	return until != 0 && GetCurrentTimestamp() < (TimestampTz) until;
}

static void
breaker_failure(hcRedisError kind, const char *msg)
{
	TimestampTz now = GetCurrentTimestamp();
	int			failures;
	int64		backoff_ms;
	double		jitter;
	bool		log_it;

	switch (kind)
	{
		case HC_RE_CONNECT:
			hc_count_redis(HC_R_ERR_CONNECT, 1);
			break;
		case HC_RE_TIMEOUT:
			hc_count_redis(HC_R_ERR_TIMEOUT, 1);
			break;
		case HC_RE_IO:
			hc_count_redis(HC_R_ERR_IO, 1);
			break;
		case HC_RE_AUTH:
			hc_count_redis(HC_R_ERR_AUTH, 1);
			break;
		case HC_RE_REPLY:
			hc_count_redis(HC_R_ERR_REPLY, 1);
			break;
		case HC_RE_TOO_LARGE:
			hc_count_redis(HC_R_ERR_TOO_LARGE, 1);
			break;
		default:
			return;
	}

	SpinLockAcquire(&l2->mutex);
	failures = ++l2->failures;
	backoff_ms = (int64) hc_redis_backoff_min_ms << Min(failures - 1, 20);
	backoff_ms = Min(backoff_ms, (int64) hc_redis_backoff_max_ms);
	jitter = 0.75 + 0.5 * pg_prng_double(&pg_global_prng_state);
	backoff_ms = (int64) (backoff_ms * jitter);
	pg_atomic_write_u64(&l2->down_until,
						(uint64) (now + backoff_ms * 1000));
	l2->last_error_time = now;
	snprintf(l2->last_error, sizeof(l2->last_error), "%s: %s",
			 error_kinds[kind], msg);
	/*
	 * One line when Redis becomes unavailable, not one per statement, and
	 * at most one a minute when it keeps coming and going.
	 */
	log_it = failures == 1 &&
		TimestampDifferenceExceeds(l2->last_down_log, now, HC_L2_LOG_INTERVAL_MS);
	if (log_it)
	{
		l2->last_down_log = now;
		l2->down_logged = true;
	}
	SpinLockRelease(&l2->mutex);

	if (log_it)
	{
		if (kind == HC_RE_AUTH)
			ereport(LOG,
					(errmsg("hybridcache could not authenticate to Redis at %s",
							hc_redis_target ? hc_redis_target->display : "?"),
					 errdetail("Redis replied: %s", msg),
					 errhint("Check the user name and password in \"%s\". Until then results are cached in this server only.",
							 "hybridcache.redis_url")));
		else
			ereport(LOG,
					(errmsg("hybridcache could not use Redis at %s: %s",
							hc_redis_target ? hc_redis_target->display : "?",
							msg),
					 errdetail("Results are served from this server's cache and the database until Redis responds again.")));
	}
}

static void
breaker_success(void)
{
	bool		was_down = false;

	if (l2->failures == 0)
		return;
	SpinLockAcquire(&l2->mutex);
	if (l2->failures > 0)
	{
		was_down = l2->down_logged;
		l2->down_logged = false;
		l2->failures = 0;
		pg_atomic_write_u64(&l2->down_until, 0);
	}
	SpinLockRelease(&l2->mutex);
	if (was_down)
		ereport(LOG,
				(errmsg("hybridcache is using Redis at %s again",
						hc_redis_target ? hc_redis_target->display : "?")));
}

/*
 * The configuration was reloaded (worker): whatever failed before may work
 * now, and a new failure deserves a new log line.
 */
void
hc_l2_config_reloaded(void)
{
	if (l2 == NULL)
		return;
	SpinLockAcquire(&l2->mutex);
	l2->failures = 0;
	l2->last_down_log = 0;
	l2->down_logged = false;
	pg_atomic_write_u64(&l2->down_until, 0);
	SpinLockRelease(&l2->mutex);
	disconnect();
}

/* A bad value was found in Redis: count it, log at most once a minute. */
static void
value_rejected(const char *why)
{
	TimestampTz now = GetCurrentTimestamp();
	bool		report = false;

	hc_count_redis(HC_R_L2_REJECTED, 1);
	SpinLockAcquire(&l2->mutex);
	if (TimestampDifferenceExceeds(l2->last_invalid_log, now,
								   HC_L2_LOG_INTERVAL_MS))
	{
		l2->last_invalid_log = now;
		report = true;
	}
	SpinLockRelease(&l2->mutex);
	if (report)
		ereport(LOG,
				(errmsg("hybridcache ignored an invalid cached result in Redis"),
				 errdetail("%s", why),
				 errhint("Only servers of this cluster should write under the key prefix \"%s\"; set \"%s\" to detect forged values.",
						 hc_redis_prefix, "hybridcache.redis_secret")));
}

/*---- connection and deadline-bound I/O ----*/

static void
disconnect(void)
{
	if (conn_wes != NULL)
	{
		FreeWaitEventSet(conn_wes);
		conn_wes = NULL;
	}
	if (conn != NULL)
	{
		redisFree(conn);
		conn = NULL;
	}
	conn_sock_pos = -1;
	conn_handshake_done = false;
}

static bool
fail(hcRedisError kind, const char *msg)
{
	disconnect();
	breaker_failure(kind, msg);
	return false;
}

/*
 * Wait until the socket is ready for events or the deadline passes.
 * Returns HC_RE_NONE when ready.  A latch wake-up with an interrupt
 * pending drops the connection before the interrupt is processed, so an
 * error raised by CHECK_FOR_INTERRUPTS leaves no half-used context.
 */
static hcRedisError
wait_socket(uint32 events, TimestampTz deadline, bool interruptible)
{
	for (;;)
	{
		WaitEvent	ev;
		long		timeout_ms;
		TimestampTz now = GetCurrentTimestamp();

		if (now >= deadline)
			return HC_RE_TIMEOUT;
		timeout_ms = (long) ((deadline - now + 999) / 1000);

		if (conn_sock_events != events)
		{
			ModifyWaitEvent(conn_wes, conn_sock_pos, events, NULL);
			conn_sock_events = events;
		}
		if (WaitEventSetWait(conn_wes, timeout_ms, &ev, 1,
							 PG_WAIT_EXTENSION) == 0)
			continue;			/* re-check the deadline */
		if (ev.events & events)
			return HC_RE_NONE;
		if (ev.events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			if (am_worker)
			{
				if (ShutdownRequestPending)
					return HC_RE_INTERRUPTED;
			}
			else if (InterruptPending && interruptible &&
					 INTERRUPTS_CAN_BE_PROCESSED())
			{
				disconnect();
				CHECK_FOR_INTERRUPTS();
				return HC_RE_INTERRUPTED;
			}
		}
	}
}

/* Connect if not connected to the current target. */
static bool
ensure_connected(TimestampTz deadline, bool interruptible)
{
	const hcRedisTarget *t = hc_redis_target;
	hcRedisError err;
	int			soerr = 0;
	socklen_t	optlen = sizeof(soerr);

	if (conn != NULL && conn_version == hc_redis_target_version)
		return true;
	disconnect();

	conn = t->is_unix ? redisConnectUnixNonBlock(t->path)
		: redisConnectNonBlock(t->host, t->port);
	if (conn == NULL)
		return fail(HC_RE_CONNECT, "out of memory");
	if (conn->err)
	{
		char		msg[256];

		strlcpy(msg, conn->errstr, sizeof(msg));
		return fail(HC_RE_CONNECT, msg);
	}
	conn_version = hc_redis_target_version;
	if (am_worker)
		worker_reconnected = true;

	conn_wes = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(conn_wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(conn_wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET,
					  NULL, NULL);
	conn_sock_pos = AddWaitEventToSet(conn_wes, WL_SOCKET_WRITEABLE,
									  conn->fd, NULL, NULL);
	conn_sock_events = WL_SOCKET_WRITEABLE;

	/* the non-blocking connect completes when the socket is writable */
	err = wait_socket(WL_SOCKET_WRITEABLE, deadline, interruptible);
	if (err != HC_RE_NONE)
		return fail(err == HC_RE_TIMEOUT ? HC_RE_CONNECT : err,
					err == HC_RE_TIMEOUT ? "connection timed out" : "interrupted");
	if (getsockopt(conn->fd, SOL_SOCKET, SO_ERROR, &soerr, &optlen) < 0)
		soerr = errno;
	if (soerr != 0)
		return fail(HC_RE_CONNECT, strerror(soerr));
	return true;
}

/* Report a failed exchange: classify and drop the connection. */
static bool
fail_exchange(hcRedisError kind)
{
	char		msg[256];

	if (kind == HC_RE_IO && conn != NULL && conn->err)
		strlcpy(msg, conn->errstr, sizeof(msg));
	else if (kind == HC_RE_TIMEOUT)
		snprintf(msg, sizeof(msg), "no reply within %d ms", hc_redis_timeout_ms);
	else if (kind == HC_RE_TOO_LARGE)
		strlcpy(msg, "reply larger than any cached result", sizeof(msg));
	else
		strlcpy(msg, "connection lost", sizeof(msg));
	return fail(kind, msg);
}

/* Send what is buffered, before the deadline. */
static bool
flush_output(TimestampTz deadline, bool interruptible)
{
	int			done = 0;

	hc_count_redis(HC_R_ROUND_TRIPS, 1);
	hc_count_redis(HC_R_BYTES_SENT, sdslen(conn->obuf));
	while (!done)
	{
		hcRedisError err;

		if (redisBufferWrite(conn, &done) != REDIS_OK)
			return fail_exchange(HC_RE_IO);
		if (done)
			break;
		err = wait_socket(WL_SOCKET_WRITEABLE, deadline, interruptible);
		if (err == HC_RE_INTERRUPTED)
		{
			disconnect();
			return false;
		}
		if (err != HC_RE_NONE)
			return fail_exchange(err);
	}
	return true;
}

/* Read one reply, before the deadline; NULL on failure. */
static redisReply *
read_reply(TimestampTz deadline, bool interruptible)
{
	Size		max_buffered = HC_L2_MAX_VALUE() + 1024 * 1024;

	for (;;)
	{
		void	   *reply = NULL;
		hcRedisError err;

		if (redisGetReplyFromReader(conn, &reply) != REDIS_OK)
		{
			fail_exchange(HC_RE_REPLY);
			return NULL;
		}
		if (reply != NULL)
			return (redisReply *) reply;
		if (conn->reader->len > max_buffered)
			err = HC_RE_TOO_LARGE;
		else
			err = wait_socket(WL_SOCKET_READABLE, deadline, interruptible);
		if (err == HC_RE_NONE && redisBufferRead(conn) != REDIS_OK)
			err = HC_RE_IO;
		if (err == HC_RE_INTERRUPTED)
		{
			disconnect();
			return NULL;
		}
		if (err != HC_RE_NONE)
		{
			fail_exchange(err);
			return NULL;
		}
	}
}

static bool
is_auth_error(const char *msg)
{
	return strncmp(msg, "NOAUTH", 6) == 0 ||
		strncmp(msg, "WRONGPASS", 9) == 0 ||
		strncmp(msg, "NOPERM", 6) == 0;
}

/* The first line of hybridcache.redis_password_file. */
static bool
read_password_file(char *buf, Size size)
{
	FILE	   *f = AllocateFile(hc_redis_password_file, "r");
	char		msg[256];

	if (f == NULL)
	{
		snprintf(msg, sizeof(msg), "could not open password file \"%s\": %s",
				 hc_redis_password_file, strerror(errno));
		return fail(HC_RE_AUTH, msg);
	}
	if (fgets(buf, size, f) == NULL)
		buf[0] = '\0';
	FreeFile(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	if (buf[0] == '\0')
	{
		snprintf(msg, sizeof(msg), "password file \"%s\" is empty",
				 hc_redis_password_file);
		return fail(HC_RE_AUTH, msg);
	}
	return true;
}

/*
 * Connect if needed and, on a new connection, authenticate, select the
 * database and learn which Redis process this is (INFO run_id).
 */
static bool
ensure_ready(TimestampTz deadline, bool interruptible)
{
	const hcRedisTarget *t = hc_redis_target;
	char		kinds[3 + HC_NUM_SCRIPTS];
	int			n = 0;
	int			i;

	char		password[256];

	if (!ensure_connected(deadline, interruptible))
		return false;
	if (conn_handshake_done)
		return true;

	strlcpy(password, t->password, sizeof(password));
	if (password[0] == '\0' && hc_redis_password_file[0] != '\0' &&
		!read_password_file(password, sizeof(password)))
		return false;
	if (password[0] != '\0')
	{
		if (t->user[0] != '\0')
			redisAppendCommand(conn, "AUTH %s %s", t->user, password);
		else
			redisAppendCommand(conn, "AUTH %s", password);
		kinds[n++] = 'a';
	}
	explicit_bzero(password, sizeof(password));
	if (t->db != 0)
	{
		redisAppendCommand(conn, "SELECT %d", t->db);
		kinds[n++] = 's';
	}
	redisAppendCommand(conn, "INFO server");
	kinds[n++] = 'i';
	for (i = 0; i < HC_NUM_SCRIPTS; i++)
	{
		if (script_sha_hex[i][0] == '\0')
			continue;
		redisAppendCommand(conn, "SCRIPT LOAD %s", script_text[i]);
		kinds[n++] = '0' + i;
	}
	if (!flush_output(deadline, interruptible))
		return false;

	for (i = 0; i < n; i++)
	{
		redisReply *r = read_reply(deadline, interruptible);
		char		msg[256];

		if (r == NULL)
			return false;
		if (r->type == REDIS_REPLY_ERROR)
		{
			bool		auth = kinds[i] == 'a' || is_auth_error(r->str);

			strlcpy(msg, r->str, sizeof(msg));
			freeReplyObject(r);
			return fail(auth ? HC_RE_AUTH : HC_RE_REPLY, msg);
		}
		if (kinds[i] == 'i')
		{
			const char *p = r->type == REDIS_REPLY_STRING
				? strstr(r->str, "run_id:") : NULL;
			size_t		len = p ? strcspn(p + 7, "\r\n") : 0;

			if (len == 0 || len >= sizeof(conn_run_id))
			{
				freeReplyObject(r);
				return fail(HC_RE_REPLY, "INFO did not report a run_id");
			}
			memcpy(conn_run_id, p + 7, len);
			conn_run_id[len] = '\0';
		}
		else if (kinds[i] >= '0' && kinds[i] < '0' + HC_NUM_SCRIPTS &&
				 (r->type != REDIS_REPLY_STRING ||
				  strcmp(r->str, script_sha_hex[kinds[i] - '0']) != 0))
		{
			freeReplyObject(r);
			return fail(HC_RE_REPLY, "SCRIPT LOAD returned another SHA1 than the script's");
		}
		freeReplyObject(r);
	}
	conn_handshake_done = true;
	return true;
}

/* Append "<tag><n>\r\n" at p; returns the new end. */
static char *
put_resp_header(char *p, char tag, size_t n)
{
	*p++ = tag;
	p += pg_ulltoa_n((uint64) n, p);
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/*
 * The commands in the Redis protocol (RESP arrays of bulk strings), in one
 * buffer; NULL when out of memory.  hiredis' own formatting
 * (redisAppendCommandArgv) took 10,000 instructions for a lookup's three
 * commands.
 */
static char *
format_commands(const hcRedisCmd *cmds, int ncmds, size_t *len)
{
	size_t		total = 0;
	char	   *buf;
	char	   *p;
	int			i;
	int			j;

	/* a header is a tag, at most 20 digits and CRLF */
	for (i = 0; i < ncmds; i++)
	{
		total += 23;
		for (j = 0; j < cmds[i].argc; j++)
			total += 23 + cmds[i].argvlen[j] + 2;
	}
	buf = MemoryContextAllocExtended(CurrentMemoryContext, total,
									 MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
	if (buf == NULL)
		return NULL;
	p = buf;
	for (i = 0; i < ncmds; i++)
	{
		p = put_resp_header(p, '*', cmds[i].argc);
		for (j = 0; j < cmds[i].argc; j++)
		{
			p = put_resp_header(p, '$', cmds[i].argvlen[j]);
			memcpy(p, cmds[i].argv[j], cmds[i].argvlen[j]);
			p += cmds[i].argvlen[j];
			*p++ = '\r';
			*p++ = '\n';
		}
	}
	*len = p - buf;
	return buf;
}

/*
 * Send commands in one pipeline and collect one reply each, before the
 * deadline.  On success the caller owns the replies (freeReplyObject).
 * Error replies are returned as such, except authentication errors.
 */
static bool
redis_exec(hcRedisCmd *cmds, int ncmds, redisReply **replies,
		   TimestampTz deadline, bool interruptible)
{
	int			i;
	char	   *resp;
	size_t		resp_len;
	bool		appended;

	memset(replies, 0, sizeof(redisReply *) * ncmds);
	if (!ensure_ready(deadline, interruptible))
		return false;
	resp = format_commands(cmds, ncmds, &resp_len);
	if (resp == NULL)
		return fail(HC_RE_IO, "out of memory");
	appended = redisAppendFormattedCommand(conn, resp, resp_len) == REDIS_OK;
	pfree(resp);
	if (!appended)
		return fail(HC_RE_IO, "out of memory");
	if (!flush_output(deadline, interruptible))
		return false;

	for (i = 0; i < ncmds; i++)
	{
		replies[i] = read_reply(deadline, interruptible);
		if (replies[i] == NULL ||
			(replies[i]->type == REDIS_REPLY_ERROR && is_auth_error(replies[i]->str)))
		{
			char		msg[256];
			bool		auth = replies[i] != NULL;
			int			j;

			if (auth)
				strlcpy(msg, replies[i]->str, sizeof(msg));
			for (j = 0; j <= i; j++)
				if (replies[j])
					freeReplyObject(replies[j]);
			memset(replies, 0, sizeof(redisReply *) * ncmds);
			/* later replies are still unread: start over next time */
			if (auth)
				fail(HC_RE_AUTH, msg);
			return false;
		}
		/* the scripts are gone (SCRIPT FLUSH): load them again next time */
		if (replies[i]->type == REDIS_REPLY_ERROR &&
			strncmp(replies[i]->str, "NOSCRIPT", 8) == 0)
			conn_handshake_done = false;
	}
	return true;
}

/* One command, one reply; an error reply fails the call. */
static redisReply *
redis_exec1(hcRedisCmd *cmd, TimestampTz deadline, bool interruptible)
{
	redisReply *reply;

	if (!redis_exec(cmd, 1, &reply, deadline, interruptible))
		return NULL;
	if (reply->type == REDIS_REPLY_ERROR)
	{
		char		msg[256];

		strlcpy(msg, reply->str, sizeof(msg));
		freeReplyObject(reply);
		fail(HC_RE_REPLY, msg);
		return NULL;
	}
	return reply;
}

/*---- keys and values ----*/

/*
 * This cluster's namespace, "<prefix>:<system identifier>:<major>:<format>",
 * built again only when hybridcache.redis_prefix changes: a lookup names
 * five or more keys.
 */
static const char *
ns_prefix(size_t *len)
{
	static char ns[128];
	static size_t ns_len = 0;
	static char ns_of[66];

	if (ns_len == 0 || strcmp(ns_of, hc_redis_prefix) != 0)
	{
		strlcpy(ns_of, hc_redis_prefix, sizeof(ns_of));
		ns_len = snprintf(ns, sizeof(ns), "%s:" UINT64_FORMAT ":%d:%d",
						  hc_redis_prefix, GetSystemIdentifier(),
						  PG_VERSION_NUM / 10000, HC_FORMAT_VERSION);
		ns_len = Min(ns_len, sizeof(ns) - 1);
	}
	*len = ns_len;
	return ns;
}

/*
 * A new key "<namespace>:<what>" with room for extra more characters;
 * *end points at its terminating NUL.
 */
static char *
key_start(const char *what, size_t extra, char **end)
{
	size_t		nslen;
	const char *ns = ns_prefix(&nslen);
	size_t		wlen = strlen(what);
	char	   *k = palloc(nslen + 1 + wlen + extra + 1);

	memcpy(k, ns, nslen);
	k[nslen] = ':';
	memcpy(k + nslen + 1, what, wlen);
	*end = k + nslen + 1 + wlen;
	**end = '\0';
	return k;
}

/* Append ":<decimal>" at p; returns the new end. */
static char *
put_colon_u32(char *p, uint32 v)
{
	*p++ = ':';
	p += pg_ultoa_n(v, p);
	*p = '\0';
	return p;
}

/* Append 16 lower-case hex digits at p; returns the new end. */
static char *
put_hex64(char *p, uint64 v)
{
	static const char hex[] = "0123456789abcdef";
	int			i;

	for (i = 15; i >= 0; i--)
	{
		p[i] = hex[v & 0xF];
		v >>= 4;
	}
	p[16] = '\0';
	return p + 16;
}

/* A key of this cluster's namespace: "<namespace>:<what>". */
static char *
ns_key(const char *what)
{
	char	   *end;

	return key_start(what, 0, &end);
}

/* "<namespace>:g:<db>:<rel>" */
static char *
key_generation(Oid dbid, Oid relid)
{
	char	   *p;
	char	   *k = key_start("g", 22, &p);

	p = put_colon_u32(p, dbid);
	put_colon_u32(p, relid);
	return k;
}

/*
 * The key of one result: its entry (kind "e"), or the primary's lease on
 * computing it (kind "l", single-flight): "<namespace>:<kind>:<db>:<key
 * in 32 hex digits>".
 */
static char *
key_result(const char *kind, Oid dbid, const hcKey *key)
{
	char	   *p;
	char	   *k = key_start(kind, 12 + 32, &p);

	p = put_colon_u32(p, dbid);
	*p++ = ':';
	p = put_hex64(p, key->hi);
	put_hex64(p, key->lo);
	return k;
}

#define key_heartbeat()			ns_key("hb")
#define key_epoch()				ns_key("epoch")
#define key_stream()			ns_key("s")
#define key_stream_counter()	ns_key("sn")
#define key_entry(dbid, key)	key_result("e", (dbid), (key))
#define key_lease(dbid, key)	key_result("l", (dbid), (key))

/* A fresh random starting value for generations: 12 decimal digits. */
static char *
random_seed(void)
{
	return psprintf(UINT64_FORMAT,
					pg_prng_uint64_range(&pg_global_prng_state,
										 UINT64CONST(100000000000),
										 UINT64CONST(899999999999)));
}

static bool
parse_u64(const redisReply *r, uint64 *out)
{
	char	   *end;

	if (r->type == REDIS_REPLY_INTEGER)
	{
		*out = (uint64) r->integer;
		return true;
	}
	if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
		return false;
	errno = 0;
	*out = strtou64(r->str, &end, 10);
	return errno == 0 && end == r->str + r->len;
}

/* The MAC (or checksum) of a value: header without mac, gens, blob. */
static bool
compute_mac(const hcL2Header *h, const char *rest, Size restlen,
			uint8 *mac)
{
	uint64		sysid = GetSystemIdentifier();

	memset(mac, 0, HC_L2_MAC_LEN);
	if (h->flags & HC_L2_FLAG_HMAC)
	{
		pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
		bool		ok;

		if (ctx == NULL)
			return false;
		ok = pg_hmac_init(ctx, (const uint8 *) hc_redis_secret,
						  strlen(hc_redis_secret)) == 0 &&
			pg_hmac_update(ctx, (const uint8 *) &sysid, sizeof(sysid)) == 0 &&
			pg_hmac_update(ctx, (const uint8 *) h,
						   offsetof(hcL2Header, mac)) == 0 &&
			pg_hmac_update(ctx, (const uint8 *) rest, restlen) == 0 &&
			pg_hmac_final(ctx, mac, HC_L2_MAC_LEN) == 0;
		pg_hmac_free(ctx);
		return ok;
	}
	else
	{
		pg_crc32c	crc;

		INIT_CRC32C(crc);
		COMP_CRC32C(crc, &sysid, sizeof(sysid));
		COMP_CRC32C(crc, h, offsetof(hcL2Header, mac));
		COMP_CRC32C(crc, rest, restlen);
		FIN_CRC32C(crc);
		memcpy(mac, &crc, sizeof(crc));
		return true;
	}
}

static bool
secret_set(void)
{
	return hc_redis_secret != NULL && hc_redis_secret[0] != '\0';
}

/*
 * Check a value read from Redis and return the L1 blob inside it,
 * palloc'd and MAXALIGNed, or NULL (with the reason counted and logged).
 */
static char *
decode_value(const char *val, Size vlen, const hcKey *key,
			 const hcL2Stamp *stamp, Size *blob_len)
{
	hcL2Header h;
	uint8		mac[HC_L2_MAC_LEN];
	const char *rest;
	Size		restlen;
	char	   *blob;
	int			i;

	if (vlen < sizeof(hcL2Header))
	{
		value_rejected("The value is shorter than any cached result.");
		return NULL;
	}
	memcpy(&h, val, sizeof(h));
	rest = val + sizeof(h);
	restlen = vlen - sizeof(h);
	if (h.magic != HC_L2_MAGIC || h.format != HC_FORMAT_VERSION)
	{
		value_rejected("The value is not a cached result of this version.");
		return NULL;
	}
	if (h.ndeps != (uint32) stamp->ndeps ||
		restlen != h.ndeps * sizeof(uint64) + h.blob_len)
	{
		value_rejected("The value is truncated or has the wrong length.");
		return NULL;
	}
	if (((h.flags & HC_L2_FLAG_HMAC) != 0) != secret_set())
	{
		value_rejected(secret_set() ? "The value is not signed with hybridcache.redis_secret."
					   : "The value is signed, but hybridcache.redis_secret is not set.");
		return NULL;
	}
	if (!compute_mac(&h, rest, restlen, mac) ||
		memcmp(mac, h.mac, HC_L2_MAC_LEN) != 0)
	{
		value_rejected((h.flags & HC_L2_FLAG_HMAC)
					   ? "The value's signature does not match hybridcache.redis_secret."
					   : "The value's checksum does not match its contents.");
		return NULL;
	}

	/* a well-formed entry that is simply out of date is a plain miss */
	if (h.epoch != stamp->epoch)
		return NULL;
	for (i = 0; i < stamp->ndeps; i++)
	{
		uint64		g;

		memcpy(&g, rest + i * sizeof(uint64), sizeof(uint64));
		if (g != stamp->gens[i])
			return NULL;
	}

	blob = MemoryContextAllocHuge(CurrentMemoryContext, Max(h.blob_len, 1));
	memcpy(blob, rest + h.ndeps * sizeof(uint64), h.blob_len);
	if (!hc_entry_validate(blob, h.blob_len, key, MyDatabaseId))
	{
		pfree(blob);
		value_rejected("The cached result inside the value is malformed.");
		return NULL;
	}
	*blob_len = h.blob_len;
	return blob;
}

/*---- the L2 operations ----*/

/*
 * May this backend use L2 now?  Not when it is not configured, while the
 * breaker is open, and on a primary with a fenced write pending.
 */
bool
hc_l2_usable(void)
{
	if (hc_redis_target == NULL || l2 == NULL)
		return false;
	if (breaker_open())
	{
		hc_count_redis(HC_R_SKIPPED, 1);
		return false;
	}
	if (!RecoveryInProgress() && fenced())
	{
		hc_count_redis(HC_R_SKIPPED, 1);
		return false;
	}
	return true;
}

/*
 * The deadline of the next exchange: hybridcache.redis_timeout is the
 * total a statement may wait for Redis, so what earlier exchanges of the
 * same statement spent is deducted.  0: nothing left.
 */
static TimestampTz
budget_deadline(const int64 *spent_us, TimestampTz start)
{
	int64		left = (int64) hc_redis_timeout_ms * 1000 - *spent_us;

	return left > 0 ? start + left : 0;
}

/*
 * What one L2 lookup found.  The heartbeat, epoch and generations are read
 * together (one MGET, or the lookup script), then the entry and the lease:
 * an entry read later than the generations is served only if it carries
 * exactly those generations, which were current after the snapshot, so
 * reading it a moment later cannot let it miss a write the snapshot sees.
 */
typedef struct hcL2Found
{
	bool		ok;				/* Redis answered with a live heartbeat */
	bool		need_script;	/* an epoch or generation does not exist yet */
	const redisReply *value;	/* the entry: a string, or NULL when absent */
	const char *rejected;		/* why the entry cannot be one of ours */
} hcL2Found;

/* Does a heartbeat reply show a primary writing to this very Redis? */
static bool
heartbeat_live(const redisReply *hb)
{
	size_t		n = strlen(conn_run_id);

	return hb->type == REDIS_REPLY_STRING && n > 0 && hb->len > n &&
		memcmp(hb->str, conn_run_id, n) == 0 && hb->str[n] == ' ';
}

/* Fill the stamp from the epoch and generation replies; false if foreign. */
static bool
parse_stamp(redisReply *const *elems, int ndeps, hcL2Stamp *stamp)
{
	int			i;

	stamp->ndeps = ndeps;
	if (!parse_u64(elems[0], &stamp->epoch))
		return false;
	for (i = 0; i < ndeps; i++)
		if (!parse_u64(elems[1 + i], &stamp->gens[i]))
			return false;
	return true;
}

/*
 * The lookup without a script, which would cost Redis ten times the
 * commands it runs: MGET of the heartbeat, the epoch and the generations,
 * GETRANGE of the entry (at most one byte more than any entry can be, so
 * that a huge foreign value is neither transferred nor accepted), and
 * PTTL of the lease, in one round trip.  An epoch or generation that does
 * not exist yet must be created with a random value, atomically with the
 * read: that takes the script (need_script).
 */
static bool
lookup_plain(char **keys, int ndeps, hcL2Stamp *stamp, hcL2Found *found,
			 redisReply **replies, TimestampTz deadline)
{
	hcRedisCmd	cmds[3];
	const char **mget = palloc(sizeof(char *) * (ndeps + 3));
	size_t	   *mget_len = palloc(sizeof(size_t) * (ndeps + 3));
	const char *range[4];
	size_t		range_len[4];
	const char *pttl[2];
	size_t		pttl_len[2];
	char		last_str[32];
	redisReply *r;
	int			i;

	mget[0] = "MGET";
	mget[1] = keys[0];			/* heartbeat */
	mget[2] = keys[1];			/* epoch */
	for (i = 0; i < ndeps; i++)
		mget[3 + i] = keys[4 + i];
	cmd_of_strings(&cmds[0], ndeps + 3, mget, mget_len);
	snprintf(last_str, sizeof(last_str), "%zu", HC_L2_MAX_VALUE());
	range[0] = "GETRANGE";
	range[1] = keys[2];
	range[2] = "0";
	range[3] = last_str;
	cmd_of_strings(&cmds[1], 4, range, range_len);
	pttl[0] = "PTTL";
	pttl[1] = keys[3];
	cmd_of_strings(&cmds[2], 2, pttl, pttl_len);

	if (!redis_exec(cmds, 3, replies, deadline, true))
		return false;

	r = replies[0];
	if (r->type == REDIS_REPLY_ERROR)
	{
		fail(HC_RE_REPLY, r->str);
		return false;
	}
	breaker_success();
	if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t) (ndeps + 2))
		return true;			/* not ok */
	if (!heartbeat_live(r->element[0]))
		return true;			/* no heartbeat: the primary is fenced or gone */
	for (i = 1; i < ndeps + 2; i++)
		if (r->element[i]->type == REDIS_REPLY_NIL)
		{
			found->need_script = true;
			return true;
		}
	if (!parse_stamp(r->element + 1, ndeps, stamp))
		return true;
	found->ok = true;

	r = replies[2];
	stamp->lease_ms = r->type == REDIS_REPLY_INTEGER ? Max(r->integer, 0) : 0;
	r = replies[1];
	if (r->type != REDIS_REPLY_STRING)	/* WRONGTYPE */
	{
		found->rejected = "The key holds something other than a string.";
		return true;
	}
	hc_count_redis(HC_R_BYTES_RECEIVED, r->len);
	if (r->len > HC_L2_MAX_VALUE())
		found->rejected = "The value is larger than any cached result.";
	else if (r->len > 0)		/* GETRANGE of a missing key is "" */
		found->value = r;
	return true;
}

/*
 * The lookup by script, when the plain one found an epoch or generation
 * missing: the script creates them and reads the rest.
 */
static bool
lookup_by_script(char **keys, int ndeps, hcL2Stamp *stamp, hcL2Found *found,
				 redisReply **reply, TimestampTz deadline)
{
	hcRedisCmd	cmd;
	int			nkeys = 4 + ndeps;
	int			argc = 3 + nkeys + 3;
	const char **argv = palloc(sizeof(char *) * argc);
	size_t	   *argvlen = palloc(sizeof(size_t) * argc);
	char		nkeys_str[16];
	char		maxlen_str[32];
	redisReply *r;
	redisReply *value;
	int			i;

	snprintf(nkeys_str, sizeof(nkeys_str), "%d", nkeys);
	snprintf(maxlen_str, sizeof(maxlen_str), "%zu", HC_L2_MAX_VALUE());
	set_script(argv, HC_SCRIPT_LOOKUP);
	argv[2] = nkeys_str;
	for (i = 0; i < nkeys; i++)
		argv[3 + i] = keys[i];
	argv[3 + nkeys] = maxlen_str;
	argv[4 + nkeys] = random_seed();
	argv[5 + nkeys] = conn_run_id;
	cmd_of_strings(&cmd, argc, argv, argvlen);

	*reply = r = redis_exec1(&cmd, deadline, true);
	if (r == NULL)
		return false;
	breaker_success();

	/* {1, epoch, gens..., value, lease}, or {0} without a heartbeat */
	if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
		r->element[0]->type != REDIS_REPLY_INTEGER ||
		r->element[0]->integer == 0)
		return true;
	if (r->elements != (size_t) (ndeps + 4) ||
		r->element[ndeps + 3]->type != REDIS_REPLY_INTEGER ||
		!parse_stamp(r->element + 1, ndeps, stamp))
		return true;
	found->ok = true;
	stamp->lease_ms = r->element[ndeps + 3]->integer;
	value = r->element[ndeps + 2];
	if (value->type == REDIS_REPLY_STRING)
	{
		hc_count_redis(HC_R_BYTES_RECEIVED, value->len);
		found->value = value;
	}
	else if (value->type == REDIS_REPLY_INTEGER && value->integer < 0)
		found->rejected = value->integer == -1
			? "The value is larger than any cached result."
			: "The key holds something other than a string.";
	return true;
}

/*
 * Look a statement's result up in L2.  Fills *stamp with the current Redis
 * generations of deps when Redis answered (stamp->valid), which a later
 * hc_l2_store() of this statement's result needs.  Returns the entry's L1
 * blob (palloc'd) when Redis holds a current, intact one.
 */
char *
hc_l2_lookup(const hcKey *key, const Oid *deps, int ndeps,
			 hcL2Stamp *stamp, int64 *spent_us, Size *len)
{
	char	   *keys[4 + HC_MAX_DEPS];
	redisReply *replies[3] = {NULL, NULL, NULL};
	redisReply *volatile script_reply = NULL;
	hcL2Found	found = {false, false, NULL, NULL};
	char	   *volatile blob = NULL;
	bool		answered;
	int			i;
	TimestampTz start;
	TimestampTz deadline;

	stamp->valid = false;
	if (!hc_l2_usable())
		return NULL;
	start = GetCurrentTimestamp();
	deadline = budget_deadline(spent_us, start);
	if (deadline == 0)
		return NULL;
	if (!ensure_ready(deadline, true))
	{
		*spent_us += GetCurrentTimestamp() - start;
		return NULL;
	}

	/* the script's KEYS order: heartbeat, epoch, entry, lease, gens */
	keys[0] = key_heartbeat();
	keys[1] = key_epoch();
	keys[2] = key_entry(MyDatabaseId, key);
	keys[3] = key_lease(MyDatabaseId, key);
	for (i = 0; i < ndeps; i++)
		keys[4 + i] = key_generation(MyDatabaseId, deps[i]);

	PG_TRY();
	{
		answered = lookup_plain(keys, ndeps, stamp, &found, replies, deadline);
		if (answered && found.need_script)
		{
			redisReply *r = NULL;

			answered = lookup_by_script(keys, ndeps, stamp, &found, &r,
										deadline);
			script_reply = r;
		}
		*spent_us += GetCurrentTimestamp() - start;
		if (answered && found.ok)
		{
			stamp->valid = true;
			if (found.value != NULL)
				blob = decode_value(found.value->str, found.value->len, key,
									stamp, len);
			else if (found.rejected != NULL)
				value_rejected(found.rejected);
		}
		else if (answered)
			hc_count_redis(HC_R_SKIPPED, 1);
	}
	PG_FINALLY();
	{
		for (i = 0; i < 3; i++)
			if (replies[i] != NULL)
				freeReplyObject(replies[i]);
		if (script_reply != NULL)
			freeReplyObject(script_reply);
	}
	PG_END_TRY();

	return blob;
}

/*
 * Store a result in L2 with the stamp its statement's lookup returned.
 * Primary only; a failure only costs the store.
 */
void
hc_l2_store(const hcKey *key, const char *blob, Size len,
			const hcL2Stamp *stamp, int ttl_s, int64 *spent_us)
{
	hcRedisCmd	cmds[2];
	redisReply *replies[2];
	const char *argv[5];
	size_t		argvlen[5];
	const char *del_argv[2];
	size_t		del_len[2];
	hcL2Header *h;
	char	   *val;
	Size		vlen;
	char		ttl_str[16];
	TimestampTz start;
	bool		ok;
	bool		stored;

	if (!stamp->valid || RecoveryInProgress() || !hc_l2_usable())
		return;
	if ((int64) hc_redis_timeout_ms * 1000 <= *spent_us)
		return;

	vlen = sizeof(hcL2Header) + stamp->ndeps * sizeof(uint64) + len;
	val = MemoryContextAllocHuge(CurrentMemoryContext, vlen);
	h = (hcL2Header *) val;
	memset(h, 0, sizeof(*h));
	h->magic = HC_L2_MAGIC;
	h->format = HC_FORMAT_VERSION;
	h->flags = secret_set() ? HC_L2_FLAG_HMAC : 0;
	h->ndeps = stamp->ndeps;
	h->blob_len = len;
	h->epoch = stamp->epoch;
	memcpy(val + sizeof(hcL2Header), stamp->gens,
		   stamp->ndeps * sizeof(uint64));
	memcpy(val + sizeof(hcL2Header) + stamp->ndeps * sizeof(uint64), blob, len);
	if (!compute_mac(h, val + sizeof(hcL2Header),
					 vlen - sizeof(hcL2Header), h->mac))
	{
		pfree(val);
		return;
	}

	snprintf(ttl_str, sizeof(ttl_str), "%d", Max(ttl_s, 1));
	argv[0] = "SET";
	argv[1] = key_entry(MyDatabaseId, key);
	argv[2] = val;
	argv[3] = "EX";
	argv[4] = ttl_str;
	argvlen[0] = 3;
	argvlen[1] = strlen(argv[1]);
	argvlen[2] = vlen;
	argvlen[3] = 2;
	argvlen[4] = strlen(ttl_str);
	cmds[0].argc = 5;
	cmds[0].argv = argv;
	cmds[0].argvlen = argvlen;
	/* the result is there: waiters elsewhere need not wait any longer */
	del_argv[0] = "DEL";
	del_argv[1] = key_lease(MyDatabaseId, key);
	del_len[0] = 3;
	del_len[1] = strlen(del_argv[1]);
	cmds[1].argc = 2;
	cmds[1].argv = del_argv;
	cmds[1].argvlen = del_len;

	start = GetCurrentTimestamp();
	ok = redis_exec(cmds, 2, replies, budget_deadline(spent_us, start), true);
	*spent_us += GetCurrentTimestamp() - start;
	pfree(val);
	if (!ok)
		return;
	stored = replies[0]->type != REDIS_REPLY_ERROR;
	freeReplyObject(replies[0]);
	freeReplyObject(replies[1]);
	if (!stored)
		return;
	breaker_success();
	hc_count_redis(HC_R_L2_STORES, 1);
}

/*
 * The primary is about to compute a result that will be stored in L2:
 * take a lease on it for lease_ms, so that standbys missing the same
 * result wait for it (single-flight across servers) instead of computing
 * it too.  The store deletes the lease; otherwise it expires.
 */
void
hc_l2_take_lease(const hcKey *key, int lease_ms, int64 *spent_us)
{
	hcRedisCmd	cmd;
	redisReply *reply;
	const char *argv[5];
	size_t		argvlen[5];
	char		px[16];
	TimestampTz start;

	if (RecoveryInProgress() || !hc_l2_usable())
		return;
	if ((int64) hc_redis_timeout_ms * 1000 <= *spent_us)
		return;
	snprintf(px, sizeof(px), "%d", Max(lease_ms, 1));
	argv[0] = "SET";
	argv[1] = key_lease(MyDatabaseId, key);
	argv[2] = "1";
	argv[3] = "PX";
	argv[4] = px;
	cmd_of_strings(&cmd, 5, argv, argvlen);
	start = GetCurrentTimestamp();
	reply = redis_exec1(&cmd, budget_deadline(spent_us, start), true);
	*spent_us += GetCurrentTimestamp() - start;
	if (reply != NULL)
		freeReplyObject(reply);
}

/*
 * A write transaction Redis did not see: the primary stops using L2 until
 * its worker has bumped the epoch, and a clean-shutdown marker is void.
 */
void
hc_l2_fence(void)
{
	if (l2 == NULL)
		return;
	LWLockAcquire(&hc_locks[HC_LOCK_L2_FENCE].lock, LW_EXCLUSIVE);
	pg_atomic_fetch_add_u64(&l2->fence_count, 1);
	if (unlink(HC_L2_CLEAN_MARKER) < 0 && errno != ENOENT)
		elog(LOG, "could not remove file \"%s\": %m", HC_L2_CLEAN_MARKER);
	LWLockRelease(&hc_locks[HC_LOCK_L2_FENCE].lock);
	hc_count_redis(HC_R_FENCED_WRITES, 1);
}

/*
 * The stream message of a registration: "w <xid> <db> <rel,...>", with
 * "*" for everything and xid 0 for manual invalidations.
 */
static char *
write_message(const Oid *relids, int n, bool everything, FullTransactionId fxid)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendStringInfo(&buf, "w " UINT64_FORMAT " %u ",
					 FullTransactionIdIsValid(fxid) ? U64FromFullTransactionId(fxid) : 0,
					 MyDatabaseId);
	if (everything)
		appendStringInfoChar(&buf, '*');
	else
		for (i = 0; i < n; i++)
			appendStringInfo(&buf, i ? ",%u" : "%u", relids[i]);
	return buf.data;
}

/*
 * Register a committing transaction's writes in Redis (before commit):
 * bump the generations of relids, or the epoch for everything, and tell
 * the standbys through the stream.  Runs in the pre-commit callback:
 * interrupts are held and nothing may fail, so a failure fences L2
 * instead.
 */
void
hc_l2_register_writes(const Oid *relids, int n, bool everything,
					  FullTransactionId fxid)
{
	hcRedisCmd	cmd;
	redisReply *reply;
	const char **argv;
	size_t	   *argvlen;
	int			nkeys = 2 + (everything ? 1 : n);
	int			argc = 3 + nkeys + 3;
	char		nkeys_str[16];
	int64		spent_us = 0;
	int			i;

	if (hc_redis_target == NULL || l2 == NULL || RecoveryInProgress() ||
		(n == 0 && !everything))
		return;
	if (breaker_open())
	{
		hc_l2_fence();
		return;
	}

	argv = palloc(sizeof(char *) * argc);
	argvlen = palloc(sizeof(size_t) * argc);
	snprintf(nkeys_str, sizeof(nkeys_str), "%d", nkeys);
	set_script(argv, HC_SCRIPT_REGISTER);
	argv[2] = nkeys_str;
	argv[3] = key_stream();
	argv[4] = key_stream_counter();
	if (everything)
		argv[5] = key_epoch();
	else
		for (i = 0; i < n; i++)
			argv[5 + i] = key_generation(MyDatabaseId, relids[i]);
	argv[3 + nkeys] = random_seed();
	argv[4 + nkeys] = write_message(relids, n, everything, fxid);
	argv[5 + nkeys] = HC_STREAM_MAXLEN;
	cmd_of_strings(&cmd, argc, argv, argvlen);

	HOLD_INTERRUPTS();
	reply = redis_exec1(&cmd, budget_deadline(&spent_us, GetCurrentTimestamp()),
						false);
	RESUME_INTERRUPTS();
	if (reply == NULL)
	{
		hc_l2_fence();
		return;
	}
	freeReplyObject(reply);
	breaker_success();
}

/*
 * A transaction that registered writes in Redis has committed: wake the
 * worker, whose next heartbeat then covers the commit, so standbys can
 * serve their L1 again soon.
 */
void
hc_l2_nudge_worker(void)
{
	Latch	   *latch;

	if (l2 == NULL)
		return;
	latch = l2->worker_latch;
	if (latch != NULL)
		SetLatch(latch);
}

/*
 * May this backend serve from L1, and store into it?  Always on a primary.
 * On a standby only while its worker follows the stream; serving needs the
 * applied heartbeat position to cover the replay position too (every
 * commit replayed so far had its registration applied).
 */
static uint64
followed_lsn(void)
{
	if (l2 == NULL || hc_redis_target == NULL)
		return 0;
	return pg_atomic_read_u64(&l2->stream_lsn);
}

bool
hc_l1_storable(void)
{
	return !RecoveryInProgress() || followed_lsn() != 0;
}

bool
hc_l1_readable(void)
{
	uint64		covered;

	if (!RecoveryInProgress())
		return true;
	covered = followed_lsn();
	/* generations read after this see what was applied before covered */
	pg_read_barrier();
	return covered != 0 && GetXLogReplayRecPtr(NULL) <= (XLogRecPtr) covered;
}

/*---- the worker's part ----*/

/* How often the primary's worker runs: heartbeats and the stream's too. */
#define HC_STREAM_TICK_MS		100
/* the longest a standby's worker blocks waiting for new messages */
#define HC_STREAM_BLOCK_MS		100
/* a heartbeat goes to the stream at least this often, WAL moving or not */
#define HC_STREAM_HEARTBEAT_MS	500

/* the Redis instance (INFO run_id) this server last bumped the epoch on */
static char known_run_id[48] = "";
static char pending_run_id[48] = "";

/* the primary's last heartbeat in the stream */
static XLogRecPtr published_lsn = InvalidXLogRecPtr;
static TimestampTz published_time = 0;

/* a standby following the stream */
static char follow_id[48] = "";		/* last message applied, "": none */
static uint64 follow_seq = 0;	/* its number in the stream */
static char follow_run_id[48] = "";	/* the Redis it was read from */
static int	follow_heartbeats = 0;	/* heartbeats applied since a gap */

static void
set_stream_lsn(uint64 lsn)
{
	/* what was applied before is visible to whoever reads the new value */
	pg_write_barrier();
	pg_atomic_write_u64(&l2->stream_lsn, lsn);
}

/*
 * The standby may have missed messages: no L1 hits from now on, flush
 * everything cached, and wait for two heartbeats (see the file header).
 */
static void
stream_gap(const char *why)
{
	set_stream_lsn(0);
	hc_apply_remote_flush(InvalidFullTransactionId);
	follow_heartbeats = 0;
	pg_atomic_fetch_add_u64(&l2->stream_resyncs, 1);
	elog(DEBUG1, "hybridcache flushed the standby cache: %s", why);
}

/* Apply one message of the stream; false when it is malformed. */
static bool
apply_message(const char *msg)
{
	uint64		a;
	uint64		b;
	unsigned int dbid;
	int			off = 0;

	if (msg[0] == 'f' && msg[1] == '\0')
	{
		stream_gap("the primary could not register a write in Redis");
		return true;
	}
	if (sscanf(msg, "h " UINT64_FORMAT " " UINT64_FORMAT, &a, &b) == 2)
	{
		if (++follow_heartbeats == 2 && b > 0)
		{
			/* every writer the gap can have hidden precedes b */
			hc_apply_remote_flush(FullTransactionIdFromU64(b - 1));
		}
		if (follow_heartbeats >= 2 && a > pg_atomic_read_u64(&l2->stream_lsn))
			set_stream_lsn(a);
		return true;
	}
	if (sscanf(msg, "w " UINT64_FORMAT " %u %n", &a, &dbid, &off) == 2 && off > 0)
	{
		FullTransactionId fxid = a ? FullTransactionIdFromU64(a)
			: InvalidFullTransactionId;
		const char *p = msg + off;

		if (strcmp(p, "*") == 0)
		{
			hc_apply_remote_write(dbid, InvalidOid, fxid);
			return true;
		}
		while (*p)
		{
			char	   *end;
			unsigned long relid = strtoul(p, &end, 10);

			if (end == p || relid == 0 || relid > PG_UINT32_MAX)
				return false;
			hc_apply_remote_write(dbid, (Oid) relid, fxid);
			p = end;
			if (*p == ',')
				p++;
			else if (*p != '\0')
				return false;
		}
		return true;
	}
	return false;
}

/*
 * One round of a standby's worker: read what the primary appended to the
 * stream since the last message applied, apply it, and when caught up wait
 * (up to HC_STREAM_BLOCK_MS) for more.  Returns how long to sleep.
 */
static int
follow_stream(TimestampTz deadline)
{
	hcRedisCmd	cmd;
	redisReply *reply;
	const char *argv[8];
	size_t		argvlen[8];
	char		batch[16];
	uint64		seq = 0;
	bool		caught_up = true;
	bool		ok = true;
	size_t		i;

	l2->stream_active = true;
	if (!ensure_ready(deadline, false))
	{
		set_stream_lsn(0);
		return hc_l2_worker_interval_ms();
	}
	if (worker_reconnected)
	{
		/* another Redis process: what it holds says nothing of the gap */
		if (strcmp(conn_run_id, follow_run_id) != 0)
			follow_id[0] = '\0';
		strlcpy(follow_run_id, conn_run_id, sizeof(follow_run_id));
		worker_reconnected = false;
	}

	snprintf(batch, sizeof(batch), "%d", HC_STREAM_BATCH);
	set_script(argv, HC_SCRIPT_FOLLOW);
	argv[2] = "2";
	argv[3] = key_stream();
	argv[4] = key_stream_counter();
	argv[5] = follow_id;
	argv[6] = batch;
	cmd_of_strings(&cmd, 7, argv, argvlen);
	reply = redis_exec1(&cmd, deadline, false);
	if (reply == NULL)
	{
		set_stream_lsn(0);
		return hc_l2_worker_interval_ms();
	}
	breaker_success();

	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
		reply->element[0]->type != REDIS_REPLY_INTEGER ||
		reply->element[1]->type != REDIS_REPLY_STRING ||
		reply->element[1]->len >= sizeof(follow_id) ||
		!parse_u64(reply->element[2], &seq) ||
		(reply->elements - 3) % 2 != 0)
		ok = false;
	else if (reply->element[0]->integer != 0)
	{
		/* first start, or a stream that started over: begin at its end */
		stream_gap(follow_id[0] == '\0' ? "started following the stream"
				   : "the stream started over");
		strlcpy(follow_id, reply->element[1]->str, sizeof(follow_id));
		follow_seq = seq;
	}
	else
	{
		for (i = 3; ok && i + 1 < reply->elements; i += 2)
		{
			redisReply *id = reply->element[i];
			redisReply *msg = reply->element[i + 1];
			char	   *body;

			if (id->type != REDIS_REPLY_STRING || msg->type != REDIS_REPLY_STRING ||
				id->len >= sizeof(follow_id))
			{
				ok = false;
				break;
			}
			errno = 0;
			seq = strtou64(msg->str, &body, 10);
			if (errno != 0 || body == msg->str || *body != ' ')
				stream_gap("a message in the stream was malformed");
			else
			{
				/* numbered one after the other, or some were lost */
				if (seq != follow_seq + 1)
					stream_gap("messages were trimmed from the stream");
				follow_seq = seq;
				if (!apply_message(body + 1))
					stream_gap("a message in the stream was malformed");
			}
			strlcpy(follow_id, id->str, sizeof(follow_id));
		}
		caught_up = (reply->elements - 3) / 2 < HC_STREAM_BATCH;
	}
	freeReplyObject(reply);
	if (!ok)
	{
		stream_gap("the stream could not be read");
		follow_id[0] = '\0';
		fail(HC_RE_REPLY, "unexpected reply to the stream script");
		return hc_l2_worker_interval_ms();
	}
	if (!caught_up)
		return 0;

	/* wait for the next message; the next round reads it */
	argv[0] = "XREAD";
	argv[1] = "COUNT";
	argv[2] = "1";
	argv[3] = "BLOCK";
	argv[4] = CppAsString2(HC_STREAM_BLOCK_MS);
	argv[5] = "STREAMS";
	argv[6] = key_stream();
	argv[7] = follow_id;
	cmd_of_strings(&cmd, 8, argv, argvlen);
	reply = redis_exec1(&cmd, GetCurrentTimestamp() +
						(int64) (HC_STREAM_BLOCK_MS + hc_redis_timeout_ms + 50) * 1000,
						false);
	if (reply == NULL)
	{
		set_stream_lsn(0);
		return hc_l2_worker_interval_ms();
	}
	freeReplyObject(reply);
	return 0;
}

/*
 * A standby that does not follow the stream only checks that Redis
 * answers, which closes the breaker for its backends.
 */
static int
probe(TimestampTz deadline)
{
	hcRedisCmd	ping;
	const char *ping_argv[1] = {"PING"};
	size_t		ping_len[1] = {4};
	redisReply *reply;

	l2->stream_active = false;
	set_stream_lsn(0);
	follow_id[0] = '\0';		/* messages are missed from now on */
	ping.argc = 1;
	ping.argv = ping_argv;
	ping.argvlen = ping_len;
	reply = redis_exec1(&ping, deadline, false);
	if (reply != NULL)
	{
		freeReplyObject(reply);
		breaker_success();
	}
	return hc_l2_worker_interval_ms();
}

int
hc_l2_worker_interval_ms(void)
{
	return Min(Max(hc_redis_heartbeat_timeout_ms / 4, 10), HC_STREAM_TICK_MS);
}

/*
 * One round of the background worker: on a primary, bump the epoch when
 * needed, refresh the heartbeat and append one to the stream; on a
 * standby, follow the stream.  Either way a success closes the breaker,
 * so backends try Redis again.  Returns how long to sleep before the next
 * round (a latch set by a committing writer ends the sleep early).
 */
int
hc_l2_worker_tick(void)
{
	static bool startup_checked = false;
	static bool was_standby = false;
	static bool need_bump = false;
	hcRedisCmd	cmds[3];
	redisReply *replies[3];
	const char *bump_argv[9];
	size_t		bump_len[9];
	const char *hb_argv[5];
	size_t		hb_len[5];
	const char *xadd_argv[8];
	size_t		xadd_len[8];
	char		hb_str[96];
	char		px_str[16];
	char		xadd_msg[96];
	TimestampTz deadline;
	TimestampTz now;
	uint64		fence_seen;
	XLogRecPtr	lsn;
	int			ncmds = 0;
	int			i;
	bool		ok = true;
	bool		publish;
	char		errmsg_buf[256];

	am_worker = true;
	if (l2 != NULL)
		l2->worker_latch = MyLatch;
	if (hc_redis_target == NULL)
	{
		disconnect();
		if (l2 != NULL)
		{
			set_stream_lsn(0);
			l2->stream_active = false;
		}
		return 60 * 1000;
	}
	deadline = GetCurrentTimestamp() +
		(int64) Max(hc_redis_heartbeat_timeout_ms / 2, hc_redis_timeout_ms) * 1000;

	if (RecoveryInProgress())
	{
		was_standby = true;
		if (hc_standby_l1)
			return follow_stream(deadline);
		return probe(deadline);
	}
	if (pg_atomic_read_u64(&l2->stream_lsn) != 0)
		set_stream_lsn(0);		/* promoted: L1 is this server's own now */
	l2->stream_active = true;

	if (!startup_checked)
	{
		FILE	   *f = AllocateFile(HC_L2_CLEAN_MARKER, "r");

		/* no marker: a crash may have lost a fence */
		if (f != NULL)
		{
			if (fgets(known_run_id, sizeof(known_run_id), f) == NULL)
				known_run_id[0] = '\0';
			FreeFile(f);
			durable_unlink(HC_L2_CLEAN_MARKER, LOG);
		}
		else
			need_bump = true;
		startup_checked = true;
	}
	if (was_standby)
	{
		/* promoted: the old primary's last writes may have been fenced */
		need_bump = true;
		was_standby = false;
	}

	/* connect first, so a reconnect is known before deciding */
	if (!ensure_ready(deadline, false))
		return hc_l2_worker_interval_ms();
	if (worker_reconnected)
	{
		/*
		 * A Redis that restarted may have loaded an old snapshot, whose
		 * generations miss later writes: compare its run_id with the one
		 * of the Redis the last epoch bump or clean shutdown was made on.
		 */
		if (strcmp(conn_run_id, known_run_id) != 0)
			need_bump = true;
		strlcpy(pending_run_id, conn_run_id, sizeof(pending_run_id));
		worker_reconnected = false;
		published_time = 0;
	}
	fence_seen = pg_atomic_read_u64(&l2->fence_count);
	if (fence_seen != pg_atomic_read_u64(&l2->fence_cleared))
		need_bump = true;

	if (need_bump)
	{
		/* the epoch, and a flush for the standbys, which missed writes */
		set_script(bump_argv, HC_SCRIPT_REGISTER);
		bump_argv[2] = "3";
		bump_argv[3] = key_stream();
		bump_argv[4] = key_stream_counter();
		bump_argv[5] = key_epoch();
		bump_argv[6] = random_seed();
		bump_argv[7] = "f";
		bump_argv[8] = HC_STREAM_MAXLEN;
		cmd_of_strings(&cmds[ncmds], 9, bump_argv, bump_len);
		ncmds++;
	}

	/*
	 * The insert position is read before the heartbeat is sent: every
	 * commit before it registered before, so its message precedes this
	 * heartbeat in the stream.  The next XID bounds every writer whose
	 * message precedes the previous heartbeat.
	 */
	lsn = GetXLogInsertRecPtr();
	now = GetCurrentTimestamp();
	snprintf(hb_str, sizeof(hb_str), "%s %X/%X", conn_run_id,
			 LSN_FORMAT_ARGS(lsn));
	snprintf(px_str, sizeof(px_str), "%d", hc_redis_heartbeat_timeout_ms);
	hb_argv[0] = "SET";
	hb_argv[1] = key_heartbeat();
	hb_argv[2] = hb_str;
	hb_argv[3] = "PX";
	hb_argv[4] = px_str;
	cmd_of_strings(&cmds[ncmds], 5, hb_argv, hb_len);
	ncmds++;

	publish = need_bump || lsn != published_lsn ||
		TimestampDifferenceExceeds(published_time, now, HC_STREAM_HEARTBEAT_MS);
	if (publish)
	{
		snprintf(xadd_msg, sizeof(xadd_msg), "h " UINT64_FORMAT " " UINT64_FORMAT,
				 (uint64) lsn, U64FromFullTransactionId(ReadNextFullTransactionId()));
		set_script(xadd_argv, HC_SCRIPT_REGISTER);
		xadd_argv[2] = "2";
		xadd_argv[3] = key_stream();
		xadd_argv[4] = key_stream_counter();
		xadd_argv[5] = "0";
		xadd_argv[6] = xadd_msg;
		xadd_argv[7] = HC_STREAM_MAXLEN;
		cmd_of_strings(&cmds[ncmds], 8, xadd_argv, xadd_len);
		ncmds++;
	}

	/*
	 * The bump goes first and alone: Redis runs the commands after a
	 * failed one in a pipeline (for example NOSCRIPT after SCRIPT FLUSH),
	 * and a heartbeat must not announce L2 usable while a fenced write is
	 * not yet in the epoch.
	 */
	if (need_bump)
	{
		redisReply *bumped = redis_exec1(&cmds[0], deadline, false);

		if (bumped == NULL)
			return hc_l2_worker_interval_ms();
		freeReplyObject(bumped);
		ncmds--;
		memmove(&cmds[0], &cmds[1], sizeof(cmds[0]) * ncmds);
	}
	if (!redis_exec(cmds, ncmds, replies, deadline, false))
		return hc_l2_worker_interval_ms();
	for (i = 0; i < ncmds; i++)
	{
		if (replies[i]->type == REDIS_REPLY_ERROR && ok)
		{
			strlcpy(errmsg_buf, replies[i]->str, sizeof(errmsg_buf));
			ok = false;
		}
		freeReplyObject(replies[i]);
	}
	if (!ok)
	{
		fail(HC_RE_REPLY, errmsg_buf);
		return hc_l2_worker_interval_ms();
	}

	if (need_bump)
	{
		/* everything fenced up to fence_seen is now invalid in L2 */
		uint64		cleared = pg_atomic_read_u64(&l2->fence_cleared);

		while (cleared < fence_seen &&
			   !pg_atomic_compare_exchange_u64(&l2->fence_cleared, &cleared,
											   fence_seen))
			;
		need_bump = false;
	}
	if (publish)
	{
		published_lsn = lsn;
		published_time = now;
	}
	strlcpy(known_run_id, pending_run_id, sizeof(known_run_id));
	SpinLockAcquire(&l2->mutex);
	l2->last_heartbeat = GetCurrentTimestamp();
	l2->heartbeat_lsn = lsn;
	SpinLockRelease(&l2->mutex);
	breaker_success();
	return hc_l2_worker_interval_ms();
}

/*
 * The worker is exiting.  On a primary with no fence pending, leave the
 * marker that lets the next start keep L2 (no epoch bump).
 */
void
hc_l2_worker_exit(void)
{
	disconnect();
	if (l2 != NULL)
	{
		/* nobody follows the stream any more: standby L1 off */
		l2->worker_latch = NULL;
		l2->stream_active = false;
		set_stream_lsn(0);
	}
	if (l2 == NULL || hc_redis_target == NULL || RecoveryInProgress())
		return;
	LWLockAcquire(&hc_locks[HC_LOCK_L2_FENCE].lock, LW_EXCLUSIVE);
	if (!fenced() && known_run_id[0] != '\0')
	{
		FILE	   *f = AllocateFile(HC_L2_CLEAN_MARKER, "w");

		if (f != NULL)
		{
			fputs(known_run_id, f);
			FreeFile(f);
		}
	}
	LWLockRelease(&hc_locks[HC_LOCK_L2_FENCE].lock);
}

/* The state shown by hybridcache_redis_stats(). */
void
hc_l2_get_state(hcL2State *state)
{
	memset(state, 0, sizeof(*state));
	if (l2 == NULL)
		return;
	state->configured = hc_redis_target != NULL;
	if (hc_redis_target)
		strlcpy(state->server, hc_redis_target->display, sizeof(state->server));
	state->down = breaker_open();
	state->down_until = state->down ? (TimestampTz) pg_atomic_read_u64(&l2->down_until) : 0;
	state->fenced = fenced();
	SpinLockAcquire(&l2->mutex);
	state->last_error_time = l2->last_error_time;
	strlcpy(state->last_error, l2->last_error, sizeof(state->last_error));
	state->last_heartbeat = l2->last_heartbeat;
	state->heartbeat_lsn = l2->heartbeat_lsn;
	SpinLockRelease(&l2->mutex);

	state->stream_lsn = pg_atomic_read_u64(&l2->stream_lsn);
	state->stream_resyncs = pg_atomic_read_u64(&l2->stream_resyncs);
	state->stream_lag_bytes = -1;
	if (!state->configured || !l2->stream_active)
		state->stream = "off";
	else if (!RecoveryInProgress())
		state->stream = "publishing";
	else if (state->stream_lsn == 0)
		state->stream = "resyncing";
	else
	{
		XLogRecPtr	replay = GetXLogReplayRecPtr(NULL);

		state->stream = "following";
		state->stream_lag_bytes = replay > state->stream_lsn
			? (int64) (replay - state->stream_lsn) : 0;
	}
}
