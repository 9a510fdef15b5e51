/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The hybridcache background worker: Redis heartbeat and stream.
 *
 * One worker per server, started once the server is consistent (so it
 * also runs on hot standbys) and restarted if it dies.  Without
 * hybridcache.redis_url it only sleeps and waits for a configuration
 * reload.  With it, it calls hc_l2_worker_tick() (l2_redis.c) in a loop:
 * on a primary that refreshes the heartbeat that lets every server use
 * L2, appends heartbeats to the stream the standbys follow, and bumps the
 * L2 epoch when a write could not be registered in Redis; it runs every
 * 100 ms at most, and as soon as a writer that registered in Redis
 * commits (the writer sets the worker's latch).  On a standby the tick
 * follows the stream into the local cache, blocking on Redis while
 * there is nothing new.  Either way a successful round trip closes the
 * circuit breaker, so backends stop skipping Redis as soon as it is back.
 *
 * The worker has no database connection and takes no locks besides
 * hybridcache's own; it never delays startup, recovery or shutdown.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PGDLLEXPORT void hybridcache_worker_main(Datum main_arg);

/* Register the worker; called from _PG_init. */
void
hc_worker_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "hybridcache", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "hybridcache_worker_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "hybridcache worker", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "hybridcache worker", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

static void
worker_exit(int code, Datum arg)
{
	hc_l2_worker_exit();
}

void
hybridcache_worker_main(Datum main_arg)
{
	MemoryContext tick_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	before_shmem_exit(worker_exit, (Datum) 0);

	/* what one round allocates (keys, commands) is freed after it */
	tick_cxt = AllocSetContextCreate(TopMemoryContext, "hybridcache worker round",
									 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		long		timeout_ms;
		MemoryContext oldcxt;

		if (ShutdownRequestPending)
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			hc_l2_config_reloaded();
		}

		oldcxt = MemoryContextSwitchTo(tick_cxt);
		timeout_ms = hc_l2_worker_tick();
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(tick_cxt);
		if (timeout_ms > 0)
		{
			(void) WaitLatch(MyLatch,
							 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 timeout_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
	proc_exit(0);
}
