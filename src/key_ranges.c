/*-------------------------------------------------------------------------
 *
 * key_ranges.c
 *	  Key ranges: which rows of a table a SELECT can read, and which rows
 *	  an UPDATE or DELETE can touch.
 *
 * A cached result depends on whole tables unless told otherwise: any
 * write to one of them makes it stale.  But when every scan of a table in
 * a SELECT's plan filters the table's rows by one integer column against
 * constants or parameters (aid = 5, aid BETWEEN $1 AND $2 + 99,
 * aid IN (1, 2, 3), aid = ANY($1), ...), rows outside that range cannot
 * reach the result, and a write whose old and new rows all lie outside it
 * cannot change it.  A list gives the range from its least to its
 * greatest element.
 *
 *	- Readers: hc_key_ranges_analyze() finds, per dependency, the column
 *	  and the bound terms of each scan (memoised with the plan);
 *	  hc_key_ranges_compute() evaluates them with the execution's
 *	  parameters into one [lo, hi] per dependency.
 *	- Writers: hc_write_key_range() finds the range of an UPDATE or DELETE
 *	  of one plain table, when every scan of the target bounds the column
 *	  and the statement cannot move a row to another value of it: the
 *	  column is not assigned, not generated, and no BEFORE ROW UPDATE
 *	  trigger could change it.  Everything else (INSERT, MERGE, ON
 *	  CONFLICT, writable CTEs, inheritance, COPY, TRUNCATE, DDL, triggers
 *	  of cache_invalidate()) writes the whole table.
 *
 * invalidation.c keeps the log of range writes and decides hits and
 * stores with it (its header comment has the protocol).  Only int2, int4
 * and int8 columns compared by operators of the btree integer_ops family
 * qualify: their order is the order of the int64 values.  A table read
 * through inheritance or partitioning, a scan this file does not
 * understand, or a parameter it cannot read means "the whole table".
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/key_ranges.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/pg_type.h"
#include "catalog/pg_class.h"
#include "catalog/pg_opfamily_d.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "hybridcache.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

/* what one analysis may collect before giving up on ranges */
#define HC_RANGE_MAX_SCANS		16
#define HC_RANGE_MAX_FOUND		64

/* what a term's value is */
typedef enum hcTermKind
{
	HC_TERM_CONST,				/* value */
	HC_TERM_PARAM,				/* parameter paramid, plus value */
	HC_TERM_PARAM_ARRAY			/* each element of array parameter paramid */
} hcTermKind;

/*
 * One bound "column <strategy> value" of one scan.  Terms of one list
 * (group > 0, strategy "=") bound the column to the hull of their values.
 */
typedef struct hcRangeTerm
{
	uint8		occ;			/* which scan of the table (0-based) */
	uint8		strategy;		/* BT*StrategyNumber, column on the left */
	uint8		kind;			/* hcTermKind */
	uint8		group;			/* list the term belongs to; 0: none */
	Oid			paramtype;		/* HC_TERM_PARAM*: its type */
	Oid			sumtype;		/* parameter plus offset: the sum's type */
	int			paramid;
	int64		value;			/* the constant, or the parameter's offset */
} hcRangeTerm;

struct hcRangeSpec
{
	int			dep;			/* index into the plan's dependencies */
	AttrNumber	attno;
	int			nocc;			/* scans of the table */
	int			nterms;
	hcRangeTerm terms[HC_RANGE_MAX_TERMS];
};

/* a term as found, before a column is chosen */
typedef struct hcFoundTerm
{
	int			scan;			/* index into the collector's scans */
	AttrNumber	attno;
	hcRangeTerm term;
} hcFoundTerm;

typedef struct hcRangeCollector
{
	const PlannedStmt *pstmt;
	/* which relations' scans to collect: by relid, or one range table index */
	const Oid  *relids;
	int			nrelids;
	Index		only_rti;		/* 0: by relid */
	bool		overflow;
	int			nscans;
	int			scan_rel[HC_RANGE_MAX_SCANS];	/* index into relids, or 0 */
	int			nfound;
	hcFoundTerm found[HC_RANGE_MAX_FOUND];
	int			ngroups;
} hcRangeCollector;

