/*-------------------------------------------------------------------------
 *
 * invalidation.c
 *	  Writer registration, generations and writer-XID rings.
 *
 * The protocol (DESIGN.md "Write path", INTERNALS.md section 5): every
 * relation hashes to a generation slot holding a 64-bit generation and a
 * small ring of the top-level XIDs that registered writes on it, plus a
 * "floor", the largest XID ever pushed out of the ring.  One extra slot,
 * the global one, stands for "everything" (its generation is the epoch).
 *
 *	- A writer registers before it commits, the first time it writes a
 *	  relation in a transaction: under the slot's spinlock it records its
 *	  XID in the ring and bumps the generation.
 *	- A reader remembers the generations of its dependencies when it
 *	  starts.  It stores its result only if, under each slot's spinlock,
 *	  the generation is unchanged and no XID in the ring (nor the floor)
 *	  belongs to a writer its snapshot cannot see.  A hit requires the
 *	  entry's generations to equal the current ones.
 *
 * Registration sources, all idempotent per transaction: the executor hook
 * for INSERT/UPDATE/DELETE/MERGE at any nesting level, the utility hook
 * for COPY FROM, TRUNCATE and REFRESH MATERIALIZED VIEW, the local
 * relcache callback (which runs in the modifying backend at
 * CommandCounterIncrement, before commit: TRUNCATE ... CASCADE, ALTER
 * TABLE rewrites, ATTACH/DETACH PARTITION, DROP), syscache callbacks on
 * functions and roles (a redefined function or changed role invalidates
 * everything), and the trigger function cache_invalidate() for writers the
 * hooks cannot see (logical replication apply).  Callbacks act only in a
 * transaction that already has an XID; they may also fire for other
 * backends' changes while this backend is writing, which only makes the
 * cache more conservative.
 *
 * Key ranges (key_ranges.c).  An UPDATE or DELETE whose rows all lie in a
 * known range of one integer column registers as a range write instead:
 * it records its XID in the slot's ring marked "range only" and bumps the
 * slot's generation (so readers of the whole table see it as before), but
 * not the slot's whole-table generation; then it appends a record (table,
 * column, range, XID) to a range log, one of HC_NUM_RANGE_LOGS shared by
 * hashing.  A reader that reads a table only by a key range remembers the
 * whole-table generation and the log's head instead of the generation:
 *
 *	- its store needs the whole-table generation unchanged, the ring's
 *	  whole-table writers visible as above, no record of the table that
 *	  overlaps its range appended since it started, and no overlapping
 *	  record by a range-only writer of the ring the snapshot cannot see;
 *	- its hit needs the whole-table generation unchanged and no record
 *	  overlapping its range in the log after the entry's "checked" mark,
 *	  which hits advance; a mark that fell out of the log is a miss.
 *
 * A range writer's ring entry comes before its log record, so a record the
 * reader counted as older than its start always has its writer in the
 * ring (or under the floor) when the reader's store is checked.  Records
 * are written under the log's spinlock and read without it: each carries
 * its sequence number, cleared while it is rewritten and checked again
 * after it was read.  A transaction registers at most HC_MAX_RANGE_WRITES
 * ranges; after that its writes count as whole-table writes.
 *
 * Manual invalidation (hybridcache_invalidate*) is transactional: it is
 * queued, dropped with an aborted (sub)transaction, and applied as a pure
 * generation bump just before commit.  It does not change data, so no XID
 * needs to be recorded.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/invalidation.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/inval.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#define HC_NUM_GEN_SLOTS	8192
#define HC_RING_SIZE		16
#define HC_MAX_WRITTEN		64
#define HC_MAX_PENDING		64
#define HC_NUM_RANGE_LOGS	32
#define HC_RANGE_LOG_SIZE	1024
#define HC_MAX_RANGE_WRITES	32

typedef struct hcGenSlot
{
	slock_t		mutex;
	int			nring;
	pg_atomic_uint64 gen;		/* bumped by every registration */
	pg_atomic_uint64 wgen;		/* ... but range writes */
	FullTransactionId floor;	/* max XID evicted from the ring */
	FullTransactionId ring[HC_RING_SIZE];
	bool		ring_whole[HC_RING_SIZE];	/* false: range writes only */
} hcGenSlot;

