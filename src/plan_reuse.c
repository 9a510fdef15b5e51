/*-------------------------------------------------------------------------
 *
 * plan_reuse.c
 *	  Keeps the plans of repeated simple-protocol SELECTs the cache serves.
 *
 * A statement sent with the simple query protocol is parsed, analysed,
 * rewritten and planned every time, also when its result then comes from
 * the cache: planning was about a fifth of the CPU of such a hit.
 * PostgreSQL keeps plans only for prepared statements.  This module keeps,
 * per backend, the plan of each top-level simple-protocol SELECT that was
 * just served from the cache or stored into it, keyed by a hash of its
 * analysed and rewritten Query tree (plan_hash.c), and returns it from the
 * planner hook when the same tree comes again.
 *
 * This is what the plan cache does with a prepared statement's generic
 * plan, and it rests on the same facts:
 *	- the executor never modifies a plan;
 *	- the Query tree holds everything parse analysis and rewriting resolved
 *	  (relation, function and operator OIDs, constants, views and row-level
 *	  security policies expanded for the current role), so equal trees plan
 *	  to plans with equal results;
 *	- a plan stays valid while the relations, functions, types, operators
 *	  and namespaces it was made from are unchanged, which relcache and
 *	  syscache invalidations report.  A kept plan is dropped on any of them
 *	  that can concern it (on DISCARD PLANS too), and one whose planning
 *	  overlapped an invalidation is not kept.
 * Like the plan cache, a kept plan's relations are locked before it is
 * returned (the parser locked only the ones the query names; partitions
 * and inheritance children are locked here), and the plan is returned only
 * if no invalidation dropped it meanwhile.  Permission checks and the rest
 * of ExecutorStart still run for every execution.  Transient plans (that
 * use an index not yet valid for every snapshot) are never kept.
 *
 * A Query tree is known to come from the simple protocol, at top level,
 * when post_parse_analyze_hook saw it analysed without a parameter hook
 * (the extended protocol and PREPARE analyse with one) and the planner
 * hook then receives the same pointer (the plan cache plans copies).
 *
 * Plans are kept per role: the planner inlines a SQL function only for a
 * role allowed to execute it.
 *
 * A kept plan also has a stub, for serving its hits without initialising
 * it (executor_hooks.c, try_kept_hit()): its result type, a Result node
 * with that targetlist, and the functions whose EXECUTE privilege the
 * plan's ExecutorStart checked when it was kept, recorded through the
 * object access hook (the executor calls InvokeFunctionExecuteHook after
 * each such check).  The checks that ran as an aggregate's owner rather
 * than the current user stay valid until pg_proc or a role changes; both
 * drop every kept plan.
 *
 * A plan in use by a running statement is never freed: it holds a
 * reference until the memory context it was returned in is reset, which
 * is after its portal is dropped.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/plan_reuse.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_proc.h"
#include "executor/executor.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

/* Most plans kept per backend; when full, the table starts over. */
#define HC_MAX_KEPT_PLANS	1000

typedef struct hcKeptPlan
{
	MemoryContext cxt;			/* holds this struct and the plan */
	PlannedStmt *plan;
	int			refcount;		/* statements running it */
	bool		dropped;		/* no longer in the table */
	hcKeptStub	stub;			/* for serving hits without initialising it */
} hcKeptPlan;

typedef struct hcKeptEntry
{
	hcKey		key;			/* hash key */
	hcKeptPlan *kept;
} hcKeptEntry;

/* a reference a statement holds, released with its memory context */
typedef struct hcKeptRef
{
	MemoryContextCallback cb;
	hcKeptPlan *kept;
} hcKeptRef;

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static planner_hook_type prev_planner = NULL;

static HTAB *kept_plans = NULL;
static MemoryContext kept_parent = NULL;

/* every invalidation callback call counts, to detect overlaps */
static uint64 inval_count = 0;

/* analysed by the simple protocol at top level, not yet planned */
static Query *candidate = NULL;

/* the plan just made for a candidate, which a hit or store may keep */
static struct
{
	PlannedStmt *plan;
	hcKey		key;
	uint64		inval_count;
	uint64		id;				/* which forget callback is the live one */
	/* functions whose EXECUTE its ExecutorStart checked */
	bool		recording;
	bool		recorded;
	int			nfuncs;
	Oid			funcs[HC_MAX_STUB_FUNCS];
	bool		too_many_funcs;
} pending;

