/*-------------------------------------------------------------------------
 *
 * eligibility.c
 *	  Decide whether a plan's result may be cached, and on what it depends.
 *
 * One walk over the PlannedStmt, failing closed (invariant I5): every plan
 * node type of PostgreSQL 15 is listed explicitly, and anything not listed
 * makes the plan uncacheable.  Every expression the plan evaluates is
 * checked for functions that are not IMMUTABLE, with two exceptions whose
 * inputs become part of the cache key instead: the role functions
 * (current_user, session_user, ...) and current_setting() with a constant
 * setting name.  That lets row-level-security policies written with
 * current_user or current_setting('app.tenant') be cached per role/tenant.
 *
 * The dependency list is the plan's relationOids, deduplicated, plus all
 * partition ancestors, so that a write registered on a partitioned table
 * invalidates queries that read one of its leaves directly.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/eligibility.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/transam.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_subscription_rel.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "catalog/pg_type.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

/* does pg_subscription_rel of this database have rows? -1: not known */
static int	has_subscribed_tables = -1;

typedef struct hcWalkContext
{
	hcPlanInfo *info;
	PlannedStmt *pstmt;
} hcWalkContext;

static bool walk_plan(Plan *plan, hcWalkContext *cxt);

static bool
reject(hcWalkContext *cxt, hcBypassReason reason)
{
	if (cxt->info->verdict == HC_BYPASS_NONE)
		cxt->info->verdict = reason;
	return true;
}

/* check_functions_in_node callback: true if the function is not immutable */
static bool
function_is_mutable(Oid funcid, void *context)
{
	return func_volatile(funcid) != PROVOLATILE_IMMUTABLE;
}

/* check_functions_in_node callback: true if the function is not built in */
static bool
function_is_user_defined(Oid funcid, void *context)
{
	return funcid >= FirstNormalObjectId;
}

/*
 * Remember a current_setting() name; false when there are too many or the
 * setting is one that only privileged roles may read.
 */
static bool
add_setting(hcWalkContext *cxt, const char *name)
{
	hcPlanInfo *info = cxt->info;
	int			flags;
	int			i;

	flags = GetConfigOptionFlags(name, true);
	if (flags & GUC_SUPERUSER_ONLY)
		return false;
	for (i = 0; i < info->nsettings; i++)
		if (strcmp(info->settings[i], name) == 0)
			return true;
	if (info->nsettings >= HC_MAX_SETTINGS)
		return false;
	info->settings[info->nsettings++] = pstrdup(name);
	return true;
}

/*
 * Expression walker: returns true (stop) when the expression makes the
 * plan uncacheable.
 */
static bool
expr_walker(Node *node, hcWalkContext *cxt)
{
	if (node == NULL)
		return false;

	if (IsA(node, FuncExpr))
	{
		FuncExpr   *fexpr = (FuncExpr *) node;

		if (fexpr->funcid == F_CURRENT_SETTING_TEXT ||
			fexpr->funcid == F_CURRENT_SETTING_TEXT_BOOL)
		{
			Node	   *arg = linitial(fexpr->args);
			ListCell   *lc;

			/* every argument must be a constant */
			foreach(lc, fexpr->args)
			{
				Node	   *a = lfirst(lc);

				if (!IsA(a, Const) || ((Const *) a)->constisnull)
					return reject(cxt, HC_BYPASS_MUTABLE_FUNCTION);
			}
			if (!add_setting(cxt, TextDatumGetCString(((Const *) arg)->constvalue)))
				return reject(cxt, HC_BYPASS_MUTABLE_FUNCTION);
			return false;
		}
	}
	else if (IsA(node, SQLValueFunction))
	{
		switch (((SQLValueFunction *) node)->op)
		{
			case SVFOP_CURRENT_ROLE:
			case SVFOP_CURRENT_USER:
			case SVFOP_USER:
			case SVFOP_SESSION_USER:
				cxt->info->depends_on_role = true;
				return false;
			case SVFOP_CURRENT_CATALOG:
				/* the database is always part of the key */
				return false;
			default:
				return reject(cxt, HC_BYPASS_MUTABLE_FUNCTION);
		}
	}
	else if (IsA(node, NextValueExpr))
		return reject(cxt, HC_BYPASS_MUTABLE_FUNCTION);
	else if (IsA(node, Param))
	{
		Param	   *param = (Param *) node;

		if (param->paramkind != PARAM_EXTERN && param->paramkind != PARAM_EXEC)
			return reject(cxt, HC_BYPASS_PARAMS);
	}
	else if (IsA(node, Query))
		return reject(cxt, HC_BYPASS_UNSUPPORTED_NODE);

	if (check_functions_in_node(node, function_is_mutable, NULL))
		return reject(cxt, HC_BYPASS_MUTABLE_FUNCTION);
	/* an IMMUTABLE function of ours may still read tables: no key ranges */
	if (!cxt->info->calls_user_functions &&
		check_functions_in_node(node, function_is_user_defined, NULL))
		cxt->info->calls_user_functions = true;

	return expression_tree_walker(node, expr_walker, (void *) cxt);
}

