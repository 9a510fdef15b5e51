/*-------------------------------------------------------------------------
 *
 * fingerprint.c
 *	  The 128-bit cache key of a statement, memoised per cached plan.
 *
 * A plan's base key is a hash of the whole PlannedStmt without the fields
 * that vary for the same query (costs and other estimates, locations,
 * statement offsets, queryId, jitFlags).  The whole statement is hashed,
 * not only planTree: scan nodes name their relation by range-table index,
 * so only the range table tells count(*) FROM a from count(*) FROM b.
 * plan_hash.c serialises the plan into a compact binary form for this; a
 * plan holding a node it does not know is hashed through its normalised
 * nodeToString() text instead, which is slower but covers everything.
 *
 * The base key and the eligibility verdict (eligibility.c) are memoised
 * per PlannedStmt of a CachedPlan or kept by plan_reuse.c: prepared and
 * repeated simple-protocol statements pay once.  A memo
 * dies with the plan's memory context (reset callback), so a recycled
 * pointer can never find a stale memo.
 *
 * The statement key adds what changes a plan's result at execution time:
 * the database, the parameter values (their full bytes, not a hash of
 * them), and, when the plan depends on it, the role, session user,
 * row_security and the values of the current_setting() names it reads.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/fingerprint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "hybridcache.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "tcop/pquery.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/portal.h"
#include "utils/rls.h"

typedef struct hcMemoEntry
{
	PlannedStmt *pstmt;			/* hash key */
	hcPlanInfo *info;			/* lives in the plan's memory context */
} hcMemoEntry;

typedef struct hcMemoCallback
{
	MemoryContextCallback cb;
	PlannedStmt *pstmt;
} hcMemoCallback;

static HTAB *memo = NULL;

/*
 * Field names whose values vary for the same query; dropped from the text.
 * The same fields plan_hash.c leaves out.
 */
static const char *const volatile_fields[] = {
	"startup_cost", "total_cost", "plan_rows", "plan_width", "location",
	"stmt_location", "stmt_len", "queryId", "jitFlags", "parallel_aware",
	"parallel_safe", "async_capable", "per_call_cost", "numGroups",
	"transitionSpace", "est_entries", "rows_total", "enrtuples", NULL
};

/*
 * Remove " :field value" for every volatile field, in place.  Values of
 * these fields are single tokens (numbers or booleans).
 */
