/*-------------------------------------------------------------------------
 *
 * l1_store.c
 *	  The shared-memory result store (L1): index, arena, CLOCK eviction.
 *
 * Three structures in the main shared memory segment, sized at server
 * start and never grown:
 *
 *	- the index, a partitioned fixed-size dynahash from hcKey to an entry
 *	  descriptor id (HASH_ENTER_NULL: a full index is a refused store,
 *	  never an error);
 *	- an array of entry descriptors, each with an atomic state word
 *	  (pin count, usage count, INDEXED flag) in the manner of buffer
 *	  descriptors;
 *	- the arena, a DSA area created in place with its size limit set to
 *	  its own size, so no DSM segment is ever created.  Blobs come from
 *	  it with DSA_ALLOC_NO_OOM; a failed allocation evicts and retries a
 *	  bounded number of times, then gives up (a miss, not an error).
 *
 * Locking rules:
 *	- A lookup takes the key's partition lock in shared mode, pins the
 *	  descriptor with a CAS on its state word, and releases the lock; the
 *	  caller replays from the blob without copying while the pin is held.
 *	- Inserting or removing an index entry takes the partition lock
 *	  exclusively.  A descriptor is only detached from the index
 *	  (INDEXED cleared) under that lock; pins are only taken under it in
 *	  shared mode, so an unpinned, detached descriptor can never gain a
 *	  pin again.  Whoever sees "unpinned and detached" last, via the CAS
 *	  that establishes it, frees the blob and returns the descriptor to
 *	  the free list.
 *	- Eviction is a CLOCK sweep over the descriptors (StrategyGetBuffer
 *	  style): a shared atomic hand, usage counts decremented on the way,
 *	  the victim re-checked under its partition lock.  No global lock is
 *	  taken on the hit path, and never two partition locks at once.
 *	- Pins are remembered per backend and released on every exit path:
 *	  the executor's memory-context callback, and on_shmem_exit.
 *
 * Single-flight: a backend about to run a statement to completion after a
 * miss first indexes a FILLING placeholder (a descriptor without a blob)
 * under the key.  Others that find it wait on its condition variable,
 * bounded by hybridcache.single_flight_timeout, and then look again.
 * Whoever detaches a placeholder (the filler's store, its abandon on
 * failure, error or exit, or another backend's store of the same key)
 * broadcasts on it.  Placeholders are never evicted or pinned.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/l1_store.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "hybridcache.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/condition_variable.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "utils/wait_event.h"
#include "portability/instr_time.h"
#include "utils/dsa.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

/* descriptor state word */
#define HC_REFCOUNT_MASK	0x0003FFFFU
#define HC_USAGE_SHIFT		18
#define HC_USAGE_ONE		(1U << HC_USAGE_SHIFT)
#define HC_USAGE_MASK		(0xFU << HC_USAGE_SHIFT)
#define HC_MAX_USAGE		5
#define HC_FLAG_INDEXED		(1U << 22)
#define HC_FLAG_FILLING		(1U << 23)	/* placeholder of a running miss */

#define STATE_REFCOUNT(s)	((s) & HC_REFCOUNT_MASK)
#define STATE_USAGE(s)		(((s) & HC_USAGE_MASK) >> HC_USAGE_SHIFT)

/* how many evictions one allocation may cause before it gives up */
#define HC_MAX_EVICTIONS_PER_STORE	256

typedef struct hcEntryDesc
{
	pg_atomic_uint32 state;
	int32		next_free;		/* free list link, -1 = end */
	hcKey		key;			/* valid while INDEXED or pinned */
	dsa_pointer blob;			/* invalid for a placeholder */
	Size		len;
	int			filler;			/* placeholder: pgprocno of its owner */
	uint64		fill_seq;		/* placeholder: owner's claim number */
	ConditionVariable cv;		/* placeholder: waiters for the filler */
} hcEntryDesc;

typedef struct hcIndexEntry
{
	hcKey		key;
	int32		desc;
} hcIndexEntry;

