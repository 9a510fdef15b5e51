/*-------------------------------------------------------------------------
 *
 * result.c
 *	  Capturing a result, its serialized form, and replaying it.
 *
 * A cached result is one contiguous blob:
 *
 *	  hcEntryHeader
 *	  uint64  gens[ndeps]		generations of the dependencies at start
 *	  hcEntryRange ranges[nranges]	dependencies read by key range, each
 *								with its mark in the range log (hits move
 *								it forward: the only field ever written
 *								after the store)
 *	  Oid	  deps[ndeps]		the dependencies themselves
 *	  hcAttSig atts[natts]		result column types (invariant I7)
 *	  MinimalTuple ...			each MAXALIGNed, data_offset onwards
 *	  wire rows (optional)		from wire_offset: the DataRow messages sent
 *								for the rows (wire_rows.c), each a uint32
 *								length and the message body; then padding
 *
 * The blob carries its full key and the result's type signature, so a
 * hash collision or a stale plan can never replay rows of another shape.
 *
 * Capture is a DestReceiver that sits in front of the client's receiver
 * ("tee"): every row is copied, with external TOAST pointers and expanded
 * objects flattened (a cached TOAST pointer would dangle after UPDATE and
 * VACUUM, or worse point at another row's value once the OID is reused),
 * and then forwarded unchanged.  The capture stops copying, but keeps
 * forwarding, once the result exceeds hybridcache.max_entry_size.
 *
 * When the rows go to the client through printtup with formats and
 * settings of known effect, the capture sends them itself (wire_rows.c)
 * and keeps the bytes too; a hit with the same wire signature sends those
 * bytes.  Otherwise replay sends the cached MinimalTuples straight from
 * shared memory to the client's receiver.  Either way it does what
 * standard_ExecutorRun would do for the receiver and the row count, so
 * command tags, protocol row limits and PortalSuspended are
 * indistinguishable from an uncached execution.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/result.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#define HC_ENTRY_MAGIC	0x48434531	/* "HCE1" */

typedef struct hcAttSig
{
	Oid			typid;
	int32		typmod;
	Oid			collation;
} hcAttSig;

struct hcEntryHeader
{
	uint32		magic;
	uint16		format;
	uint16		natts;
	uint32		ndeps;
	uint32		nranges;
	uint32		data_offset;	/* where the tuples start */
	uint64		total_len;
	uint64		ntuples;
	uint64		wire_offset;	/* 0: no wire rows */
	uint64		wire_len;
	uint64		wire_sig;
	hcKey		key;
	Oid			dbid;
	uint64		epoch;
	TimestampTz created;
	double		exec_ms;
};

typedef struct hcEntryRange
{
	hcKeyRange	range;
	pg_atomic_uint64 checked;	/* range log position checked up to */
} hcEntryRange;

#define HDR_GENS(h)	((uint64 *) ((char *) (h) + MAXALIGN(sizeof(hcEntryHeader))))
#define HDR_RANGES(h) ((hcEntryRange *) (HDR_GENS(h) + (h)->ndeps))
#define HDR_DEPS(h)	((Oid *) (HDR_RANGES(h) + (h)->nranges))
#define HDR_ATTS(h)	((hcAttSig *) (HDR_DEPS(h) + (h)->ndeps))

static Size
header_size(int ndeps, int nranges, int natts)
{
	return MAXALIGN(MAXALIGN(sizeof(hcEntryHeader)) +
					ndeps * (sizeof(uint64) + sizeof(Oid)) +
					nranges * sizeof(hcEntryRange) +
					natts * sizeof(hcAttSig));
}

/* Set an entry's ranges and their log marks. */
static void
set_ranges(hcEntryHeader *hdr, const hcKeyRange *ranges, const uint64 *rseqs)
{
	hcEntryRange *er = HDR_RANGES(hdr);
	uint32		k;

	for (k = 0; k < hdr->nranges; k++)
	{
		er[k].range = ranges[k];
		pg_atomic_init_u64(&er[k].checked, rseqs[k]);
	}
}

struct hcCapture
{
	MemoryContext cxt;			/* buffer lives here */
	MemoryContext tuplecxt;		/* per-row scratch */
	TupleDesc	tupdesc;
	char	   *buf;
	Size		len;
	Size		cap;
	Size		max_bytes;
	Size		data_offset;
	uint64		ntuples;
	bool		poisoned;		/* never store (client gone, error) */
	bool		too_large;
	/* the wire rows, when the rows are sent by a wire writer */
	hcWireWriter *wire;
	char	   *wbuf;
	Size		wlen;
	Size		wcap;
	bool		wire_too_large;
};

