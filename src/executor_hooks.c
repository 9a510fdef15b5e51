/*-------------------------------------------------------------------------
 *
 * executor_hooks.c
 *	  Executor and utility hooks: bypass -> key -> L1 -> replay or capture.
 *
 * ExecutorStart runs the previous hook or standard_ExecutorStart, also for
 * statements that will be served from the cache: permission checks
 * (tables, columns, function EXECUTE) happen there (invariant I4), and
 * other extensions see the statement start.  The exception is a hit of a
 * plan that lives across executions (prepared, or kept by plan_reuse.c),
 * decided before ExecutorStart after the same checks (see try_stub_hit()):
 * a stub stands in for the plan.  It then decides whether the statement
 * may use the cache and computes its key.  Writes are
 * registered here for every statement that modifies tables, at any
 * nesting level.
 *
 * The destination is only known in ExecutorRun.  Its first call probes L1
 * for statements sending their rows straight to the client; a valid entry
 * is replayed, otherwise the run is captured and stored once the result
 * is known to be complete (the predicate PortalRunSelect uses for atEnd),
 * if the consistency check of invalidation.c allows it.
 *
 * Per-statement state lives in the executor's query memory context, with
 * a reset callback that unpins the entry and unlinks the state on every
 * exit path (normal end, error, portal drop).
 *
 * Only top-level statements are served or stored: nested ones (functions,
 * utility statements such as EXPLAIN ANALYZE, CREATE TABLE AS, COPY,
 * DECLARE CURSOR) run with other snapshot and row-count semantics.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/executor_hooks.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/objectaccess.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "portability/instr_time.h"
#include "storage/latch.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"
#include "utils/syscache.h"
#include "utils/builtins.h"

typedef enum hcPhase
{
	HCQ_START,					/* eligible; first ExecutorRun not yet seen */
	HCQ_HIT,					/* replaying a pinned entry */
	HCQ_CAPTURE,				/* running for real and capturing */
	HCQ_DONE					/* nothing more to do */
} hcPhase;

typedef struct hcQueryState
{
	QueryDesc  *qd;
	struct hcQueryState *next;
	MemoryContextCallback cb;
	const hcPlanInfo *info;
	hcKey		key;
	int			ttl_s;
	int			nranges;		/* dependencies read by key range */
	hcKeyRange	ranges[HC_MAX_RANGES];
	hcPhase		phase;
	bool		found_stale;	/* the lookup found an out-of-date entry */
	/* single-flight placeholder while computing a full run, or -1 */
	int			placeholder_id;
	/* hit */
	int			desc_id;
	const hcEntryHeader *hdr;
	uint64		pos;
	TupleTableSlot *slot;
	int			replay_wire;	/* sending wire rows: 1, tuples: 0, -1: not decided */
	/* capture */
	hcCapture  *cap;
	bool		wire_checked;	/* hc_capture_set_wire() considered */
	DestReceiver *tee;
	uint64		epoch;
	struct hcMissState *miss;	/* set up when it is not a hit */
	bool		l2_asked;		/* L2 was asked before ExecutorStart */
	double		exec_ms;
	int64		redis_spent_us;	/* time waited for Redis so far */
} hcQueryState;

/*
 * What a statement that is not a hit needs for a store: kilobytes, which
 * a hit should neither allocate nor zero.
 */
typedef struct hcMissState
{
	uint64		gens[HC_MAX_DEPS];
	uint64		rseqs[HC_MAX_RANGES];	/* range log heads at start */
	hcL2Stamp	stamp;			/* what an L2 store needs */
} hcMissState;

/*
 * What try_stub_hit() read for its L2 lookup before the plan's
 * ExecutorStart: the local generations (read first, as begin_run() reads
 * them) and the lookup's stamp.  An L2 hit uses them to copy the entry
 * into L1; after an L2 miss the statement's state takes them over
 * (consider_statement()), so that the miss neither reads them again nor
 * asks Redis twice.
 */
static struct
{
	QueryDesc  *qd;				/* NULL: nothing carried */
	hcKey		key;
	uint64		epoch;
	int64		redis_spent_us;
	hcMissState miss;
} l2_asked;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static int	exec_nesting = 0;

/*
 * While hybridcache_warm() runs a query, statements at this executor and
 * utility nesting level count as top level, and SPI as a client; -1: not
 * warming.  The outcome of the statement is reported in warm_outcome.
 */
static int	warm_exec_nesting = -1;
static int	warm_utility_nesting = -1;
static const char *warm_outcome = NULL;
static int	utility_nesting = 0;
static hcQueryState *states = NULL;

/* is the extension created in this database? -1: not known yet */
static int	extension_installed = -1;

static void hc_ExecutorStart(QueryDesc *queryDesc, int eflags);
static void hc_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction,
						   uint64 count, bool execute_once);
static void hc_ExecutorFinish(QueryDesc *queryDesc);
static void hc_ExecutorEnd(QueryDesc *queryDesc);
static void hc_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
							  bool readOnlyTree, ProcessUtilityContext context,
							  ParamListInfo params, QueryEnvironment *queryEnv,
							  DestReceiver *dest, QueryCompletion *qc);

static hcQueryState *new_state(QueryDesc *qd, const hcPlanInfo *info,
								const hcKey *key, int ttl_s,
								const hcKeyRange *ranges, int nranges);
static void start_replay(hcQueryState *st, const hcEntryHeader *hdr,
						 int desc_id);
static double expected_exec_ms_of(const hcPlanInfo *info, QueryDesc *qd);
static bool l2_worthwhile_for(const hcPlanInfo *info, QueryDesc *qd);
static void keep_l2_hit(const hcKey *key, const hcPlanInfo *info, char *blob,
						Size len, const hcMissState *miss,
						const hcKeyRange *ranges, int nranges, uint64 epoch,
						Snapshot snapshot, int *placeholder_id);