/* one range write; seq is 0 while the record is being (re)written */
typedef struct hcRangeRecord
{
	pg_atomic_uint64 seq;
	Oid			dbid;
	Oid			relid;
	AttrNumber	attno;
	int64		lo;
	int64		hi;
	FullTransactionId fxid;
} hcRangeRecord;

typedef struct hcRangeLog
{
	slock_t		mutex;			/* serialises appends */
	pg_atomic_uint64 head;		/* seq of the newest record, 0: none yet */
	pg_atomic_uint64 floor;		/* max XID of an overwritten record */
	hcRangeRecord recs[HC_RANGE_LOG_SIZE];
} hcRangeLog;

typedef struct hcInvalShared
{
	hcGenSlot	global;			/* generation = epoch */
	hcGenSlot	slots[HC_NUM_GEN_SLOTS];
	hcRangeLog	logs[HC_NUM_RANGE_LOGS];
} hcInvalShared;

static hcInvalShared *inval = NULL;

/* relations this top-level transaction registered as written */
static Oid	written[HC_MAX_WRITTEN];
static bool written_whole[HC_MAX_WRITTEN];	/* false: by key range only */
static int	nwritten = 0;
static int	nrange_writes = 0;
static bool written_all = false;	/* overflow or a global registration */
static bool registered_global = false;
static bool registered_in_redis = false;	/* pre-commit L2 step done */
static bool sent_to_redis = false;	/* ... and it had writes to tell */

/* manual invalidations waiting for commit */
typedef struct hcPending
{
	Oid			relid;			/* InvalidOid: everything */
	int			nestlevel;
} hcPending;

static hcPending pending[HC_MAX_PENDING];
static int	npending = 0;

PG_FUNCTION_INFO_V1(cache_invalidate);
PG_FUNCTION_INFO_V1(hybridcache_invalidate);
PG_FUNCTION_INFO_V1(hybridcache_invalidate_all);

static void slot_init(hcGenSlot *slot);

Size
hc_invalidation_shmem_size(void)
{
	return MAXALIGN(sizeof(hcInvalShared));
}

void
hc_invalidation_shmem_init(void)
{
	bool		found;

	inval = ShmemInitStruct("hybridcache generations", sizeof(hcInvalShared),
							&found);
	if (!found)
	{
		int			i;

		slot_init(&inval->global);
		for (i = 0; i < HC_NUM_GEN_SLOTS; i++)
			slot_init(&inval->slots[i]);
		for (i = 0; i < HC_NUM_RANGE_LOGS; i++)
		{
			hcRangeLog *log = &inval->logs[i];
			int			j;

			SpinLockInit(&log->mutex);
			pg_atomic_init_u64(&log->head, 0);
			pg_atomic_init_u64(&log->floor, 0);
			for (j = 0; j < HC_RANGE_LOG_SIZE; j++)
				pg_atomic_init_u64(&log->recs[j].seq, 0);
		}
	}
}

static void
slot_init(hcGenSlot *slot)
{
	SpinLockInit(&slot->mutex);
	slot->nring = 0;
	pg_atomic_init_u64(&slot->gen, 1);
	pg_atomic_init_u64(&slot->wgen, 1);
	slot->floor = InvalidFullTransactionId;
}

static hcGenSlot *
slot_for_db(Oid dbid, Oid relid)
{
	uint32		h;

	if (relid == InvalidOid)
		return &inval->global;
	h = hash_bytes_uint32((uint32) relid ^ ((uint32) dbid * 0x9E3779B9U));
	return &inval->slots[h % HC_NUM_GEN_SLOTS];
}

static hcGenSlot *
slot_for(Oid relid)
{
	return slot_for_db(MyDatabaseId, relid);
}

static hcRangeLog *
log_for(Oid dbid, Oid relid)
{
	uint32		h = hash_bytes_uint32((uint32) relid ^ ((uint32) dbid * 0x85EBCA6BU));

	return &inval->logs[h % HC_NUM_RANGE_LOGS];
}

