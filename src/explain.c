/*-------------------------------------------------------------------------
 *
 * explain.c
 *	  What the cache would do with a statement: EXPLAIN and
 *	  hybridcache_explain().
 *
 * PostgreSQL 15 has no hook to add lines to EXPLAIN output, so a plain
 * EXPLAIN reports the verdict as a NOTICE when hybridcache.explain_notice
 * is on: whether the statement would be served from the cache (and from
 * which entry), run and stored, or bypassed and why.  The verdict is
 * computed from the same plan, key and checks as a real execution, and
 * looking does not change the cache or its statistics beyond the CLOCK
 * usage count of an entry it finds.  EXPLAIN ANALYZE always executes for
 * real and never uses the cache.
 *
 * hybridcache_explain(query) gives the same verdict as a row, for tools.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/explain.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "hybridcache.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

bool		hc_explain_notice = false;

typedef struct hcVerdict
{
	bool		seen;			/* set once a statement was examined */
	hcBypassReason reason;
	bool		hit;
	bool		filling;		/* another backend is computing it */
	uint64		rows;
	double		age_s;
	double		exec_ms;
	char	   *ranges;			/* what it reads by key range, or NULL */
} hcVerdict;

/* where hybridcache_explain() wants the verdict, or NULL */
static hcVerdict *probe = NULL;

PG_FUNCTION_INFO_V1(hybridcache_explain);

/* Should the EXPLAIN of this statement be examined? */
bool
hc_explain_wanted(bool top_level_explain)
{
	if (probe != NULL)
		return !probe->seen;
	return top_level_explain && hc_explain_notice;
}

/* One bound of a key range, in words. */
static void
append_bound(StringInfo buf, const hcKeyRange *r)
{
	if (r->lo == r->hi)
		appendStringInfo(buf, "is " INT64_FORMAT, r->lo);
	else if (r->lo == PG_INT64_MIN)
		appendStringInfo(buf, "is at most " INT64_FORMAT, r->hi);
	else if (r->hi == PG_INT64_MAX)
		appendStringInfo(buf, "is at least " INT64_FORMAT, r->lo);
	else
		appendStringInfo(buf, "is between " INT64_FORMAT " and " INT64_FORMAT,
						 r->lo, r->hi);
}

/*
 * The sentence saying which tables the statement reads by key range (see
 * key_ranges.c), or NULL when it reads every table whole.
 */
static char *
describe_ranges(const hcPlanInfo *info, ParamListInfo params)
{
	hcKeyRange	ranges[HC_MAX_RANGES];
	int			n = hc_key_ranges_compute(info, params, ranges);
	StringInfoData buf;
	int			k;

	if (n == 0)
		return NULL;
	initStringInfo(&buf);
	appendStringInfoString(&buf, "It reads ");
	for (k = 0; k < n; k++)
	{
		Oid			relid = info->deps[ranges[k].dep];
		char	   *relname = get_rel_name(relid);
		char	   *attname = get_attname(relid, ranges[k].attno, true);

		if (k > 0)
			appendStringInfoString(&buf, k == n - 1 ? " and " : ", ");
		if (ranges[k].lo > ranges[k].hi)
		{
			appendStringInfo(&buf, "no row of \"%s\"",
							 relname ? relname : "?");
			continue;
		}
		appendStringInfo(&buf, "\"%s\" only where \"%s\" ",
						 relname ? relname : "?", attname ? attname : "?");
		append_bound(&buf, &ranges[k]);
	}
	appendStringInfoString(&buf, ": writes of other rows keep its result.");
	return buf.data;
}

