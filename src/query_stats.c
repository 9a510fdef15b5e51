/*-------------------------------------------------------------------------
 *
 * query_stats.c
 *	  Per-query statistics: hybridcache_query_stats().
 *
 * One entry per database and query: keyed by the queryid that
 * pg_stat_statements shows when query IDs are computed (compute_query_id,
 * or pg_stat_statements loaded), so the two views join one to one; else by
 * a hash of the statement's text.  Either way every parameter value of a
 * prepared statement counts toward the same row, custom plans or generic.
 *
 * Counting follows the rule of stats.c: nothing shared is written on the
 * hit path.  Each backend accumulates counts for the queries it ran in a
 * small local list and moves them into the shared table at transaction
 * end (at most every HC_QUERY_FLUSH_MS), when the list is full, at exit,
 * and before it reads the statistics itself.  The shared table has
 * hybridcache.max_query_stats entries; when it is full the least used
 * 5 % make room, removed together (see evict_least_used()).
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/query_stats.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "hybridcache.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "common/hashfn.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#define HC_QUERY_TEXT_LEN	1024
#define HC_LOCAL_QUERIES	32
#define HC_QUERY_FLUSH_MS	100
#define HC_QUERY_EVICT_PERCENT	5
#define HC_QUERY_USAGE_DECAY	0.99

typedef struct hcQueryKey
{
	Oid			dbid;
	bool		is_queryid;		/* id is a queryid, else a text hash */
	uint64		id;
} hcQueryKey;

typedef struct hcQueryCounters
{
	int64		hits;
	int64		misses;
	int64		stores;
	int64		invalidated;	/* lookups that found an out-of-date entry */
	int64		bytes;			/* size of the last stored result */
	int64		executions;		/* misses whose execution time is known */
	double		exec_ms;		/* total execution time of those */
	double		saved_ms;		/* execution time the hits did not spend */
	TimestampTz last_used;
} hcQueryCounters;

typedef struct hcQueryEntry
{
	hcQueryKey	key;
	int64		queryid;
	double		usage;			/* shared only: lookups, decayed by evictions */
	hcQueryCounters c;
	char		query[HC_QUERY_TEXT_LEN];
} hcQueryEntry;

static HTAB *query_stats = NULL;

/* state of the shared table, under HC_LOCK_QUERY_STATS */
typedef struct hcQueryShared
{
	double		usage_init;		/* usage a new entry starts with */
} hcQueryShared;

static hcQueryShared *query_shared = NULL;

static hcQueryEntry local_queries[HC_LOCAL_QUERIES];
static int	nlocal_queries = 0;
static TimestampTz last_flush = 0;
static bool exit_flush_registered = false;

PG_FUNCTION_INFO_V1(hybridcache_query_stats);

Size
hc_query_stats_shmem_size(void)
{
	return add_size(hash_estimate_size(hc_max_query_stats, sizeof(hcQueryEntry)),
					MAXALIGN(sizeof(hcQueryShared)));
}

