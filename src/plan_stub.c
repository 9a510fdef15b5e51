/*-------------------------------------------------------------------------
 *
 * plan_stub.c
 *	  Stubs that let a hit of a reused plan skip initialising the plan.
 *
 * A hit still ran the statement's ExecutorStart: every node of the plan
 * was initialised (relations opened, expressions compiled, sort and hash
 * state set up) only to be thrown away, since the rows come from the
 * cache.  For a plan that lives across executions, a prepared
 * statement's CachedPlan or a plan kept by plan_reuse.c, this module
 * keeps what a hit needs instead (executor_hooks.c, try_stub_hit()):
 *	- the result's row type, and an empty Result node, which stands in for
 *	  the plan in ExecutorStart (the hit then gives the statement that row
 *	  type itself: building it from a targetlist, with a catalog lookup per
 *	  column, and compiling a projection cost more than the rest of a
 *	  small hit's start);
 *	- the functions whose EXECUTE privilege the plan's ExecutorStart
 *	  checked, recorded through the object access hook (the executor calls
 *	  InvokeFunctionExecuteHook after each such check), so that a hit can
 *	  make the same checks.
 * The range table's privileges are checked on every hit from the plan
 * itself.
 *
 * The executor checks the parts of an aggregate (transition and final
 * functions) as the aggregate's owner, not the current user.  A hit checks
 * every recorded function as the current user, which can only refuse
 * more; and a stub is valid only until pg_proc or a role or membership
 * changes (a generation counter bumped by syscache callbacks), because
 * such a change can revoke what the owner was allowed.
 *
 * A stub is built on a plan's second start (the first of a plan kept by
 * plan_reuse.c): a custom plan of a prepared statement that is not kept,
 * made for one execution, never pays for one.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/plan_stub.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/objectaccess.h"
#include "catalog/pg_proc.h"
#include "executor/executor.h"
#include "hybridcache.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

static object_access_hook_type prev_object_access = NULL;

/* bumped when a recorded EXECUTE check may no longer hold */
static uint64 stub_generation = 1;

/* the functions the ExecutorStart being recorded checks */
static struct
{
	bool		active;
	bool		overflow;
	int			nfuncs;
	Oid			funcs[HC_MAX_STUB_FUNCS];
} rec;

static void
stub_syscache_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	stub_generation++;
}

/*
 * The executor announces every function whose EXECUTE privilege it checks;
 * while a top-level start is recorded, remember them.
 */
static void
hc_stub_object_access(ObjectAccessType access, Oid classId, Oid objectId,
					  int subId, void *arg)
{
	if (prev_object_access)
		prev_object_access(access, classId, objectId, subId, arg);
	if (rec.active && access == OAT_FUNCTION_EXECUTE &&
		classId == ProcedureRelationId)
	{
		int			i;

		for (i = 0; i < rec.nfuncs; i++)
			if (rec.funcs[i] == objectId)
				return;
		if (rec.nfuncs < HC_MAX_STUB_FUNCS)
			rec.funcs[rec.nfuncs++] = objectId;
		else
			rec.overflow = true;
	}
}

/* A top-level SELECT's ExecutorStart begins: record its function checks. */
void
hc_stub_record_begin(void)
{
	rec.active = true;
	rec.overflow = false;
	rec.nfuncs = 0;
}

/* ... and ended (completed or not). */
void
hc_stub_record_end(void)
{
	rec.active = false;
}

/*
 * After a completely recorded ExecutorStart of pstmt, whose memoised
 * analysis is info: give the plan a stub if it is started for the second
 * time and has none that is valid.  The stub lives in info's context,
 * which is the plan's.
 */
void
hc_stub_learn(PlannedStmt *pstmt, hcPlanInfo *info, bool reused_plan)
{
	MemoryContext oldcxt;
	hcPlanStub *stub;

	if (!info->memoised || info->verdict != HC_BYPASS_NONE || rec.overflow)
		return;
	if (++info->starts < 2 && !reused_plan)
		return;
	if (hc_stub_valid(info) != NULL)
		return;

	oldcxt = MemoryContextSwitchTo(GetMemoryChunkContext(info));
	stub = palloc(offsetof(hcPlanStub, funcs) + sizeof(Oid) * Max(rec.nfuncs, 1));
	stub->generation = stub_generation;
	stub->result = makeNode(Result);
	/* what InitPlan makes the statement's type: the junk filter's */
	stub->tupdesc = ExecCleanTypeFromTL(pstmt->planTree->targetlist);
	stub->nfuncs = rec.nfuncs;
	memcpy(stub->funcs, rec.funcs, sizeof(Oid) * rec.nfuncs);
	MemoryContextSwitchTo(oldcxt);

	/* an outdated stub stays allocated until the plan goes: it is small */
	info->stub = stub;
}

/* The stub of a memoised plan if it is still valid, else NULL. */
const hcPlanStub *
hc_stub_valid(const hcPlanInfo *info)
{
	if (info->stub == NULL || info->stub->generation != stub_generation)
		return NULL;
	return info->stub;
}

/*
 * A statement that stands for real in ExecutorStart when the result is a
 * hit: the same queryId and position, and one empty Result node to
 * initialise; the caller then sets the result type (hc_stub_result_type).
 * Its range table is empty: the caller has checked real's.
 * Allocated in CurrentMemoryContext; shares the stub's nodes, which live
 * as long as the plan.
 */
PlannedStmt *
hc_stub_statement(const hcPlanStub *stub, PlannedStmt *real)
{
	PlannedStmt *p = makeNode(PlannedStmt);

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
 * After the stub statement's ExecutorStart: give the statement the plan's
 * result type, as the portal and the client see it.  A copy in the query's
 * memory, like the type the executor would have made.
 */
void
hc_stub_result_type(const hcPlanStub *stub, QueryDesc *qd)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(qd->estate->es_query_cxt);

	qd->tupDesc = CreateTupleDescCopy(stub->tupdesc);
	MemoryContextSwitchTo(oldcxt);
}

void
hc_plan_stub_init(void)
{
	prev_object_access = object_access_hook;
	object_access_hook = hc_stub_object_access;

	CacheRegisterSyscacheCallback(PROCOID, stub_syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, stub_syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, stub_syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, stub_syscache_callback, (Datum) 0);
}