typedef struct hcL1Shared
{
	int			dsa_tranche;
	Size		arena_size;
	slock_t		free_mutex;
	int32		free_head;
	int32		ndescs;
	pg_atomic_uint32 clock_hand;
	pg_atomic_uint64 nentries;
	pg_atomic_uint64 bytes_used;
	hcEntryDesc descs[FLEXIBLE_ARRAY_MEMBER];
} hcL1Shared;

static hcL1Shared *l1 = NULL;
static HTAB *l1_index = NULL;
static char *l1_arena = NULL;
static dsa_area *area = NULL;

/* pins this backend holds, for cleanup on exit */
static int32 *my_pins = NULL;
static int	my_npins = 0;
static int	my_maxpins = 0;
static bool exit_callback_registered = false;

/* placeholders this backend owns, for cleanup on exit */
#define HC_MAX_PLACEHOLDERS 8
static int32 my_placeholders[HC_MAX_PLACEHOLDERS];
static uint64 my_placeholder_seqs[HC_MAX_PLACEHOLDERS];
static int	my_nplaceholders = 0;
static uint64 my_fill_seq = 0;

static bool forget_placeholder(int32 id, uint64 *seq);
static void abandon(int32 id, uint64 seq);

static uint32
key_hash(const void *key, Size keysize)
{
	return (uint32) ((const hcKey *) key)->lo;
}

static int
key_compare(const void *a, const void *b, Size keysize)
{
	return hc_key_equal((const hcKey *) a, (const hcKey *) b) ? 0 : 1;
}

static LWLock *
partition_lock(uint32 hashcode)
{
	return &hc_locks[hashcode % HC_NUM_PARTITIONS].lock;
}

static Size
descs_size(void)
{
	return add_size(offsetof(hcL1Shared, descs),
					mul_size(hc_max_entries, sizeof(hcEntryDesc)));
}

static Size
arena_size(void)
{
	return mul_size((Size) hc_shared_memory_kb, 1024);
}

Size
hc_l1_shmem_size(void)
{
	Size		size = MAXALIGN(descs_size());

	size = add_size(size, hash_estimate_size(hc_max_entries, sizeof(hcIndexEntry)));
	size = add_size(size, MAXALIGN(arena_size()));
	return size;
}

/* Create or attach to the L1 structures; caller holds AddinShmemInitLock. */
void
hc_l1_shmem_init(void)
{
	HASHCTL		info;
	bool		found;
	bool		arena_found;

	l1 = ShmemInitStruct("hybridcache l1", descs_size(), &found);

	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(hcKey);
	info.entrysize = sizeof(hcIndexEntry);
	info.hash = key_hash;
	info.match = key_compare;
	info.num_partitions = HC_NUM_PARTITIONS;
	l1_index = ShmemInitHash("hybridcache index",
							 hc_max_entries, hc_max_entries,
							 &info,
							 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE |
							 HASH_PARTITION | HASH_FIXED_SIZE);

	l1_arena = ShmemInitStruct("hybridcache arena", arena_size(), &arena_found);

	if (!found)
	{
		dsa_area   *creator;
		int			i;

		l1->arena_size = arena_size();
		SpinLockInit(&l1->free_mutex);
		l1->ndescs = hc_max_entries;
		pg_atomic_init_u32(&l1->clock_hand, 0);
		pg_atomic_init_u64(&l1->nentries, 0);
		pg_atomic_init_u64(&l1->bytes_used, 0);
		for (i = 0; i < l1->ndescs; i++)
		{
			pg_atomic_init_u32(&l1->descs[i].state, 0);
			l1->descs[i].next_free = (i + 1 < l1->ndescs) ? i + 1 : -1;
			l1->descs[i].blob = InvalidDsaPointer;
			ConditionVariableInit(&l1->descs[i].cv);
		}
		l1->free_head = 0;

		l1->dsa_tranche = LWLockNewTrancheId();
		creator = dsa_create_in_place(l1_arena, l1->arena_size,
									  l1->dsa_tranche, NULL);
		dsa_set_size_limit(creator, l1->arena_size);
		/* keep the creator's reference; drop only the local handle */
		dsa_detach(creator);
	}
}