static object_access_hook_type prev_object_access = NULL;

static void make_stub(hcKeptPlan *kept);

typedef struct hcPendingForget
{
	MemoryContextCallback cb;
	uint64		id;
} hcPendingForget;

/* the kept plan the current top-level statement runs, or NULL */
static hcKeptPlan *current = NULL;

static void
free_if_unused(hcKeptPlan *kept)
{
	if (kept->dropped && kept->refcount == 0)
	{
		if (current == kept)
			current = NULL;
		MemoryContextDelete(kept->cxt);
	}
}

static void
drop_entry(hcKeptEntry *entry)
{
	hcKeptPlan *kept = entry->kept;

	hash_search(kept_plans, &entry->key, HASH_REMOVE, NULL);
	kept->dropped = true;
	free_if_unused(kept);
}

static void
drop_all(void)
{
	HASH_SEQ_STATUS seq;
	hcKeptEntry *entry;

	if (kept_plans == NULL)
		return;
	hash_seq_init(&seq, kept_plans);
	while ((entry = hash_seq_search(&seq)) != NULL)
		drop_entry(entry);
}

/* DISCARD PLANS / DISCARD ALL */
void
hc_plan_reuse_reset(void)
{
	inval_count++;
	drop_all();
}

static void
relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS seq;
	hcKeptEntry *entry;

	inval_count++;
	if (kept_plans == NULL)
		return;
	hash_seq_init(&seq, kept_plans);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (!OidIsValid(relid) ||
			list_member_oid(entry->kept->plan->relationOids, relid))
			drop_entry(entry);
	}
}

static void
syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	inval_count++;
	drop_all();
}

static void
release_ref(void *arg)
{
	hcKeptRef  *ref = (hcKeptRef *) arg;
	hcKeptPlan *kept = ref->kept;

	if (current == kept)
		current = NULL;
	kept->refcount--;
	free_if_unused(kept);
}

/* the plan's memory goes away: its pointer must not match a later plan */
static void
forget_pending(void *arg)
{
	hcPendingForget *f = (hcPendingForget *) arg;

	if (f->id == pending.id)
	{
		pending.plan = NULL;
		pending.recording = false;
		pending.recorded = false;
	}
}

/*
 * The executor announces every function whose EXECUTE privilege it checks
 * (InvokeFunctionExecuteHook); while the pending plan starts, remember
 * them.
 */
static void
hc_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				 int subId, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	if (pending.recording && access == OAT_FUNCTION_EXECUTE &&
		classId == ProcedureRelationId)
	{
		int			i;

		for (i = 0; i < pending.nfuncs; i++)
			if (pending.funcs[i] == objectId)
				return;
		if (pending.nfuncs < HC_MAX_STUB_FUNCS)
			pending.funcs[pending.nfuncs++] = objectId;
		else
			pending.too_many_funcs = true;
	}
}

/*
 * ExecutorStart of pstmt begins: if it is the pending plan, record the
 * functions it checks.  Returns whether it records.
 */
bool
hc_plan_reuse_record_begin(PlannedStmt *pstmt)
{
	if (pending.plan == NULL || pstmt != pending.plan)
		return false;
	pending.recording = true;
	pending.recorded = false;
	pending.nfuncs = 0;
	pending.too_many_funcs = false;
	return true;
}

/* ExecutorStart of the pending plan ended, completely or not. */
void
hc_plan_reuse_record_end(bool completed)
{
	pending.recording = false;
	pending.recorded = completed && !pending.too_many_funcs;
}

static void
hc_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);

	if (hc_reuse_plans && hc_enabled &&
		pstate->p_paramref_hook == NULL &&
		query->commandType == CMD_SELECT && query->utilityStmt == NULL &&
		whereToSendOutput == DestRemote && hc_at_top_level() &&
		!IsParallelWorker())
		candidate = query;
	else
		candidate = NULL;
}

/* Lock what the plan reads; false if that let an invalidation drop it. */
static bool
lock_kept_plan(hcKeptPlan *kept)
{
	ListCell   *lc;

	foreach(lc, kept->plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION)
			LockRelationOid(rte->relid, rte->rellockmode);
	}
	return !kept->dropped;
}