static bool
walk_expr(void *node, hcWalkContext *cxt)
{
	return expr_walker((Node *) node, cxt);
}

static bool
walk_plan_list(List *plans, hcWalkContext *cxt)
{
	ListCell   *lc;

	foreach(lc, plans)
		if (walk_plan((Plan *) lfirst(lc), cxt))
			return true;
	return false;
}

/* Expressions of run-time partition pruning steps. */
static bool
walk_prune_info(PartitionPruneInfo *pinfo, hcWalkContext *cxt)
{
	ListCell   *lc1;

	if (pinfo == NULL)
		return false;
	foreach(lc1, pinfo->prune_infos)
	{
		ListCell   *lc2;

		foreach(lc2, (List *) lfirst(lc1))
		{
			PartitionedRelPruneInfo *prinfo = lfirst(lc2);
			List	   *steps = list_concat_copy(prinfo->initial_pruning_steps,
												 prinfo->exec_pruning_steps);
			ListCell   *lc3;

			foreach(lc3, steps)
			{
				Node	   *step = lfirst(lc3);

				if (IsA(step, PartitionPruneStepOp) &&
					walk_expr(((PartitionPruneStepOp *) step)->exprs, cxt))
					return true;
			}
		}
	}
	return false;
}

/*
 * Walk one plan node and its children.  Returns true as soon as something
 * makes the plan uncacheable (info->verdict says what).
 */
static bool
walk_plan(Plan *plan, hcWalkContext *cxt)
{
	if (plan == NULL)
		return false;

	check_stack_depth();

	if (walk_expr(plan->targetlist, cxt) ||
		walk_expr(plan->qual, cxt) ||
		walk_expr(plan->initPlan, cxt))
		return true;

	switch (nodeTag(plan))
	{
		case T_Result:
			if (walk_expr(((Result *) plan)->resconstantqual, cxt))
				return true;
			break;
		case T_ProjectSet:
		case T_Material:
		case T_Sort:
		case T_IncrementalSort:
		case T_Group:
		case T_Agg:
		case T_Unique:
		case T_Gather:
		case T_GatherMerge:
		case T_SetOp:
		case T_SeqScan:
		case T_CteScan:
		case T_WorkTableScan:
		case T_RecursiveUnion:
			break;
		case T_Append:
			if (walk_plan_list(((Append *) plan)->appendplans, cxt) ||
				walk_prune_info(((Append *) plan)->part_prune_info, cxt))
				return true;
			break;
		case T_MergeAppend:
			if (walk_plan_list(((MergeAppend *) plan)->mergeplans, cxt) ||
				walk_prune_info(((MergeAppend *) plan)->part_prune_info, cxt))
				return true;
			break;
		case T_BitmapAnd:
			if (walk_plan_list(((BitmapAnd *) plan)->bitmapplans, cxt))
				return true;
			break;
		case T_BitmapOr:
			if (walk_plan_list(((BitmapOr *) plan)->bitmapplans, cxt))
				return true;
			break;
		case T_IndexScan:
			{
				IndexScan  *s = (IndexScan *) plan;

				if (walk_expr(s->indexqual, cxt) ||
					walk_expr(s->indexqualorig, cxt) ||
					walk_expr(s->indexorderby, cxt) ||
					walk_expr(s->indexorderbyorig, cxt))
					return true;
			}
			break;
		case T_IndexOnlyScan:
			{
				IndexOnlyScan *s = (IndexOnlyScan *) plan;

				if (walk_expr(s->indexqual, cxt) ||
					walk_expr(s->recheckqual, cxt) ||
					walk_expr(s->indexorderby, cxt) ||
					walk_expr(s->indextlist, cxt))
					return true;
			}
			break;
		case T_BitmapIndexScan:
			{
				BitmapIndexScan *s = (BitmapIndexScan *) plan;

				if (walk_expr(s->indexqual, cxt) ||
					walk_expr(s->indexqualorig, cxt))
					return true;
			}
			break;
		case T_BitmapHeapScan:
			if (walk_expr(((BitmapHeapScan *) plan)->bitmapqualorig, cxt))
				return true;
			break;
		case T_TidScan:
			if (walk_expr(((TidScan *) plan)->tidquals, cxt))
				return true;
			break;
		case T_TidRangeScan:
			if (walk_expr(((TidRangeScan *) plan)->tidrangequals, cxt))
				return true;
			break;
		case T_SubqueryScan:
			if (walk_plan(((SubqueryScan *) plan)->subplan, cxt))
				return true;
			break;
		case T_FunctionScan:
			if (walk_expr(((FunctionScan *) plan)->functions, cxt))
				return true;
			break;
		case T_ValuesScan:
			if (walk_expr(((ValuesScan *) plan)->values_lists, cxt))
				return true;
			break;
		case T_TableFuncScan:
			if (walk_expr(((TableFuncScan *) plan)->tablefunc, cxt))
				return true;
			break;
		case T_NestLoop:
			if (walk_expr(((Join *) plan)->joinqual, cxt))
				return true;
			break;
		case T_MergeJoin:
			if (walk_expr(((Join *) plan)->joinqual, cxt) ||
				walk_expr(((MergeJoin *) plan)->mergeclauses, cxt))
				return true;
			break;
		case T_HashJoin:
			if (walk_expr(((Join *) plan)->joinqual, cxt) ||
				walk_expr(((HashJoin *) plan)->hashclauses, cxt) ||
				walk_expr(((HashJoin *) plan)->hashkeys, cxt))
				return true;
			break;
		case T_Hash:
			if (walk_expr(((Hash *) plan)->hashkeys, cxt))
				return true;
			break;
		case T_Memoize:
			if (walk_expr(((Memoize *) plan)->param_exprs, cxt))
				return true;
			break;
		case T_WindowAgg:
			{
				WindowAgg  *w = (WindowAgg *) plan;

				if (walk_expr(w->startOffset, cxt) ||
					walk_expr(w->endOffset, cxt) ||
					walk_expr(w->runCondition, cxt))
					return true;
			}
			break;
		case T_Limit:
			if (walk_expr(((Limit *) plan)->limitOffset, cxt) ||
				walk_expr(((Limit *) plan)->limitCount, cxt))
				return true;
			break;
		case T_SampleScan:
			return reject(cxt, HC_BYPASS_TABLESAMPLE);
		case T_LockRows:
		case T_ModifyTable:
			return reject(cxt, HC_BYPASS_STATEMENT);
		default:
			/* ForeignScan, CustomScan, NamedTuplestoreScan, unknown */
			return reject(cxt, HC_BYPASS_UNSUPPORTED_NODE);
	}

	if (walk_plan(plan->lefttree, cxt) || walk_plan(plan->righttree, cxt))
		return true;
	return false;
}

