/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Counters and the statistics functions of hybridcache.
 *
 * Global counters live in one shared slot per backend (indexed by
 * pgprocno), written only by their owner without locked instructions and
 * summed on read, so a hit never touches a cache line another backend
 * writes.  A slot keeps counting when a new backend takes it over; totals
 * therefore survive backend exits, and hybridcache_reset_stats() records
 * a baseline instead of zeroing other backends' slots.
 *
 * Per-relation counters (hits, misses, invalidations) are collected
 * locally and flushed into a small shared hash at transaction end, at
 * most every HC_TABLE_FLUSH_MS, when the local list fills up, at exit,
 * and whenever this backend reads the per-relation statistics.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/stats.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#define HC_MAX_TABLE_STATS	4096
#define HC_LOCAL_TABLE_STATS 64
#define HC_TABLE_FLUSH_MS	100

typedef enum hcCounter
{
	HC_C_L1_HITS,
	HC_C_L2_HITS,
	HC_C_MISSES,
	HC_C_STORES,
	HC_C_STORES_REFUSED,
	HC_C_EVICTIONS,
	HC_C_INVALIDATIONS,
	HC_C_SF_WAITS,
	HC_C_SF_TIMEOUTS,
	HC_C_PLANS_REUSED,
	HC_NUM_COUNTERS
} hcCounter;

#define HC_REDIS_BASE		(HC_NUM_COUNTERS + HC_BYPASS_NUM_REASONS)
#define HC_NUM_SLOT_VALUES	(HC_REDIS_BASE + HC_R_NUM_COUNTERS)

typedef struct hcBackendCounters
{
	pg_atomic_uint64 v[HC_NUM_SLOT_VALUES];
} hcBackendCounters;

typedef struct hcStatsShared
{
	slock_t		mutex;			/* protects baseline, reset_time, churn */
	TimestampTz reset_time;
	/* eviction churn over the current one-minute window */
	TimestampTz churn_window_start;
	int64		churn_stores;
	int64		churn_evictions;
	bool		churn_reported;	/* logged once in this window */
	uint64		baseline[HC_NUM_SLOT_VALUES];
	int			nslots;
	hcBackendCounters slots[FLEXIBLE_ARRAY_MEMBER];
} hcStatsShared;

typedef struct hcTableStatsKey
{
	Oid			dbid;
	Oid			relid;
} hcTableStatsKey;

typedef struct hcTableStats
{
	hcTableStatsKey key;
	int64		hits;
	int64		misses;
	int64		invalidations;
	TimestampTz last_invalidation;
} hcTableStats;

static hcStatsShared *stats = NULL;
static HTAB *table_stats = NULL;

/* local, not yet flushed per-relation counts */
static hcTableStats local_tables[HC_LOCAL_TABLE_STATS];
static int	nlocal_tables = 0;
static TimestampTz last_flush = 0;
static bool exit_flush_registered = false;

static const char *const bypass_names[HC_BYPASS_NUM_REASONS] = {
	[HC_BYPASS_NONE] = "none",
	[HC_BYPASS_DISABLED] = "disabled",
	[HC_BYPASS_HINT] = "hint",
	[HC_BYPASS_NOT_INSTALLED] = "not_installed",
	[HC_BYPASS_NESTED] = "nested",
	[HC_BYPASS_DESTINATION] = "destination",
	[HC_BYPASS_CURSOR] = "cursor",
	[HC_BYPASS_INSTRUMENTED] = "instrumented",
	[HC_BYPASS_ISOLATION] = "isolation",
	[HC_BYPASS_OWN_WRITE] = "own_write",
	[HC_BYPASS_RECOVERY] = "recovery",
	[HC_BYPASS_STATEMENT] = "statement",
	[HC_BYPASS_NO_RELATION] = "no_relation",
	[HC_BYPASS_MUTABLE_FUNCTION] = "mutable_function",
	[HC_BYPASS_RELATION_KIND] = "relation_kind",
	[HC_BYPASS_UNWATCHED_SUBSCRIPTION] = "unwatched_subscription",
	[HC_BYPASS_TABLESAMPLE] = "tablesample",
	[HC_BYPASS_UNSUPPORTED_NODE] = "unsupported_node",
	[HC_BYPASS_RECORD_RESULT] = "record_result",
	[HC_BYPASS_TOO_MANY_DEPS] = "too_many_relations",
	[HC_BYPASS_TTL_ZERO] = "ttl_zero",
	[HC_BYPASS_PARAMS] = "parameters",
	[HC_BYPASS_TOO_LARGE] = "too_large",
	[HC_BYPASS_INCOMPLETE] = "incomplete",
	[HC_BYPASS_CHEAP] = "cheap",
};