typedef struct hcTeeReceiver
{
	DestReceiver pub;
	DestReceiver *inner;
	hcCapture  *cap;
} hcTeeReceiver;

/*
 * Start capturing a result of the given shape.  ndeps reserves room for
 * the header so rows are copied only once.
 */
hcCapture *
hc_capture_begin(TupleDesc tupdesc, int ndeps, int nranges, Size max_bytes,
				 MemoryContext cxt)
{
	hcCapture  *cap = MemoryContextAllocZero(cxt, sizeof(hcCapture));

	cap->cxt = cxt;
	cap->tuplecxt = AllocSetContextCreate(cxt, "hybridcache capture row",
										  ALLOCSET_SMALL_SIZES);
	cap->tupdesc = tupdesc;
	cap->max_bytes = max_bytes;
	cap->data_offset = header_size(ndeps, nranges, tupdesc->natts);
	cap->cap = Max(cap->data_offset * 2, 8192);
	if (cap->data_offset > max_bytes)
	{
		cap->too_large = true;
		return cap;
	}
	cap->buf = MemoryContextAllocHuge(cxt, cap->cap);
	cap->len = cap->data_offset;
	return cap;
}

/*
 * Make the buffer *buf of *cap bytes (NULL: none yet) hold at least need
 * bytes, doubling, but never beyond limit (need <= limit).  In cxt.
 */
static void
make_room(MemoryContext cxt, char **buf, Size *cap, Size need, Size limit)
{
	Size		newcap = Max(*cap, 4096);

	if (need <= *cap)
		return;
	while (need > newcap)
		newcap *= 2;
	newcap = Min(newcap, limit);
	*buf = *buf ? repalloc_huge(*buf, newcap)
		: MemoryContextAllocHuge(cxt, newcap);
	*cap = newcap;
}

/* Copy one row into the capture buffer. */
static void
capture_row(hcCapture *cap, TupleTableSlot *slot)
{
	TupleDesc	tupdesc = cap->tupdesc;
	MemoryContext oldcxt;
	Datum	   *values;
	MinimalTuple mtup;
	Size		need;
	int			i;

	if (cap->poisoned || cap->too_large)
		return;

	oldcxt = MemoryContextSwitchTo(cap->tuplecxt);
	slot_getallattrs(slot);
	values = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		values[i] = slot->tts_values[i];
		if (!slot->tts_isnull[i] && att->attlen == -1 &&
			VARATT_IS_EXTERNAL(DatumGetPointer(values[i])))
			values[i] = PointerGetDatum(detoast_external_attr((struct varlena *)
															  DatumGetPointer(values[i])));
	}
	mtup = heap_form_minimal_tuple(tupdesc, values, slot->tts_isnull);
	MemoryContextSwitchTo(oldcxt);

	need = MAXALIGN(mtup->t_len);
	if (cap->len + need > cap->max_bytes)
	{
		cap->too_large = true;
		pfree(cap->buf);
		cap->buf = NULL;
	}
	else
	{
		make_room(cap->cxt, &cap->buf, &cap->cap, cap->len + need,
				  cap->max_bytes);
		memcpy(cap->buf + cap->len, mtup, mtup->t_len);
		if (need > mtup->t_len)
			memset(cap->buf + cap->len + mtup->t_len, 0, need - mtup->t_len);
		cap->len += need;
		cap->ntuples++;
	}
	MemoryContextReset(cap->tuplecxt);
}

/* Send the row as a DataRow message and keep its bytes. */
static void
capture_wire_row(hcCapture *cap, TupleTableSlot *slot)
{
	const StringInfoData *row = hc_wire_send_row(cap->wire, slot);
	uint32		rowlen = row->len;
	Size		need = sizeof(uint32) + rowlen;

	if (cap->poisoned || cap->too_large || cap->wire_too_large)
		return;
	if (cap->wlen + need > cap->max_bytes)
	{
		/* the tuples may still fit: the entry goes without wire rows */
		cap->wire_too_large = true;
		if (cap->wbuf)
			pfree(cap->wbuf);
		cap->wbuf = NULL;
		return;
	}
	make_room(cap->cxt, &cap->wbuf, &cap->wcap, cap->wlen + need,
			  cap->max_bytes);
	memcpy(cap->wbuf + cap->wlen, &rowlen, sizeof(uint32));
	memcpy(cap->wbuf + cap->wlen + sizeof(uint32), row->data, rowlen);
	cap->wlen += need;
}