static bool
is_int_type(Oid typid)
{
	return typid == INT2OID || typid == INT4OID || typid == INT8OID;
}

static int64
int_datum_value(Datum d, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

static uint8
commuted_strategy(uint8 strategy)
{
	switch (strategy)
	{
		case BTLessStrategyNumber:
			return BTGreaterStrategyNumber;
		case BTLessEqualStrategyNumber:
			return BTGreaterEqualStrategyNumber;
		case BTGreaterEqualStrategyNumber:
			return BTLessEqualStrategyNumber;
		case BTGreaterStrategyNumber:
			return BTLessStrategyNumber;
		default:
			return strategy;
	}
}

/*
 * The column a Var of the scanned relation stands for: itself for a heap
 * scan, or through the index's target list for an index-only scan.
 */
static AttrNumber
scan_column(Node *node, Index scanrelid, List *indextlist)
{
	Var		   *var;

	if (node == NULL || !IsA(node, Var))
		return InvalidAttrNumber;
	var = (Var *) node;
	if (var->varlevelsup != 0 || !is_int_type(var->vartype))
		return InvalidAttrNumber;
	if (indextlist != NIL)
	{
		TargetEntry *tle;

		/* setrefs.c makes every Var of an index-only scan an INDEX_VAR */
		if (var->varno != INDEX_VAR)
			return InvalidAttrNumber;
		if (var->varattno < 1 || var->varattno > list_length(indextlist))
			return InvalidAttrNumber;
		tle = list_nth_node(TargetEntry, indextlist, var->varattno - 1);
		return scan_column((Node *) tle->expr, scanrelid, NIL);
	}
	if (var->varno != scanrelid || var->varattno <= 0)
		return InvalidAttrNumber;
	return var->varattno;
}

static bool
is_int_array_type(Oid typid)
{
	return typid == INT2ARRAYOID || typid == INT4ARRAYOID ||
		typid == INT8ARRAYOID;
}

/* The offset an integer addition or subtraction adds to its left side. */
static bool
int_offset_op(Oid funcid, bool *minus)
{
	switch (funcid)
	{
		case F_INT2PL:
		case F_INT4PL:
		case F_INT8PL:
		case F_INT24PL:
		case F_INT42PL:
		case F_INT28PL:
		case F_INT82PL:
		case F_INT48PL:
		case F_INT84PL:
			*minus = false;
			return true;
		case F_INT2MI:
		case F_INT4MI:
		case F_INT8MI:
		case F_INT24MI:
		case F_INT42MI:
		case F_INT28MI:
		case F_INT82MI:
		case F_INT48MI:
		case F_INT84MI:
			*minus = true;
			return true;
		default:
			return false;
	}
}

/*
 * A term's value: an integer Const, an external integer parameter, or such
 * a parameter plus or minus a Const (what a generic plan keeps of
 * "$1 + 99"), the sum computed in int64 and checked against its type when
 * the execution's parameters are known (term_value).
 */
static bool
bound_value(Node *node, hcRangeTerm *term)
{
	if (node == NULL)
		return false;
	if (IsA(node, Const))
	{
		Const	   *c = (Const *) node;

		if (c->constisnull || !is_int_type(c->consttype))
			return false;
		term->kind = HC_TERM_CONST;
		term->value = int_datum_value(c->constvalue, c->consttype);
		return true;
	}
	if (IsA(node, Param))
	{
		Param	   *p = (Param *) node;

		if (p->paramkind != PARAM_EXTERN || !is_int_type(p->paramtype))
			return false;
		term->kind = HC_TERM_PARAM;
		term->paramid = p->paramid;
		term->paramtype = p->paramtype;
		term->value = 0;
		return true;
	}
	if (IsA(node, OpExpr) && list_length(((OpExpr *) node)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) node;
		Node	   *left = linitial(op->args);
		Node	   *right = lsecond(op->args);
		bool		minus;
		hcRangeTerm offset;

		if (!int_offset_op(op->opfuncid, &minus))
			return false;
		if (!minus && IsA(left, Const) && IsA(right, Param))
		{
			Node	   *tmp = left;

			left = right;
			right = tmp;
		}
		if (!IsA(left, Param) || !IsA(right, Const) ||
			!bound_value(left, term) || !bound_value(right, &offset))
			return false;
		if (minus)
		{
			if (offset.value == PG_INT64_MIN)
				return false;
			offset.value = -offset.value;
		}
		term->value = offset.value;
		term->sumtype = op->opresulttype;
		return is_int_type(term->sumtype);
	}
	return false;
}

/* Remember one term found in a scan's quals. */
static void
add_found(hcRangeCollector *rc, int scan, AttrNumber attno,
		  const hcRangeTerm *term)
{
	if (rc->nfound >= HC_RANGE_MAX_FOUND)
	{
		rc->overflow = true;
		return;
	}
	rc->found[rc->nfound].scan = scan;
	rc->found[rc->nfound].attno = attno;
	rc->found[rc->nfound].term = *term;
	rc->nfound++;
}

/*
 * Widen [*lo, *hi] by the non-NULL elements of an integer array (NULLs
 * match no row).  False if the elements are not integers.
 */
static bool
array_hull(Datum value, int64 *lo, int64 *hi)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	Oid			elemtype = ARR_ELEMTYPE(arr);
	int16		elmlen;
	bool		elmbyval;
	char		elmalign;
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			i;

	if (!is_int_type(elemtype))
		return false;
	get_typlenbyvalalign(elemtype, &elmlen, &elmbyval, &elmalign);
	deconstruct_array(arr, elemtype, elmlen, elmbyval, elmalign,
					  &elems, &nulls, &nelems);
	for (i = 0; i < nelems; i++)
	{
		int64		v;

		if (nulls[i])
			continue;
		v = int_datum_value(elems[i], elemtype);
		*lo = Min(*lo, v);
		*hi = Max(*hi, v);
	}
	/* the analysis may live with the plan: keep none of this */
	pfree(elems);
	pfree(nulls);
	if ((Pointer) arr != DatumGetPointer(value))
		pfree(arr);
	return true;
}