static void
release_pins_at_exit(int code, Datum arg)
{
	hc_l1_release_all_pins();
	while (my_nplaceholders > 0)
		hc_l1_abandon(my_placeholders[my_nplaceholders - 1]);
}

/* Attach to the arena in this backend, once. */
static dsa_area *
get_area(void)
{
	if (area == NULL)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(TopMemoryContext);

		LWLockRegisterTranche(l1->dsa_tranche, "hybridcache_dsa");
		area = dsa_attach_in_place(l1_arena, NULL);
		dsa_pin_mapping(area);
		on_shmem_exit(dsa_on_shmem_exit_release_in_place,
					  PointerGetDatum(l1_arena));
		MemoryContextSwitchTo(oldcxt);
	}
	return area;
}

static void
remember_pin(int32 id)
{
	if (!exit_callback_registered)
	{
		/*
		 * on_shmem_exit, not before_shmem_exit: this can run inside a
		 * command's PG_ENSURE_ERROR_CLEANUP (CREATE DATABASE), which must
		 * find its own callback last on the before_shmem_exit list.
		 * Attach first, so that the pins are released (callbacks run in
		 * reverse order) before the arena is.
		 */
		(void) get_area();
		on_shmem_exit(release_pins_at_exit, (Datum) 0);
		exit_callback_registered = true;
	}
	if (my_npins >= my_maxpins)
	{
		int			newmax = Max(16, my_maxpins * 2);

		if (my_pins == NULL)
			my_pins = MemoryContextAlloc(TopMemoryContext, newmax * sizeof(int32));
		else
			my_pins = repalloc(my_pins, newmax * sizeof(int32));
		my_maxpins = newmax;
	}
	my_pins[my_npins++] = id;
}

/*
 * Forget one pin of id; false if this backend holds none (it was already
 * released, e.g. by the exit callback before a later transaction abort).
 */
static bool
forget_pin(int32 id)
{
	int			i;

	for (i = my_npins - 1; i >= 0; i--)
	{
		if (my_pins[i] == id)
		{
			my_pins[i] = my_pins[--my_npins];
			return true;
		}
	}
	return false;
}

/* Free a descriptor that is unpinned and detached from the index. */
static void
free_desc(int32 id)
{
	hcEntryDesc *desc = &l1->descs[id];

	if (DsaPointerIsValid(desc->blob))
	{
		dsa_free(get_area(), desc->blob);
		pg_atomic_sub_fetch_u64(&l1->bytes_used, desc->len);
		pg_atomic_sub_fetch_u64(&l1->nentries, 1);
	}
	desc->blob = InvalidDsaPointer;
	desc->len = 0;
	pg_atomic_write_u32(&desc->state, 0);

	SpinLockAcquire(&l1->free_mutex);
	desc->next_free = l1->free_head;
	l1->free_head = id;
	SpinLockRelease(&l1->free_mutex);
}

/* Pop a free descriptor, or -1. */
static int32
pop_free_desc(void)
{
	int32		id;

	SpinLockAcquire(&l1->free_mutex);
	id = l1->free_head;
	if (id >= 0)
		l1->free_head = l1->descs[id].next_free;
	SpinLockRelease(&l1->free_mutex);
	return id;
}

/*
 * Clear INDEXED on a descriptor just removed from the index (caller holds
 * the partition lock exclusively).  Returns true if it is also unpinned,
 * in which case the caller must free it after releasing the lock.
 */
static bool
detach_desc(hcEntryDesc *desc)
{
	uint32		old = pg_atomic_read_u32(&desc->state);

	for (;;)
	{
		uint32		new = old & ~HC_FLAG_INDEXED;

		if (pg_atomic_compare_exchange_u32(&desc->state, &old, new))
			return STATE_REFCOUNT(new) == 0;
	}
}