/* Position in the written set, or -1. */
static int
written_index(Oid relid)
{
	int			i;

	for (i = 0; i < nwritten; i++)
		if (written[i] == relid)
			return i;
	return -1;
}

static bool
in_written_set(Oid relid)
{
	return written_index(relid) >= 0;
}

/* Registered as a whole-table write (or everything) in this transaction? */
static bool
written_as_whole(Oid relid)
{
	int			i;

	if (relid == InvalidOid)
		return registered_global;
	i = written_index(relid);
	return i >= 0 && written_whole[i];
}

/*
 * Record fxid as a writer in slot, whole-table or range only, and bump its
 * generations.  No allocation, no error: safe in callbacks and during
 * abort.
 */
static void
slot_register_as(hcGenSlot *slot, FullTransactionId fxid, bool whole)
{
	int			i;

	SpinLockAcquire(&slot->mutex);
	if (FullTransactionIdIsValid(fxid))
	{
		int			present = -1;

		for (i = 0; i < slot->nring; i++)
			if (FullTransactionIdEquals(slot->ring[i], fxid))
				present = i;
		if (present >= 0)
			slot->ring_whole[present] |= whole;
		else if (slot->nring < HC_RING_SIZE)
		{
			slot->ring_whole[slot->nring] = whole;
			slot->ring[slot->nring++] = fxid;
		}
		else
		{
			int			oldest = 0;

			for (i = 1; i < HC_RING_SIZE; i++)
				if (FullTransactionIdPrecedes(slot->ring[i], slot->ring[oldest]))
					oldest = i;
			if (!FullTransactionIdIsValid(slot->floor) ||
				FullTransactionIdPrecedes(slot->floor, slot->ring[oldest]))
				slot->floor = slot->ring[oldest];
			slot->ring[oldest] = fxid;
			slot->ring_whole[oldest] = whole;
		}
	}
	pg_atomic_fetch_add_u64(&slot->gen, 1);
	if (whole)
		pg_atomic_fetch_add_u64(&slot->wgen, 1);
	SpinLockRelease(&slot->mutex);
}

static void
slot_register(hcGenSlot *slot, FullTransactionId fxid)
{
	slot_register_as(slot, fxid, true);
}

/* Append a range write to its log (after its ring entry: see above). */
static void
log_append(Oid relid, const hcKeyRange *range, FullTransactionId fxid)
{
	hcRangeLog *log = log_for(MyDatabaseId, relid);
	hcRangeRecord *rec;
	uint64		seq;

	SpinLockAcquire(&log->mutex);
	seq = pg_atomic_read_u64(&log->head) + 1;
	rec = &log->recs[seq % HC_RANGE_LOG_SIZE];
	if (pg_atomic_read_u64(&rec->seq) != 0 &&
		U64FromFullTransactionId(rec->fxid) > pg_atomic_read_u64(&log->floor))
		pg_atomic_write_u64(&log->floor, U64FromFullTransactionId(rec->fxid));
	pg_write_barrier();
	pg_atomic_write_u64(&rec->seq, 0);
	pg_write_barrier();
	rec->dbid = MyDatabaseId;
	rec->relid = relid;
	rec->attno = range->attno;
	rec->lo = range->lo;
	rec->hi = range->hi;
	rec->fxid = fxid;
	pg_write_barrier();
	pg_atomic_write_u64(&rec->seq, seq);
	pg_write_barrier();
	pg_atomic_write_u64(&log->head, seq);
	SpinLockRelease(&log->mutex);
}

/*
 * Read record seq of log into *out, consistently; false if it is no longer
 * (or not yet) that record.
 */
static bool
log_read(hcRangeLog *log, uint64 seq, hcRangeRecord *out)
{
	hcRangeRecord *rec = &log->recs[seq % HC_RANGE_LOG_SIZE];

	if (pg_atomic_read_u64(&rec->seq) != seq)
		return false;
	pg_read_barrier();
	out->dbid = rec->dbid;
	out->relid = rec->relid;
	out->attno = rec->attno;
	out->lo = rec->lo;
	out->hi = rec->hi;
	out->fxid = rec->fxid;
	pg_read_barrier();
	return pg_atomic_read_u64(&rec->seq) == seq;
}