/*
 * "column = ANY (list)": a Const array (its least and greatest elements),
 * an ARRAY[...] of term values, or an array parameter, as one group.
 */
static void
collect_list(hcRangeCollector *rc, int scan, AttrNumber attno, Node *list)
{
	hcRangeTerm term;
	int			group;

	if (rc->ngroups >= 255)
		return;
	group = ++rc->ngroups;
	memset(&term, 0, sizeof(term));
	term.strategy = BTEqualStrategyNumber;
	term.group = group;

	if (IsA(list, Const))
	{
		Const	   *c = (Const *) list;
		int64		lo = PG_INT64_MAX;
		int64		hi = PG_INT64_MIN;

		if (c->constisnull || !is_int_array_type(c->consttype) ||
			!array_hull(c->constvalue, &lo, &hi))
			return;
		term.kind = HC_TERM_CONST;
		if (lo > hi)
		{
			/* no element matches: no row; an empty range */
			term.group = 0;
			term.strategy = BTGreaterEqualStrategyNumber;
			term.value = 1;
			add_found(rc, scan, attno, &term);
			term.strategy = BTLessEqualStrategyNumber;
			term.value = 0;
			add_found(rc, scan, attno, &term);
			return;
		}
		term.value = lo;
		add_found(rc, scan, attno, &term);
		term.value = hi;
		add_found(rc, scan, attno, &term);
	}
	else if (IsA(list, ArrayExpr))
	{
		ArrayExpr  *ae = (ArrayExpr *) list;
		ListCell   *lc;
		int			first = rc->nfound;

		if (ae->multidims || ae->elements == NIL)
			return;
		foreach(lc, ae->elements)
		{
			hcRangeTerm elem = term;

			if (!bound_value(lfirst(lc), &elem))
			{
				rc->nfound = first;		/* one unknown element: no bound */
				return;
			}
			elem.group = group;
			elem.strategy = BTEqualStrategyNumber;
			add_found(rc, scan, attno, &elem);
		}
	}
	else if (IsA(list, Param))
	{
		Param	   *p = (Param *) list;

		if (p->paramkind != PARAM_EXTERN || !is_int_array_type(p->paramtype))
			return;
		term.kind = HC_TERM_PARAM_ARRAY;
		term.paramid = p->paramid;
		term.paramtype = p->paramtype;
		add_found(rc, scan, attno, &term);
	}
}