/*
 * Take the partition lock of descriptor id's key in mode, and check that
 * the index still maps that key to id.  Returns the lock, held, or NULL
 * (nothing held) when the descriptor is no longer indexed under its key.
 */
static LWLock *
lock_indexed_desc(int32 id, LWLockMode mode, hcKey *key, uint32 *hashcode)
{
	hcEntryDesc *desc = &l1->descs[id];
	LWLock	   *lock;
	hcIndexEntry *ent;

	*key = desc->key;
	*hashcode = key_hash(key, sizeof(hcKey));
	lock = partition_lock(*hashcode);
	LWLockAcquire(lock, mode);
	ent = hash_search_with_hash_value(l1_index, key, *hashcode, HASH_FIND, NULL);
	if (ent != NULL && ent->desc == id)
		return lock;
	LWLockRelease(lock);
	return NULL;
}

/*
 * Evict one entry with the CLOCK algorithm.  Returns false if a bounded
 * sweep found nothing evictable (everything pinned or in use).
 */
static bool
evict_one(void)
{
	uint32		limit = (uint32) l1->ndescs * (HC_MAX_USAGE + 1);
	uint32		i;

	for (i = 0; i < limit; i++)
	{
		int32		id = pg_atomic_fetch_add_u32(&l1->clock_hand, 1) % l1->ndescs;
		hcEntryDesc *desc = &l1->descs[id];
		uint32		s = pg_atomic_read_u32(&desc->state);
		hcKey		key;
		uint32		hashcode;
		LWLock	   *lock;
		bool		freed = false;

		if (!(s & HC_FLAG_INDEXED) || (s & HC_FLAG_FILLING) ||
			STATE_REFCOUNT(s) > 0)
			continue;
		if (STATE_USAGE(s) > 0)
		{
			(void) pg_atomic_compare_exchange_u32(&desc->state, &s, s - HC_USAGE_ONE);
			continue;
		}

		/* candidate: re-check under its partition lock */
		lock = lock_indexed_desc(id, LW_EXCLUSIVE, &key, &hashcode);
		if (lock == NULL)
			continue;
		s = pg_atomic_read_u32(&desc->state);
		if ((s & HC_FLAG_INDEXED) && !(s & HC_FLAG_FILLING) &&
			STATE_REFCOUNT(s) == 0)
		{
			hash_search_with_hash_value(l1_index, &key, hashcode, HASH_REMOVE, NULL);
			freed = detach_desc(desc);
		}
		LWLockRelease(lock);
		if (freed)
		{
			free_desc(id);
			hc_count_eviction();
			return true;
		}
	}
	return false;
}

/*
 * Find the entry for key and pin it.  Returns its blob, or NULL.  The
 * caller validates the blob and must call hc_l1_release(*desc_id).  When
 * another backend is filling the key, returns NULL with *filling_id set to
 * the placeholder (see hc_l1_wait_fill); otherwise *filling_id is -1.
 */
const hcEntryHeader *
hc_l1_lookup(const hcKey *key, int *desc_id, int *filling_id)
{
	uint32		hashcode = key_hash(key, sizeof(hcKey));
	LWLock	   *lock = partition_lock(hashcode);
	hcIndexEntry *ent;
	hcEntryDesc *desc = NULL;
	int32		id = -1;

	*filling_id = -1;
	if (l1 == NULL)
		return NULL;

	LWLockAcquire(lock, LW_SHARED);
	ent = hash_search_with_hash_value(l1_index, key, hashcode, HASH_FIND, NULL);
	if (ent != NULL)
	{
		uint32		old;

		id = ent->desc;
		desc = &l1->descs[id];
		old = pg_atomic_read_u32(&desc->state);
		if (old & HC_FLAG_FILLING)
		{
			/* another backend is computing it; nothing to pin */
			if (l1->descs[id].filler != MyProc->pgprocno)
				*filling_id = id;
			desc = NULL;
		}
		else
		{
			for (;;)
			{
				uint32		new = old + 1;

				if (STATE_USAGE(old) < HC_MAX_USAGE)
					new += HC_USAGE_ONE;
				if (pg_atomic_compare_exchange_u32(&desc->state, &old, new))
					break;
			}
		}
	}
	LWLockRelease(lock);

	if (desc == NULL)
		return NULL;

	remember_pin(id);
	*desc_id = id;
	return (const hcEntryHeader *) dsa_get_address(get_area(), desc->blob);
}