void
hc_query_stats_shmem_init(void)
{
	HASHCTL		info;
	bool		found;

	query_shared = ShmemInitStruct("hybridcache query statistics state",
								   sizeof(hcQueryShared), &found);
	if (!found)
		query_shared->usage_init = 1.0;
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(hcQueryKey);
	info.entrysize = sizeof(hcQueryEntry);
	query_stats = ShmemInitHash("hybridcache query statistics",
								hc_max_query_stats, hc_max_query_stats,
								&info,
								HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
}

static void
flush_at_exit(int code, Datum arg)
{
	hc_query_stats_flush(true);
}

/* Order entries least used first: lowest usage, then oldest use. */
static int
usage_cmp(const void *a, const void *b)
{
	const hcQueryEntry *x = *(hcQueryEntry *const *) a;
	const hcQueryEntry *y = *(hcQueryEntry *const *) b;

	if (x->usage != y->usage)
		return x->usage < y->usage ? -1 : 1;
	if (x->c.last_used != y->c.last_used)
		return x->c.last_used < y->c.last_used ? -1 : 1;
	return 0;
}

/*
 * Make room in the full shared table: remove the least used
 * HC_QUERY_EVICT_PERCENT of its entries in one scan, so that a workload
 * with more query texts than the table holds (literals in the simple
 * protocol, without query IDs) pays one scan per that many new entries,
 * not one per entry.  Usage is the entry's lookups, decayed here by
 * HC_QUERY_USAGE_DECAY each time, and a new entry starts at the median
 * usage: counted from zero, every new entry would be the least used one,
 * and new queries would only ever make room for each other.  Without
 * memory for the sort, only the least used entry goes.  Caller holds the
 * lock exclusively.
 */
static void
evict_least_used(void)
{
	HASH_SEQ_STATUS seq;
	hcQueryEntry *e;
	hcQueryEntry **all;
	hcQueryEntry *victim = NULL;
	long		size = hash_get_num_entries(query_stats);
	long		n = 0;
	long		i;

	all = MemoryContextAllocExtended(TopMemoryContext,
									 Max(size, 1) * sizeof(hcQueryEntry *),
									 MCXT_ALLOC_NO_OOM);
	hash_seq_init(&seq, query_stats);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (all != NULL && n < size)
			all[n++] = e;
		else if (victim == NULL || usage_cmp(&e, &victim) < 0)
			victim = e;
	}
	if (all == NULL)
	{
		if (victim != NULL)
			hash_search(query_stats, &victim->key, HASH_REMOVE, NULL);
		return;
	}
	if (n == 0)
	{
		pfree(all);
		return;
	}
	qsort(all, n, sizeof(hcQueryEntry *), usage_cmp);
	query_shared->usage_init = Max(all[n / 2]->usage, 1.0);
	for (i = 0; i < n; i++)
	{
		if (i < Max(n * HC_QUERY_EVICT_PERCENT / 100, 1))
			hash_search(query_stats, &all[i]->key, HASH_REMOVE, NULL);
		else
			all[i]->usage *= HC_QUERY_USAGE_DECAY;
	}
	pfree(all);
}

/*
 * Move local counts into the shared table.  Without force, at most every
 * HC_QUERY_FLUSH_MS.  Never raises an error.
 */
void
hc_query_stats_flush(bool force)
{
	TimestampTz now;
	int			i;

	if (nlocal_queries == 0 || query_stats == NULL)
		return;
	now = GetCurrentTimestamp();
	if (!force && !TimestampDifferenceExceeds(last_flush, now, HC_QUERY_FLUSH_MS))
		return;

	LWLockAcquire(&hc_locks[HC_LOCK_QUERY_STATS].lock, LW_EXCLUSIVE);
	for (i = 0; i < nlocal_queries; i++)
	{
		hcQueryEntry *l = &local_queries[i];
		hcQueryEntry *s;
		bool		found;

		s = hash_search(query_stats, &l->key, HASH_ENTER_NULL, &found);
		if (s == NULL)
		{
			evict_least_used();
			s = hash_search(query_stats, &l->key, HASH_ENTER_NULL, &found);
			if (s == NULL)
				continue;
		}
		if (!found)
		{
			memset(&s->c, 0, sizeof(s->c));
			s->usage = query_shared->usage_init;
			s->queryid = l->queryid;
			memcpy(s->query, l->query, HC_QUERY_TEXT_LEN);
		}
		s->usage += l->c.hits + l->c.misses;
		s->c.hits += l->c.hits;
		s->c.misses += l->c.misses;
		s->c.stores += l->c.stores;
		s->c.invalidated += l->c.invalidated;
		if (l->c.stores > 0)
			s->c.bytes = l->c.bytes;
		s->c.executions += l->c.executions;
		s->c.exec_ms += l->c.exec_ms;
		s->c.saved_ms += l->c.saved_ms;
		if (l->c.last_used > s->c.last_used)
			s->c.last_used = l->c.last_used;
	}
	LWLockRelease(&hc_locks[HC_LOCK_QUERY_STATS].lock);
	nlocal_queries = 0;
	last_flush = now;
}