PG_FUNCTION_INFO_V1(hybridcache_stats);
PG_FUNCTION_INFO_V1(hybridcache_bypass_stats);
PG_FUNCTION_INFO_V1(hybridcache_redis_stats);
PG_FUNCTION_INFO_V1(hybridcache_table_stats);
PG_FUNCTION_INFO_V1(hybridcache_reset_stats);
PG_FUNCTION_INFO_V1(hybridcache_entries);
PG_FUNCTION_INFO_V1(hybridcache_version);

const char *
hc_bypass_reason_name(hcBypassReason reason)
{
	return bypass_names[reason];
}

static int
num_slots(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS;
}

Size
hc_stats_shmem_size(void)
{
	Size		size;

	size = add_size(offsetof(hcStatsShared, slots),
					mul_size(num_slots(), sizeof(hcBackendCounters)));
	size = MAXALIGN(size);
	size = add_size(size, hash_estimate_size(HC_MAX_TABLE_STATS,
											 sizeof(hcTableStats)));
	return size;
}

void
hc_stats_shmem_init(void)
{
	HASHCTL		info;
	bool		found;
	Size		size;

	size = add_size(offsetof(hcStatsShared, slots),
					mul_size(num_slots(), sizeof(hcBackendCounters)));
	stats = ShmemInitStruct("hybridcache statistics", size, &found);
	if (!found)
	{
		int			i;
		int			j;

		SpinLockInit(&stats->mutex);
		stats->reset_time = GetCurrentTimestamp();
		stats->churn_window_start = stats->reset_time;
		stats->churn_stores = 0;
		stats->churn_evictions = 0;
		stats->churn_reported = false;
		memset(stats->baseline, 0, sizeof(stats->baseline));
		stats->nslots = num_slots();
		for (i = 0; i < stats->nslots; i++)
			for (j = 0; j < HC_NUM_SLOT_VALUES; j++)
				pg_atomic_init_u64(&stats->slots[i].v[j], 0);
	}

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(hcTableStatsKey);
	info.entrysize = sizeof(hcTableStats);
	table_stats = ShmemInitHash("hybridcache table statistics",
								HC_MAX_TABLE_STATS, HC_MAX_TABLE_STATS,
								&info,
								HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
}

/* Add one to value i of this backend's slot (owner-only write). */
static inline void
bump(int i)
{
	pg_atomic_uint64 *v;

	if (stats == NULL || MyProc == NULL || MyProc->pgprocno >= stats->nslots)
		return;
	v = &stats->slots[MyProc->pgprocno].v[i];
	pg_atomic_write_u64(v, pg_atomic_read_u64(v) + 1);
}

/* Add n to value i of this backend's slot (owner-only write). */
static inline void
bump_by(int i, uint64 n)
{
	pg_atomic_uint64 *v;

	if (stats == NULL || MyProc == NULL || MyProc->pgprocno >= stats->nslots)
		return;
	v = &stats->slots[MyProc->pgprocno].v[i];
	pg_atomic_write_u64(v, pg_atomic_read_u64(v) + n);
}

static void
flush_at_exit(int code, Datum arg)
{
	hc_stats_flush_tables(true);
}

static hcTableStats *
local_table(Oid relid)
{
	int			i;
	hcTableStats *t;

	for (i = 0; i < nlocal_tables; i++)
		if (local_tables[i].key.relid == relid)
			return &local_tables[i];
	if (nlocal_tables >= HC_LOCAL_TABLE_STATS)
		hc_stats_flush_tables(true);
	if (!exit_flush_registered)
	{
		/* not before_shmem_exit: see remember_pin() in l1_store.c */
		on_shmem_exit(flush_at_exit, (Datum) 0);
		exit_flush_registered = true;
	}
	t = &local_tables[nlocal_tables++];
	memset(t, 0, sizeof(*t));
	t->key.dbid = MyDatabaseId;
	t->key.relid = relid;
	return t;
}

void
hc_count_bypass(hcBypassReason reason)
{
	bump(HC_NUM_COUNTERS + reason);
}

void
hc_count_hit(const Oid *deps, int ndeps)
{
	int			i;

	bump(HC_C_L1_HITS);
	for (i = 0; i < ndeps; i++)
		local_table(deps[i])->hits++;
}

void
hc_count_l2_hit(const Oid *deps, int ndeps)
{
	int			i;

	bump(HC_C_L2_HITS);
	for (i = 0; i < ndeps; i++)
		local_table(deps[i])->hits++;
}

void
hc_count_redis(hcRedisCounter c, uint64 n)
{
	bump_by(HC_REDIS_BASE + c, n);
}

void
hc_count_miss(const Oid *deps, int ndeps)
{
	int			i;

	bump(HC_C_MISSES);
	for (i = 0; i < ndeps; i++)
		local_table(deps[i])->misses++;
}

/*
 * Evictions and stores per one-minute window; one LOG line per window once
 * 1000 evictions are at least half the stores: the cache is too small for
 * the working set.  Stores and evictions are off the hit path, so a
 * spinlock is fine here.
 */
static void
count_churn(bool store)
{
	TimestampTz now;
	int64		stores = 0;
	int64		evictions = 0;
	bool		report = false;

	if (stats == NULL)
		return;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&stats->mutex);
	if (TimestampDifferenceExceeds(stats->churn_window_start, now, 60 * 1000))
	{
		stats->churn_window_start = now;
		stats->churn_stores = 0;
		stats->churn_evictions = 0;
		stats->churn_reported = false;
	}
	if (store)
		stats->churn_stores++;
	else
		stats->churn_evictions++;
	if (!stats->churn_reported && stats->churn_evictions >= 1000 &&
		stats->churn_evictions * 2 >= stats->churn_stores)
	{
		stats->churn_reported = true;
		stores = stats->churn_stores;
		evictions = stats->churn_evictions;
		report = true;
	}
	SpinLockRelease(&stats->mutex);

	if (report)
		ereport(LOG,
				(errmsg("hybridcache evicted " INT64_FORMAT " cached results while storing " INT64_FORMAT " within a minute",
						evictions, stores),
				 errhint("Consider increasing \"%s\" or \"%s\", or caching fewer statements.",
						 "hybridcache.shared_memory", "hybridcache.max_entries")));
}