/*
 * Unpin; frees the entry if it was detached meanwhile.  Releasing a pin
 * this backend no longer holds is a no-op.
 */
void
hc_l1_release(int desc_id)
{
	hcEntryDesc *desc = &l1->descs[desc_id];
	uint32		old = pg_atomic_read_u32(&desc->state);
	uint32		new;

	if (!forget_pin(desc_id))
		return;
	for (;;)
	{
		Assert(STATE_REFCOUNT(old) > 0);
		new = old - 1;
		if (pg_atomic_compare_exchange_u32(&desc->state, &old, new))
			break;
	}
	if (STATE_REFCOUNT(new) == 0 && !(new & HC_FLAG_INDEXED))
		free_desc(desc_id);
}

/* Release every pin this backend still holds (process exit). */
void
hc_l1_release_all_pins(void)
{
	while (my_npins > 0)
		hc_l1_release(my_pins[my_npins - 1]);
}

/*
 * Point the index entry of key at descriptor id, detaching the descriptor
 * it pointed to: *old_id (-1 if none), which the caller must free when
 * *free_old.  With keep_filling, an entry another backend is filling is
 * left alone.  Returns false, changing nothing, in that case and when the
 * index is full.
 */
static bool
index_install(const hcKey *key, int32 id, bool keep_filling,
			  int32 *old_id, bool *free_old)
{
	uint32		hashcode = key_hash(key, sizeof(hcKey));
	LWLock	   *lock = partition_lock(hashcode);
	hcIndexEntry *ent;
	bool		found;
	bool		installed = false;

	*old_id = -1;
	*free_old = false;
	LWLockAcquire(lock, LW_EXCLUSIVE);
	ent = hash_search_with_hash_value(l1_index, key, hashcode, HASH_ENTER_NULL, &found);
	if (ent != NULL &&
		!(found && keep_filling &&
		  (pg_atomic_read_u32(&l1->descs[ent->desc].state) & HC_FLAG_FILLING)))
	{
		if (found)
		{
			*old_id = ent->desc;
			*free_old = detach_desc(&l1->descs[*old_id]);
		}
		ent->desc = id;
		installed = true;
	}
	LWLockRelease(lock);
	return installed;
}

/*
 * Store a blob under key, replacing any previous entry.  Evicts as needed.
 * Returns false when no room could be made; never raises an error for
 * lack of space.
 */
bool
hc_l1_store(const hcKey *key, const char *blob, Size len, int placeholder_id)
{
	dsa_area   *a;
	dsa_pointer dp = InvalidDsaPointer;
	int32		id = -1;
	hcEntryDesc *desc;
	int32		old_id;
	bool		free_old;
	int			evictions = 0;

	uint64		seq = 0;

	if (placeholder_id >= 0 && !forget_placeholder(placeholder_id, &seq))
		placeholder_id = -1;
	if (l1 == NULL || len > l1->arena_size / 2)
	{
		if (placeholder_id >= 0)
			abandon(placeholder_id, seq);
		return false;
	}
	a = get_area();

	for (;;)
	{
		dp = dsa_allocate_extended(a, len, DSA_ALLOC_NO_OOM | DSA_ALLOC_HUGE);
		if (DsaPointerIsValid(dp))
			break;
		if (evictions++ >= HC_MAX_EVICTIONS_PER_STORE || !evict_one())
		{
			if (placeholder_id >= 0)
				abandon(placeholder_id, seq);
			return false;
		}
	}

	for (;;)
	{
		id = pop_free_desc();
		if (id >= 0)
			break;
		if (evictions++ >= HC_MAX_EVICTIONS_PER_STORE || !evict_one())
		{
			dsa_free(a, dp);
			if (placeholder_id >= 0)
				abandon(placeholder_id, seq);
			return false;
		}
	}

	memcpy(dsa_get_address(a, dp), blob, len);
	desc = &l1->descs[id];
	desc->key = *key;
	desc->blob = dp;
	desc->len = len;
	pg_atomic_write_u32(&desc->state, HC_FLAG_INDEXED | HC_USAGE_ONE);
	pg_atomic_add_fetch_u64(&l1->bytes_used, len);
	pg_atomic_add_fetch_u64(&l1->nentries, 1);

	if (!index_install(key, id, false, &old_id, &free_old))
	{
		/* index full: cannot happen with one slot per descriptor, but be safe */
		pg_atomic_write_u32(&desc->state, 0);
		free_desc(id);
		if (placeholder_id >= 0)
			abandon(placeholder_id, seq);
		return false;
	}
	if (old_id >= 0 && !DsaPointerIsValid(l1->descs[old_id].blob))
		ConditionVariableBroadcast(&l1->descs[old_id].cv);
	if (free_old)
		free_desc(old_id);
	return true;
}