/* Could the write of this record touch rows of relid in range? */
static bool
record_touches(const hcRangeRecord *rec, Oid relid, const hcKeyRange *range)
{
	if (rec->dbid != MyDatabaseId || rec->relid != relid)
		return false;
	return rec->attno != range->attno ||
		hc_key_ranges_overlap(rec->lo, rec->hi, range->lo, range->hi);
}

/*
 * A write the primary registered (relid InvalidOid: everything), applied
 * by a standby's worker from the Redis stream.  fxid is the primary's
 * writer; invalid for manual invalidations.
 */
void
hc_apply_remote_write(Oid dbid, Oid relid, FullTransactionId fxid)
{
	if (inval != NULL)
		slot_register(slot_for_db(dbid, relid), fxid);
}

/*
 * The standby's worker may have missed registrations (a gap in the stream):
 * invalidate everything, and let no result be stored from a snapshot that
 * might not see a writer older than floor.  The floor works as the ring's
 * does: a store needs floor to precede the reader's xmin.
 */
void
hc_apply_remote_flush(FullTransactionId floor)
{
	hcGenSlot  *slot;

	if (inval == NULL)
		return;
	slot = &inval->global;
	SpinLockAcquire(&slot->mutex);
	if (FullTransactionIdIsValid(floor) &&
		(!FullTransactionIdIsValid(slot->floor) ||
		 FullTransactionIdPrecedes(slot->floor, floor)))
		slot->floor = floor;
	pg_atomic_fetch_add_u64(&slot->gen, 1);
	SpinLockRelease(&slot->mutex);
}

/*
 * Add relid to the written set (whole: as a whole-table write); false if
 * the set is full, which makes the transaction count as writing
 * everything it may have written (written_all).
 */
static bool
add_written(Oid relid, bool whole)
{
	int			i = written_index(relid);

	if (i >= 0)
	{
		written_whole[i] |= whole;
		return true;
	}
	if (nwritten >= HC_MAX_WRITTEN)
	{
		written_all = true;
		return false;
	}
	written_whole[nwritten] = whole;
	written[nwritten++] = relid;
	return true;
}

/* Register fxid as writing relid (InvalidOid: everything). */
static void
register_write(Oid relid, FullTransactionId fxid)
{
	if (inval == NULL)
		return;
	if (relid == InvalidOid)
	{
		if (registered_global)
			return;
		registered_global = true;
		written_all = true;
	}
	else
	{
		if (written_as_whole(relid))
			return;
		(void) add_written(relid, true);
	}
	slot_register(slot_for(relid), fxid);
	hc_count_invalidation(relid);

	/* too late for the pre-commit step: Redis will not hear of it */
	if (registered_in_redis && hc_redis_target != NULL)
		hc_l2_fence();
}

/*
 * Register the current transaction as writing only rows of relid in
 * range.  Redis hears of it as a write of the whole table.
 */
static void
register_range_write(Oid relid, const hcKeyRange *range)
{
	FullTransactionId fxid;

	if (inval == NULL || IsParallelWorker())
		return;
	if (written_as_whole(relid) || registered_global)
		return;
	if (nrange_writes >= HC_MAX_RANGE_WRITES || !add_written(relid, false))
	{
		register_write(relid, GetTopFullTransactionId());
		return;
	}
	nrange_writes++;
	fxid = GetTopFullTransactionId();
	slot_register_as(slot_for(relid), fxid, false);
	log_append(relid, range, fxid);
	hc_count_invalidation(relid);

	if (registered_in_redis && hc_redis_target != NULL)
		hc_l2_fence();
}

/*
 * Register a write of relid by the current transaction, before it commits.
 * Assigns the transaction an XID if it has none.
 */
void
hc_register_write(Oid relid)
{
	if (inval == NULL || IsParallelWorker())
		return;
	if (written_as_whole(relid))
		return;
	register_write(relid, GetTopFullTransactionId());
}