static PlannedStmt *
plan_normally(Query *parse, const char *query_string, int cursorOptions,
			  ParamListInfo boundParams)
{
	if (prev_planner)
		return prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/*
 * Cheap tests that spare the Query hash for statements the cache would
 * not serve: no range table at all (SELECT 1, SELECT f()), or a table
 * this transaction wrote (own writes bypass the cache).
 */
static bool
worth_keeping(Query *parse)
{
	Oid			relids[16];
	int			n = 0;
	ListCell   *lc;

	if (parse->rtable == NIL)
		return false;
	foreach(lc, parse->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && n < lengthof(relids))
			relids[n++] = rte->relid;
	}
	return !hc_wrote_any(relids, n);
}

static PlannedStmt *
hc_planner(Query *parse, const char *query_string, int cursorOptions,
		   ParamListInfo boundParams)
{
	hcKey		core;
	hcKey		key;
	hcKeptEntry *entry;
	PlannedStmt *result;
	uint64		inval_before;

	if (parse != candidate || boundParams != NULL || !hc_reuse_plans ||
		!hc_at_top_level())
		return plan_normally(parse, query_string, cursorOptions, boundParams);
	candidate = NULL;

	if (!worth_keeping(parse) || !hc_query_hash(parse, &core))
		return plan_normally(parse, query_string, cursorOptions, boundParams);
	if (hc_debug_check_fingerprint)
		hc_check_query_hash(parse, &core);

	/*
	 * The plan carries the statement's queryId and position in the query
	 * string (used by pg_stat_statements and the bypass hint), and the
	 * cursor options it was made for.  It is kept per role: the planner
	 * inlines a SQL function only for a role allowed to execute it, so a
	 * plan made for one role may lack a check another role needs.
	 */
	{
		struct
		{
			hcKey		core;
			uint64		queryId;
			int			stmt_location;
			int			stmt_len;
			int			cursorOptions;
			Oid			userid;
		}			material;

		memset(&material, 0, sizeof(material));
		material.core = core;
		material.userid = GetUserId();
		material.queryId = parse->queryId;
		material.stmt_location = parse->stmt_location;
		material.stmt_len = parse->stmt_len;
		material.cursorOptions = cursorOptions;
		hc_hash_bytes(&material, sizeof(material), &key);
	}

	entry = kept_plans ? hash_search(kept_plans, &key, HASH_FIND, NULL) : NULL;
	if (entry != NULL)
	{
		hcKeptPlan *kept = entry->kept;
		hcKeptRef  *ref = palloc(sizeof(hcKeptRef));

		kept->refcount++;
		ref->kept = kept;
		ref->cb.func = release_ref;
		ref->cb.arg = ref;
		MemoryContextRegisterResetCallback(CurrentMemoryContext, &ref->cb);
		if (lock_kept_plan(kept))
		{
			current = kept;
			hc_count_plan_reused();
			return kept->plan;
		}
		/* dropped while locking: plan afresh; the reference ends later */
	}

	inval_before = inval_count;
	result = plan_normally(parse, query_string, cursorOptions, boundParams);
	if (!result->transientPlan)
	{
		hcPendingForget *f = palloc(sizeof(hcPendingForget));

		pending.plan = result;
		pending.key = key;
		pending.inval_count = inval_before;
		f->id = ++pending.id;
		f->cb.func = forget_pending;
		f->cb.arg = f;
		MemoryContextRegisterResetCallback(CurrentMemoryContext, &f->cb);
	}
	return result;
}

/*
 * What serving a hit of the kept plan without initialising it needs (see
 * hc_kept_stub()): the result's row type, a Result node with a targetlist
 * of that type, and the functions whose EXECUTE the plan's ExecutorStart
 * checks.  In the kept plan's context.
 */
static void
make_stub(hcKeptPlan *kept)
{
	Result	   *result = makeNode(Result);
	List	   *tlist = NIL;
	ListCell   *lc;

	foreach(lc, kept->plan->planTree->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Node	   *expr = (Node *) tle->expr;
		TargetEntry *stub;

		stub = makeTargetEntry((Expr *) makeNullConst(exprType(expr),
													  exprTypmod(expr),
													  exprCollation(expr)),
							   tle->resno, tle->resname, tle->resjunk);
		stub->resorigtbl = tle->resorigtbl;
		stub->resorigcol = tle->resorigcol;
		tlist = lappend(tlist, stub);
	}
	result->plan.targetlist = tlist;
	kept->stub.result = result;
	kept->stub.tupdesc = ExecCleanTypeFromTL(kept->plan->planTree->targetlist);
	kept->stub.nfuncs = pending.nfuncs;
	kept->stub.funcs = palloc(sizeof(Oid) * Max(pending.nfuncs, 1));
	memcpy(kept->stub.funcs, pending.funcs, sizeof(Oid) * pending.nfuncs);
	kept->stub.plan = kept->plan;
}