/*
 * Index a FILLING placeholder for key, announcing that this backend is
 * about to compute it.  Returns the placeholder, or -1 when another backend
 * is already filling the key or no descriptor is free.  A stale entry under
 * the key is replaced.
 */
int
hc_l1_claim(const hcKey *key)
{
	int32		id = -1;
	hcEntryDesc *desc;
	int32		old_id;
	bool		free_old;
	int			evictions = 0;

	if (l1 == NULL || my_nplaceholders >= HC_MAX_PLACEHOLDERS)
		return -1;
	(void) get_area();

	for (;;)
	{
		id = pop_free_desc();
		if (id >= 0)
			break;
		if (evictions++ >= HC_MAX_EVICTIONS_PER_STORE || !evict_one())
			return -1;
	}
	desc = &l1->descs[id];
	desc->key = *key;
	desc->blob = InvalidDsaPointer;
	desc->len = 0;
	desc->filler = MyProc->pgprocno;
	desc->fill_seq = ++my_fill_seq;
	pg_atomic_write_u32(&desc->state, HC_FLAG_INDEXED | HC_FLAG_FILLING);

	if (!index_install(key, id, true, &old_id, &free_old))
	{
		/* someone else is filling it (or the index is full) */
		pg_atomic_write_u32(&desc->state, 0);
		free_desc(id);
		return -1;
	}
	if (free_old)
		free_desc(old_id);
	my_placeholders[my_nplaceholders] = id;
	my_placeholder_seqs[my_nplaceholders] = desc->fill_seq;
	my_nplaceholders++;
	return id;
}

/*
 * Remove id from this backend's placeholders, returning its claim number;
 * false if it was not there.
 */
static bool
forget_placeholder(int32 id, uint64 *seq)
{
	int			i;

	for (i = 0; i < my_nplaceholders; i++)
	{
		if (my_placeholders[i] == id)
		{
			*seq = my_placeholder_seqs[i];
			my_nplaceholders--;
			my_placeholders[i] = my_placeholders[my_nplaceholders];
			my_placeholder_seqs[i] = my_placeholder_seqs[my_nplaceholders];
			return true;
		}
	}
	return false;
}

/*
 * Take this backend's placeholder out of the index, if it is still there,
 * wake its waiters and free it.
 */
static void
abandon(int32 id, uint64 seq)
{
	hcEntryDesc *desc = &l1->descs[id];
	hcKey		key;
	uint32		hashcode;
	LWLock	   *lock;
	bool		freed = false;

	lock = lock_indexed_desc(id, LW_EXCLUSIVE, &key, &hashcode);
	if (lock != NULL)
	{
		uint32		s = pg_atomic_read_u32(&desc->state);

		if ((s & HC_FLAG_FILLING) && desc->filler == MyProc->pgprocno &&
			desc->fill_seq == seq)
		{
			hash_search_with_hash_value(l1_index, &key, hashcode, HASH_REMOVE, NULL);
			freed = detach_desc(desc);
		}
		LWLockRelease(lock);
	}
	ConditionVariableBroadcast(&desc->cv);
	if (freed)
		free_desc(id);
}