/*
 * The rows of this capture go to the client through w (see wire_rows.c).
 * Before the first row.
 */
void
hc_capture_set_wire(hcCapture *cap, hcWireWriter *w)
{
	Assert(cap->ntuples == 0);
	cap->wire = w;
}

static bool
tee_receive(TupleTableSlot *slot, DestReceiver *self)
{
	hcTeeReceiver *tee = (hcTeeReceiver *) self;

	capture_row(tee->cap, slot);
	if (tee->cap->wire != NULL)
	{
		/* printtup's job, done here once for the client and the cache */
		capture_wire_row(tee->cap, slot);
		return true;
	}
	if (!tee->inner->receiveSlot(slot, tee->inner))
	{
		tee->cap->poisoned = true;
		return false;
	}
	return true;
}

static void
tee_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	hcTeeReceiver *tee = (hcTeeReceiver *) self;

	tee->inner->rStartup(tee->inner, operation, typeinfo);
}

static void
tee_shutdown(DestReceiver *self)
{
	hcTeeReceiver *tee = (hcTeeReceiver *) self;

	tee->inner->rShutdown(tee->inner);
}

static void
tee_destroy(DestReceiver *self)
{
	/* memory goes with the query context */
}

/* A receiver that captures rows and forwards them to inner. */
DestReceiver *
hc_capture_receiver(hcCapture *cap, DestReceiver *inner)
{
	hcTeeReceiver *tee = MemoryContextAllocZero(cap->cxt, sizeof(hcTeeReceiver));

	tee->pub.receiveSlot = tee_receive;
	tee->pub.rStartup = tee_startup;
	tee->pub.rShutdown = tee_shutdown;
	tee->pub.rDestroy = tee_destroy;
	tee->pub.mydest = inner->mydest;
	tee->inner = inner;
	tee->cap = cap;
	return &tee->pub;
}

void
hc_capture_poison(hcCapture *cap)
{
	cap->poisoned = true;
}

bool
hc_capture_ok(hcCapture *cap)
{
	return !cap->poisoned && !cap->too_large;
}

bool
hc_capture_too_large(hcCapture *cap)
{
	return cap->too_large;
}

/*
 * Fill in the header and return the blob (in the capture's context).
 */
char *
hc_capture_finish(hcCapture *cap, const hcKey *key, Oid dbid,
				  const Oid *deps, const uint64 *gens, int ndeps,
				  const hcKeyRange *ranges, const uint64 *rseqs, int nranges,
				  uint64 epoch, TimestampTz created, double exec_ms,
				  Size *len)
{
	hcEntryHeader *hdr;
	hcAttSig   *atts;
	Size		wire_offset = 0;
	int			i;

	Assert(hc_capture_ok(cap));
	Assert(header_size(ndeps, nranges, cap->tupdesc->natts) == cap->data_offset);

	/* the wire rows go after the tuples */
	if (cap->wire != NULL && !cap->wire_too_large &&
		cap->len + MAXALIGN(cap->wlen) <= cap->max_bytes)
	{
		Size		total = cap->len + MAXALIGN(cap->wlen);

		if (total > cap->cap)
		{
			cap->buf = repalloc_huge(cap->buf, total);
			cap->cap = total;
		}
		if (cap->wlen > 0)
			memcpy(cap->buf + cap->len, cap->wbuf, cap->wlen);
		memset(cap->buf + cap->len + cap->wlen, 0,
			   MAXALIGN(cap->wlen) - cap->wlen);
		wire_offset = cap->len;
		cap->len = total;
	}

	hdr = (hcEntryHeader *) cap->buf;
	memset(hdr, 0, cap->data_offset);
	if (wire_offset != 0)
	{
		hdr->wire_offset = wire_offset;
		hdr->wire_len = cap->wlen;
		hdr->wire_sig = hc_wire_writer_signature(cap->wire);
	}
	hdr->magic = HC_ENTRY_MAGIC;
	hdr->format = HC_FORMAT_VERSION;
	hdr->natts = cap->tupdesc->natts;
	hdr->ndeps = ndeps;
	hdr->nranges = nranges;
	hdr->data_offset = cap->data_offset;
	hdr->total_len = cap->len;
	hdr->ntuples = cap->ntuples;
	hdr->key = *key;
	hdr->dbid = dbid;
	hdr->epoch = epoch;
	hdr->created = created;
	hdr->exec_ms = exec_ms;
	memcpy(HDR_GENS(hdr), gens, ndeps * sizeof(uint64));
	set_ranges(hdr, ranges, rseqs);
	memcpy(HDR_DEPS(hdr), deps, ndeps * sizeof(Oid));
	atts = HDR_ATTS(hdr);
	for (i = 0; i < hdr->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(cap->tupdesc, i);

		atts[i].typid = att->atttypid;
		atts[i].typmod = att->atttypmod;
		atts[i].collation = att->attcollation;
	}
	*len = cap->len;
	return cap->buf;
}