static hcBypassReason decide_for(QueryDesc *qd, PlannedStmt *pstmt,
								 const hcPlanInfo *memo, TupleDesc tupdesc,
								 MemoryContext cxt, int eflags,
								 const hcPlanInfo **info_out,
								 hcKey *key, int *ttl_out);

static void
extension_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	extension_installed = -1;
}

void
hc_install_hooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = hc_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = hc_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = hc_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = hc_ExecutorEnd;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = hc_ProcessUtility;

	CacheRegisterSyscacheCallback(EXTENSIONOID, extension_callback, (Datum) 0);
}

/* Whether CREATE EXTENSION hybridcache ran in this database. */
bool
hc_extension_installed(void)
{
	if (extension_installed < 0)
		extension_installed = OidIsValid(get_extension_oid("hybridcache", true)) ? 1 : 0;
	return extension_installed == 1;
}

/* Is no statement, function or utility command running in this backend? */
bool
hc_at_top_level(void)
{
	return exec_nesting == 0 && utility_nesting == 0;
}

/*
 * Is the statement being analysed, planned or started one that a client's
 * own message (a simple query, Bind or Execute) runs at top level, with
 * its rows going to that client?  A function called through the fast-path
 * protocol also runs at top level, but with no client query string, and
 * may run statements on an older snapshot.
 */
bool
hc_client_statement(void)
{
	return hc_at_top_level() && debug_query_string != NULL &&
		whereToSendOutput == DestRemote && !IsParallelWorker();
}

static bool
is_client_dest(CommandDest d)
{
	return d == DestRemote || d == DestRemoteExecute || d == DestRemoteSimple;
}

static hcQueryState *
find_state(QueryDesc *qd)
{
	hcQueryState *st;

	for (st = states; st != NULL; st = st->next)
		if (st->qd == qd)
			return st;
	return NULL;
}

/* es_query_cxt reset callback: unpin and unlink, on every exit path */
static void
state_cleanup(void *arg)
{
	hcQueryState *st = (hcQueryState *) arg;
	hcQueryState **p;

	if (st->desc_id >= 0)
	{
		int			desc_id = st->desc_id;

		st->desc_id = -1;
		hc_l1_release(desc_id);
	}
	if (st->placeholder_id >= 0)
	{
		int			placeholder_id = st->placeholder_id;

		st->placeholder_id = -1;
		hc_l1_abandon(placeholder_id);
	}
	if (st->phase == HCQ_CAPTURE)
		hc_count_bypass(HC_BYPASS_INCOMPLETE);
	for (p = &states; *p != NULL; p = &(*p)->next)
	{
		if (*p == st)
		{
			*p = st->next;
			break;
		}
	}
}

/*
 * Does the statement start with a comment saying "hybridcache: off"?
 * Leading block and line comments are examined, case and spacing aside.
 */
bool
hc_has_off_hint(const char *text, int location)
{
	const char *p;

	if (text == NULL)
		return false;
	p = text + (location > 0 ? location : 0);
	for (;;)
	{
		const char *body;
		const char *end;
		char		buf[64];
		int			n = 0;

		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (p[0] == '/' && p[1] == '*')
		{
			body = p + 2;
			end = strstr(body, "*/");
			if (end == NULL)
				return false;
			p = end + 2;
		}
		else if (p[0] == '-' && p[1] == '-')
		{
			body = p + 2;
			end = strchr(body, '\n');
			if (end == NULL)
				end = body + strlen(body);
			p = end;
		}
		else
			return false;

		/* squeeze out white space and lower-case, then compare */
		for (; body < end && n < (int) sizeof(buf) - 1; body++)
			if (!isspace((unsigned char) *body))
				buf[n++] = pg_tolower((unsigned char) *body);
		buf[n] = '\0';
		if (strcmp(buf, "hybridcache:off") == 0)
			return true;
	}
}

/*
 * Decide whether a top-level SELECT may use the cache and compute its key,
 * in the query's memory context.  No side effects: EXPLAIN uses it too.
 */
hcBypassReason
hc_decide(QueryDesc *qd, int eflags, const hcPlanInfo **info_out,
		  hcKey *key, int *ttl_out)
{
	return decide_for(qd, qd->plannedstmt, NULL, qd->tupDesc,
					  qd->estate->es_query_cxt, eflags, info_out, key, ttl_out);
}

/*
 * hc_decide() for the plan pstmt of qd, whose result has row type tupdesc,
 * allocating in cxt: also usable before ExecutorStart.  memo: the plan's
 * memoised analysis if the caller has it already, else NULL.
 */