/* Collect the bound terms among one scan's qual conjuncts. */
static void
collect_quals(hcRangeCollector *rc, int scan, List *quals, Index scanrelid,
			  List *indextlist)
{
	ListCell   *lc;

	foreach(lc, quals)
	{
		Node	   *qual = lfirst(lc);
		AttrNumber	attno;
		hcRangeTerm term;
		int			strategy;
		bool		var_left = true;

		if (IsA(qual, ScalarArrayOpExpr))
		{
			ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) qual;

			if (!sa->useOr || list_length(sa->args) != 2)
				continue;
			attno = scan_column(linitial(sa->args), scanrelid, indextlist);
			if (attno == InvalidAttrNumber ||
				get_op_opfamily_strategy(sa->opno, INTEGER_BTREE_FAM_OID) !=
				BTEqualStrategyNumber)
				continue;
			collect_list(rc, scan, attno, lsecond(sa->args));
			continue;
		}
		if (IsA(qual, OpExpr) && list_length(((OpExpr *) qual)->args) == 2)
		{
			OpExpr	   *op = (OpExpr *) qual;

			attno = scan_column(linitial(op->args), scanrelid, indextlist);
			if (attno == InvalidAttrNumber)
			{
				attno = scan_column(lsecond(op->args), scanrelid, indextlist);
				var_left = false;
			}
			if (attno == InvalidAttrNumber)
				continue;
			memset(&term, 0, sizeof(term));
			if (!bound_value(var_left ? lsecond(op->args) : linitial(op->args),
							 &term))
				continue;
			strategy = get_op_opfamily_strategy(op->opno, INTEGER_BTREE_FAM_OID);
			if (strategy < BTLessStrategyNumber ||
				strategy > BTGreaterStrategyNumber)
				continue;
			term.strategy = var_left ? strategy : commuted_strategy(strategy);
			add_found(rc, scan, attno, &term);
		}
	}
}

/* Which of the collector's relations (1-based) does this scan read? 0: none */
static int
scan_relation(hcRangeCollector *rc, Index scanrelid)
{
	RangeTblEntry *rte;
	int			i;

	if (scanrelid == 0)
		return 0;
	if (rc->only_rti != 0)
		return scanrelid == rc->only_rti ? 1 : 0;
	rte = rt_fetch(scanrelid, rc->pstmt->rtable);
	if (rte->rtekind != RTE_RELATION)
		return 0;
	for (i = 0; i < rc->nrelids; i++)
		if (rc->relids[i] == rte->relid)
			return i + 1;
	return 0;
}

static void collect_plan(hcRangeCollector *rc, Plan *plan);

static void
collect_plan_list(hcRangeCollector *rc, List *plans)
{
	ListCell   *lc;

	foreach(lc, plans)
		collect_plan(rc, (Plan *) lfirst(lc));
}