static void
subscription_rel_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	has_subscribed_tables = -1;
}

/* Register the callbacks of this module; called from _PG_init. */
void
hc_eligibility_init(void)
{
	CacheRegisterSyscacheCallback(SUBSCRIPTIONRELMAP, subscription_rel_callback,
								  (Datum) 0);
}

/* Is relid a table of a logical-replication subscription? */
static bool
is_subscribed(Oid relid)
{
	Relation	catalog;
	SysScanDesc scan;
	ScanKeyData key;
	bool		found;

	/*
	 * Known to be empty: no need to open the catalog.  The flag is reset by
	 * the syscache callback, and invalidations were processed when the
	 * statement's relations were locked, as opening the catalog would.
	 */
	if (has_subscribed_tables == 0)
		return false;

	catalog = table_open(SubscriptionRelRelationId, AccessShareLock);
	if (has_subscribed_tables < 0)
	{
		scan = systable_beginscan(catalog, InvalidOid, false, NULL, 0, NULL);
		has_subscribed_tables = HeapTupleIsValid(systable_getnext(scan)) ? 1 : 0;
		systable_endscan(scan);
	}
	if (has_subscribed_tables == 0)
	{
		table_close(catalog, AccessShareLock);
		return false;
	}
	ScanKeyInit(&key, Anum_pg_subscription_rel_srrelid,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, SubscriptionRelSrrelidSrsubidIndexId,
							  true, NULL, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return found;
}

/*
 * Does the table have a row-level cache_invalidate() trigger for INSERT,
 * UPDATE and DELETE that fires in replica mode (hybridcache_watch())?
 */
static bool
has_replica_trigger(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TriggerDesc *trigdesc = rel->trigdesc;
	bool		found = false;
	int			i;

	for (i = 0; trigdesc != NULL && i < trigdesc->numtriggers && !found; i++)
	{
		Trigger    *trig = &trigdesc->triggers[i];
		char	   *fname;

		if (trig->tgenabled != TRIGGER_FIRES_ON_REPLICA &&
			trig->tgenabled != TRIGGER_FIRES_ALWAYS)
			continue;
		if (!TRIGGER_FOR_ROW(trig->tgtype) ||
			!TRIGGER_FOR_INSERT(trig->tgtype) ||
			!TRIGGER_FOR_UPDATE(trig->tgtype) ||
			!TRIGGER_FOR_DELETE(trig->tgtype))
			continue;
		fname = get_func_name(trig->tgfoid);
		found = (fname != NULL && strcmp(fname, "cache_invalidate") == 0);
	}
	relation_close(rel, AccessShareLock);
	return found;
}

static bool
add_dep(hcPlanInfo *info, Oid relid)
{
	int			i;

	for (i = 0; i < info->ndeps; i++)
		if (info->deps[i] == relid)
			return true;
	if (info->ndeps >= HC_MAX_DEPS)
		return false;
	info->deps[info->ndeps++] = relid;
	return true;
}

/*
 * Check one relation the plan reads and add it (and its partition
 * ancestors) to the dependencies.
 */
static bool
check_relation(Oid relid, hcWalkContext *cxt)
{
	HeapTuple	tup;
	Form_pg_class classform;
	bool		ok = true;
	bool		ispartition;

	if (relid < FirstNormalObjectId)
		return reject(cxt, HC_BYPASS_RELATION_KIND);

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return reject(cxt, HC_BYPASS_RELATION_KIND);
	classform = (Form_pg_class) GETSTRUCT(tup);

	switch (classform->relkind)
	{
		case RELKIND_RELATION:
		case RELKIND_PARTITIONED_TABLE:
		case RELKIND_MATVIEW:
		case RELKIND_VIEW:
			break;
		default:
			ok = false;
	}
	if (classform->relpersistence == RELPERSISTENCE_TEMP)
		ok = false;
	if (classform->relrowsecurity)
		cxt->info->depends_on_role = true;
	ispartition = classform->relispartition;
	ReleaseSysCache(tup);

	if (!ok)
		return reject(cxt, HC_BYPASS_RELATION_KIND);

	/*
	 * The apply worker of a subscription writes without the executor hooks;
	 * only a replica-mode row trigger sees those writes.  Without one the
	 * table's contents can change unseen: never cache it.
	 */
	if (is_subscribed(relid) && !has_replica_trigger(relid))
		return reject(cxt, HC_BYPASS_UNWATCHED_SUBSCRIPTION);
	if (!add_dep(cxt->info, relid))
		return reject(cxt, HC_BYPASS_TOO_MANY_DEPS);

	if (ispartition)
	{
		List	   *ancestors = get_partition_ancestors(relid);
		ListCell   *lc;

		foreach(lc, ancestors)
			if (!add_dep(cxt->info, lfirst_oid(lc)))
				return reject(cxt, HC_BYPASS_TOO_MANY_DEPS);
		list_free(ancestors);
	}
	return false;
}

/*
 * Analyse a plan: fill info->verdict, the dependencies and the key inputs
 * that come from the session (role, settings).  Memory for settings names
 * comes from CurrentMemoryContext.
 */
void
hc_analyze_plan(PlannedStmt *pstmt, hcPlanInfo *info)
{
	hcWalkContext cxt;
	ListCell   *lc;

	memset(info, 0, sizeof(*info));
	info->verdict = HC_BYPASS_NONE;
	cxt.info = info;
	cxt.pstmt = pstmt;

	if (pstmt->commandType != CMD_SELECT ||
		pstmt->utilityStmt != NULL ||
		pstmt->hasModifyingCTE ||
		pstmt->hasReturning ||
		pstmt->rowMarks != NIL ||
		pstmt->resultRelations != NIL)
	{
		reject(&cxt, HC_BYPASS_STATEMENT);
		return;
	}
	if (pstmt->dependsOnRole)
		info->depends_on_role = true;

	/* relations first: their kind is the more telling reason */
	foreach(lc, pstmt->relationOids)
		if (check_relation(lfirst_oid(lc), &cxt))
			return;

	if (walk_plan(pstmt->planTree, &cxt) ||
		walk_plan_list(pstmt->subplans, &cxt))
		return;

	/* a plan that reads no relation at all is not worth caching */
	if (info->ndeps == 0)
		reject(&cxt, HC_BYPASS_NO_RELATION);

	/* which of the relations it reads only by a key range */
	hc_key_ranges_analyze(pstmt, info);
}

/*
 * Result columns of anonymous record type carry a backend-local type
 * modifier and cannot be replayed by another backend.
 */
bool
hc_tupdesc_cacheable(TupleDesc tupdesc)
{
	int			i;

	for (i = 0; i < tupdesc->natts; i++)
	{
		Oid			typid = TupleDescAttr(tupdesc, i)->atttypid;

		if (typid == RECORDOID || typid == RECORDARRAYOID)
			return false;
	}
	return true;
}