/* Same, but only if the transaction already has an XID (callbacks). */
static void
register_write_if_writing(Oid relid)
{
	FullTransactionId fxid;

	if (inval == NULL || IsParallelWorker() || !IsTransactionState())
		return;
	fxid = GetTopFullTransactionIdIfAny();
	if (!FullTransactionIdIsValid(fxid))
		return;
	register_write(relid, fxid);
}

/* Register the result relations of a plan that modifies tables. */
void
hc_register_plan_writes(QueryDesc *queryDesc)
{
	PlannedStmt *pstmt = queryDesc->plannedstmt;
	ListCell   *lc;

	Oid			relid;
	hcKeyRange	range;

	/* an UPDATE or DELETE of one table's key range (key_ranges.c) */
	if (inval != NULL && hc_write_key_range(queryDesc, &relid, &range))
	{
		register_range_write(relid, &range);
		return;
	}

	/*
	 * resultRelations includes each ModifyTable's root relation; rows routed
	 * to partitions are covered because readers of a partition also depend
	 * on its ancestors.
	 */
	foreach(lc, pstmt->resultRelations)
		hc_register_write(rt_fetch(lfirst_int(lc), pstmt->rtable)->relid);
}

static void
register_rangevar(RangeVar *rv)
{
	Oid			relid;

	if (rv == NULL)
		return;
	relid = RangeVarGetRelid(rv, NoLock, true);
	if (OidIsValid(relid))
		hc_register_write(relid);
}

/*
 * Register what a utility statement wrote: COPY FROM, TRUNCATE and
 * REFRESH MATERIALIZED VIEW.  Called after the statement ran, still before
 * commit.  Everything else that changes a relation's contents (CASCADE,
 * table rewrites) reaches the relcache callback.
 */
void
hc_register_utility_writes(Node *parsetree)
{
	switch (nodeTag(parsetree))
	{
		case T_CopyStmt:
			{
				CopyStmt   *stmt = (CopyStmt *) parsetree;

				if (stmt->is_from)
					register_rangevar(stmt->relation);
			}
			break;
		case T_TruncateStmt:
			{
				ListCell   *lc;

				foreach(lc, ((TruncateStmt *) parsetree)->relations)
					register_rangevar(lfirst(lc));
			}
			break;
		case T_RefreshMatViewStmt:
			register_rangevar(((RefreshMatViewStmt *) parsetree)->relation);
			break;
		default:
			break;
	}
}

/* Did this transaction write any of these relations? */
bool
hc_wrote_any(const Oid *relids, int n)
{
	int			i;

	if (written_all)
		return true;
	if (nwritten == 0)
		return false;
	for (i = 0; i < n; i++)
		if (in_written_set(relids[i]))
			return true;
	return false;
}

uint64
hc_current_epoch(void)
{
	return pg_atomic_read_u64(&inval->global.gen);
}

/*
 * The generation a reader of a slot's relation compares: the whole-table
 * one if it reads the relation by key range (range writes go to the log),
 * else the one every write bumps.
 */
static pg_atomic_uint64 *
compared_generation(hcGenSlot *slot, bool by_range)
{
	return by_range ? &slot->wgen : &slot->gen;
}

/* Index into ranges of dependency dep's range, or -1: the whole table. */
static int
range_of_dep(const hcKeyRange *ranges, int nranges, int dep)
{
	int			k;

	for (k = 0; k < nranges; k++)
		if (ranges[k].dep == dep)
			return k;
	return -1;
}

/*
 * What a reader remembers when it starts (after its snapshot): for each
 * dependency its generation, or for one read by key range the whole-table
 * generation and, in rseqs, the head of its range log.
 */
void
hc_read_generations(const Oid *deps, int ndeps, const hcKeyRange *ranges,
					int nranges, uint64 *gens, uint64 *rseqs)
{
	int			i;
	int			k;

	for (i = 0; i < ndeps; i++)
	{
		hcGenSlot  *slot = slot_for(deps[i]);

		k = range_of_dep(ranges, nranges, i);
		gens[i] = pg_atomic_read_u64(compared_generation(slot, k >= 0));
	}
	for (k = 0; k < nranges; k++)
		rseqs[k] = pg_atomic_read_u64(&log_for(MyDatabaseId,
											   deps[ranges[k].dep])->head);
}