/*
 * May this entry be served to a statement with this key, result shape and
 * dependencies, under the current generations, at time now with the
 * reader's TTL?
 */
bool
hc_entry_matches(const hcEntryHeader *hdr, const hcKey *key,
				 TupleDesc tupdesc, const Oid *deps, int ndeps,
				 const hcKeyRange *ranges, int nranges,
				 uint64 epoch, TimestampTz now, int ttl_s)
{
	hcEntryRange *er;
	pg_atomic_uint64 *marks[HC_MAX_RANGES];
	int			k;

	if (!hc_entry_fits(hdr, key, tupdesc, deps, ndeps, now, ttl_s))
		return false;
	if (hdr->epoch != epoch || hdr->nranges != (uint32) nranges)
		return false;
	/* the same key reads the same ranges; anything else is not this entry */
	er = HDR_RANGES(hdr);
	for (k = 0; k < nranges; k++)
	{
		if (er[k].range.dep != ranges[k].dep ||
			er[k].range.attno != ranges[k].attno ||
			er[k].range.lo != ranges[k].lo || er[k].range.hi != ranges[k].hi)
			return false;
		/* in shared memory, pinned by the caller: hits move the marks */
		marks[k] = &er[k].checked;
	}
	return hc_generations_current(deps, ndeps, HDR_GENS(hdr), ranges, nranges,
								  marks);
}

/*
 * The part of hc_entry_matches() that does not depend on this server's
 * generations: key, dependencies, result shape and the reader's TTL.  An
 * entry from L2 is checked with this (its freshness is decided in Redis).
 */
bool
hc_entry_fits(const hcEntryHeader *hdr, const hcKey *key,
			  TupleDesc tupdesc, const Oid *deps, int ndeps,
			  TimestampTz now, int ttl_s)
{
	const Oid  *hdeps;
	const hcAttSig *atts;
	int			i;

	if (hdr->magic != HC_ENTRY_MAGIC || hdr->format != HC_FORMAT_VERSION)
		return false;
	if (!hc_key_equal(&hdr->key, key))
		return false;
	if (hdr->ndeps != ndeps || hdr->natts != tupdesc->natts)
		return false;
	if (now - hdr->created >= (int64) ttl_s * USECS_PER_SEC)
		return false;

	hdeps = HDR_DEPS(hdr);
	for (i = 0; i < ndeps; i++)
		if (hdeps[i] != deps[i])
			return false;

	atts = HDR_ATTS(hdr);
	for (i = 0; i < hdr->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (atts[i].typid != att->atttypid ||
			atts[i].typmod != att->atttypmod ||
			atts[i].collation != att->attcollation)
			return false;
	}
	return true;
}

/*
 * Is blob (len bytes, MAXALIGNed) a well-formed entry for key in database
 * dbid?  Checks every length, so replaying it cannot read outside the
 * blob.  Used for entries that come from outside this server (L2).
 */