/* The statement's own part of the source text, without leading blanks. */
static const char *
statement_text(QueryDesc *qd, int *len)
{
	const char *text = qd->sourceText ? qd->sourceText : "";

	if (qd->plannedstmt->stmt_location > 0)
		text += qd->plannedstmt->stmt_location;
	*len = qd->plannedstmt->stmt_len > 0 ? qd->plannedstmt->stmt_len : strlen(text);
	while (*len > 0 && (text[0] == ' ' || text[0] == '\n' || text[0] == '\t'))
	{
		text++;
		(*len)--;
	}
	return text;
}

/*
 * The statistics key of a statement: its queryid, else a hash of its text.
 * Returns the text when it was needed (else NULL).
 */
static const char *
query_key(QueryDesc *qd, hcQueryKey *key, int *len)
{
	const char *text = NULL;

	memset(key, 0, sizeof(*key));
	key->dbid = MyDatabaseId;
	*len = 0;
	if (qd->plannedstmt->queryId != 0)
	{
		key->is_queryid = true;
		key->id = qd->plannedstmt->queryId;
	}
	else
	{
		text = statement_text(qd, len);
		key->id = hash_bytes_extended((const unsigned char *) text, *len, 0);
	}
	return text;
}

/* The local counters of the statement's query, created on first use. */
static hcQueryCounters *
local_query(QueryDesc *qd)
{
	hcQueryEntry *e;
	hcQueryKey	key;
	const char *text;
	int			len;
	int			i;

	text = query_key(qd, &key, &len);

	for (i = 0; i < nlocal_queries; i++)
		if (memcmp(&local_queries[i].key, &key, sizeof(key)) == 0)
			return &local_queries[i].c;

	if (nlocal_queries >= HC_LOCAL_QUERIES)
		hc_query_stats_flush(true);
	if (!exit_flush_registered)
	{
		/* not before_shmem_exit: see remember_pin() in l1_store.c */
		on_shmem_exit(flush_at_exit, (Datum) 0);
		exit_flush_registered = true;
	}

	e = &local_queries[nlocal_queries++];
	e->key = key;
	e->queryid = (int64) qd->plannedstmt->queryId;
	memset(&e->c, 0, sizeof(e->c));

	/* the text, cut at a character boundary */
	if (text == NULL)
		text = statement_text(qd, &len);
	len = pg_mbcliplen(text, len, HC_QUERY_TEXT_LEN - 1);
	memcpy(e->query, text, len);
	e->query[len] = '\0';
	return &e->c;
}

void
hc_query_count_hit(const hcPlanInfo *info, QueryDesc *qd, double saved_ms)
{
	hcQueryCounters *c;

	if (query_stats == NULL)
		return;
	c = local_query(qd);
	c->hits++;
	c->saved_ms += saved_ms;
	c->last_used = GetCurrentStatementStartTimestamp();
}

void
hc_query_count_miss(const hcPlanInfo *info, QueryDesc *qd, bool found_stale)
{
	hcQueryCounters *c;

	if (query_stats == NULL)
		return;
	c = local_query(qd);
	c->misses++;
	if (found_stale)
		c->invalidated++;
	c->last_used = GetCurrentStatementStartTimestamp();
}

void
hc_query_count_execution(const hcPlanInfo *info, QueryDesc *qd,
						 double exec_ms, bool stored, Size bytes)
{
	hcQueryCounters *c;

	if (query_stats == NULL)
		return;
	c = local_query(qd);
	c->executions++;
	c->exec_ms += exec_ms;
	if (stored)
	{
		c->stores++;
		c->bytes = bytes;
	}
}