static void
examine(QueryDesc *qd, int eflags, hcVerdict *v)
{
	const hcPlanInfo *info = NULL;
	hcKey		key = {0, 0};
	int			ttl_s = 0;

	memset(v, 0, sizeof(*v));
	v->seen = true;
	v->reason = hc_decide(qd, eflags & ~EXEC_FLAG_EXPLAIN_ONLY, &info, &key, &ttl_s);
	if (v->reason == HC_BYPASS_NONE)
		v->ranges = describe_ranges(info, qd->params);
	if (v->reason == HC_BYPASS_NONE && hc_l1_readable())
	{
		const hcEntryHeader *hdr;
		int			desc_id;
		int			filling_id;

		hdr = hc_l1_lookup(&key, &desc_id, &filling_id);
		if (hdr != NULL)
		{
			TimestampTz now = GetCurrentStatementStartTimestamp();

			hcKeyRange	ranges[HC_MAX_RANGES];
			int			nranges = hc_key_ranges_compute(info, qd->params, ranges);

			if (hc_entry_matches(hdr, &key, qd->tupDesc, info->deps, info->ndeps,
								 ranges, nranges, hc_current_epoch(), now, ttl_s))
			{
				Oid			dbid;
				TimestampTz created;
				int			ndeps;
				const Oid  *deps;

				hc_entry_describe(hdr, &dbid, &created, &ndeps, &deps);
				v->hit = true;
				v->rows = hc_entry_ntuples(hdr);
				v->exec_ms = hc_entry_exec_ms(hdr);
				v->age_s = (double) (now - created) / USECS_PER_SEC;
			}
			hc_l1_release(desc_id);
		}
		v->filling = (filling_id >= 0);
	}
}

/* ExecutorStart of an EXPLAIN (no ANALYZE): report or record the verdict */
void
hc_explain_statement(QueryDesc *qd, int eflags)
{
	hcVerdict	v;

	if (probe != NULL)
	{
		examine(qd, eflags, probe);
		return;
	}

	examine(qd, eflags, &v);
	if (v.reason != HC_BYPASS_NONE)
		ereport(NOTICE,
				(errmsg("hybridcache would not use the cache for this statement"),
				 errdetail("The reason is \"%s\".", hc_bypass_reason_name(v.reason))));
	else if (v.hit)
		ereport(NOTICE,
				(errmsg("hybridcache would serve this statement from the cache"),
				 errdetail_plural("The cached result has " UINT64_FORMAT " row, was stored %.1f s ago and took %.3f ms to compute.%s%s",
								  "The cached result has " UINT64_FORMAT " rows, was stored %.1f s ago and took %.3f ms to compute.%s%s",
								  v.rows, v.rows, v.age_s, v.exec_ms,
								  v.ranges ? "  " : "", v.ranges ? v.ranges : "")));
	else if (v.filling)
		ereport(NOTICE,
				(errmsg("hybridcache would run this statement and store its result"),
				 errdetail("Another session is computing the same result; this one would wait for it.%s%s",
						   v.ranges ? "  " : "", v.ranges ? v.ranges : "")));
	else
		ereport(NOTICE,
				(errmsg("hybridcache would run this statement and store its result"),
				 v.ranges ? errdetail("%s", v.ranges) : 0));
}

/*
 * hybridcache_explain(query text): the verdict for one SELECT, as
 * (verdict, reason): 'hit', 'miss' or 'bypass' with the bypass reason.
 */
Datum
hybridcache_explain(PG_FUNCTION_ARGS)
{
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(0));
	List	   *parsed;
	RawStmt    *raw;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {0};
	hcVerdict	v;
	int			ret;

	/* exactly one SELECT: nothing else may run under EXPLAIN's name */
	parsed = raw_parser(query, RAW_PARSE_DEFAULT);
	if (list_length(parsed) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query must contain exactly one statement")));
	raw = linitial_node(RawStmt, parsed);
	if (!IsA(raw->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("query must be a SELECT statement")));

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	memset(&v, 0, sizeof(v));
	if (hc_has_off_hint(query, raw->stmt_location))
	{
		values[0] = CStringGetTextDatum("bypass");
		values[1] = CStringGetTextDatum(hc_bypass_reason_name(HC_BYPASS_HINT));
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PG_TRY();
	{
		probe = &v;
		ret = SPI_execute(psprintf("EXPLAIN (COSTS OFF) %s", query), false, 0);
		if (ret != SPI_OK_UTILITY)
			elog(ERROR, "unexpected SPI result %d", ret);
	}
	PG_FINALLY();
	{
		probe = NULL;
	}
	PG_END_TRY();
	SPI_finish();

	if (!v.seen)
		elog(ERROR, "EXPLAIN did not start the executor");
	if (v.reason != HC_BYPASS_NONE)
	{
		values[0] = CStringGetTextDatum("bypass");
		values[1] = CStringGetTextDatum(hc_bypass_reason_name(v.reason));
	}
	else
	{
		values[0] = CStringGetTextDatum(v.hit ? "hit" : "miss");
		nulls[1] = true;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