bool
hc_entry_validate(const char *blob, Size len, const hcKey *key, Oid dbid)
{
	const hcEntryHeader *hdr = (const hcEntryHeader *) blob;
	uint64		pos;
	uint64		n = 0;

	if (len < MAXALIGN(sizeof(hcEntryHeader)))
		return false;
	if (hdr->magic != HC_ENTRY_MAGIC || hdr->format != HC_FORMAT_VERSION ||
		hdr->total_len != len || hdr->dbid != dbid ||
		!hc_key_equal(&hdr->key, key) ||
		hdr->ndeps > HC_MAX_DEPS || hdr->natts > MaxTupleAttributeNumber ||
		hdr->nranges > HC_MAX_RANGES ||
		hdr->data_offset != header_size(hdr->ndeps, hdr->nranges, hdr->natts) ||
		hdr->data_offset > len)
		return false;
	if (hdr->wire_offset != 0)
	{
		if (hdr->wire_offset < hdr->data_offset || hdr->wire_offset > len ||
			hdr->wire_offset != MAXALIGN(hdr->wire_offset) ||
			hdr->wire_len > len - hdr->wire_offset ||
			MAXALIGN(hdr->wire_offset + hdr->wire_len) != len ||
			hdr->wire_sig == 0 ||
			!hc_wire_rows_validate(blob + hdr->wire_offset, hdr->wire_len,
								   hdr->natts, hdr->ntuples))
			return false;
		len = hdr->wire_offset;
	}
	for (pos = hdr->data_offset; pos < len; n++)
	{
		MinimalTuple mtup = (MinimalTuple) (blob + pos);

		if (len - pos < SizeofMinimalTupleHeader ||
			mtup->t_len < SizeofMinimalTupleHeader ||
			MAXALIGN(mtup->t_len) > len - pos ||
			(mtup->t_infomask2 & HEAP_NATTS_MASK) > hdr->natts ||
			mtup->t_hoff > mtup->t_len + MINIMAL_TUPLE_OFFSET)
			return false;
		pos += MAXALIGN(mtup->t_len);
	}
	return pos == len && n == hdr->ntuples;
}

/*
 * Give an entry from L2 this server's generations and key ranges before
 * storing it in L1; false if it has no room for this reader's ranges (it
 * was stored by a server reading the tables differently).
 */
bool
hc_entry_restamp(hcEntryHeader *hdr, const uint64 *gens,
				 const hcKeyRange *ranges, const uint64 *rseqs, int nranges,
				 uint64 epoch)
{
	if (hdr->nranges != (uint32) nranges)
		return false;
	hdr->epoch = epoch;
	memcpy(HDR_GENS(hdr), gens, hdr->ndeps * sizeof(uint64));
	set_ranges(hdr, ranges, rseqs);
	return true;
}

uint64
hc_entry_ntuples(const hcEntryHeader *hdr)
{
	return hdr->ntuples;
}

double
hc_entry_exec_ms(const hcEntryHeader *hdr)
{
	return hdr->exec_ms;
}

/* The descriptive fields of an entry, for hybridcache_entries(). */
void
hc_entry_describe(const hcEntryHeader *hdr, Oid *dbid, TimestampTz *created,
				  int *ndeps, const Oid **deps)
{
	*dbid = hdr->dbid;
	*created = hdr->created;
	*ndeps = hdr->ndeps;
	*deps = HDR_DEPS(hdr);
}

/*
 * Send up to count rows (0: all) from byte offset *pos on, as ExecutePlan
 * would: one es_processed per row accepted by the receiver.  Returns the
 * number of rows sent.  The entry must stay pinned meanwhile.
 */
uint64
hc_replay(const hcEntryHeader *hdr, uint64 *pos, TupleTableSlot *slot,
		  DestReceiver *dest, uint64 count, EState *estate)
{
	const char *base = (const char *) hdr;
	uint64		sent = 0;

	uint64		end = hdr->wire_offset ? hdr->wire_offset : hdr->total_len;

	if (*pos < hdr->data_offset)
		*pos = hdr->data_offset;

	while (*pos < end && (count == 0 || sent < count))
	{
		MinimalTuple mtup = (MinimalTuple) (base + *pos);

		CHECK_FOR_INTERRUPTS();

		*pos += MAXALIGN(mtup->t_len);
		ExecStoreMinimalTuple(mtup, slot, false);
		if (!dest->receiveSlot(slot, dest))
			break;
		estate->es_processed++;
		sent++;
	}
	ExecClearTuple(slot);
	return sent;
}

/* The signature of the entry's wire rows, 0 if it has none. */
uint64
hc_entry_wire_sig(const hcEntryHeader *hdr)
{
	return hdr->wire_offset ? hdr->wire_sig : 0;
}

/*
 * hc_replay() for the entry's wire rows: sends them to the client as they
 * are (the caller checked the signature).  *pos counts from the start of
 * the wire rows.
 */
uint64
hc_replay_wire(const hcEntryHeader *hdr, uint64 *pos, uint64 count,
			   EState *estate)
{
	Assert(hdr->wire_offset != 0);
	return hc_wire_replay((const char *) hdr + hdr->wire_offset,
						  hdr->wire_len, pos, count, estate);
}