/*
 * The stub of the kept plan the current statement runs, or NULL when
 * pstmt is no kept plan or its ExecutorStart was not recorded.
 */
const hcKeptStub *
hc_kept_stub(PlannedStmt *pstmt)
{
	if (current == NULL || current->plan != pstmt ||
		current->stub.result == NULL)
		return NULL;
	return &current->stub;
}

/*
 * A statement that stands for the kept plan in ExecutorStart when the
 * result is a hit: the same result type, queryId and position, and one
 * Result node to initialise.  Its range table is empty: the caller has
 * checked the kept plan's.  Allocated in CurrentMemoryContext; shares the
 * stub's nodes, which live as long as the statement's reference.
 */
PlannedStmt *
hc_kept_stub_statement(const hcKeptStub *stub)
{
	PlannedStmt *p = makeNode(PlannedStmt);
	PlannedStmt *real = stub->plan;

	p->commandType = CMD_SELECT;
	p->queryId = real->queryId;
	p->canSetTag = real->canSetTag;
	p->dependsOnRole = real->dependsOnRole;
	p->planTree = (Plan *) stub->result;
	p->stmt_location = real->stmt_location;
	p->stmt_len = real->stmt_len;
	return p;
}

/*
 * The statement qd was served from the cache or stored into it: keep its
 * plan if it was made for a simple-protocol candidate and no invalidation
 * arrived since planning began.
 */
void
hc_plan_reuse_learn(QueryDesc *qd)
{
	hcKeptEntry *entry;
	hcKeptPlan *kept;
	MemoryContext cxt;
	MemoryContext oldcxt;
	bool		found;

	if (pending.plan == NULL || qd->plannedstmt != pending.plan)
		return;
	pending.plan = NULL;
	if (pending.inval_count != inval_count || !hc_reuse_plans)
		return;

	if (kept_plans == NULL)
	{
		HASHCTL		ctl;

		kept_parent = AllocSetContextCreate(TopMemoryContext,
											"hybridcache kept plans",
											ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(hcKey);
		ctl.entrysize = sizeof(hcKeptEntry);
		ctl.hcxt = kept_parent;
		kept_plans = hash_create("hybridcache kept plans", 64, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	else if (hash_get_num_entries(kept_plans) >= HC_MAX_KEPT_PLANS)
		drop_all();

	cxt = AllocSetContextCreate(kept_parent, "hybridcache kept plan",
								ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	kept = palloc0(sizeof(hcKeptPlan));
	kept->cxt = cxt;
	kept->plan = copyObject(qd->plannedstmt);
	if (pending.recorded)
		make_stub(kept);
	MemoryContextSwitchTo(oldcxt);
	pending.recorded = false;

	entry = hash_search(kept_plans, &pending.key, HASH_ENTER, &found);
	if (found)
	{
		/* planned again while kept (dropped and kept again meanwhile) */
		entry->kept->dropped = true;
		free_if_unused(entry->kept);
	}
	entry->kept = kept;
}

/*
 * The memory context of a kept plan that the current statement runs, for
 * memoising its analysis (fingerprint.c); NULL for any other plan.
 */
MemoryContext
hc_kept_plan_context(PlannedStmt *pstmt)
{
	if (current != NULL && current->plan == pstmt)
		return current->cxt;
	return NULL;
}

void
hc_plan_reuse_init(void)
{
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = hc_post_parse_analyze;
	prev_planner = planner_hook;
	planner_hook = hc_planner;
	prev_object_access = object_access_hook;
	object_access_hook = hc_object_access;

	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
	/* what the plan cache also watches: see PlanCacheSysCallback */
	CacheRegisterSyscacheCallback(PROCOID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(OPEROID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AMOPOPID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(FOREIGNDATAWRAPPEROID, syscache_callback, (Datum) 0);
	/* a stub's recorded EXECUTE checks of aggregate parts ran as the owner */
	CacheRegisterSyscacheCallback(AUTHOID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, syscache_callback, (Datum) 0);
}