void
hc_count_plan_reused(void)
{
	bump(HC_C_PLANS_REUSED);
}

void
hc_count_store(void)
{
	bump(HC_C_STORES);
	count_churn(true);
}

void
hc_count_store_refused(void)
{
	bump(HC_C_STORES_REFUSED);
}

void
hc_count_single_flight(bool timed_out)
{
	bump(HC_C_SF_WAITS);
	if (timed_out)
		bump(HC_C_SF_TIMEOUTS);
}

void
hc_count_eviction(void)
{
	bump(HC_C_EVICTIONS);
	count_churn(false);
}

void
hc_count_invalidation(Oid relid)
{
	hcTableStats *t;

	bump(HC_C_INVALIDATIONS);
	if (relid == InvalidOid)
		return;
	t = local_table(relid);
	t->invalidations++;
	t->last_invalidation = GetCurrentTimestamp();
}

/*
 * Move local per-relation counts into shared memory.  Without force, at
 * most every HC_TABLE_FLUSH_MS.  Never raises an error: relations that do
 * not fit in the shared table are not tracked.
 */
void
hc_stats_flush_tables(bool force)
{
	TimestampTz now;
	int			i;

	if (nlocal_tables == 0 || table_stats == NULL)
		return;
	now = GetCurrentTimestamp();
	if (!force && !TimestampDifferenceExceeds(last_flush, now, HC_TABLE_FLUSH_MS))
		return;

	LWLockAcquire(&hc_locks[HC_LOCK_TABLE_STATS].lock, LW_EXCLUSIVE);
	for (i = 0; i < nlocal_tables; i++)
	{
		hcTableStats *l = &local_tables[i];
		hcTableStats *s;
		bool		found;

		s = hash_search(table_stats, &l->key, HASH_ENTER_NULL, &found);
		if (s == NULL)
			continue;
		if (!found)
		{
			s->hits = s->misses = s->invalidations = 0;
			s->last_invalidation = 0;
		}
		s->hits += l->hits;
		s->misses += l->misses;
		s->invalidations += l->invalidations;
		if (l->last_invalidation > s->last_invalidation)
			s->last_invalidation = l->last_invalidation;
	}
	LWLockRelease(&hc_locks[HC_LOCK_TABLE_STATS].lock);
	nlocal_tables = 0;
	last_flush = now;
}