/* Record one scan of a collected relation and its bound terms. */
static void
collect_scan(hcRangeCollector *rc, Plan *plan, int rel)
{
	Index		scanrelid = ((Scan *) plan)->scanrelid;
	int			scan;

	if (rc->nscans >= HC_RANGE_MAX_SCANS)
	{
		rc->overflow = true;
		return;
	}
	scan = rc->nscans++;
	rc->scan_rel[scan] = rel;

	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_TidScan:
		case T_TidRangeScan:
			collect_quals(rc, scan, plan->qual, scanrelid, NIL);
			break;
		case T_IndexScan:
			collect_quals(rc, scan, ((IndexScan *) plan)->indexqualorig,
						  scanrelid, NIL);
			collect_quals(rc, scan, plan->qual, scanrelid, NIL);
			break;
		case T_IndexOnlyScan:
			{
				IndexOnlyScan *s = (IndexOnlyScan *) plan;

				collect_quals(rc, scan, s->indexqual, scanrelid, s->indextlist);
				collect_quals(rc, scan, plan->qual, scanrelid, s->indextlist);
			}
			break;
		case T_BitmapHeapScan:
			collect_quals(rc, scan, ((BitmapHeapScan *) plan)->bitmapqualorig,
						  scanrelid, NIL);
			collect_quals(rc, scan, plan->qual, scanrelid, NIL);
			break;
		default:
			/* collect_plan() passes only the scans above */
			rc->overflow = true;
			break;
	}
}

/* Walk a plan tree for scans of the collector's relations. */
static void
collect_plan(hcRangeCollector *rc, Plan *plan)
{
	int			rel;

	if (plan == NULL || rc->overflow)
		return;
	switch (nodeTag(plan))
	{
		case T_Append:
			collect_plan_list(rc, ((Append *) plan)->appendplans);
			break;
		case T_MergeAppend:
			collect_plan_list(rc, ((MergeAppend *) plan)->mergeplans);
			break;
		case T_BitmapAnd:
			collect_plan_list(rc, ((BitmapAnd *) plan)->bitmapplans);
			break;
		case T_BitmapOr:
			collect_plan_list(rc, ((BitmapOr *) plan)->bitmapplans);
			break;
		case T_SubqueryScan:
			collect_plan(rc, ((SubqueryScan *) plan)->subplan);
			break;
		case T_ForeignScan:
		case T_CustomScan:
			/* may read several relations (scanrelid 0, a pushed-down join) */
			rc->overflow = true;
			return;
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
			rel = scan_relation(rc, ((Scan *) plan)->scanrelid);
			if (rel > 0)
				collect_scan(rc, plan, rel);
			break;
		default:
			/* a BitmapIndexScan's rows are its BitmapHeapScan's, the scan */
			break;
	}
	collect_plan(rc, plan->lefttree);
	collect_plan(rc, plan->righttree);
}

/*
 * The column all scans of relation rel (1-based) bound, the lowest if
 * several; InvalidAttrNumber if there is none or no scan at all.
 */
static AttrNumber
common_column(const hcRangeCollector *rc, int rel, int *nscans)
{
	AttrNumber	best = InvalidAttrNumber;
	int			i;
	int			j;
	int			s;

	*nscans = 0;
	for (s = 0; s < rc->nscans; s++)
		if (rc->scan_rel[s] == rel)
			(*nscans)++;
	if (*nscans == 0)
		return InvalidAttrNumber;

	/* each column some scan of the relation bounds: do all of them? */
	for (i = 0; i < rc->nfound; i++)
	{
		AttrNumber	attno = rc->found[i].attno;
		bool		everywhere = true;

		if (rc->scan_rel[rc->found[i].scan] != rel)
			continue;
		if (best != InvalidAttrNumber && attno >= best)
			continue;
		for (s = 0; s < rc->nscans && everywhere; s++)
		{
			bool		bounded = false;

			if (rc->scan_rel[s] != rel)
				continue;
			for (j = 0; j < rc->nfound && !bounded; j++)
				bounded = rc->found[j].scan == s && rc->found[j].attno == attno;
			everywhere = bounded;
		}
		if (everywhere)
			best = attno;
	}
	return best;
}

