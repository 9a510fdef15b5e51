/*-------------------------------------------------------------------------
 *
 * plan_hash.c
 *	  A compact binary serialisation of a PlannedStmt, for its base key.
 *
 * The base key of a plan must tell apart any two plans that can return
 * different results, and should be equal for plans that differ only in
 * what the planner estimated (costs, row counts, group counts, widths),
 * in where the query text put things (locations, statement offsets), and
 * in flags that change how, not what, the executor computes (parallel
 * awareness, async capability, JIT, queryId).
 *
 * nodeToString() gives such a serialisation after normalising its text,
 * but it prints every float with printf and builds a string several times
 * the plan's size: it cost more than planning the query.  This walker
 * appends each field of each node to a byte buffer instead: node tags,
 * integers and OIDs in their binary form, strings and arrays with their
 * lengths, NULL pointers as a marker.  The encoding is unambiguous, so two
 * plans give the same bytes only if every field it covers is equal.  It
 * covers every field that outfuncs.c prints for these nodes except the
 * estimates and cosmetic positions listed above.
 *
 * The walker knows the plan and expression nodes of PostgreSQL 15.  Any
 * other node tag makes it give up (return false); the caller then falls
 * back to the normalised nodeToString() text, so an unknown node can cost
 * time but never a wrong key.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/plan_hash.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "nodes/pathnodes.h"
#include "nodes/plannodes.h"
#include "utils/datum.h"
#include "utils/memutils.h"

/* the buffer: starts in the caller's stack space, grows in palloc'd memory */
typedef struct hcPlanBuf
{
	char	   *data;
	Size		len;
	Size		cap;
	bool		on_heap;
	bool		query_mode;		/* hashing a Query tree, not a plan */
} hcPlanBuf;

static void
buf_grow(hcPlanBuf *b, Size need)
{
	Size		newcap = b->cap * 2;
	char	   *p;

	while (newcap < b->len + need)
		newcap *= 2;
	if (newcap > MaxAllocSize)
		elog(ERROR, "plan too large to fingerprint");
	p = palloc(newcap);
	memcpy(p, b->data, b->len);
	if (b->on_heap)
		pfree(b->data);
	b->data = p;
	b->cap = newcap;
	b->on_heap = true;
}

static inline void
put(hcPlanBuf *b, const void *p, Size n)
{
	if (unlikely(b->len + n > b->cap))
		buf_grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void
put_u8(hcPlanBuf *b, uint8 v)
{
	put(b, &v, 1);
}

static inline void
put_u32(hcPlanBuf *b, uint32 v)
{
	put(b, &v, sizeof(v));
}

static inline void
put_i64(hcPlanBuf *b, int64 v)
{
	put(b, &v, sizeof(v));
}

/* a string with its length; NULL differs from "" */
static void
put_str(hcPlanBuf *b, const char *s)
{
	if (s == NULL)
		put_u32(b, UINT32_MAX);
	else
	{
		uint32		n = strlen(s);

		put_u32(b, n);
		put(b, s, n);
	}
}

/* a Bitmapset by its members (trailing zero words do not count) */
static void
put_bms(hcPlanBuf *b, const Bitmapset *bms)
{
	int			x = -1;

	put_u8(b, 'B');
	while ((x = bms_next_member(bms, x)) >= 0)
		put_u32(b, (uint32) x);
	put_u32(b, UINT32_MAX);
}

/* an array with its element count */
static void
put_array(hcPlanBuf *b, const void *a, int n, Size elemsize)
{
	put_u32(b, (uint32) n);
	if (n > 0)
		put(b, a, elemsize * n);
}

/*
 * A constant's value.  Pass-by-value datums as their Datum, others as
 * their bytes; out-of-line values (which a plan should never hold) by
 * their content.
 */
static void
put_datum(hcPlanBuf *b, Datum value, bool byval, int len)
{
	if (byval)
	{
		put(b, &value, sizeof(Datum));
		return;
	}
	if (len == -1 && VARATT_IS_EXTERNAL(DatumGetPointer(value)))
	{
		struct varlena *v = detoast_attr((struct varlena *) DatumGetPointer(value));

		put_u8(b, 'x');
		put_array(b, VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), 1);
		pfree(v);
		return;
	}
	put_array(b, DatumGetPointer(value), datumGetSize(value, false, len), 1);
}

static bool hash_node(hcPlanBuf *b, const void *obj);
static bool hash_query_node(hcPlanBuf *b, const Node *obj);

/* Field helpers; "node" is the typed pointer of the case at hand. */
#define H_INT(f)	put_i64(b, (int64) node->f)
#define H_OID(f)	put_u32(b, (uint32) node->f)
#define H_BOOL(f)	put_u8(b, node->f ? 1 : 0)
#define H_CHAR(f)	put_u8(b, (uint8) node->f)
#define H_STR(f)	put_str(b, node->f)
#define H_BMS(f)	put_bms(b, node->f)
#define H_ARR(f, n) put_array(b, node->f, (n), sizeof(*node->f))
#define H_NODE(f) \
	do { if (!hash_node(b, node->f)) return false; } while (0)