static void
require_preloaded(void)
{
	if (stats == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("hybridcache must be loaded via shared_preload_libraries")));
}

/* Sum every backend's value i, minus the baseline. */
static void
sum_values(uint64 *out)
{
	int			i;
	int			j;

	memset(out, 0, sizeof(uint64) * HC_NUM_SLOT_VALUES);
	for (i = 0; i < stats->nslots; i++)
		for (j = 0; j < HC_NUM_SLOT_VALUES; j++)
			out[j] += pg_atomic_read_u64(&stats->slots[i].v[j]);
}

static void
current_values(uint64 *out, TimestampTz *reset_time)
{
	uint64		baseline[HC_NUM_SLOT_VALUES];
	int			j;

	sum_values(out);
	SpinLockAcquire(&stats->mutex);
	memcpy(baseline, stats->baseline, sizeof(baseline));
	*reset_time = stats->reset_time;
	SpinLockRelease(&stats->mutex);
	for (j = 0; j < HC_NUM_SLOT_VALUES; j++)
		out[j] = out[j] >= baseline[j] ? out[j] - baseline[j] : 0;
}

/* hybridcache_stats(): one row of cache-wide figures */
Datum
hybridcache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	uint64		v[HC_NUM_SLOT_VALUES];
	TimestampTz reset_time;
	Datum		values[16];
	bool		nulls[16] = {0};
	int64		entries;
	int64		bytes_used;
	int64		bytes_limit;
	uint64		bypasses = 0;
	uint64		lookups;
	int			i;

	require_preloaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	current_values(v, &reset_time);
	for (i = 1; i < HC_BYPASS_NUM_REASONS; i++)
		bypasses += v[HC_NUM_COUNTERS + i];
	hc_l1_usage(&entries, &bytes_used, &bytes_limit);
	lookups = v[HC_C_L1_HITS] + v[HC_C_L2_HITS] + v[HC_C_MISSES];

	values[0] = Int64GetDatum((int64) v[HC_C_L1_HITS]);
	values[1] = Int64GetDatum((int64) v[HC_C_L2_HITS]);
	values[2] = Int64GetDatum((int64) v[HC_C_MISSES]);
	values[3] = Int64GetDatum((int64) v[HC_C_STORES]);
	values[4] = Int64GetDatum((int64) v[HC_C_STORES_REFUSED]);
	values[5] = Int64GetDatum((int64) bypasses);
	values[6] = Int64GetDatum((int64) v[HC_C_EVICTIONS]);
	values[7] = Int64GetDatum((int64) v[HC_C_INVALIDATIONS]);
	values[8] = Int64GetDatum(entries);
	values[9] = Int64GetDatum(bytes_used);
	values[10] = Int64GetDatum(bytes_limit);
	if (lookups > 0)
		values[11] = Float8GetDatum((double) (v[HC_C_L1_HITS] + v[HC_C_L2_HITS]) /
									(double) lookups);
	else
		nulls[11] = true;
	values[12] = Int64GetDatum((int64) v[HC_C_SF_WAITS]);
	values[13] = Int64GetDatum((int64) v[HC_C_SF_TIMEOUTS]);
	values[14] = Int64GetDatum((int64) v[HC_C_PLANS_REUSED]);
	values[15] = TimestampTzGetDatum(reset_time);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* hybridcache_bypass_stats(): statements not served or stored, by reason */