/* Are all records after position seq still in a log whose head is head? */
static bool
log_kept_since(uint64 head, uint64 seq)
{
	return head >= seq && head - seq <= HC_RANGE_LOG_SIZE - 1;
}

/*
 * Has no range write touching range been logged after *mark?  If so,
 * advance *mark to the head seen (a shared mark other readers of the same
 * entry use too; it only moves forward).
 */
static bool
range_unchanged(Oid relid, const hcKeyRange *range, pg_atomic_uint64 *mark)
{
	hcRangeLog *log = log_for(MyDatabaseId, relid);
	uint64		head = pg_atomic_read_u64(&log->head);
	uint64		from = pg_atomic_read_u64(mark);
	uint64		seq;

	if (head == from)
		return true;
	pg_read_barrier();			/* the records up to head are complete */
	if (!log_kept_since(head, from))
		return false;			/* the mark fell out of the log */
	for (seq = from + 1; seq <= head; seq++)
	{
		hcRangeRecord rec;

		if (!log_read(log, seq, &rec))
			return false;
		if (record_touches(&rec, relid, range))
			return false;
	}
	(void) pg_atomic_compare_exchange_u64(mark, &from, head);
	return true;
}

/*
 * The hit check of an entry's generations: are they the current ones?
 * marks[k] is the entry's range log mark for ranges[k].
 */
bool
hc_generations_current(const Oid *deps, int ndeps, const uint64 *gens,
					   const hcKeyRange *ranges, int nranges,
					   pg_atomic_uint64 **marks)
{
	int			i;
	int			k;

	for (i = 0; i < ndeps; i++)
	{
		hcGenSlot  *slot = slot_for(deps[i]);

		k = range_of_dep(ranges, nranges, i);
		if (gens[i] != pg_atomic_read_u64(compared_generation(slot, k >= 0)))
			return false;
		if (k >= 0 && !range_unchanged(deps[i], &ranges[k], marks[k]))
			return false;
	}
	return true;
}

/* A 32-bit XID as a FullTransactionId, relative to the next XID. */
static FullTransactionId
widen_xid(TransactionId xid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	uint32		epoch = EpochFromFullTransactionId(next);

	if (xid > XidFromFullTransactionId(next))
		epoch--;
	return FullTransactionIdFromEpochAndXid(epoch, xid);
}

/*
 * The store check for one slot.  The slot's state is copied under its
 * spinlock, so the check sees one consistent moment; visibility is then
 * decided without the lock (XidInMVCCSnapshot may read pg_subtrans).  A
 * registration after that moment bumps the generation, which makes the
 * stored entry unservable, so the late check is safe.
 */
static bool
xid_invisible(FullTransactionId fxid, FullTransactionId xmin, Snapshot snapshot)
{
	TransactionId xid = XidFromFullTransactionId(fxid);

	if (FullTransactionIdPrecedes(fxid, xmin))
		return false;			/* visible to every snapshot of ours */
	/* running, or committed after the snapshot */
	return TransactionIdIsCurrentTransactionId(xid) ||
		XidInMVCCSnapshot(xid, snapshot);
}

/*
 * The store check for one slot; by_range: for a reader of a key range,
 * which compares the whole-table generation and leaves range-only writers
 * to the log, returning those its snapshot cannot see in invisible[]
 * (room for HC_RING_SIZE; *ninvisible of them).
 */
static bool
slot_allows_store(hcGenSlot *slot, uint64 expected_gen, bool by_range,
				  FullTransactionId xmin, Snapshot snapshot,
				  FullTransactionId *invisible, int *ninvisible)
{
	FullTransactionId ring[HC_RING_SIZE];
	bool		ring_whole[HC_RING_SIZE];
	FullTransactionId floor;
	uint64		gen;
	int			nring;
	int			i;

	SpinLockAcquire(&slot->mutex);
	gen = pg_atomic_read_u64(compared_generation(slot, by_range));
	floor = slot->floor;
	nring = slot->nring;
	memcpy(ring, slot->ring, nring * sizeof(FullTransactionId));
	memcpy(ring_whole, slot->ring_whole, nring * sizeof(bool));
	SpinLockRelease(&slot->mutex);

	if (ninvisible)
		*ninvisible = 0;
	if (gen != expected_gen)
		return false;
	/* a writer pushed out of the ring may be invisible to the snapshot */
	if (FullTransactionIdIsValid(floor) &&
		FullTransactionIdFollowsOrEquals(floor, xmin))
		return false;
	for (i = 0; i < nring; i++)
	{
		if (!xid_invisible(ring[i], xmin, snapshot))
			continue;
		if (!by_range || ring_whole[i])
			return false;
		invisible[(*ninvisible)++] = ring[i];
	}
	return true;
}

