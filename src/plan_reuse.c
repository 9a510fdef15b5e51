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
 * Like a prepared statement's plan, a kept plan gets a stub (plan_stub.c)
 * so that its hits skip ExecutorStart's initialisation of the plan.
 *
 * Prepared statements whose plan cache keeps choosing custom plans (made
 * for each execution's parameter values) are planned on every execution
 * too.  A custom plan the plan cache asks for at top level, for a portal
 * the client's Bind starts, is kept the same way, its key also covering
 * the parameters' types, flags and values.  The plan cache copies the plan
 * it is given: the pending plan is that copy, found when its portal starts
 * (hc_plan_reuse_starting); and the copy of a kept plan shares the kept
 * plan's memo (analysis, key, stub), holding a reference to it for as long
 * as the copy lives.
 *
 * A plan in use by a running statement is never freed: it holds a
 * reference until the memory context it was returned in is reset, which
 * is after its portal is dropped.
 *
 * The plan cache copies every custom plan the planner returns, and a
 * join's plan tree is large: copying it was about a sixth of a prepared
 * join hit.  So a kept custom plan is returned as a stand-in: a
 * PlannedStmt with the kept plan's flags, costs, result targetlist and
 * number of range table entries (what the plan cache, the portal and the
 * client's RowDescription read) over a CustomScan node that only marks
 * it.  The executor never sees the stand-in: the first thing hybridcache's
 * ExecutorStart does, at any nesting level, is to put the kept plan in its
 * place (hc_plan_reuse_resolve), holding the kept plan for as long as the
 * portal's CachedPlan lives; a stand-in it cannot resolve is an error,
 * and one that got executed anyway would be one too.
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
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "storage/lmgr.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/portal.h"
#include "utils/syscache.h"

/* Most plans kept per backend; when full, the table starts over. */
#define HC_MAX_KEPT_PLANS	1000

typedef struct hcKeptPlan
{
	MemoryContext cxt;			/* holds this struct and the plan */
	PlannedStmt *plan;
	int			refcount;		/* statements running it */
	bool		dropped;		/* no longer in the table */
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
	uint64		id;				/* 0: none (see valid_until()) */
} pending;

/*
 * The custom plan the planner hook just gave the plan cache, which copies
 * it before the executor sees it.  When the copy's portal starts, a kept
 * plan's stand-in is replaced by the kept plan (hc_plan_reuse_resolve),
 * and the copy of a freshly made one becomes the pending plan
 * (hc_plan_reuse_starting).
 */
static struct
{
	uint64		id;				/* 0: none (see valid_until()) */
	hcKeptPlan *kept;			/* the kept plan returned, or NULL */
	hcKey		key;			/* freshly made: as for pending */
	uint64		inval_count;
} custom_plan;

/*
 * What ends one of the above, or bind_params below, when the memory it
 * speaks of goes: the slot's id, unless a later statement has set it again.
 */
typedef struct hcSlotEnd
{
	MemoryContextCallback cb;
	uint64	   *slot;			/* the id field of pending, custom_plan... */
	uint64		id;
} hcSlotEnd;

static uint64 slot_seq = 0;

/*
 * The hash of the parameters of the Bind being processed, made for the
 * custom plan lookup and used again for the statement key when its portal
 * starts.  Forgotten with the Bind's memory: the parameters cannot change
 * or go away before that.
 */
static struct
{
	uint64		id;				/* 0: none (see valid_until()) */
	ParamListInfo params;
	hcKey		key;
} bind_params;

static Node *stand_in_create_state(CustomScan *cscan);

/* marks the stand-in of a kept custom plan (never executed) */
static const CustomScanMethods stand_in_methods = {
	"hybridcache kept plan",
	stand_in_create_state
};

/* the kept plan the current top-level statement runs, or NULL */
static hcKeptPlan *current = NULL;

/*
 * The Query tree keys of repeated statements.  A simple-protocol statement
 * the client repeats analyses to an equal tree each time, and so does each
 * Bind of a prepared statement whose plan cache chooses custom plans (it
 * plans a copy of the same tree); serialising and hashing that tree was
 * the largest part of such a hit left to this module.  So the key of each
 * statement's tree is remembered, found by a hash of the statement's text
 * and proved by equal() against a copy of the tree it was computed from:
 * the key is a function of the tree, and equal() compares every field the
 * key covers (it ignores only parse locations).
 *
 * A custom plan's text is the prepared statement's, one per statement.  A
 * simple-protocol text includes its literals, and a workload can cycle
 * through more of them than are remembered; copying each tree only to drop
 * it again would cost more than it saves.  So a simple-protocol tree is
 * remembered on the second sighting of its text in a small direct-mapped
 * table of texts seen.
 */
#define HC_MAX_TREE_KEYS	128

typedef struct hcTreeKey
{
	hcKey		text_key;		/* hash key */
	MemoryContext cxt;			/* holds tree */
	Query	   *tree;
	hcKey		core;
} hcTreeKey;

static HTAB *tree_keys = NULL;
static MemoryContext tree_keys_parent = NULL;

#define HC_TEXTS_SEEN		512
static hcKey texts_seen[HC_TEXTS_SEEN];

static void forget_tree_keys(void);

/* A backend-local hash table keyed by hcKey, in cxt. */
static HTAB *
key_table(const char *name, Size entrysize, MemoryContext cxt)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(hcKey);
	ctl.entrysize = entrysize;
	ctl.hcxt = cxt;
	return hash_create(name, 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Create the kept plans' and the tree keys' tables on first use. */
static void
create_tables(void)
{
	if (kept_plans != NULL)
		return;
	kept_parent = AllocSetContextCreate(TopMemoryContext,
										"hybridcache kept plans",
										ALLOCSET_SMALL_SIZES);
	tree_keys_parent = AllocSetContextCreate(TopMemoryContext,
											 "hybridcache query keys",
											 ALLOCSET_SMALL_SIZES);
	kept_plans = key_table("hybridcache kept plans", sizeof(hcKeptEntry),
						   kept_parent);
	tree_keys = key_table("hybridcache query keys", sizeof(hcTreeKey),
						  tree_keys_parent);
}

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
	if (tree_keys != NULL)
		forget_tree_keys();
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

static void
end_slot(void *arg)
{
	hcSlotEnd  *e = (hcSlotEnd *) arg;

	if (*e->slot == e->id)
		*e->slot = 0;
}

/*
 * Give *slot (the id of pending, custom_plan or bind_params) a new id, set
 * back to 0 when cxt is reset or deleted: a plan's pointer must not match
 * a later plan, and a Bind's state must not outlive its Bind.
 */
static void
valid_until(uint64 *slot, MemoryContext cxt)
{
	hcSlotEnd  *e = MemoryContextAlloc(cxt, sizeof(hcSlotEnd));

	e->slot = slot;
	e->id = *slot = ++slot_seq;
	e->cb.func = end_slot;
	e->cb.arg = e;
	MemoryContextRegisterResetCallback(cxt, &e->cb);
}

/* Hold a reference to kept until cxt is reset or deleted. */
static void
hold_ref(hcKeptPlan *kept, MemoryContext cxt)
{
	hcKeptRef  *ref = MemoryContextAlloc(cxt, sizeof(hcKeptRef));

	kept->refcount++;
	ref->kept = kept;
	ref->cb.func = release_ref;
	ref->cb.arg = ref;
	MemoryContextRegisterResetCallback(cxt, &ref->cb);
}

static void
hc_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);

	if (hc_reuse_plans && hc_enabled &&
		pstate->p_paramref_hook == NULL &&
		query->commandType == CMD_SELECT && query->utilityStmt == NULL &&
		hc_client_statement())
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

static Node *
stand_in_create_state(CustomScan *cscan)
{
	elog(ERROR, "hybridcache: the stand-in of a kept plan reached the executor");
	return NULL;				/* keep compiler quiet */
}

/*
 * The stand-in of kept for the plan cache (see the header comment), for
 * the custom plan whose forget callback is id.  Only the fields the plan
 * cache, the portal and the client protocol read before ExecutorStart
 * are filled.  The plan cache copies the range table too, but reads only
 * its length (its estimate of the planning cost, averaged over custom
 * plans, counts the entries): it gets as many empty entries.
 */
static PlannedStmt *
make_stand_in(hcKeptPlan *kept, uint64 id)
{
	PlannedStmt *real = kept->plan;
	PlannedStmt *p = makeNode(PlannedStmt);
	CustomScan *cs = makeNode(CustomScan);
	RangeTblEntry *placeholder = makeNode(RangeTblEntry);
	int			i;

	placeholder->rtekind = RTE_RESULT;

	cs->scan.plan.startup_cost = real->planTree->startup_cost;
	cs->scan.plan.total_cost = real->planTree->total_cost;
	cs->scan.plan.plan_rows = real->planTree->plan_rows;
	cs->scan.plan.plan_width = real->planTree->plan_width;
	cs->scan.plan.targetlist = real->planTree->targetlist;
	cs->methods = &stand_in_methods;
	cs->custom_private = list_make1(makeConst(INT8OID, -1, InvalidOid,
											  sizeof(int64),
											  Int64GetDatum((int64) id),
											  false, FLOAT8PASSBYVAL));

	p->commandType = real->commandType;
	p->queryId = real->queryId;
	p->hasReturning = real->hasReturning;
	p->hasModifyingCTE = real->hasModifyingCTE;
	p->canSetTag = real->canSetTag;
	p->transientPlan = real->transientPlan;
	p->dependsOnRole = real->dependsOnRole;
	p->parallelModeNeeded = real->parallelModeNeeded;
	p->jitFlags = real->jitFlags;
	p->planTree = (Plan *) cs;
	/* as many entries as the plan's (the planning cost estimate counts them) */
	for (i = 0; i < list_length(real->rtable); i++)
		p->rtable = lappend(p->rtable, placeholder);
	p->stmt_location = real->stmt_location;
	p->stmt_len = real->stmt_len;
	return p;
}

/*
 * A statement starts, at any nesting level: if its plan is the stand-in
 * of a kept custom plan (the plan cache's copy of it, in the CachedPlan
 * of the portal being started), run the kept plan instead, holding it for
 * as long as that CachedPlan lives.
 */
void
hc_plan_reuse_resolve(QueryDesc *qd)
{
	CustomScan *cs = (CustomScan *) qd->plannedstmt->planTree;
	hcKeptPlan *kept = custom_plan.kept;
	CachedPlan *cplan;
	int64		id;

	if (!IsA(cs, CustomScan) || cs->methods != &stand_in_methods)
		return;
	id = DatumGetInt64(linitial_node(Const, cs->custom_private)->constvalue);
	if (kept == NULL || (int64) custom_plan.id != id ||
		ActivePortal == NULL || (cplan = ActivePortal->cplan) == NULL ||
		!list_member_ptr(cplan->stmt_list, qd->plannedstmt))
		elog(ERROR, "hybridcache: could not find the kept plan of a custom plan");
	custom_plan.id = 0;
	custom_plan.kept = NULL;
	hold_ref(kept, cplan->context);
	current = kept;
	qd->plannedstmt = kept->plan;
}

static void
forget_tree_keys(void)
{
	HASH_SEQ_STATUS seq;
	hcTreeKey  *t;

	hash_seq_init(&seq, tree_keys);
	while ((t = hash_seq_search(&seq)) != NULL)
	{
		MemoryContextDelete(t->cxt);
		hash_search(tree_keys, &t->text_key, HASH_REMOVE, NULL);
	}
}

/*
 * The core key of a Query tree (see tree_keys); custom: planned for a
 * custom plan.  False when the tree cannot be hashed.
 */
static bool
tree_key(Query *parse, const char *query_string, bool custom, hcKey *core)
{
	hcKey		text_key;
	hcTreeKey  *t;
	const char *text = query_string;
	Size		len;
	MemoryContext cxt;
	MemoryContext oldcxt;
	Query	   *tree;
	bool		found;

	if (query_string == NULL)
		return hc_query_hash(parse, core);
	if (parse->stmt_location > 0)
		text += parse->stmt_location;
	len = parse->stmt_len > 0 ? parse->stmt_len : strlen(text);
	hc_hash_bytes(text, len, &text_key);

	create_tables();
	t = hash_search(tree_keys, &text_key, HASH_FIND, NULL);
	if (t != NULL && equal(parse, t->tree))
	{
		*core = t->core;
		return true;
	}

	if (!hc_query_hash(parse, core))
		return false;
	if (t == NULL && !custom)
	{
		hcKey	   *seen = &texts_seen[text_key.lo % HC_TEXTS_SEEN];

		if (!hc_key_equal(seen, &text_key))
		{
			*seen = text_key;
			return true;
		}
	}

	/* the copy first: an entry is never left without its tree */
	cxt = AllocSetContextCreate(tree_keys_parent, "hybridcache query key",
								ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	tree = copyObject(parse);
	MemoryContextSwitchTo(oldcxt);
	if (t == NULL && hash_get_num_entries(tree_keys) >= HC_MAX_TREE_KEYS)
		forget_tree_keys();
	t = hash_search(tree_keys, &text_key, HASH_ENTER, &found);
	if (found)
		MemoryContextDelete(t->cxt);
	t->cxt = cxt;
	t->tree = tree;
	t->core = *core;
	return true;
}

/*
 * Is this the planning of a custom plan for a prepared statement's
 * parameter values, for a portal the client's Bind starts at top level?
 * (The plan cache plans a custom plan with the bound parameters; nothing
 * else at top level plans with parameters.)
 */
static bool
custom_candidate(Query *parse, ParamListInfo boundParams)
{
	return boundParams != NULL && hc_reuse_plans && hc_enabled &&
		parse->commandType == CMD_SELECT && parse->utilityStmt == NULL &&
		hc_client_statement() && hc_params_usable(boundParams);
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
	hcKey		params_key = {0, 0};
	bool		custom;

	if (parse == candidate && boundParams == NULL && hc_reuse_plans &&
		hc_at_top_level())
	{
		candidate = NULL;
		custom = false;
	}
	else if (custom_candidate(parse, boundParams))
	{
		hc_params_hash(boundParams, &params_key);
		bind_params.params = boundParams;
		bind_params.key = params_key;
		valid_until(&bind_params.id, CurrentMemoryContext);
		custom = true;
	}
	else
		return plan_normally(parse, query_string, cursorOptions, boundParams);

	if (!worth_keeping(parse) || !tree_key(parse, query_string, custom, &core))
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
			hcKey		params;
			uint64		queryId;
			int			stmt_location;
			int			stmt_len;
			int			cursorOptions;
			Oid			userid;
		}			material;

		memset(&material, 0, sizeof(material));
		material.core = core;
		material.params = params_key;
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

		hold_ref(kept, CurrentMemoryContext);
		if (lock_kept_plan(kept))
		{
			current = kept;
			hc_count_plan_reused();
			if (custom)
			{
				custom_plan.kept = kept;
				valid_until(&custom_plan.id, CurrentMemoryContext);
				return make_stand_in(kept, custom_plan.id);
			}
			return kept->plan;
		}
		/* dropped while locking: plan afresh; the reference ends later */
	}

	inval_before = inval_count;
	result = plan_normally(parse, query_string, cursorOptions, boundParams);
	if (result->transientPlan)
		return result;
	if (custom)
	{
		/* the plan cache copies the plan: await the copy */
		custom_plan.kept = NULL;
		custom_plan.key = key;
		custom_plan.inval_count = inval_before;
		valid_until(&custom_plan.id, CurrentMemoryContext);
	}
	else
	{
		pending.plan = result;
		pending.key = key;
		pending.inval_count = inval_before;
		valid_until(&pending.id, CurrentMemoryContext);
	}
	return result;
}

/*
 * hc_params_hash() of params, taken from the Bind's custom plan lookup
 * when it hashed these very parameters.
 */
void
hc_bind_params_key(ParamListInfo params, hcKey *key)
{
	if (bind_params.id != 0 && bind_params.params == params)
		*key = bind_params.key;
	else
		hc_params_hash(params, key);
}

/*
 * A top-level SELECT starts.  If its plan is the plan cache's copy of a
 * custom plan the planner hook just made for it (same Bind), the copy
 * becomes the pending plan a hit or store may keep.  (A kept custom plan
 * was resolved from its stand-in already.)
 */
void
hc_plan_reuse_starting(QueryDesc *qd)
{
	CachedPlan *cplan;

	if (custom_plan.id == 0 || custom_plan.kept != NULL ||
		ActivePortal == NULL ||
		(cplan = ActivePortal->cplan) == NULL ||
		!list_member_ptr(cplan->stmt_list, qd->plannedstmt))
		return;
	custom_plan.id = 0;
	pending.plan = qd->plannedstmt;
	pending.key = custom_plan.key;
	pending.inval_count = custom_plan.inval_count;
	valid_until(&pending.id, cplan->context);
}

/*
 * The statement qd was served from the cache or stored into it: keep its
 * plan if it is the pending plan (made for a simple-protocol candidate, or
 * the copy of a custom plan) and no invalidation arrived since planning
 * began.
 */
void
hc_plan_reuse_learn(QueryDesc *qd)
{
	hcKeptEntry *entry;
	hcKeptPlan *kept;
	MemoryContext cxt;
	MemoryContext oldcxt;
	bool		found;

	if (pending.id == 0 || qd->plannedstmt != pending.plan)
		return;
	pending.id = 0;
	if (pending.inval_count != inval_count || !hc_reuse_plans)
		return;

	create_tables();
	if (hash_get_num_entries(kept_plans) >= HC_MAX_KEPT_PLANS)
		drop_all();

	cxt = AllocSetContextCreate(kept_parent, "hybridcache kept plan",
								ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	kept = palloc0(sizeof(hcKeptPlan));
	kept->cxt = cxt;
	kept->plan = copyObject(qd->plannedstmt);
	MemoryContextSwitchTo(oldcxt);

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

	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
	/* what the plan cache also watches: see PlanCacheSysCallback */
	CacheRegisterSyscacheCallback(PROCOID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(TYPEOID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(OPEROID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AMOPOPID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(FOREIGNDATAWRAPPEROID, syscache_callback, (Datum) 0);
	/* inlining a SQL function checked the role's EXECUTE privilege */
	CacheRegisterSyscacheCallback(AUTHOID, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMMEMROLE, syscache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, syscache_callback, (Datum) 0);
}