static size_t
normalise_plan_text(char *s)
{
	char	   *r = s;
	char	   *w = s;

	while (*r)
	{
		if (r[0] == ':' && r > s && r[-1] == ' ')
		{
			const char *const *f;
			bool		dropped = false;

			for (f = volatile_fields; *f; f++)
			{
				size_t		n = strlen(*f);

				if (strncmp(r + 1, *f, n) == 0 && r[n + 1] == ' ')
				{
					/* skip ":name " and the value token */
					r += n + 2;
					while (*r && *r != ' ' && *r != ')' && *r != '}')
						r++;
					/* drop the space written before ':' as well */
					if (w > s && w[-1] == ' ')
						w--;
					dropped = true;
					break;
				}
			}
			if (dropped)
				continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
	return w - s;
}

/* The base key of a plan from its normalised nodeToString() text. */
static void
plan_text_key(PlannedStmt *pstmt, hcKey *key)
{
	char	   *text = nodeToString(pstmt);
	size_t		len = normalise_plan_text(text);

	hc_hash_bytes(text, len, key);
	pfree(text);
}

/*
 * hybridcache.debug_check_fingerprint: remember, for every plan seen by
 * this backend, which text key each walker key stood for and vice versa.
 * Two plans with one walker key but different texts would share cache
 * entries they must not share; two with one text but different walker
 * keys mean the walker hashed something that is not in the plan.
 */
typedef struct hcKeyPair
{
	hcKey		from;
	hcKey		to;
} hcKeyPair;

/* [0]: plans, [1]: Query trees (plan_reuse.c) */
static HTAB *check_walker_to_text[2] = {NULL, NULL};
static HTAB *check_text_to_walker[2] = {NULL, NULL};

#define HC_CHECK_MAX_PLANS 100000

static bool
check_one_way(HTAB **map, const char *name, const hcKey *from, const hcKey *to)
{
	hcKeyPair  *pair;
	bool		found;

	if (*map == NULL || hash_get_num_entries(*map) >= HC_CHECK_MAX_PLANS)
	{
		HASHCTL		ctl;

		if (*map != NULL)
			hash_destroy(*map);
		ctl.keysize = sizeof(hcKey);
		ctl.entrysize = sizeof(hcKeyPair);
		ctl.hcxt = TopMemoryContext;
		*map = hash_create(name, 1024, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	pair = hash_search(*map, from, HASH_ENTER, &found);
	if (!found)
	{
		pair->to = *to;
		return true;
	}
	return hc_key_equal(&pair->to, to);
}

static void
check_walker_key(int kind, const char *text_key_of, const hcKey *text_key,
				 const hcKey *walker_key)
{
	if (!check_one_way(&check_walker_to_text[kind], "hybridcache walker keys",
					   walker_key, text_key))
		ereport(WARNING,
				(errmsg("hybridcache %s fingerprint %016llx%016llx stands for two different %s trees",
						text_key_of,
						(unsigned long long) walker_key->hi,
						(unsigned long long) walker_key->lo, text_key_of),
				 errdetail("The hashing walker misses a field that tells these apart.")));
	if (!check_one_way(&check_text_to_walker[kind], "hybridcache text keys",
					   text_key, walker_key))
		ereport(WARNING,
				(errmsg("hybridcache %s fingerprint %016llx%016llx is unstable",
						text_key_of,
						(unsigned long long) walker_key->hi,
						(unsigned long long) walker_key->lo),
				 errdetail("The hashing walker gave two keys for the same text.")));
}

static void
check_plan_hash(PlannedStmt *pstmt, const hcKey *walker_key)
{
	hcKey		text_key;

	plan_text_key(pstmt, &text_key);
	check_walker_key(0, "plan", &text_key, walker_key);
}

/*
 * hybridcache.debug_check_fingerprint for the Query-tree key of
 * plan_reuse.c: the same two-way check against the normalised text.
 */
void
hc_check_query_hash(Query *query, const hcKey *walker_key)
{
	char	   *text = nodeToString(query);
	size_t		len = normalise_plan_text(text);
	hcKey		text_key;

	hc_hash_bytes(text, len, &text_key);
	pfree(text);
	check_walker_key(1, "query", &text_key, walker_key);
}

/*
 * The base key of a plan.  The walker of plan_hash.c is the fast way;
 * plans with nodes it does not know use the plan text.
 */
static void
plan_key(PlannedStmt *pstmt, hcKey *key)
{
	if (hc_plan_hash(pstmt, key))
	{
		if (hc_debug_check_fingerprint)
			check_plan_hash(pstmt, key);
		return;
	}
	plan_text_key(pstmt, key);
}

static void
memo_forget(void *arg)
{
	hcMemoCallback *cb = (hcMemoCallback *) arg;

	if (memo != NULL)
		hash_search(memo, &cb->pstmt, HASH_REMOVE, NULL);
}

/*
 * The memory context of the plan if it lives across executions: a
 * CachedPlan the statement being started comes from, or a plan kept by
 * plan_reuse.c.  NULL for a one-shot plan.
 */
static MemoryContext
owning_plan_context(PlannedStmt *pstmt)
{
	CachedPlan *cplan;

	if (ActivePortal != NULL && ActivePortal->cplan != NULL)
	{
		cplan = ActivePortal->cplan;
		if (list_member_ptr(cplan->stmt_list, pstmt))
			return cplan->context;
	}
	return hc_kept_plan_context(pstmt);
}

/* Memoise info for pstmt until plancxt, where pstmt lives, goes away. */
static void
memo_enter(PlannedStmt *pstmt, hcPlanInfo *info, MemoryContext plancxt)
{
	hcMemoCallback *cb = MemoryContextAlloc(plancxt, sizeof(hcMemoCallback));
	hcMemoEntry *entry;
	bool		found;

	entry = hash_search(memo, &pstmt, HASH_ENTER, &found);
	entry->info = info;
	cb->pstmt = pstmt;
	cb->cb.func = memo_forget;
	cb->cb.arg = cb;
	MemoryContextRegisterResetCallback(plancxt, &cb->cb);
}

/*
 * Analysis and base key of a plan.  Memoised when the plan lives across
 * executions; otherwise computed in CurrentMemoryContext.
 */
const hcPlanInfo *
hc_plan_info(PlannedStmt *pstmt)
{
	MemoryContext plancxt = owning_plan_context(pstmt);
	hcMemoEntry *entry;
	hcPlanInfo *info;
	MemoryContext oldcxt;

	if (plancxt == NULL)
	{
		info = palloc(sizeof(hcPlanInfo));
		hc_analyze_plan(pstmt, info);
		if (info->verdict == HC_BYPASS_NONE)
			plan_key(pstmt, &info->plan_key);
		return info;
	}

	if (memo == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(PlannedStmt *);
		ctl.entrysize = sizeof(hcMemoEntry);
		ctl.hcxt = TopMemoryContext;
		memo = hash_create("hybridcache plan memo", 64, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	entry = hash_search(memo, &pstmt, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->info;

	/* analyse in the plan's context so the memo lives exactly as long */
	oldcxt = MemoryContextSwitchTo(plancxt);
	info = palloc(sizeof(hcPlanInfo));
	hc_analyze_plan(pstmt, info);
	if (info->verdict == HC_BYPASS_NONE)
		plan_key(pstmt, &info->plan_key);
	info->memoised = true;
	MemoryContextSwitchTo(oldcxt);

	memo_enter(pstmt, info, plancxt);
	return info;
}

/*
 * The memoised analysis of pstmt if there is one, without analysing it.
 * (A memo dies with its plan, so a live plan's pointer finds only its own.)
 */
const hcPlanInfo *
hc_plan_info_memoised(PlannedStmt *pstmt)
{
	hcMemoEntry *entry;

	if (memo == NULL)
		return NULL;
	entry = hash_search(memo, &pstmt, HASH_FIND, NULL);
	return entry ? entry->info : NULL;
}

/* Append the bytes of one parameter value to the key material. */
static void
append_param(StringInfo buf, ParamExternData *prm)
{
	int16		typlen;
	bool		typbyval;

	appendBinaryStringInfo(buf, (char *) &prm->ptype, sizeof(Oid));
	appendStringInfoChar(buf, prm->isnull ? 'n' : 'v');
	if (prm->isnull)
		return;

	get_typlenbyval(prm->ptype, &typlen, &typbyval);
	if (typbyval)
	{
		Datum		v = prm->value;

		if (typlen < (int) sizeof(Datum))
			v &= (((Datum) 1) << (typlen * 8)) - 1;
		appendBinaryStringInfo(buf, (char *) &v, sizeof(Datum));
	}
	else if (typlen == -1)
	{
		struct varlena *v = PG_DETOAST_DATUM_PACKED(prm->value);
		uint32		len = VARSIZE_ANY_EXHDR(v);

		appendBinaryStringInfo(buf, (char *) &len, sizeof(len));
		appendBinaryStringInfo(buf, VARDATA_ANY(v), len);
		if ((Pointer) v != DatumGetPointer(prm->value))
			pfree(v);
	}
	else if (typlen == -2)
	{
		const char *s = DatumGetCString(prm->value);
		uint32		len = strlen(s);

		appendBinaryStringInfo(buf, (char *) &len, sizeof(len));
		appendBinaryStringInfo(buf, s, len);
	}
	else
		appendBinaryStringInfo(buf, DatumGetPointer(prm->value), typlen);
}

/*
 * The key of one execution of a plan.  The caller has checked that params
 * has no fetch hook and that every non-null parameter has a type.
 */
void
hc_statement_key(const hcPlanInfo *info, ParamListInfo params, hcKey *key)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (char *) &info->plan_key, sizeof(hcKey));
	appendBinaryStringInfo(&buf, (char *) &MyDatabaseId, sizeof(Oid));

	if (params != NULL)
	{
		hcKey		params_key;

		hc_bind_params_key(params, &params_key);
		appendBinaryStringInfo(&buf, (char *) &params_key, sizeof(hcKey));
	}

	if (info->depends_on_role)
	{
		Oid			userid = GetUserId();
		Oid			sessionid = GetSessionUserId();

		appendStringInfoChar(&buf, 'r');
		appendBinaryStringInfo(&buf, (char *) &userid, sizeof(Oid));
		appendBinaryStringInfo(&buf, (char *) &sessionid, sizeof(Oid));
		appendStringInfoChar(&buf, row_security ? 't' : 'f');
	}

	for (i = 0; i < info->nsettings; i++)
	{
		const char *value = GetConfigOption(info->settings[i], true, false);

		appendStringInfoChar(&buf, 's');
		appendStringInfoString(&buf, info->settings[i]);
		appendStringInfoChar(&buf, '\0');
		if (value == NULL)
			appendStringInfoChar(&buf, 'n');
		else
		{
			appendStringInfoChar(&buf, 'v');
			appendStringInfoString(&buf, value);
			appendStringInfoChar(&buf, '\0');
		}
	}

	hc_hash_bytes(buf.data, buf.len, key);
	pfree(buf.data);
}

/*
 * A hash of the parameters' types, flags and values (the caller checked
 * them with hc_params_usable()): part of the statement key, and of the key
 * of a custom plan kept for them.
 */
void
hc_params_hash(ParamListInfo params, hcKey *key)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (char *) &params->numParams, sizeof(int));
	for (i = 0; i < params->numParams; i++)
	{
		appendBinaryStringInfo(&buf, (char *) &params->params[i].pflags,
							   sizeof(uint16));
		append_param(&buf, &params->params[i]);
	}
	hc_hash_bytes(buf.data, buf.len, key);
	pfree(buf.data);
}

/* Check that the parameters can be part of a key. */
bool
hc_params_usable(ParamListInfo params)
{
	int			i;

	if (params == NULL)
		return true;
	if (params->paramFetch != NULL || params->paramCompile != NULL)
		return false;
	for (i = 0; i < params->numParams; i++)
		if (!params->params[i].isnull && !OidIsValid(params->params[i].ptype))
			return false;
	return true;
}

/*
 * The admission rule, for plans memoised across executions: a plan whose
 * last measured run was faster than hybridcache.min_exec_time is not worth
 * capturing.  Every HC_REMEASURE_EVERY-th miss is captured again, so a plan
 * whose data grew becomes cacheable.  (The memo belongs to this backend,
 * so its counters can be updated through the const pointer.)
 */
#define HC_REMEASURE_EVERY 32

bool
hc_plan_known_cheap(const hcPlanInfo *info)
{
	hcPlanInfo *m = (hcPlanInfo *) info;

	if (m->measured == 0 || m->last_exec_ms >= hc_min_exec_time_ms)
		return false;
	if (++m->skipped % HC_REMEASURE_EVERY == 0)
		return false;
	return true;
}

void
hc_plan_measured(const hcPlanInfo *info, double exec_ms)
{
	hcPlanInfo *m = (hcPlanInfo *) info;

	m->last_exec_ms = exec_ms;
	m->measured++;
	m->skipped = 0;
}