/* Fill spec with relation rel's terms on attno, numbering its scans. */
static bool
make_spec(const hcRangeCollector *rc, int rel, AttrNumber attno,
		  hcRangeSpec *spec)
{
	int			occ_of_scan[HC_RANGE_MAX_SCANS];
	int			s;
	int			i;

	spec->attno = attno;
	spec->nocc = 0;
	spec->nterms = 0;
	for (s = 0; s < rc->nscans; s++)
		occ_of_scan[s] = rc->scan_rel[s] == rel ? spec->nocc++ : -1;
	for (i = 0; i < rc->nfound; i++)
	{
		const hcFoundTerm *f = &rc->found[i];

		if (occ_of_scan[f->scan] < 0 || f->attno != attno)
			continue;
		if (spec->nterms >= HC_RANGE_MAX_TERMS)
			return false;
		spec->terms[spec->nterms] = f->term;
		spec->terms[spec->nterms].occ = occ_of_scan[f->scan];
		spec->nterms++;
	}
	return true;
}

/*
 * May a dependency be read by range?  A plain table, not a partition and
 * without inheritance children: readers of those depend on relations
 * whose writers register other tables.
 */
static bool
range_readable(Oid relid)
{
	HeapTuple	tup;
	Form_pg_class classform;
	bool		ok;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return false;
	classform = (Form_pg_class) GETSTRUCT(tup);
	ok = classform->relkind == RELKIND_RELATION &&
		!classform->relispartition && !classform->relhassubclass;
	ReleaseSysCache(tup);
	return ok;
}

/*
 * Find the dependencies of an analysed cacheable plan that it reads by a
 * key range.  Fills info->nranges and info->ranges, allocated in
 * CurrentMemoryContext (the memo's).
 */
void
hc_key_ranges_analyze(PlannedStmt *pstmt, hcPlanInfo *info)
{
	hcRangeCollector *rc;
	hcRangeSpec specs[HC_MAX_RANGES];
	int			nspecs = 0;
	int			i;

	info->nranges = 0;
	info->ranges = NULL;
	if (!hc_key_ranges || info->verdict != HC_BYPASS_NONE)
		return;

	/*
	 * A function that is not built in, though IMMUTABLE, might read the
	 * table's other rows: whole tables then, as the README promises.
	 */
	if (info->calls_user_functions)
		return;

	rc = palloc0(sizeof(hcRangeCollector));
	rc->pstmt = pstmt;
	rc->relids = info->deps;
	rc->nrelids = info->ndeps;
	collect_plan(rc, pstmt->planTree);
	collect_plan_list(rc, pstmt->subplans);

	for (i = 0; i < info->ndeps && !rc->overflow && nspecs < HC_MAX_RANGES; i++)
	{
		AttrNumber	attno;
		int			nscans;

		attno = common_column(rc, i + 1, &nscans);
		if (attno == InvalidAttrNumber || !range_readable(info->deps[i]))
			continue;
		specs[nspecs].dep = i;
		if (make_spec(rc, i + 1, attno, &specs[nspecs]))
			nspecs++;
	}
	if (!rc->overflow && nspecs > 0)
	{
		info->ranges = palloc(nspecs * sizeof(hcRangeSpec));
		memcpy(info->ranges, specs, nspecs * sizeof(hcRangeSpec));
		info->nranges = nspecs;
	}
	pfree(rc);
}

/* A parameter, if it can be read without side effects. */
static ParamExternData *
param_of(ParamListInfo params, const hcRangeTerm *term)
{
	ParamExternData *prm;

	if (params == NULL || params->paramFetch != NULL ||
		params->paramCompile != NULL ||
		term->paramid < 1 || term->paramid > params->numParams)
		return NULL;
	prm = &params->params[term->paramid - 1];
	if (prm->isnull || prm->ptype != term->paramtype)
		return NULL;
	return prm;
}

/*
 * The value of a term that is not an array parameter; false when its
 * parameter cannot be read, or when the sum does not fit its type: the
 * query would then fail if it evaluated the sum, and may not when it does
 * not (another condition is false first), so its result must not be read
 * as bounded.
 */