Datum
hybridcache_bypass_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	uint64		v[HC_NUM_SLOT_VALUES];
	TimestampTz reset_time;
	int			i;

	require_preloaded();
	InitMaterializedSRF(fcinfo, 0);
	current_values(v, &reset_time);
	for (i = 1; i < HC_BYPASS_NUM_REASONS; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {0};

		values[0] = CStringGetTextDatum(bypass_names[i]);
		values[1] = Int64GetDatum((int64) v[HC_NUM_COUNTERS + i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* hybridcache_redis_stats(): the state of the second level and its counters */
Datum
hybridcache_redis_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	uint64		v[HC_NUM_SLOT_VALUES];
	TimestampTz reset_time;
	hcL2State	st;
	Datum		values[26];
	bool		nulls[26] = {0};
	const char *state;
	int			i;

	require_preloaded();
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	current_values(v, &reset_time);
	hc_l2_get_state(&st);

	if (!st.configured)
		state = "off";
	else if (st.down)
		state = "down";
	else if (st.fenced)
		state = "fenced";
	else
		state = "up";

	values[0] = CStringGetTextDatum(state);
	if (st.configured)
		values[1] = CStringGetTextDatum(st.server);
	else
		nulls[1] = true;
	values[2] = Int64GetDatum((int64) v[HC_C_L2_HITS]);
	for (i = 0; i <= HC_R_FENCED_WRITES; i++)
		values[3 + i] = Int64GetDatum((int64) v[HC_REDIS_BASE + i]);
	/* 3 .. 16: the Redis counters in enum order */
	if (st.last_error[0] != '\0')
	{
		values[17] = CStringGetTextDatum(st.last_error);
		values[18] = TimestampTzGetDatum(st.last_error_time);
	}
	else
		nulls[17] = nulls[18] = true;
	if (st.down)
		values[19] = TimestampTzGetDatum(st.down_until);
	else
		nulls[19] = true;
	if (st.last_heartbeat != 0)
	{
		values[20] = TimestampTzGetDatum(st.last_heartbeat);
		values[21] = LSNGetDatum((XLogRecPtr) st.heartbeat_lsn);
	}
	else
		nulls[20] = nulls[21] = true;
	/* the stream: published by a primary, followed by a standby */
	values[22] = CStringGetTextDatum(st.stream);
	if (st.stream_lsn != 0)
		values[23] = LSNGetDatum((XLogRecPtr) st.stream_lsn);
	else
		nulls[23] = true;
	if (st.stream_lag_bytes >= 0)
		values[24] = Int64GetDatum(st.stream_lag_bytes);
	else
		nulls[24] = true;
	values[25] = Int64GetDatum((int64) st.stream_resyncs);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* hybridcache_table_stats(): per-relation figures of this database */
Datum
hybridcache_table_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	hcTableStats *s;
	hcTableStats *rows;
	int			nrows = 0;
	int			i;

	require_preloaded();
	InitMaterializedSRF(fcinfo, 0);
	hc_stats_flush_tables(true);

	/* copy under the lock, look the relations up after releasing it */
	rows = palloc(sizeof(hcTableStats) * HC_MAX_TABLE_STATS);
	LWLockAcquire(&hc_locks[HC_LOCK_TABLE_STATS].lock, LW_SHARED);
	hash_seq_init(&seq, table_stats);
	while ((s = hash_seq_search(&seq)) != NULL)
		if (s->key.dbid == MyDatabaseId && nrows < HC_MAX_TABLE_STATS)
			rows[nrows++] = *s;
	LWLockRelease(&hc_locks[HC_LOCK_TABLE_STATS].lock);

	for (i = 0; i < nrows; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};
		char		relkind = get_rel_relkind(rows[i].key.relid);

		/* writes also register indexes and TOAST tables; show tables */
		if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
			relkind != RELKIND_MATVIEW && relkind != RELKIND_VIEW)
			continue;
		values[0] = ObjectIdGetDatum(rows[i].key.relid);
		values[1] = Int64GetDatum(rows[i].hits);
		values[2] = Int64GetDatum(rows[i].misses);
		values[3] = Int64GetDatum(rows[i].invalidations);
		if (rows[i].last_invalidation != 0)
			values[4] = TimestampTzGetDatum(rows[i].last_invalidation);
		else
			nulls[4] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	pfree(rows);
	return (Datum) 0;
}

/* hybridcache_reset_stats(): start counting from zero */
Datum
hybridcache_reset_stats(PG_FUNCTION_ARGS)
{
	uint64		sums[HC_NUM_SLOT_VALUES];
	HASH_SEQ_STATUS seq;
	hcTableStats *s;

	require_preloaded();
	nlocal_tables = 0;
	hc_query_stats_reset();
	sum_values(sums);
	SpinLockAcquire(&stats->mutex);
	memcpy(stats->baseline, sums, sizeof(sums));
	stats->reset_time = GetCurrentTimestamp();
	SpinLockRelease(&stats->mutex);

	LWLockAcquire(&hc_locks[HC_LOCK_TABLE_STATS].lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, table_stats);
	while ((s = hash_seq_search(&seq)) != NULL)
		hash_search(table_stats, &s->key, HASH_REMOVE, NULL);
	LWLockRelease(&hc_locks[HC_LOCK_TABLE_STATS].lock);
	PG_RETURN_VOID();
}

/* per-entry row of hybridcache_entries() */
static void
entry_row(const hcEntryHeader *hdr, Size len, int usage, int pins, void *arg)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) arg;
	Datum		values[9];
	bool		nulls[9] = {0};
	Oid			dbid;
	TimestampTz created;
	int			ndeps;
	const Oid  *deps;
	Datum	   *elems;
	int			i;

	if (hdr == NULL)
	{
		/* a result being computed right now (single-flight placeholder) */
		for (i = 0; i < 8; i++)
			nulls[i] = true;
		values[8] = BoolGetDatum(true);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		return;
	}
	values[8] = BoolGetDatum(false);
	hc_entry_describe(hdr, &dbid, &created, &ndeps, &deps);
	values[0] = ObjectIdGetDatum(dbid);
	if (dbid == MyDatabaseId)
	{
		elems = palloc(sizeof(Datum) * Max(ndeps, 1));
		for (i = 0; i < ndeps; i++)
			elems[i] = ObjectIdGetDatum(deps[i]);
		values[1] = PointerGetDatum(construct_array(elems, ndeps, REGCLASSOID,
													sizeof(Oid), true,
													TYPALIGN_INT));
	}
	else
		nulls[1] = true;		/* names of another database are unknown here */
	values[2] = Int64GetDatum((int64) hc_entry_ntuples(hdr));
	values[3] = Int64GetDatum((int64) len);
	values[4] = TimestampTzGetDatum(created);
	values[5] = Float8GetDatum(hc_entry_exec_ms(hdr));
	values[6] = Int32GetDatum(usage);
	values[7] = Int32GetDatum(pins);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* hybridcache_entries(): one row per cached result */
Datum
hybridcache_entries(PG_FUNCTION_ARGS)
{
	require_preloaded();
	InitMaterializedSRF(fcinfo, 0);
	hc_l1_foreach(entry_row, fcinfo->resultinfo);
	return (Datum) 0;
}

/* hybridcache_version(): the version of the loaded library */
Datum
hybridcache_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(HYBRIDCACHE_VERSION));
}