/*
 * The log part of the store check for a reader of relid's range that
 * started at log position start: no touching record since, and none by a
 * writer in invisible[].
 */
static bool
log_allows_store(Oid relid, const hcKeyRange *range, uint64 start,
				 const FullTransactionId *invisible, int ninvisible,
				 FullTransactionId xmin)
{
	hcRangeLog *log = log_for(MyDatabaseId, relid);
	uint64		head = pg_atomic_read_u64(&log->head);
	uint64		first;
	uint64		seq;
	uint64		floor;
	int			i;

	if (!log_kept_since(head, start))
		return false;
	pg_read_barrier();			/* the records up to head are complete */
	first = start + 1;
	if (ninvisible > 0)
	{
		/* a writer's record may have been overwritten: then it is older */
		floor = pg_atomic_read_u64(&log->floor);
		if (floor != 0 && floor >= U64FromFullTransactionId(xmin))
			return false;
		first = head >= HC_RANGE_LOG_SIZE ? head - HC_RANGE_LOG_SIZE + 1 : 1;
	}
	for (seq = first; seq <= head; seq++)
	{
		hcRangeRecord rec;

		if (!log_read(log, seq, &rec))
		{
			if (seq > start)
				return false;
			continue;			/* overwritten: under the floor */
		}
		if (!record_touches(&rec, relid, range))
			continue;
		if (seq > start)
			return false;
		for (i = 0; i < ninvisible; i++)
			if (FullTransactionIdEquals(rec.fxid, invisible[i]))
				return false;
	}
	if (ninvisible > 0)
	{
		/* records overwritten during the scan raised the floor first */
		pg_read_barrier();
		floor = pg_atomic_read_u64(&log->floor);
		if (floor != 0 && floor >= U64FromFullTransactionId(xmin))
			return false;
	}
	return true;
}

/*
 * The store check (invariant I1): may a result computed with snapshot,
 * which read these relations at these generations (and epoch), be stored?
 */
bool
hc_store_allowed(const Oid *relids, const uint64 *gens, int n,
				 const hcKeyRange *ranges, const uint64 *rseqs, int nranges,
				 uint64 epoch, Snapshot snapshot)
{
	FullTransactionId xmin;
	FullTransactionId invisible[HC_RING_SIZE];
	int			ninvisible;
	int			i;
	int			k;

	if (inval == NULL || snapshot == NULL || !IsMVCCSnapshot(snapshot))
		return false;
	xmin = widen_xid(snapshot->xmin);

	if (!slot_allows_store(&inval->global, epoch, false, xmin, snapshot,
						   NULL, NULL))
		return false;
	for (i = 0; i < n; i++)
	{
		k = range_of_dep(ranges, nranges, i);
		if (!slot_allows_store(slot_for(relids[i]), gens[i], k >= 0, xmin,
							   snapshot, invisible, &ninvisible))
			return false;
		if (k >= 0 &&
			!log_allows_store(relids[i], &ranges[k], rseqs[k],
							  invisible, ninvisible, xmin))
			return false;
	}
	return true;
}

/*---- callbacks ----*/

static void
relcache_callback(Datum arg, Oid relid)
{
	hc_table_ttl_forget(relid);
	register_write_if_writing(relid);
}

static void
everything_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	register_write_if_writing(InvalidOid);
}

/*
 * Before commit: tell Redis what this transaction wrote (and invalidated
 * by hand), so other servers' L2 lookups stop serving it.  Local
 * registration already happened, as the L2 protocol requires.
 */