/* The filler gives up (error, refused store, partial fetch, exit). */
void
hc_l1_abandon(int placeholder_id)
{
	uint64		seq;

	if (placeholder_id >= 0 && forget_placeholder(placeholder_id, &seq))
		abandon(placeholder_id, seq);
}

/*
 * Wait, at most timeout_ms, for the placeholder id of key to be replaced
 * or abandoned.  Returns false on timeout.
 */
bool
hc_l1_wait_fill(int id, const hcKey *key, int timeout_ms)
{
	hcEntryDesc *desc = &l1->descs[id];
	instr_time	start;
	instr_time	now;
	bool		done = true;

	INSTR_TIME_SET_CURRENT(start);
	ConditionVariablePrepareToSleep(&desc->cv);
	for (;;)
	{
		uint32		s = pg_atomic_read_u32(&desc->state);
		long		remaining;

		if (!(s & HC_FLAG_INDEXED) || !(s & HC_FLAG_FILLING) ||
			!hc_key_equal(&desc->key, key))
			break;
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		remaining = timeout_ms - (long) INSTR_TIME_GET_MILLISEC(now);
		if (remaining <= 0)
		{
			done = false;
			break;
		}
		(void) ConditionVariableTimedSleep(&desc->cv, remaining, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return done;
}

/* Call visit for a pinned entry and unpin it, also on error. */
static void
visit_pinned(int32 id, int usage, int pins, hcEntryVisitor visit, void *arg)
{
	hcEntryDesc *desc = &l1->descs[id];

	remember_pin(id);
	PG_TRY();
	{
		visit((const hcEntryHeader *) dsa_get_address(get_area(), desc->blob),
			  desc->len, usage, pins, arg);
	}
	PG_FINALLY();
	{
		hc_l1_release(id);
	}
	PG_END_TRY();
}

/*
 * Call visit for every entry, pinned for the duration of the call, and
 * with a NULL header for every placeholder of a result being computed.
 * For diagnostics: takes each entry's partition lock once, in shared mode.
 */
void
hc_l1_foreach(hcEntryVisitor visit, void *arg)
{
	int32		id;

	if (l1 == NULL)
		return;
	for (id = 0; id < l1->ndescs; id++)
	{
		hcEntryDesc *desc = &l1->descs[id];
		uint32		s = pg_atomic_read_u32(&desc->state);
		hcKey		key;
		uint32		hashcode;
		LWLock	   *lock;
		uint32		old;

		if (!(s & HC_FLAG_INDEXED))
			continue;
		if (s & HC_FLAG_FILLING)
		{
			/* a result being computed: nothing to pin or show but that */
			visit(NULL, 0, 0, 0, arg);
			continue;
		}
		lock = lock_indexed_desc(id, LW_SHARED, &key, &hashcode);
		if (lock == NULL)
			continue;
		if (pg_atomic_read_u32(&desc->state) & HC_FLAG_FILLING)
		{
			LWLockRelease(lock);
			continue;
		}
		/* pin without counting a use */
		old = pg_atomic_fetch_add_u32(&desc->state, 1);
		LWLockRelease(lock);

		visit_pinned(id, STATE_USAGE(old), STATE_REFCOUNT(old), visit, arg);
	}
}

/* Number of entries, bytes they use, and the arena size. */
void
hc_l1_usage(int64 *entries, int64 *bytes_used, int64 *bytes_limit)
{
	if (l1 == NULL)
	{
		*entries = *bytes_used = *bytes_limit = 0;
		return;
	}
	*entries = (int64) pg_atomic_read_u64(&l1->nentries);
	*bytes_used = (int64) pg_atomic_read_u64(&l1->bytes_used);
	*bytes_limit = (int64) l1->arena_size;
}
