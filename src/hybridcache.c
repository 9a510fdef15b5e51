/*-------------------------------------------------------------------------
 *
 * hybridcache.c
 *	  Module entry point: preload check, GUCs, hooks and shared memory.
 *
 * hybridcache only works when loaded through shared_preload_libraries: its
 * cache lives in shared memory reserved at server start.  When the library
 * is loaded any other way (for instance by CREATE EXTENSION in a server
 * that does not preload it) _PG_init installs nothing, and the SQL
 * functions report that the library must be preloaded.
 *
 * Shared memory is laid out by the modules that own it (l1_store.c,
 * invalidation.c, stats.c, query_stats.c, l2_redis.c); this file only requests the total and calls
 * their initialisers under AddinShmemInitLock.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/hybridcache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

LWLockPadded *hc_locks = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void hc_shmem_request(void);
static void hc_shmem_startup(void);

/*
 * Module load callback.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	hc_define_gucs();
	hc_warming_register_workers();
	hc_worker_register();

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = hc_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = hc_shmem_startup;

	hc_install_hooks();
	hc_l2_init_scripts();
	hc_plan_reuse_init();
	hc_plan_stub_init();
	hc_invalidation_init();
	hc_eligibility_init();
}

/* shmem_request hook: reserve shared memory and our LWLocks */
static void
hc_shmem_request(void)
{
	Size		size;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	size = hc_l1_shmem_size();
	size = add_size(size, hc_invalidation_shmem_size());
	size = add_size(size, hc_stats_shmem_size());
	size = add_size(size, hc_query_stats_shmem_size());
	size = add_size(size, hc_l2_shmem_size());
	RequestAddinShmemSpace(size);
	RequestNamedLWLockTranche("hybridcache", HC_NUM_PARTITIONS + HC_LOCK_EXTRA);
}

/* shmem_startup hook: create or attach to the shared structures */
static void
hc_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	hc_locks = GetNamedLWLockTranche("hybridcache");
	hc_invalidation_shmem_init();
	hc_stats_shmem_init();
	hc_query_stats_shmem_init();
	hc_l2_shmem_init();
	hc_l1_shmem_init();
	LWLockRelease(AddinShmemInitLock);
}