/* what every Plan node has, estimates and parallel/async flags aside */
static bool
hash_plan_common(hcPlanBuf *b, const Plan *node)
{
	H_INT(plan_node_id);
	H_NODE(targetlist);
	H_NODE(qual);
	H_NODE(lefttree);
	H_NODE(righttree);
	H_NODE(initPlan);
	H_BMS(extParam);
	H_BMS(allParam);
	return true;
}

static bool
hash_scan_common(hcPlanBuf *b, const Scan *node)
{
	if (!hash_plan_common(b, &node->plan))
		return false;
	H_INT(scanrelid);
	return true;
}

static bool
hash_join_common(hcPlanBuf *b, const Join *node)
{
	if (!hash_plan_common(b, &node->plan))
		return false;
	H_INT(jointype);
	H_BOOL(inner_unique);
	H_NODE(joinqual);
	return true;
}

static bool
hash_sort_common(hcPlanBuf *b, const Sort *node)
{
	if (!hash_plan_common(b, &node->plan))
		return false;
	H_INT(numCols);
	H_ARR(sortColIdx, node->numCols);
	H_ARR(sortOperators, node->numCols);
	H_ARR(collations, node->numCols);
	H_ARR(nullsFirst, node->numCols);
	return true;
}

/* Plan nodes; false for the ones a cacheable plan never contains */
static bool
hash_plan_node(hcPlanBuf *b, const Node *obj)
{
	switch (nodeTag(obj))
	{
		case T_Result:
			{
				const Result *node = (const Result *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_NODE(resconstantqual);
				return true;
			}
		case T_ProjectSet:
		case T_Material:
			return hash_plan_common(b, (const Plan *) obj);
		case T_Append:
			{
				const Append *node = (const Append *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_BMS(apprelids);
				H_NODE(appendplans);
				H_INT(nasyncplans);
				H_INT(first_partial_plan);
				H_NODE(part_prune_info);
				return true;
			}
		case T_MergeAppend:
			{
				const MergeAppend *node = (const MergeAppend *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_BMS(apprelids);
				H_NODE(mergeplans);
				H_INT(numCols);
				H_ARR(sortColIdx, node->numCols);
				H_ARR(sortOperators, node->numCols);
				H_ARR(collations, node->numCols);
				H_ARR(nullsFirst, node->numCols);
				H_NODE(part_prune_info);
				return true;
			}
		case T_RecursiveUnion:
			{
				const RecursiveUnion *node = (const RecursiveUnion *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_INT(wtParam);
				H_INT(numCols);
				H_ARR(dupColIdx, node->numCols);
				H_ARR(dupOperators, node->numCols);
				H_ARR(dupCollations, node->numCols);
				return true;
			}
		case T_BitmapAnd:
			{
				const BitmapAnd *node = (const BitmapAnd *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_NODE(bitmapplans);
				return true;
			}
		case T_BitmapOr:
			{
				const BitmapOr *node = (const BitmapOr *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_BOOL(isshared);
				H_NODE(bitmapplans);
				return true;
			}
		case T_SeqScan:
			return hash_scan_common(b, (const Scan *) obj);
		case T_IndexScan:
			{
				const IndexScan *node = (const IndexScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_OID(indexid);
				H_NODE(indexqual);
				H_NODE(indexqualorig);
				H_NODE(indexorderby);
				H_NODE(indexorderbyorig);
				H_NODE(indexorderbyops);
				H_INT(indexorderdir);
				return true;
			}
		case T_IndexOnlyScan:
			{
				const IndexOnlyScan *node = (const IndexOnlyScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_OID(indexid);
				H_NODE(indexqual);
				H_NODE(recheckqual);
				H_NODE(indexorderby);
				H_NODE(indextlist);
				H_INT(indexorderdir);
				return true;
			}
		case T_BitmapIndexScan:
			{
				const BitmapIndexScan *node = (const BitmapIndexScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_OID(indexid);
				H_BOOL(isshared);
				H_NODE(indexqual);
				H_NODE(indexqualorig);
				return true;
			}
		case T_BitmapHeapScan:
			{
				const BitmapHeapScan *node = (const BitmapHeapScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_NODE(bitmapqualorig);
				return true;
			}
		case T_TidScan:
			{
				const TidScan *node = (const TidScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_NODE(tidquals);
				return true;
			}
		case T_TidRangeScan:
			{
				const TidRangeScan *node = (const TidRangeScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_NODE(tidrangequals);
				return true;
			}
		case T_SubqueryScan:
			{
				const SubqueryScan *node = (const SubqueryScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_NODE(subplan);
				H_INT(scanstatus);
				return true;
			}
		case T_FunctionScan:
			{
				const FunctionScan *node = (const FunctionScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_NODE(functions);
				H_BOOL(funcordinality);
				return true;
			}
		case T_ValuesScan:
			{
				const ValuesScan *node = (const ValuesScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_NODE(values_lists);
				return true;
			}
		case T_TableFuncScan:
			{
				const TableFuncScan *node = (const TableFuncScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_NODE(tablefunc);
				return true;
			}
		case T_CteScan:
			{
				const CteScan *node = (const CteScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_INT(ctePlanId);
				H_INT(cteParam);
				return true;
			}
		case T_WorkTableScan:
			{
				const WorkTableScan *node = (const WorkTableScan *) obj;

				if (!hash_scan_common(b, &node->scan))
					return false;
				H_INT(wtParam);
				return true;
			}
		case T_NestLoop:
			{
				const NestLoop *node = (const NestLoop *) obj;

				if (!hash_join_common(b, &node->join))
					return false;
				H_NODE(nestParams);
				return true;
			}
		case T_MergeJoin:
			{
				const MergeJoin *node = (const MergeJoin *) obj;
				int			n = list_length(node->mergeclauses);

				if (!hash_join_common(b, &node->join))
					return false;
				H_BOOL(skip_mark_restore);
				H_NODE(mergeclauses);
				H_ARR(mergeFamilies, n);
				H_ARR(mergeCollations, n);
				H_ARR(mergeStrategies, n);
				H_ARR(mergeNullsFirst, n);
				return true;
			}
		case T_HashJoin:
			{
				const HashJoin *node = (const HashJoin *) obj;

				if (!hash_join_common(b, &node->join))
					return false;
				H_NODE(hashclauses);
				H_NODE(hashoperators);
				H_NODE(hashcollations);
				H_NODE(hashkeys);
				return true;
			}
		case T_Memoize:
			{
				const Memoize *node = (const Memoize *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_INT(numKeys);
				H_ARR(hashOperators, node->numKeys);
				H_ARR(collations, node->numKeys);
				H_NODE(param_exprs);
				H_BOOL(singlerow);
				H_BOOL(binary_mode);
				H_BMS(keyparamids);
				return true;
			}
		case T_Sort:
			return hash_sort_common(b, (const Sort *) obj);
		case T_IncrementalSort:
			{
				const IncrementalSort *node = (const IncrementalSort *) obj;

				if (!hash_sort_common(b, &node->sort))
					return false;
				H_INT(nPresortedCols);
				return true;
			}
		case T_Group:
			{
				const Group *node = (const Group *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_INT(numCols);
				H_ARR(grpColIdx, node->numCols);
				H_ARR(grpOperators, node->numCols);
				H_ARR(grpCollations, node->numCols);
				return true;
			}
		case T_Agg:
			{
				const Agg  *node = (const Agg *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_INT(aggstrategy);
				H_INT(aggsplit);
				H_INT(numCols);
				H_ARR(grpColIdx, node->numCols);
				H_ARR(grpOperators, node->numCols);
				H_ARR(grpCollations, node->numCols);
				H_BMS(aggParams);
				H_NODE(groupingSets);
				H_NODE(chain);
				return true;
			}
		case T_WindowAgg:
			{
				const WindowAgg *node = (const WindowAgg *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_INT(winref);
				H_INT(partNumCols);
				H_ARR(partColIdx, node->partNumCols);
				H_ARR(partOperators, node->partNumCols);
				H_ARR(partCollations, node->partNumCols);
				H_INT(ordNumCols);
				H_ARR(ordColIdx, node->ordNumCols);
				H_ARR(ordOperators, node->ordNumCols);
				H_ARR(ordCollations, node->ordNumCols);
				H_INT(frameOptions);
				H_NODE(startOffset);
				H_NODE(endOffset);
				H_NODE(runCondition);
				H_NODE(runConditionOrig);
				H_OID(startInRangeFunc);
				H_OID(endInRangeFunc);
				H_OID(inRangeColl);
				H_BOOL(inRangeAsc);
				H_BOOL(inRangeNullsFirst);
				H_BOOL(topWindow);
				return true;
			}
		case T_Unique:
			{
				const Unique *node = (const Unique *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_INT(numCols);
				H_ARR(uniqColIdx, node->numCols);
				H_ARR(uniqOperators, node->numCols);
				H_ARR(uniqCollations, node->numCols);
				return true;
			}
		case T_Gather:
			{
				const Gather *node = (const Gather *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_INT(num_workers);
				H_INT(rescan_param);
				H_BOOL(single_copy);
				H_BOOL(invisible);
				H_BMS(initParam);
				return true;
			}
		case T_GatherMerge:
			{
				const GatherMerge *node = (const GatherMerge *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_INT(num_workers);
				H_INT(rescan_param);
				H_INT(numCols);
				H_ARR(sortColIdx, node->numCols);
				H_ARR(sortOperators, node->numCols);
				H_ARR(collations, node->numCols);
				H_ARR(nullsFirst, node->numCols);
				H_BMS(initParam);
				return true;
			}
		case T_Hash:
			{
				const Hash *node = (const Hash *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_NODE(hashkeys);
				H_OID(skewTable);
				H_INT(skewColumn);
				H_BOOL(skewInherit);
				return true;
			}
		case T_SetOp:
			{
				const SetOp *node = (const SetOp *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_INT(cmd);
				H_INT(strategy);
				H_INT(numCols);
				H_ARR(dupColIdx, node->numCols);
				H_ARR(dupOperators, node->numCols);
				H_ARR(dupCollations, node->numCols);
				H_INT(flagColIdx);
				H_INT(firstFlag);
				return true;
			}
		case T_Limit:
			{
				const Limit *node = (const Limit *) obj;

				if (!hash_plan_common(b, &node->plan))
					return false;
				H_NODE(limitOffset);
				H_NODE(limitCount);
				H_INT(limitOption);
				H_INT(uniqNumCols);
				H_ARR(uniqColIdx, node->uniqNumCols);
				H_ARR(uniqOperators, node->uniqNumCols);
				H_ARR(uniqCollations, node->uniqNumCols);
				return true;
			}
		default:
			/*
			 * ModifyTable, LockRows, SampleScan, ForeignScan, CustomScan,
			 * NamedTuplestoreScan: never in a cacheable plan.
			 */
			return false;
	}
}

/* Expression and other non-Plan nodes found in plans */
static bool
hash_expr_node(hcPlanBuf *b, const Node *obj)
{
	switch (nodeTag(obj))
	{
		case T_Var:
			{
				const Var  *node = (const Var *) obj;

				H_INT(varno);
				H_INT(varattno);
				H_OID(vartype);
				H_INT(vartypmod);
				H_OID(varcollid);
				H_INT(varlevelsup);
				H_INT(varnosyn);
				H_INT(varattnosyn);
				return true;
			}
		case T_Const:
			{
				const Const *node = (const Const *) obj;

				H_OID(consttype);
				H_INT(consttypmod);
				H_OID(constcollid);
				H_INT(constlen);
				H_BOOL(constbyval);
				H_BOOL(constisnull);
				if (!node->constisnull)
					put_datum(b, node->constvalue, node->constbyval,
							  node->constlen);
				return true;
			}
		case T_Param:
			{
				const Param *node = (const Param *) obj;

				H_INT(paramkind);
				H_INT(paramid);
				H_OID(paramtype);
				H_INT(paramtypmod);
				H_OID(paramcollid);
				return true;
			}
		case T_Aggref:
			{
				const Aggref *node = (const Aggref *) obj;

				H_OID(aggfnoid);
				H_OID(aggtype);
				H_OID(aggcollid);
				H_OID(inputcollid);
				H_OID(aggtranstype);
				H_NODE(aggargtypes);
				H_NODE(aggdirectargs);
				H_NODE(args);
				H_NODE(aggorder);
				H_NODE(aggdistinct);
				H_NODE(aggfilter);
				H_BOOL(aggstar);
				H_BOOL(aggvariadic);
				H_CHAR(aggkind);
				H_INT(agglevelsup);
				H_INT(aggsplit);
				H_INT(aggno);
				H_INT(aggtransno);
				return true;
			}
		case T_GroupingFunc:
			{
				const GroupingFunc *node = (const GroupingFunc *) obj;

				H_NODE(args);
				H_NODE(refs);
				H_NODE(cols);
				H_INT(agglevelsup);
				return true;
			}
		case T_WindowFunc:
			{
				const WindowFunc *node = (const WindowFunc *) obj;

				H_OID(winfnoid);
				H_OID(wintype);
				H_OID(wincollid);
				H_OID(inputcollid);
				H_NODE(args);
				H_NODE(aggfilter);
				H_INT(winref);
				H_BOOL(winstar);
				H_BOOL(winagg);
				return true;
			}
		case T_SubscriptingRef:
			{
				const SubscriptingRef *node = (const SubscriptingRef *) obj;

				H_OID(refcontainertype);
				H_OID(refelemtype);
				H_OID(refrestype);
				H_INT(reftypmod);
				H_OID(refcollid);
				H_NODE(refupperindexpr);
				H_NODE(reflowerindexpr);
				H_NODE(refexpr);
				H_NODE(refassgnexpr);
				return true;
			}
		case T_FuncExpr:
			{
				const FuncExpr *node = (const FuncExpr *) obj;

				H_OID(funcid);
				H_OID(funcresulttype);
				H_BOOL(funcretset);
				H_BOOL(funcvariadic);
				H_INT(funcformat);
				H_OID(funccollid);
				H_OID(inputcollid);
				H_NODE(args);
				return true;
			}
		case T_NamedArgExpr:
			{
				const NamedArgExpr *node = (const NamedArgExpr *) obj;

				H_NODE(arg);
				H_STR(name);
				H_INT(argnumber);
				return true;
			}
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			{
				const OpExpr *node = (const OpExpr *) obj;

				H_OID(opno);
				H_OID(opfuncid);
				H_OID(opresulttype);
				H_BOOL(opretset);
				H_OID(opcollid);
				H_OID(inputcollid);
				H_NODE(args);
				return true;
			}
		case T_ScalarArrayOpExpr:
			{
				const ScalarArrayOpExpr *node = (const ScalarArrayOpExpr *) obj;

				H_OID(opno);
				H_OID(opfuncid);
				H_OID(hashfuncid);
				H_OID(negfuncid);
				H_BOOL(useOr);
				H_OID(inputcollid);
				H_NODE(args);
				return true;
			}
		case T_BoolExpr:
			{
				const BoolExpr *node = (const BoolExpr *) obj;

				H_INT(boolop);
				H_NODE(args);
				return true;
			}
		case T_SubPlan:
			{
				const SubPlan *node = (const SubPlan *) obj;

				H_INT(subLinkType);
				H_NODE(testexpr);
				H_NODE(paramIds);
				H_INT(plan_id);
				H_STR(plan_name);
				H_OID(firstColType);
				H_INT(firstColTypmod);
				H_OID(firstColCollation);
				H_BOOL(useHashTable);
				H_BOOL(unknownEqFalse);
				H_NODE(setParam);
				H_NODE(parParam);
				H_NODE(args);
				return true;
			}
		case T_AlternativeSubPlan:
			{
				const AlternativeSubPlan *node = (const AlternativeSubPlan *) obj;

				H_NODE(subplans);
				return true;
			}
		case T_FieldSelect:
			{
				const FieldSelect *node = (const FieldSelect *) obj;

				H_NODE(arg);
				H_INT(fieldnum);
				H_OID(resulttype);
				H_INT(resulttypmod);
				H_OID(resultcollid);
				return true;
			}
		case T_FieldStore:
			{
				const FieldStore *node = (const FieldStore *) obj;

				H_NODE(arg);
				H_NODE(newvals);
				H_NODE(fieldnums);
				H_OID(resulttype);
				return true;
			}
		case T_RelabelType:
			{
				const RelabelType *node = (const RelabelType *) obj;

				H_NODE(arg);
				H_OID(resulttype);
				H_INT(resulttypmod);
				H_OID(resultcollid);
				H_INT(relabelformat);
				return true;
			}
		case T_CoerceViaIO:
			{
				const CoerceViaIO *node = (const CoerceViaIO *) obj;

				H_NODE(arg);
				H_OID(resulttype);
				H_OID(resultcollid);
				H_INT(coerceformat);
				return true;
			}
		case T_ArrayCoerceExpr:
			{
				const ArrayCoerceExpr *node = (const ArrayCoerceExpr *) obj;

				H_NODE(arg);
				H_NODE(elemexpr);
				H_OID(resulttype);
				H_INT(resulttypmod);
				H_OID(resultcollid);
				H_INT(coerceformat);
				return true;
			}
		case T_ConvertRowtypeExpr:
			{
				const ConvertRowtypeExpr *node = (const ConvertRowtypeExpr *) obj;

				H_NODE(arg);
				H_OID(resulttype);
				H_INT(convertformat);
				return true;
			}
		case T_CollateExpr:
			{
				const CollateExpr *node = (const CollateExpr *) obj;

				H_NODE(arg);
				H_OID(collOid);
				return true;
			}
		case T_CaseExpr:
			{
				const CaseExpr *node = (const CaseExpr *) obj;

				H_OID(casetype);
				H_OID(casecollid);
				H_NODE(arg);
				H_NODE(args);
				H_NODE(defresult);
				return true;
			}
		case T_CaseWhen:
			{
				const CaseWhen *node = (const CaseWhen *) obj;

				H_NODE(expr);
				H_NODE(result);
				return true;
			}
		case T_CaseTestExpr:
			{
				const CaseTestExpr *node = (const CaseTestExpr *) obj;

				H_OID(typeId);
				H_INT(typeMod);
				H_OID(collation);
				return true;
			}
		case T_ArrayExpr:
			{
				const ArrayExpr *node = (const ArrayExpr *) obj;

				H_OID(array_typeid);
				H_OID(array_collid);
				H_OID(element_typeid);
				H_NODE(elements);
				H_BOOL(multidims);
				return true;
			}
		case T_RowExpr:
			{
				const RowExpr *node = (const RowExpr *) obj;

				H_NODE(args);
				H_OID(row_typeid);
				H_INT(row_format);
				H_NODE(colnames);
				return true;
			}
		case T_RowCompareExpr:
			{
				const RowCompareExpr *node = (const RowCompareExpr *) obj;

				H_INT(rctype);
				H_NODE(opnos);
				H_NODE(opfamilies);
				H_NODE(inputcollids);
				H_NODE(largs);
				H_NODE(rargs);
				return true;
			}
		case T_CoalesceExpr:
			{
				const CoalesceExpr *node = (const CoalesceExpr *) obj;

				H_OID(coalescetype);
				H_OID(coalescecollid);
				H_NODE(args);
				return true;
			}
		case T_MinMaxExpr:
			{
				const MinMaxExpr *node = (const MinMaxExpr *) obj;

				H_OID(minmaxtype);
				H_OID(minmaxcollid);
				H_OID(inputcollid);
				H_INT(op);
				H_NODE(args);
				return true;
			}
		case T_SQLValueFunction:
			{
				const SQLValueFunction *node = (const SQLValueFunction *) obj;

				H_INT(op);
				H_OID(type);
				H_INT(typmod);
				return true;
			}
		case T_XmlExpr:
			{
				const XmlExpr *node = (const XmlExpr *) obj;

				H_INT(op);
				H_STR(name);
				H_NODE(named_args);
				H_NODE(arg_names);
				H_NODE(args);
				H_INT(xmloption);
				H_OID(type);
				H_INT(typmod);
				return true;
			}
		case T_NullTest:
			{
				const NullTest *node = (const NullTest *) obj;

				H_NODE(arg);
				H_INT(nulltesttype);
				H_BOOL(argisrow);
				return true;
			}
		case T_BooleanTest:
			{
				const BooleanTest *node = (const BooleanTest *) obj;

				H_NODE(arg);
				H_INT(booltesttype);
				return true;
			}
		case T_CoerceToDomain:
			{
				const CoerceToDomain *node = (const CoerceToDomain *) obj;

				H_NODE(arg);
				H_OID(resulttype);
				H_INT(resulttypmod);
				H_OID(resultcollid);
				H_INT(coercionformat);
				return true;
			}
		case T_CoerceToDomainValue:
			{
				const CoerceToDomainValue *node = (const CoerceToDomainValue *) obj;

				H_OID(typeId);
				H_INT(typeMod);
				H_OID(collation);
				return true;
			}
		case T_TargetEntry:
			{
				const TargetEntry *node = (const TargetEntry *) obj;

				H_NODE(expr);
				H_INT(resno);
				H_STR(resname);
				H_INT(ressortgroupref);
				H_OID(resorigtbl);
				H_INT(resorigcol);
				H_BOOL(resjunk);
				return true;
			}
		case T_TableFunc:
			{
				const TableFunc *node = (const TableFunc *) obj;

				H_NODE(ns_uris);
				H_NODE(ns_names);
				H_NODE(docexpr);
				H_NODE(rowexpr);
				H_NODE(colnames);
				H_NODE(coltypes);
				H_NODE(coltypmods);
				H_NODE(colcollations);
				H_NODE(colexprs);
				H_NODE(coldefexprs);
				H_BMS(notnulls);
				H_INT(ordinalitycol);
				return true;
			}
		case T_Alias:
			{
				const Alias *node = (const Alias *) obj;

				H_STR(aliasname);
				H_NODE(colnames);
				return true;
			}
		case T_RangeTblEntry:
			{
				const RangeTblEntry *node = (const RangeTblEntry *) obj;

				/* a plan's range table is flat; a Query's holds subqueries */
				if (node->subquery != NULL && !b->query_mode)
					return false;
				if (b->query_mode)
					H_NODE(subquery);
				H_NODE(alias);
				H_NODE(eref);
				H_INT(rtekind);
				H_OID(relid);
				H_CHAR(relkind);
				H_INT(rellockmode);
				H_NODE(tablesample);
				H_BOOL(security_barrier);
				H_INT(jointype);
				H_INT(joinmergedcols);
				H_NODE(joinaliasvars);
				H_NODE(joinleftcols);
				H_NODE(joinrightcols);
				H_NODE(join_using_alias);
				H_NODE(functions);
				H_BOOL(funcordinality);
				H_NODE(tablefunc);
				H_NODE(values_lists);
				H_STR(ctename);
				H_INT(ctelevelsup);
				H_BOOL(self_reference);
				H_NODE(coltypes);
				H_NODE(coltypmods);
				H_NODE(colcollations);
				H_STR(enrname);
				H_BOOL(lateral);
				H_BOOL(inh);
				H_BOOL(inFromCl);
				H_INT(requiredPerms);
				H_OID(checkAsUser);
				H_BMS(selectedCols);
				H_BMS(insertedCols);
				H_BMS(updatedCols);
				H_BMS(extraUpdatedCols);
				H_NODE(securityQuals);
				return true;
			}
		case T_RangeTblFunction:
			{
				const RangeTblFunction *node = (const RangeTblFunction *) obj;

				H_NODE(funcexpr);
				H_INT(funccolcount);
				H_NODE(funccolnames);
				H_NODE(funccoltypes);
				H_NODE(funccoltypmods);
				H_NODE(funccolcollations);
				H_BMS(funcparams);
				return true;
			}
		case T_TableSampleClause:
			{
				const TableSampleClause *node = (const TableSampleClause *) obj;

				H_OID(tsmhandler);
				H_NODE(args);
				H_NODE(repeatable);
				return true;
			}
		case T_SortGroupClause:
			{
				const SortGroupClause *node = (const SortGroupClause *) obj;

				H_INT(tleSortGroupRef);
				H_OID(eqop);
				H_OID(sortop);
				H_BOOL(nulls_first);
				H_BOOL(hashable);
				return true;
			}
		case T_NestLoopParam:
			{
				const NestLoopParam *node = (const NestLoopParam *) obj;

				H_INT(paramno);
				H_NODE(paramval);
				return true;
			}
		case T_PartitionPruneInfo:
			{
				const PartitionPruneInfo *node = (const PartitionPruneInfo *) obj;

				H_NODE(prune_infos);
				H_BMS(other_subplans);
				return true;
			}
		case T_PartitionedRelPruneInfo:
			{
				const PartitionedRelPruneInfo *node = (const PartitionedRelPruneInfo *) obj;

				H_INT(rtindex);
				H_BMS(present_parts);
				H_INT(nparts);
				H_ARR(subplan_map, node->nparts);
				H_ARR(subpart_map, node->nparts);
				H_ARR(relid_map, node->nparts);
				H_NODE(initial_pruning_steps);
				H_NODE(exec_pruning_steps);
				H_BMS(execparamids);
				return true;
			}
		case T_PartitionPruneStepOp:
			{
				const PartitionPruneStepOp *node = (const PartitionPruneStepOp *) obj;

				H_INT(step.step_id);
				H_INT(opstrategy);
				H_NODE(exprs);
				H_NODE(cmpfns);
				H_BMS(nullkeys);
				return true;
			}
		case T_PartitionPruneStepCombine:
			{
				const PartitionPruneStepCombine *node = (const PartitionPruneStepCombine *) obj;

				H_INT(step.step_id);
				H_INT(combineOp);
				H_NODE(source_stepids);
				return true;
			}
		case T_PlanInvalItem:
			{
				const PlanInvalItem *node = (const PlanInvalItem *) obj;

				H_INT(cacheId);
				H_OID(hashValue);
				return true;
			}
		case T_AppendRelInfo:
			{
				const AppendRelInfo *node = (const AppendRelInfo *) obj;

				H_INT(parent_relid);
				H_INT(child_relid);
				H_OID(parent_reltype);
				H_OID(child_reltype);
				H_NODE(translated_vars);
				H_INT(num_child_cols);
				H_ARR(parent_colnos, node->num_child_cols);
				H_OID(parent_reloid);
				return true;
			}
		case T_Integer:
			put_i64(b, intVal(obj));
			return true;
		case T_Float:
			put_str(b, castNode(Float, (Node *) obj)->fval);
			return true;
		case T_Boolean:
			put_u8(b, boolVal(obj) ? 1 : 0);
			return true;
		case T_String:
			put_str(b, strVal(obj));
			return true;
		case T_BitString:
			put_str(b, castNode(BitString, (Node *) obj)->bsval);
			return true;
		default:
			/* SubLink, Query, ...: not in a final plan */
			if (b->query_mode)
				return hash_query_node(b, obj);
			return false;
	}
}

static bool
hash_node(hcPlanBuf *b, const void *obj)
{
	const Node *node = (const Node *) obj;
	const ListCell *lc;

	if (node == NULL)
	{
		put_u32(b, 0);
		return true;
	}
	check_stack_depth();
	put_u32(b, (uint32) nodeTag(node));

	switch (nodeTag(node))
	{
		case T_List:
			put_u32(b, list_length((const List *) node));
			foreach(lc, (const List *) node)
				if (!hash_node(b, lfirst(lc)))
					return false;
			return true;
		case T_IntList:
			put_u32(b, list_length((const List *) node));
			foreach(lc, (const List *) node)
				put_u32(b, (uint32) lfirst_int(lc));
			return true;
		case T_OidList:
			put_u32(b, list_length((const List *) node));
			foreach(lc, (const List *) node)
				put_u32(b, (uint32) lfirst_oid(lc));
			return true;
		default:
			break;
	}

	if (nodeTag(node) >= T_Plan && nodeTag(node) <= T_Limit)
		return hash_plan_node(b, node);
	return hash_expr_node(b, node);
}

/*
 * Nodes of an analysed and rewritten SELECT that the planner turns into
 * something else.  Nodes that only data-modifying or locking statements
 * hold (RowMarkClause, OnConflictExpr, MergeAction, WithCheckOption) are
 * left unknown: such statements are never cached.
 */
static bool
hash_query_node(hcPlanBuf *b, const Node *obj)
{
	switch (nodeTag(obj))
	{
		case T_Query:
			{
				const Query *node = (const Query *) obj;

				/* queryId and the statement's position: see hc_query_hash */
				H_INT(commandType);
				H_INT(querySource);
				H_BOOL(canSetTag);
				H_NODE(utilityStmt);
				H_INT(resultRelation);
				H_BOOL(hasAggs);
				H_BOOL(hasWindowFuncs);
				H_BOOL(hasTargetSRFs);
				H_BOOL(hasSubLinks);
				H_BOOL(hasDistinctOn);
				H_BOOL(hasRecursive);
				H_BOOL(hasModifyingCTE);
				H_BOOL(hasForUpdate);
				H_BOOL(hasRowSecurity);
				H_BOOL(isReturn);
				H_NODE(cteList);
				H_NODE(rtable);
				H_NODE(jointree);
				H_NODE(mergeActionList);
				H_BOOL(mergeUseOuterJoin);
				H_NODE(targetList);
				H_INT(override);
				H_NODE(onConflict);
				H_NODE(returningList);
				H_NODE(groupClause);
				H_BOOL(groupDistinct);
				H_NODE(groupingSets);
				H_NODE(havingQual);
				H_NODE(windowClause);
				H_NODE(distinctClause);
				H_NODE(sortClause);
				H_NODE(limitOffset);
				H_NODE(limitCount);
				H_INT(limitOption);
				H_NODE(rowMarks);
				H_NODE(setOperations);
				H_NODE(constraintDeps);
				H_NODE(withCheckOptions);
				return true;
			}
		case T_FromExpr:
			{
				const FromExpr *node = (const FromExpr *) obj;

				H_NODE(fromlist);
				H_NODE(quals);
				return true;
			}
		case T_JoinExpr:
			{
				const JoinExpr *node = (const JoinExpr *) obj;

				H_INT(jointype);
				H_BOOL(isNatural);
				H_NODE(larg);
				H_NODE(rarg);
				H_NODE(usingClause);
				H_NODE(join_using_alias);
				H_NODE(quals);
				H_NODE(alias);
				H_INT(rtindex);
				return true;
			}
		case T_RangeTblRef:
			{
				const RangeTblRef *node = (const RangeTblRef *) obj;

				H_INT(rtindex);
				return true;
			}
		case T_SubLink:
			{
				const SubLink *node = (const SubLink *) obj;

				H_INT(subLinkType);
				H_INT(subLinkId);
				H_NODE(testexpr);
				H_NODE(operName);
				H_NODE(subselect);
				return true;
			}
		case T_CommonTableExpr:
			{
				const CommonTableExpr *node = (const CommonTableExpr *) obj;

				H_STR(ctename);
				H_NODE(aliascolnames);
				H_INT(ctematerialized);
				H_NODE(ctequery);
				H_NODE(search_clause);
				H_NODE(cycle_clause);
				H_BOOL(cterecursive);
				H_INT(cterefcount);
				H_NODE(ctecolnames);
				H_NODE(ctecoltypes);
				H_NODE(ctecoltypmods);
				H_NODE(ctecolcollations);
				return true;
			}
		case T_CTESearchClause:
			{
				const CTESearchClause *node = (const CTESearchClause *) obj;

				H_NODE(search_col_list);
				H_BOOL(search_breadth_first);
				H_STR(search_seq_column);
				return true;
			}
		case T_CTECycleClause:
			{
				const CTECycleClause *node = (const CTECycleClause *) obj;

				H_NODE(cycle_col_list);
				H_STR(cycle_mark_column);
				H_NODE(cycle_mark_value);
				H_NODE(cycle_mark_default);
				H_STR(cycle_path_column);
				H_OID(cycle_mark_type);
				H_INT(cycle_mark_typmod);
				H_OID(cycle_mark_collation);
				H_OID(cycle_mark_neop);
				return true;
			}
		case T_WindowClause:
			{
				const WindowClause *node = (const WindowClause *) obj;

				H_STR(name);
				H_STR(refname);
				H_NODE(partitionClause);
				H_NODE(orderClause);
				H_INT(frameOptions);
				H_NODE(startOffset);
				H_NODE(endOffset);
				H_NODE(runCondition);
				H_OID(startInRangeFunc);
				H_OID(endInRangeFunc);
				H_OID(inRangeColl);
				H_BOOL(inRangeAsc);
				H_BOOL(inRangeNullsFirst);
				H_INT(winref);
				H_BOOL(copiedOrder);
				return true;
			}
		case T_GroupingSet:
			{
				const GroupingSet *node = (const GroupingSet *) obj;

				H_INT(kind);
				H_NODE(content);
				return true;
			}
		case T_SetOperationStmt:
			{
				const SetOperationStmt *node = (const SetOperationStmt *) obj;

				H_INT(op);
				H_BOOL(all);
				H_NODE(larg);
				H_NODE(rarg);
				H_NODE(colTypes);
				H_NODE(colTypmods);
				H_NODE(colCollations);
				H_NODE(groupClauses);
				return true;
			}
		default:
			return false;
	}
}

/* The top level, estimates and statement position aside. */
static bool
hash_planned_stmt(hcPlanBuf *b, const PlannedStmt *node)
{
	put_u32(b, HC_FORMAT_VERSION);
	H_INT(commandType);
	H_BOOL(hasReturning);
	H_BOOL(hasModifyingCTE);
	H_BOOL(canSetTag);
	H_BOOL(transientPlan);
	H_BOOL(dependsOnRole);
	H_BOOL(parallelModeNeeded);
	H_NODE(planTree);
	H_NODE(rtable);
	H_NODE(resultRelations);
	H_NODE(appendRelations);
	H_NODE(subplans);
	H_BMS(rewindPlanIDs);
	H_NODE(rowMarks);
	H_NODE(relationOids);
	H_NODE(invalItems);
	H_NODE(paramExecTypes);
	/* a cacheable plan has no utility statement */
	return node->utilityStmt == NULL;
}

/* Hash the walk's bytes into *key if it succeeded; free the buffer. */
static bool
finish_key(hcPlanBuf *b, bool ok, hcKey *key)
{
	if (ok)
		hc_hash_bytes(b->data, b->len, key);
	if (b->on_heap)
		pfree(b->data);
	return ok;
}

/*
 * Compute the base key of a plan into *key.  Returns false when the plan
 * holds a node this walker does not know; *key is then unset.
 */
bool
hc_plan_hash(const PlannedStmt *pstmt, hcKey *key)
{
	char		local[2048];
	hcPlanBuf	b = {local, 0, sizeof(local), false, false};
	bool		ok;

	ok = hash_planned_stmt(&b, pstmt);
	return finish_key(&b, ok, key);
}

/*
 * Compute the key of an analysed and rewritten SELECT into *key, for
 * reusing its plan (plan_reuse.c).  Like a plan's key, it leaves out
 * queryId and the statement's position in the query string.  Returns
 * false when the tree holds a node this walker does not know.
 */
bool
hc_query_hash(const Query *query, hcKey *key)
{
	char		local[2048];
	hcPlanBuf	b = {local, 0, sizeof(local), false, true};
	bool		ok;

	put_u32(&b, HC_FORMAT_VERSION);
	ok = hash_node(&b, query);
	return finish_key(&b, ok, key);
}