static bool
term_value(ParamListInfo params, const hcRangeTerm *term, int64 *value)
{
	ParamExternData *prm;
	int64		v;

	if (term->kind == HC_TERM_CONST)
	{
		*value = term->value;
		return true;
	}
	if ((prm = param_of(params, term)) == NULL)
		return false;
	v = int_datum_value(prm->value, prm->ptype);
	if (term->value == 0)
	{
		*value = v;
		return true;
	}
	if (pg_add_s64_overflow(v, term->value, &v))
		return false;
	switch (term->sumtype)
	{
		case INT2OID:
			if (v < PG_INT16_MIN || v > PG_INT16_MAX)
				return false;
			break;
		case INT4OID:
			if (v < PG_INT32_MIN || v > PG_INT32_MAX)
				return false;
			break;
		case INT8OID:
			break;
		default:
			return false;
	}
	*value = v;
	return true;
}

/* Widen [*lo, *hi] by the non-NULL elements of an array parameter. */
static bool
array_param_hull(ParamListInfo params, const hcRangeTerm *term,
				 int64 *lo, int64 *hi)
{
	ParamExternData *prm = param_of(params, term);

	return prm != NULL && array_hull(prm->value, lo, hi);
}

/* Narrow [*lo, *hi] by "column <strategy> v". */
static void
apply_bound(uint8 strategy, int64 v, int64 *lo, int64 *hi)
{
	switch (strategy)
	{
		case BTLessStrategyNumber:
			if (v == PG_INT64_MIN)
			{
				*lo = 1;
				*hi = 0;		/* empty */
			}
			else
				*hi = Min(*hi, v - 1);
			break;
		case BTLessEqualStrategyNumber:
			*hi = Min(*hi, v);
			break;
		case BTEqualStrategyNumber:
			*lo = Max(*lo, v);
			*hi = Min(*hi, v);
			break;
		case BTGreaterEqualStrategyNumber:
			*lo = Max(*lo, v);
			break;
		case BTGreaterStrategyNumber:
			if (v == PG_INT64_MAX)
			{
				*lo = 1;
				*hi = 0;		/* empty */
			}
			else
				*lo = Max(*lo, v + 1);
			break;
	}
}

/*
 * Evaluate one spec: the hull over its scans of each scan's intersection
 * of bounds (a list bounds by the hull of its values).  False when a
 * parameter cannot be read.
 */
static bool
eval_spec(const hcRangeSpec *spec, ParamListInfo params, hcKeyRange *out)
{
	int64		hull_lo = PG_INT64_MAX;
	int64		hull_hi = PG_INT64_MIN;
	int			occ;
	int			i;
	int			j;

	for (occ = 0; occ < spec->nocc; occ++)
	{
		int64		lo = PG_INT64_MIN;
		int64		hi = PG_INT64_MAX;

		for (i = 0; i < spec->nterms; i++)
		{
			const hcRangeTerm *t = &spec->terms[i];
			int64		v;

			if (t->occ != occ)
				continue;
			if (t->group == 0)
			{
				if (!term_value(params, t, &v))
					return false;
				apply_bound(t->strategy, v, &lo, &hi);
				continue;
			}

			/* a list, at its first term: the hull of its values */
			for (j = 0; j < i; j++)
				if (spec->terms[j].occ == occ && spec->terms[j].group == t->group)
					break;
			if (j < i)
				continue;
			{
				int64		glo = PG_INT64_MAX;
				int64		ghi = PG_INT64_MIN;

				for (j = i; j < spec->nterms; j++)
				{
					const hcRangeTerm *g = &spec->terms[j];

					if (g->occ != occ || g->group != t->group)
						continue;
					if (g->kind == HC_TERM_PARAM_ARRAY)
					{
						if (!array_param_hull(params, g, &glo, &ghi))
							return false;
						continue;
					}
					if (!term_value(params, g, &v))
						return false;
					glo = Min(glo, v);
					ghi = Max(ghi, v);
				}
				lo = Max(lo, glo);
				hi = Min(hi, ghi);
			}
		}
		if (lo > hi)
			continue;			/* this scan reads no row */
		hull_lo = Min(hull_lo, lo);
		hull_hi = Max(hull_hi, hi);
	}
	out->attno = spec->attno;
	out->lo = hull_lo;
	out->hi = hull_hi;
	return true;
}