/* Forget every shared and local count (hybridcache_reset_stats). */
void
hc_query_stats_reset(void)
{
	HASH_SEQ_STATUS seq;
	hcQueryEntry *e;

	nlocal_queries = 0;
	if (query_stats == NULL)
		return;
	LWLockAcquire(&hc_locks[HC_LOCK_QUERY_STATS].lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, query_stats);
	while ((e = hash_seq_search(&seq)) != NULL)
		hash_search(query_stats, &e->key, HASH_REMOVE, NULL);
	query_shared->usage_init = 1.0;
	LWLockRelease(&hc_locks[HC_LOCK_QUERY_STATS].lock);
}

/* hybridcache_query_stats(): one row per cached query shape */
Datum
hybridcache_query_stats(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	hcQueryEntry *e;

	if (query_stats == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("hybridcache must be loaded via shared_preload_libraries")));
	InitMaterializedSRF(fcinfo, 0);
	hc_query_stats_flush(true);

	LWLockAcquire(&hc_locks[HC_LOCK_QUERY_STATS].lock, LW_SHARED);
	hash_seq_init(&seq, query_stats);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		Datum		values[13];
		bool		nulls[13] = {0};
		char		fingerprint[33];

		snprintf(fingerprint, sizeof(fingerprint), "%s%016llx",
				 e->key.is_queryid ? "q" : "t",
				 (unsigned long long) e->key.id);
		values[0] = ObjectIdGetDatum(e->key.dbid);
		values[1] = CStringGetTextDatum(fingerprint);
		values[2] = Int64GetDatum(e->queryid);
		nulls[2] = (e->queryid == 0);
		values[3] = CStringGetTextDatum(e->query);
		values[4] = Int64GetDatum(e->c.hits);
		values[5] = Int64GetDatum(e->c.misses);
		values[6] = Int64GetDatum(e->c.stores);
		values[7] = Int64GetDatum(e->c.invalidated);
		values[8] = Int64GetDatum(e->c.bytes);
		values[9] = Float8GetDatum(e->c.executions > 0 ? e->c.exec_ms / e->c.executions : 0.0);
		nulls[9] = (e->c.executions == 0);
		values[10] = Float8GetDatum(e->c.saved_ms);
		values[11] = Float8GetDatum((e->c.hits + e->c.misses) > 0 ?
									(double) e->c.hits / (e->c.hits + e->c.misses) : 0.0);
		values[12] = TimestampTzGetDatum(e->c.last_used);
		nulls[12] = (e->c.last_used == 0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(&hc_locks[HC_LOCK_QUERY_STATS].lock);
	return (Datum) 0;
}

/*
 * The mean execution time of this statement's query on a miss, as far as
 * known here (this backend's unflushed counts, else the shared table), or
 * -1 when it was never measured.
 */
double
hc_query_mean_exec_ms(QueryDesc *qd)
{
	hcQueryKey	key;
	hcQueryEntry *e;
	int64		executions = 0;
	double		exec_ms = 0;
	int			len;
	int			i;

	if (query_stats == NULL)
		return -1;
	query_key(qd, &key, &len);
	for (i = 0; i < nlocal_queries; i++)
		if (memcmp(&local_queries[i].key, &key, sizeof(key)) == 0)
		{
			executions += local_queries[i].c.executions;
			exec_ms += local_queries[i].c.exec_ms;
		}
	LWLockAcquire(&hc_locks[HC_LOCK_QUERY_STATS].lock, LW_SHARED);
	e = hash_search(query_stats, &key, HASH_FIND, NULL);
	if (e != NULL)
	{
		executions += e->c.executions;
		exec_ms += e->c.exec_ms;
	}
	LWLockRelease(&hc_locks[HC_LOCK_QUERY_STATS].lock);
	return executions > 0 ? exec_ms / executions : -1;
}