static hcBypassReason
decide_for(QueryDesc *qd, PlannedStmt *pstmt, const hcPlanInfo *memo,
		   TupleDesc tupdesc, MemoryContext cxt, int eflags,
		   const hcPlanInfo **info_out, hcKey *key, int *ttl_out)
{
	hcBypassReason reason = HC_BYPASS_NONE;
	const hcPlanInfo *info;
	MemoryContext oldcxt;
	int			ttl_s = 0;

	if (!hc_enabled)
		return HC_BYPASS_DISABLED;
	if (!hc_extension_installed())
		return HC_BYPASS_NOT_INSTALLED;
	if (hc_has_off_hint(qd->sourceText, pstmt->stmt_location))
		return HC_BYPASS_HINT;
	/* a standby sees no writes: without L2 it has nothing to serve */
	if (RecoveryInProgress() && hc_redis_target == NULL)
		return HC_BYPASS_RECOVERY;
	if (eflags & (EXEC_FLAG_BACKWARD | EXEC_FLAG_REWIND | EXEC_FLAG_MARK))
		return HC_BYPASS_CURSOR;
	if (qd->instrument_options)
		return HC_BYPASS_INSTRUMENTED;
	if (IsolationUsesXactSnapshot())
		return HC_BYPASS_ISOLATION;
	if (hc_ttl_s == 0)
		return HC_BYPASS_TTL_ZERO;

	oldcxt = MemoryContextSwitchTo(cxt);
	info = memo ? memo : hc_plan_info(pstmt);
	reason = info->verdict;
	if (reason == HC_BYPASS_NONE && !hc_tupdesc_cacheable(tupdesc))
		reason = HC_BYPASS_RECORD_RESULT;
	if (reason == HC_BYPASS_NONE && hc_wrote_any(info->deps, info->ndeps))
		reason = HC_BYPASS_OWN_WRITE;
	if (reason == HC_BYPASS_NONE)
	{
		int			i;

		ttl_s = INT_MAX;
		for (i = 0; i < info->ndeps; i++)
			ttl_s = Min(ttl_s, hc_relation_ttl_s(info->deps[i]));
		if (ttl_s == 0)
			reason = HC_BYPASS_TTL_ZERO;
	}
	if (reason == HC_BYPASS_NONE && !hc_params_usable(qd->params))
		reason = HC_BYPASS_PARAMS;
	if (reason == HC_BYPASS_NONE)
		hc_statement_key(info, qd->params, key);
	MemoryContextSwitchTo(oldcxt);

	*info_out = info;
	*ttl_out = ttl_s;
	return reason;
}

/*
 * Set up the cache state of an eligible top-level SELECT; recorded: its
 * ExecutorStart's function checks were recorded for a stub.
 */
static void
consider_statement(QueryDesc *qd, int eflags, bool recorded)
{
	const hcPlanInfo *info = NULL;
	hcKey		key = {0, 0};
	int			ttl_s = 0;
	hcBypassReason reason;
	hcQueryState *st;

	reason = hc_decide(qd, eflags, &info, &key, &ttl_s);
	if (reason != HC_BYPASS_NONE)
	{
		hc_count_bypass(reason);
		if (warm_exec_nesting >= 0)
			warm_outcome = hc_bypass_reason_name(reason);
		return;
	}
	if (recorded)
		hc_stub_learn(qd->plannedstmt, (hcPlanInfo *) info,
					  hc_kept_plan_context(qd->plannedstmt) != NULL);

	st = new_state(qd, info, &key, ttl_s, NULL, 0);
	if (l2_asked.qd == qd && l2_asked.key.hi == key.hi &&
		l2_asked.key.lo == key.lo)
	{
		st->miss = MemoryContextAlloc(qd->estate->es_query_cxt,
									  sizeof(hcMissState));
		memcpy(st->miss, &l2_asked.miss, sizeof(hcMissState));
		st->epoch = l2_asked.epoch;
		st->redis_spent_us = l2_asked.redis_spent_us;
		st->l2_asked = true;
	}
	l2_asked.qd = NULL;
}

/* Make st a hit replaying hdr (pinned as desc_id, or -1: local memory). */
static void
start_replay(hcQueryState *st, const hcEntryHeader *hdr, int desc_id)
{
	st->hdr = hdr;
	st->desc_id = desc_id;
	st->pos = 0;
	st->slot = MakeSingleTupleTableSlot(st->qd->tupDesc, &TTSOpsMinimalTuple);
	st->replay_wire = -1;
	st->phase = HCQ_HIT;
}

/*
 * The cache state of a statement, in its query context, linked.  ranges:
 * the statement's key ranges if the caller has them already (nranges of
 * them), else NULL.
 */
static hcQueryState *
new_state(QueryDesc *qd, const hcPlanInfo *info, const hcKey *key, int ttl_s,
		  const hcKeyRange *ranges, int nranges)
{
	hcQueryState *st;

	st = MemoryContextAllocZero(qd->estate->es_query_cxt, sizeof(hcQueryState));
	st->qd = qd;
	st->info = info;
	st->key = *key;
	st->ttl_s = ttl_s;
	if (ranges != NULL)
	{
		memcpy(st->ranges, ranges, nranges * sizeof(hcKeyRange));
		st->nranges = nranges;
	}
	else
		st->nranges = hc_key_ranges_compute(info, qd->params, st->ranges);
	st->phase = HCQ_START;
	st->desc_id = -1;
	st->placeholder_id = -1;
	st->cb.func = state_cleanup;
	st->cb.arg = st;
	MemoryContextRegisterResetCallback(qd->estate->es_query_cxt, &st->cb);
	st->next = states;
	states = st;
	return st;
}