/*
 * The key ranges of one execution of an analysed plan, in out (room for
 * HC_MAX_RANGES); returns how many.  A dependency whose range cannot be
 * evaluated is left out: it is read as a whole table.
 */
int
hc_key_ranges_compute(const hcPlanInfo *info, ParamListInfo params,
					  hcKeyRange *out)
{
	int			n = 0;
	int			i;

	/*
	 * An entry's range marks are atomics copied with the entry (result.c),
	 * which needs native 64-bit atomics.
	 */
#ifdef PG_HAVE_ATOMIC_U64_SIMULATION
	return 0;
#endif
	if (!hc_key_ranges)
		return 0;
	for (i = 0; i < info->nranges; i++)
	{
		out[n].dep = info->ranges[i].dep;
		if (eval_spec(&info->ranges[i], params, &out[n]))
			n++;
	}
	return n;
}

/*
 * The key range an UPDATE or DELETE writes, for a plan that modifies one
 * plain table (see the file header); false: the whole table.  Called after
 * ExecutorStart, when the result relation is open.
 */
bool
hc_write_key_range(QueryDesc *qd, Oid *relid, hcKeyRange *range)
{
	PlannedStmt *pstmt = qd->plannedstmt;
	ModifyTable *mt;
	Index		rti;
	RangeTblEntry *rte;
	ResultRelInfo *rri;
	Relation	rel;
	hcRangeCollector *rc;
	hcRangeSpec spec;
	AttrNumber	attno;
	int			nscans;
	bool		ok = false;

	if (!hc_key_ranges ||
		(pstmt->commandType != CMD_UPDATE && pstmt->commandType != CMD_DELETE) ||
		pstmt->hasModifyingCTE || list_length(pstmt->resultRelations) != 1 ||
		pstmt->planTree == NULL || !IsA(pstmt->planTree, ModifyTable))
		return false;
	mt = (ModifyTable *) pstmt->planTree;
	if (mt->operation != pstmt->commandType ||
		mt->onConflictAction != ONCONFLICT_NONE ||
		list_length(mt->resultRelations) != 1)
		return false;
	rti = linitial_int(mt->resultRelations);
	if (rti != linitial_int(pstmt->resultRelations))
		return false;
	rte = rt_fetch(rti, pstmt->rtable);
	if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_RELATION)
		return false;
	if (qd->estate == NULL || qd->estate->es_result_relations == NULL ||
		rti > qd->estate->es_range_table_size ||
		(rri = qd->estate->es_result_relations[rti - 1]) == NULL)
		return false;
	rel = rri->ri_RelationDesc;

	rc = palloc0(sizeof(hcRangeCollector));
	rc->pstmt = pstmt;
	rc->relids = &rte->relid;
	rc->nrelids = 1;
	rc->only_rti = rti;
	collect_plan(rc, outerPlan(mt));
	collect_plan_list(rc, pstmt->subplans);
	attno = rc->overflow ? InvalidAttrNumber : common_column(rc, 1, &nscans);
	if (attno != InvalidAttrNumber && attno <= RelationGetNumberOfAttributes(rel) &&
		TupleDescAttr(RelationGetDescr(rel), attno - 1)->attgenerated == '\0' &&
		make_spec(rc, 1, attno, &spec))
	{
		ok = true;
		if (pstmt->commandType == CMD_UPDATE)
		{
			/* the column keeps its value in every updated row */
			if (rel->trigdesc != NULL && rel->trigdesc->trig_update_before_row)
				ok = false;
			if (mt->updateColnosLists == NIL ||
				list_member_int(linitial(mt->updateColnosLists), attno))
				ok = false;
		}
		spec.dep = 0;
		if (ok)
			ok = eval_spec(&spec, qd->params, range);
	}
	pfree(rc);
	if (ok)
		*relid = rte->relid;
	return ok;
}

/* Do two key ranges on the same column share a value? */
bool
hc_key_ranges_overlap(int64 lo1, int64 hi1, int64 lo2, int64 hi2)
{
	return lo1 <= hi2 && lo2 <= hi1;
}