static void
register_in_redis(void)
{
	Oid			relids[HC_MAX_WRITTEN + HC_MAX_PENDING];
	int			n = 0;
	bool		everything = written_all || registered_global;
	int			i;

	for (i = 0; i < nwritten; i++)
		relids[n++] = written[i];
	for (i = 0; i < npending; i++)
	{
		if (pending[i].relid == InvalidOid)
			everything = true;
		else
			relids[n++] = pending[i].relid;
	}
	registered_in_redis = true;
	sent_to_redis = n > 0 || everything;
	hc_l2_register_writes(relids, n, everything, GetTopFullTransactionIdIfAny());
}

static void
apply_pending(void)
{
	int			i;

	for (i = 0; i < npending; i++)
	{
		slot_register(slot_for(pending[i].relid), InvalidFullTransactionId);
		hc_count_invalidation(pending[i].relid);
	}
	npending = 0;
}

static void
xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			if (inval != NULL)
			{
				if (hc_redis_target != NULL)
					register_in_redis();
				apply_pending();
			}
			break;
		case XACT_EVENT_COMMIT:
			/* the commit is in the WAL now: a heartbeat can cover it */
			if (sent_to_redis)
				hc_l2_nudge_worker();
			/* FALLTHROUGH */
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			nwritten = 0;
			nrange_writes = 0;
			written_all = false;
			registered_global = false;
			registered_in_redis = false;
			sent_to_redis = false;
			npending = 0;
			hc_stats_flush_tables(false);
			hc_query_stats_flush(false);
			break;
		default:
			break;
	}
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	int			i;
	int			j;

	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			/* written set stays: conservative.  Queued invalidations go. */
			for (i = 0, j = 0; i < npending; i++)
				if (pending[i].nestlevel < level)
					pending[j++] = pending[i];
			npending = j;
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			for (i = 0; i < npending; i++)
				if (pending[i].nestlevel >= level)
					pending[i].nestlevel = level - 1;
			break;
		default:
			break;
	}
}

/* Install the callbacks; called from _PG_init. */
void
hc_invalidation_init(void)
{
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, everything_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, everything_callback, (Datum) 0);
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
}

/*---- SQL-callable functions ----*/

static void
require_preloaded(void)
{
	if (inval == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("hybridcache must be loaded via shared_preload_libraries")));
}

static void
queue_invalidation(Oid relid)
{
	int			level = GetCurrentTransactionNestLevel();
	int			i;

	for (i = 0; i < npending; i++)
		if (pending[i].relid == relid && pending[i].nestlevel <= level)
			return;
	if (npending >= HC_MAX_PENDING)
	{
		/* too many: invalidate everything instead */
		npending = 0;
		relid = InvalidOid;
		level = 1;
	}
	pending[npending].relid = relid;
	pending[npending].nestlevel = level;
	npending++;
}

/*
 * cache_invalidate() trigger: registers a write of the trigger's table.
 * Works at any level and timing; returns what leaves the row unchanged.
 */
Datum
cache_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by trigger manager",
						"cache_invalidate")));

	/* without the preloaded library there is no cache to invalidate */
	if (inval != NULL)
		hc_register_write(RelationGetRelid(trigdata->tg_relation));

	if (TRIGGER_FIRED_BEFORE(trigdata->tg_event) &&
		TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
	{
		if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
			return PointerGetDatum(trigdata->tg_newtuple);
		return PointerGetDatum(trigdata->tg_trigtuple);
	}
	return PointerGetDatum(NULL);
}

/* hybridcache_invalidate(regclass): drop cached results reading it, at commit */
Datum
hybridcache_invalidate(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	require_preloaded();
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	queue_invalidation(relid);
	PG_RETURN_VOID();
}

/* hybridcache_invalidate_all(): drop every cached result, at commit */
Datum
hybridcache_invalidate_all(PG_FUNCTION_ARGS)
{
	require_preloaded();
	queue_invalidation(InvalidOid);
	if (hc_warm_after_invalidate_all)
		hc_warming_after_invalidate_all();
	PG_RETURN_VOID();
}