/* The previous hook or standard_ExecutorStart. */
static void
start_chained(QueryDesc *queryDesc, int eflags)
{
	exec_nesting++;
	PG_TRY();
	{
		if (prev_ExecutorStart)
			prev_ExecutorStart(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
	}
	PG_FINALLY();
	{
		exec_nesting--;
	}
	PG_END_TRY();
}

/*
 * The local generations (and epoch) a result will be valid for: read after
 * the snapshot and before L2 is asked (see try_l2_hit).
 */
static void
read_local_generations(const hcPlanInfo *info, const hcKeyRange *ranges,
					   int nranges, hcMissState *miss, uint64 *epoch)
{
	pg_memory_barrier();
	*epoch = hc_current_epoch();
	hc_read_generations(info->deps, info->ndeps, ranges, nranges,
						miss->gens, miss->rseqs);
}

/*
 * Ask L2 for key; returns the blob of a current entry that fits the
 * statement (row type tupdesc, TTL ttl_s), palloc'd, or NULL, counting an
 * L2 miss when Redis answered.  stamp receives what Redis answered.
 */
static char *
fetch_l2_entry(const hcKey *key, const hcPlanInfo *info, TupleDesc tupdesc,
			   int ttl_s, hcL2Stamp *stamp, int64 *spent_us, Size *len)
{
	char	   *blob;

	blob = hc_l2_lookup(key, info->deps, info->ndeps, stamp, spent_us, len);
	if (blob != NULL &&
		!hc_entry_fits((hcEntryHeader *) blob, key, tupdesc, info->deps,
					   info->ndeps, GetCurrentStatementStartTimestamp(),
					   ttl_s))
	{
		pfree(blob);
		blob = NULL;
	}
	if (blob == NULL && stamp->valid)
		hc_count_redis(HC_R_L2_MISSES, 1);
	return blob;
}

/*
 * L2 for try_stub_hit(): reads the local generations first, after the
 * snapshot and before Redis as begin_run() does, then asks Redis.
 * Returns a current entry's blob, palloc'd, or NULL; what was read stays
 * in l2_asked, for the L1 copy of a hit or the miss path.
 */
static char *
stub_l2_lookup(QueryDesc *qd, const hcPlanInfo *info, const hcKey *key,
			   const hcKeyRange *ranges, int nranges, TupleDesc tupdesc,
			   int ttl_s, Size *len)
{
	l2_asked.qd = qd;
	l2_asked.key = *key;
	l2_asked.redis_spent_us = 0;
	read_local_generations(info, ranges, nranges, &l2_asked.miss,
						   &l2_asked.epoch);
	return fetch_l2_entry(key, info, tupdesc, ttl_s, &l2_asked.miss.stamp,
						  &l2_asked.redis_spent_us, len);
}

/*
 * A hit of a plan that lives across executions (a prepared statement's
 * CachedPlan or a plan kept by plan_reuse.c), served without initialising
 * the plan, using its stub (plan_stub.c).  Everything the plan's
 * ExecutorStart would check that can fail is checked first, and any doubt
 * leaves the statement to the normal path, which raises the real error if
 * there is one:
 *	- the cache decision and an L1 entry that matches now (the snapshot
 *	  is taken: PortalStart takes it before ExecutorStart);
 *	- the range table's privileges (ExecCheckRTPerms, which also calls
 *	  ExecutorCheckPerms_hook);
 *	- EXECUTE, for the current user, on each function the plan's own
 *	  ExecutorStart checked when the stub was made.
 * Then a stub statement with the plan's queryId and position goes through
 * the ExecutorStart chain, so that other extensions (e.g.
 * pg_stat_statements) see the statement start; it gets the plan's result
 * type, and ExecutorRun replays.
 *
 * Only a portal the client's own message starts qualifies (a simple query,
 * or Bind; see hc_client_statement()): its snapshot was just taken, and
 * its rows go to the client.  Rows are replayed forward only (the portal
 * was started without scroll flags).
 */
static bool
try_stub_hit(QueryDesc *qd, int eflags)
{
	const hcPlanInfo *memo;
	const hcPlanStub *stub;
	const hcPlanInfo *info = NULL;
	const hcEntryHeader *volatile hdr = NULL;
	hcQueryState *volatile st = NULL;
	PlannedStmt *real = qd->plannedstmt;
	hcKey		key;
	int			ttl_s = 0;
	hcKeyRange	ranges[HC_MAX_RANGES];
	int			nranges;
	int			lookup_id;
	volatile int desc_id = -1;
	int			filling_id = -1;
	char	   *volatile l2_blob = NULL;
	Size		l2_len = 0;
	volatile bool served = false;
	int			i;

	if (eflags != 0 || qd->instrument_options != 0 || !hc_client_statement() ||
		ActivePortal == NULL || ActivePortal->strategy != PORTAL_ONE_SELECT)
		return false;
	memo = hc_plan_info_memoised(real);
	if (memo == NULL || (stub = hc_stub_valid(memo)) == NULL)
		return false;
	if (decide_for(qd, real, memo, stub->tupdesc, CurrentMemoryContext,
				   eflags, &info, &key, &ttl_s) != HC_BYPASS_NONE)
		return false;
	nranges = hc_key_ranges_compute(info, qd->params, ranges);
	if (hc_l1_readable())
	{
		hdr = hc_l1_lookup(&key, &lookup_id, &filling_id);
		if (hdr != NULL)
			desc_id = lookup_id;
	}

	/*
	 * No L1 entry, and nobody here computing it: ask L2 now, so that its
	 * hit skips the plan's start too.  The blob lives in the portal's
	 * memory.
	 */
	if (hdr == NULL && filling_id < 0 && !hc_plan_known_cheap(info) &&
		l2_worthwhile_for(info, qd))
	{
		l2_blob = stub_l2_lookup(qd, info, &key, ranges, nranges,
								 stub->tupdesc, ttl_s, &l2_len);
		hdr = (const hcEntryHeader *) l2_blob;
	}
	if (hdr == NULL)
		return false;

	PG_TRY();
	{
		bool		usable;

		usable = (l2_blob != NULL ||
				  hc_entry_matches(hdr, &key, stub->tupdesc, info->deps,
								   info->ndeps, ranges, nranges,
								   hc_current_epoch(),
								   GetCurrentStatementStartTimestamp(),
								   ttl_s)) &&
			ExecCheckRTPerms(real->rtable, false);
		for (i = 0; usable && i < stub->nfuncs; i++)
			usable = pg_proc_aclcheck(stub->funcs[i], GetUserId(),
									  ACL_EXECUTE) == ACLCHECK_OK;
		if (!usable)
		{
			if (desc_id >= 0)
				hc_l1_release(desc_id);
			desc_id = -1;
		}
		else
		{
			for (i = 0; i < stub->nfuncs; i++)
				InvokeFunctionExecuteHook(stub->funcs[i]);
			qd->plannedstmt = hc_stub_statement(stub, real);
			start_chained(qd, eflags);
			hc_stub_result_type(stub, qd);
			st = new_state(qd, info, &key, ttl_s, ranges, nranges);
			served = true;
		}
	}
	PG_CATCH();
	{
		if (desc_id >= 0)
			hc_l1_release(desc_id);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (!served)
		return false;

	if (l2_blob != NULL)
	{
		int			no_placeholder = -1;

		if (hc_l1_storable())
			keep_l2_hit(&key, info, l2_blob, l2_len, &l2_asked.miss, ranges,
						nranges, l2_asked.epoch, qd->snapshot,
						&no_placeholder);
		l2_asked.qd = NULL;
		start_replay(st, hdr, -1);
		hc_count_l2_hit(info->deps, info->ndeps);
	}
	else
	{
		/* from here the state's cleanup releases the pin */
		start_replay(st, hdr, desc_id);
		hc_count_hit(info->deps, info->ndeps);
	}
	hc_query_count_hit(info, qd, hc_entry_exec_ms(hdr));
	elog(DEBUG2, "hybridcache: hit served without starting the plan");
	return true;
}

static void
hc_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	bool		explain_only = (eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0;
	volatile bool top_select;

	/* a kept custom plan's stand-in is never started */
	hc_plan_reuse_resolve(queryDesc);

	top_select = exec_nesting == 0 && utility_nesting == 0 && !explain_only &&
		queryDesc->operation == CMD_SELECT && hc_enabled;
	if (top_select)
	{
		l2_asked.qd = NULL;
		hc_plan_reuse_starting(queryDesc);
	}
	if (top_select && try_stub_hit(queryDesc, eflags))
		return;

	/* a top-level SELECT's function checks, for its plan's stub */
	if (top_select)
		hc_stub_record_begin();
	PG_TRY();
	{
		start_chained(queryDesc, eflags);
	}
	PG_FINALLY();
	{
		if (top_select)
			hc_stub_record_end();
	}
	PG_END_TRY();

	/* writers register before they can commit, at any nesting level */
	if (!explain_only && queryDesc->plannedstmt->resultRelations != NIL)
		hc_register_plan_writes(queryDesc);

	if (queryDesc->operation != CMD_SELECT || IsParallelWorker())
		return;

	if (explain_only)
	{
		/* plain EXPLAIN of a statement, or hybridcache_explain() */
		if (hc_explain_wanted(exec_nesting == 0 && utility_nesting == 1))
			hc_explain_statement(queryDesc, eflags);
		return;
	}

	if ((exec_nesting == 0 && utility_nesting == 0) ||
		(exec_nesting == warm_exec_nesting && utility_nesting == warm_utility_nesting))
		consider_statement(queryDesc, eflags, top_select);
	else if (exec_nesting == 0 && hc_enabled)
	{
		/*
		 * Run by a utility statement (EXPLAIN ANALYZE, CREATE TABLE AS,
		 * COPY, DECLARE CURSOR, EXECUTE).  Queries inside functions are
		 * not counted: there can be millions of them.
		 */
		hc_count_bypass(queryDesc->instrument_options ? HC_BYPASS_INSTRUMENTED
						: HC_BYPASS_NESTED);
	}
}

/* Run the statement through the previous hook or the standard executor. */
static void
run_chained(QueryDesc *qd, ScanDirection direction, uint64 count,
			bool execute_once)
{
	exec_nesting++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(qd, direction, count, execute_once);
		else
			standard_ExecutorRun(qd, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		exec_nesting--;
	}
	PG_END_TRY();
}

/* Look the key up; a valid entry is pinned and becomes the hit. */
static bool
try_hit(hcQueryState *st, int *filling_id)
{
	QueryDesc  *qd = st->qd;
	const hcPlanInfo *info = st->info;
	const hcEntryHeader *hdr;
	int			desc_id;

	hdr = hc_l1_lookup(&st->key, &desc_id, filling_id);
	if (hdr == NULL)
		return false;
	if (!hc_entry_matches(hdr, &st->key, qd->tupDesc, info->deps, info->ndeps,
						  st->ranges, st->nranges, hc_current_epoch(),
						  GetCurrentStatementStartTimestamp(), st->ttl_s))
	{
		hc_l1_release(desc_id);
		st->found_stale = true;
		return false;
	}
	start_replay(st, hdr, desc_id);
	hc_count_hit(info->deps, info->ndeps);
	hc_query_count_hit(info, qd, hc_entry_exec_ms(hdr));
	hc_plan_reuse_learn(qd);
	if (warm_exec_nesting >= 0)
		warm_outcome = "already cached";
	return true;
}

/*
 * How long the statement usually executes: its plan's last measured run,
 * else the mean of its misses in the query statistics; -1 when unknown.
 */
static double
expected_exec_ms_of(const hcPlanInfo *info, QueryDesc *qd)
{
	if (info->measured > 0)
		return info->last_exec_ms;
	return hc_query_mean_exec_ms(qd);
}

static double
expected_exec_ms(hcQueryState *st)
{
	return expected_exec_ms_of(st->info, st->qd);
}

/* Is a Redis round trip worth it for this statement? */
static bool
l2_worthwhile_for(const hcPlanInfo *info, QueryDesc *qd)
{
	double		ms;

	if (hc_redis_target == NULL)
		return false;
	ms = expected_exec_ms_of(info, qd);
	return ms < 0 || ms >= hc_l2_min_exec_time_ms;
}

static bool
l2_worthwhile(hcQueryState *st)
{
	return l2_worthwhile_for(st->info, st->qd);
}

/*
 * Where L1 takes stores, keep an L2 hit there too when the local store
 * check proves it current; miss: the generations read before the lookup.
 * *placeholder_id (this statement's single-flight placeholder, or -1) is
 * filled or abandoned.
 */
static void
keep_l2_hit(const hcKey *key, const hcPlanInfo *info, char *blob, Size len,
			const hcMissState *miss, const hcKeyRange *ranges, int nranges,
			uint64 epoch, Snapshot snapshot, int *placeholder_id)
{
	int			id = *placeholder_id;

	*placeholder_id = -1;
	if (hc_store_allowed(info->deps, miss->gens, info->ndeps, ranges,
						 miss->rseqs, nranges, epoch, snapshot) &&
		hc_entry_restamp((hcEntryHeader *) blob, miss->gens, ranges,
						 miss->rseqs, nranges, epoch))
	{
		if (hc_l1_store(key, blob, len, id))
			hc_count_store();
	}
	else if (id >= 0)
		hc_l1_abandon(id);
}

/*
 * Look the statement up in L2.  A current entry becomes the hit, replayed
 * from local memory; on a primary it is also copied into L1 when the local
 * store check proves it current here (the gens were read before the
 * lookup).  Either way the lookup leaves the stamp a later store needs.
 */
static bool
try_l2_hit(hcQueryState *st)
{
	QueryDesc  *qd = st->qd;
	const hcPlanInfo *info = st->info;
	MemoryContext oldcxt = MemoryContextSwitchTo(qd->estate->es_query_cxt);
	hcEntryHeader *hdr;
	char	   *blob;
	Size		len;

	blob = fetch_l2_entry(&st->key, info, qd->tupDesc, st->ttl_s,
						  &st->miss->stamp, &st->redis_spent_us, &len);
	if (blob == NULL)
	{
		MemoryContextSwitchTo(oldcxt);
		return false;
	}

	hdr = (hcEntryHeader *) blob;
	if (hc_l1_storable())
		keep_l2_hit(&st->key, info, blob, len, st->miss, st->ranges,
					st->nranges, st->epoch, qd->snapshot,
					&st->placeholder_id);

	start_replay(st, hdr, -1);
	hc_count_l2_hit(info->deps, info->ndeps);
	hc_query_count_hit(info, qd, hc_entry_exec_ms(hdr));
	hc_plan_reuse_learn(qd);
	if (warm_exec_nesting >= 0)
		warm_outcome = "already cached";
	MemoryContextSwitchTo(oldcxt);
	return true;
}

/*
 * Single-flight across servers.  Only the primary stores results in L2,
 * so only it takes leases: before it computes a result that L2 missed, it
 * leases the key in Redis for about twice the statement's usual execution
 * time (bounded by hybridcache.single_flight_timeout).  A standby that
 * misses the same result while the lease lasts waits for the result to
 * appear in L2, looking again every tenth of that time, instead of
 * computing it too; when the lease ends first, or its Redis budget is
 * spent, it computes the result itself.
 */
static int
lease_ms(hcQueryState *st)
{
	double		ms = expected_exec_ms(st);

	if (ms < 0)
		ms = hc_single_flight_timeout_ms;
	return (int) Min(Max(2 * ms + 10, 50), (double) hc_single_flight_timeout_ms);
}

static bool
wait_for_l2(hcQueryState *st)
{
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz end;
	double		expected = expected_exec_ms(st);
	long		poll_ms = (long) Min(Max(expected / 10, 2), 200);

	end = start + (int64) Min(st->miss->stamp.lease_ms,
							  (int64) hc_single_flight_timeout_ms) * 1000;
	while (GetCurrentTimestamp() < end)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 poll_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (try_l2_hit(st))
		{
			hc_count_single_flight(false);
			return true;
		}
		if (!st->miss->stamp.valid || st->miss->stamp.lease_ms <= 0)
			break;
	}
	hc_count_single_flight(true);
	return false;
}

/*
 * First ExecutorRun of an eligible statement: hit, capture, or neither.
 * A full run (count 0) that finds another backend computing the same key
 * waits for it (single-flight); one that finds nothing announces itself.
 * After an L1 miss, L2 is asked when a round trip is worth it.
 */
static void
begin_run(hcQueryState *st, ScanDirection direction, uint64 count)
{
	QueryDesc  *qd = st->qd;
	const hcPlanInfo *info = st->info;
	int			filling_id;
	bool		l1_readable;
	bool		l1_storable;

	if (!is_client_dest(qd->dest->mydest) &&
		!(warm_exec_nesting >= 0 && qd->dest->mydest == DestSPI))
	{
		hc_count_bypass(HC_BYPASS_DESTINATION);
		st->phase = HCQ_DONE;
		return;
	}
	if (!ScanDirectionIsForward(direction))
	{
		hc_count_bypass(HC_BYPASS_CURSOR);
		st->phase = HCQ_DONE;
		return;
	}

	/*
	 * On a standby, L1 sees the primary's writes only through the stream
	 * its worker follows: it serves only while that covers the replay
	 * position, and stores only while the worker follows at all.
	 */
	l1_readable = hc_l1_readable();
	l1_storable = hc_l1_storable();

	filling_id = -1;
	if (l1_readable && try_hit(st, &filling_id))
		return;
	if (filling_id >= 0 && count == 0 && hc_single_flight_timeout_ms > 0)
	{
		bool		done = hc_l1_wait_fill(filling_id, &st->key,
										   hc_single_flight_timeout_ms);

		hc_count_single_flight(!done);
		if (try_hit(st, &filling_id))
			return;
	}

	/* a plan known to run faster than a store is worth: just run it */
	if (hc_plan_known_cheap(info))
	{
		hc_count_miss(info->deps, info->ndeps);
		hc_query_count_miss(info, qd, st->found_stale);
		hc_count_bypass(HC_BYPASS_CHEAP);
		st->phase = HCQ_DONE;
		return;
	}

	/* unless try_stub_hit() read them for its own L2 lookup */
	if (!st->l2_asked)
	{
		st->miss = MemoryContextAllocZero(qd->estate->es_query_cxt,
										  sizeof(hcMissState));
		read_local_generations(info, st->ranges, st->nranges, st->miss,
							   &st->epoch);
	}

	/* announce the computation so identical misses wait for it */
	if (l1_readable && count == 0 && filling_id < 0 &&
		hc_single_flight_timeout_ms > 0)
		st->placeholder_id = hc_l1_claim(&st->key);

	if (st->l2_asked || l2_worthwhile(st))
	{
		if (!st->l2_asked && try_l2_hit(st))
			return;
		/* single-flight across servers, for full runs (see lease_ms()) */
		if (st->miss->stamp.valid && count == 0 &&
			hc_single_flight_timeout_ms > 0)
		{
			if (!RecoveryInProgress())
				hc_l2_take_lease(&st->key, lease_ms(st), &st->redis_spent_us);
			else if (st->miss->stamp.lease_ms > 0 && wait_for_l2(st))
				return;
		}
	}

	hc_count_miss(info->deps, info->ndeps);
	hc_query_count_miss(info, qd, st->found_stale);
	if (!l1_storable)
	{
		/* a standby not following the stream: nothing to store into */
		st->phase = HCQ_DONE;
		return;
	}

	st->cap = hc_capture_begin(qd->tupDesc, info->ndeps, st->nranges,
							   (Size) hc_max_entry_size_kb * 1024,
							   qd->estate->es_query_cxt);
	st->phase = HCQ_CAPTURE;
}

/* Replay a cached result as standard_ExecutorRun would produce it. */
static void
replay_run(hcQueryState *st, ScanDirection direction, uint64 count)
{
	QueryDesc  *qd = st->qd;
	EState	   *estate = qd->estate;
	DestReceiver *dest = qd->dest;
	MemoryContext oldcxt = MemoryContextSwitchTo(estate->es_query_cxt);

	if (qd->totaltime)
		InstrStartNode(qd->totaltime);

	estate->es_processed = 0;
	dest->rStartup(dest, CMD_SELECT, qd->tupDesc);
	if (ScanDirectionIsForward(direction))
	{
		/* the rows as sent to the client, if it would get the same bytes */
		if (st->replay_wire < 0)
		{
			uint64		sig = hc_entry_wire_sig(st->hdr);

			st->replay_wire = sig != 0 && sig == hc_wire_signature(qd, dest);
			if (st->replay_wire)
				elog(DEBUG2, "hybridcache: hit sends the rows as they were sent when stored");
		}
		if (st->replay_wire)
			hc_replay_wire(st->hdr, &st->pos, count, estate);
		else
			hc_replay(st->hdr, &st->pos, st->slot, dest, count, estate);
	}
	dest->rShutdown(dest);

	if (qd->totaltime)
		InstrStopNode(qd->totaltime, estate->es_processed);

	MemoryContextSwitchTo(oldcxt);
}

/* Store a completely captured result if it is worth it and consistent. */
static void
finish_capture(hcQueryState *st)
{
	QueryDesc  *qd = st->qd;
	const hcPlanInfo *info = st->info;
	char	   *blob;
	Size		len;

	int			placeholder_id = st->placeholder_id;

	st->phase = HCQ_DONE;
	st->placeholder_id = -1;
	if (hc_capture_ok(st->cap))
		hc_plan_measured(info, st->exec_ms);
	if (warm_exec_nesting >= 0)
		warm_outcome = "not stored";
	if (hc_capture_too_large(st->cap))
		hc_count_bypass(HC_BYPASS_TOO_LARGE);
	else if (!hc_capture_ok(st->cap))
		hc_count_bypass(HC_BYPASS_INCOMPLETE);
	else if (st->exec_ms < hc_min_exec_time_ms)
		hc_count_bypass(HC_BYPASS_CHEAP);
	else if (!hc_l1_storable() ||
			 !hc_store_allowed(info->deps, st->miss->gens, info->ndeps,
							   st->ranges, st->miss->rseqs, st->nranges,
							   st->epoch, qd->snapshot))
		hc_count_store_refused();
	else
	{
		blob = hc_capture_finish(st->cap, &st->key, MyDatabaseId,
								 info->deps, st->miss->gens, info->ndeps,
								 st->ranges, st->miss->rseqs, st->nranges,
								 st->epoch,
								 GetCurrentStatementStartTimestamp(),
								 st->exec_ms, &len);
		/* replaces the placeholder and wakes its waiters */
		if (hc_l1_store(&st->key, blob, len, placeholder_id))
		{
			hc_count_store();
			hc_query_count_execution(info, qd, st->exec_ms, true, len);
			hc_plan_reuse_learn(qd);
			if (warm_exec_nesting >= 0)
				warm_outcome = "stored";
		}
		else
		{
			hc_count_store_refused();
			hc_query_count_execution(info, qd, st->exec_ms, false, 0);
		}
		/* the L2 stamp was read before the check above: see l2_redis.c */
		if (st->miss->stamp.valid && st->exec_ms >= hc_l2_min_exec_time_ms)
			hc_l2_store(&st->key, blob, len, &st->miss->stamp, st->ttl_s,
						&st->redis_spent_us);
		return;
	}
	if (hc_capture_ok(st->cap) || hc_capture_too_large(st->cap))
		hc_query_count_execution(info, qd, st->exec_ms, false, 0);
	/* not stored: waiters run the statement themselves */
	hc_l1_abandon(placeholder_id);
}

/* Run for real, teeing rows into the capture. */
static void
capture_run(hcQueryState *st, ScanDirection direction, uint64 count,
			bool execute_once)
{
	QueryDesc  *qd = st->qd;
	DestReceiver *dest = qd->dest;
	instr_time	start;
	instr_time	duration;

	if (!ScanDirectionIsForward(direction) && !ScanDirectionIsNoMovement(direction))
		hc_capture_poison(st->cap);

	/* rows going to the client through printtup: send and keep the bytes */
	if (!st->wire_checked)
	{
		hcWireWriter *w;

		st->wire_checked = true;
		w = hc_wire_writer_begin(qd, dest, qd->estate->es_query_cxt);
		if (w != NULL)
			hc_capture_set_wire(st->cap, w);
	}
	qd->dest = hc_capture_receiver(st->cap, dest);
	INSTR_TIME_SET_CURRENT(start);
	PG_TRY();
	{
		run_chained(qd, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		qd->dest = dest;
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	st->exec_ms += INSTR_TIME_GET_MILLISEC(duration);

	/* the same test PortalRunSelect uses to decide the portal is at its end */
	if (ScanDirectionIsForward(direction) &&
		(count == 0 || qd->estate->es_processed < count))
		finish_capture(st);
}

static void
hc_ExecutorRun(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
			   bool execute_once)
{
	hcQueryState *st = states ? find_state(queryDesc) : NULL;

	if (st != NULL && st->phase == HCQ_START)
		begin_run(st, direction, count);

	if (st == NULL || st->phase == HCQ_DONE)
		run_chained(queryDesc, direction, count, execute_once);
	else if (st->phase == HCQ_HIT)
		replay_run(st, direction, count);
	else
		capture_run(st, direction, count, execute_once);
}

static void
hc_ExecutorFinish(QueryDesc *queryDesc)
{
	exec_nesting++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		exec_nesting--;
	}
	PG_END_TRY();
}

static void
hc_ExecutorEnd(QueryDesc *queryDesc)
{
	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* The schema of the extension in this database (palloc'd), or NULL. */
char *
hc_extension_schema(void)
{
	Oid			extoid = get_extension_oid("hybridcache", true);
	HeapTuple	tup;
	char	   *nspname;

	if (!OidIsValid(extoid))
		return NULL;
	tup = SearchSysCache1(EXTENSIONOID, ObjectIdGetDatum(extoid));
	if (!HeapTupleIsValid(tup))
		return NULL;
	nspname = get_namespace_name(((Form_pg_extension) GETSTRUCT(tup))->extnamespace);
	ReleaseSysCache(tup);
	return nspname;
}

/* Add the invalidation triggers to a table just created (auto_watch). */
static void
auto_watch(Node *parsetree)
{
	RangeVar   *rv = NULL;
	Oid			relid;
	Oid			fnoid;
	Oid			argtypes[1] = {REGCLASSOID};
	char	   *nspname;
	char		persistence;
	char		relkind;

	if (IsA(parsetree, CreateStmt))
		rv = ((CreateStmt *) parsetree)->relation;
	else if (IsA(parsetree, CreateTableAsStmt) &&
			 ((CreateTableAsStmt *) parsetree)->objtype == OBJECT_TABLE)
		rv = ((CreateTableAsStmt *) parsetree)->into->rel;
	if (rv == NULL || !hc_extension_installed())
		return;

	relid = RangeVarGetRelid(rv, NoLock, true);
	if (!OidIsValid(relid))
		return;
	persistence = get_rel_persistence(relid);
	relkind = get_rel_relkind(relid);
	if (persistence == RELPERSISTENCE_TEMP ||
		(relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE))
		return;

	nspname = hc_extension_schema();
	if (nspname == NULL)
		return;
	fnoid = LookupFuncName(list_make2(makeString(nspname),
									  makeString("hybridcache_watch")),
						   1, argtypes, true);
	if (OidIsValid(fnoid))
		OidFunctionCall1(fnoid, ObjectIdGetDatum(relid));
}

static void
hc_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
				  bool readOnlyTree, ProcessUtilityContext context,
				  ParamListInfo params, QueryEnvironment *queryEnv,
				  DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;

	utility_nesting++;
	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		utility_nesting--;
	}
	PG_END_TRY();

	/* still before commit: register what the statement wrote */
	hc_register_utility_writes(parsetree);

	if (IsA(parsetree, DiscardStmt) &&
		((DiscardStmt *) parsetree)->target != DISCARD_TEMP &&
		((DiscardStmt *) parsetree)->target != DISCARD_SEQUENCES)
		hc_plan_reuse_reset();

	if (hc_auto_watch)
		auto_watch(parsetree);
}

/*
 * Run one query for hybridcache_warm(): the statements it starts are
 * treated as top-level ones whose rows go to a client, so a miss stores
 * its result.  Returns what happened: "stored", "already cached", "not
 * stored" or a bypass reason.
 */
const char *
hc_warm_query(const char *query)
{
	int			ret;

	warm_outcome = "not cached";
	warm_exec_nesting = exec_nesting;
	warm_utility_nesting = utility_nesting;
	PG_TRY();
	{
		ret = SPI_execute(query, false, 0);
		if (ret < 0)
			elog(ERROR, "SPI_execute failed: error code %d", ret);
	}
	PG_FINALLY();
	{
		warm_exec_nesting = -1;
		warm_utility_nesting = -1;
	}
	PG_END_TRY();
	return warm_outcome;
}
