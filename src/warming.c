/*-------------------------------------------------------------------------
 *
 * warming.c
 *	  Cache warming: hybridcache_warm() and the warming background workers.
 *
 * The queries to warm are rows of the table hybridcache.warm_queries (query
 * text, the role to run it as, enabled), in a schema of its own so that the
 * extension adds no table to the schemas applications look at.
 * hybridcache_warm() runs each enabled query as its role, in its own
 * subtransaction so that one failing query does not stop the others, with
 * the executor hooks told to treat it as a top-level statement sent to a
 * client: a miss stores its result exactly as an application's statement
 * would.  Privileges are those of the declared role.  The outcome of each
 * query is recorded in the table (last_warmed, last_result).
 *
 * At server start, one background worker per database named in
 * hybridcache.warm_databases connects to it and calls hybridcache_warm()
 * if the extension is installed there.  The workers start after recovery
 * and never delay it or client connections.  With
 * hybridcache.warm_after_invalidate_all, hybridcache_invalidate_all()
 * starts such a worker for its database, which first waits for the
 * invalidating transaction to end, so it warms from the new state.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/warming.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "hybridcache.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"

PG_FUNCTION_INFO_V1(hybridcache_warm);

PGDLLEXPORT void hybridcache_warm_main(Datum main_arg);

/* Is the query one SELECT?  Anything else is refused, not run. */
static bool
is_single_select(const char *query)
{
	List	   *parsed = raw_parser(query, RAW_PARSE_DEFAULT);

	return list_length(parsed) == 1 &&
		IsA(linitial_node(RawStmt, parsed)->stmt, SelectStmt);
}

/*
 * Warm one query as roleid in a subtransaction; returns the outcome text.
 * Errors are caught and become the outcome.
 */
static char *
warm_one(const char *query, Oid roleid)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Oid			save_userid;
	int			save_sec;
	char	   *outcome = NULL;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		SetUserIdAndSecContext(roleid, save_sec | SECURITY_LOCAL_USERID_CHANGE);
		outcome = pstrdup(hc_warm_query(query));
		SetUserIdAndSecContext(save_userid, save_sec);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		SetUserIdAndSecContext(save_userid, save_sec);
		outcome = psprintf("error: %s", edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return outcome;
}

/*
 * hybridcache_warm(): run every enabled query of hybridcache.warm_queries
 * and return (id, outcome) for each.
 */
Datum
hybridcache_warm(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *nspname = hc_extension_schema();
	const char *table;
	MemoryContext callcxt = CurrentMemoryContext;
	int			nrows;
	int32	   *ids;
	char	  **queries;
	char	  **roles;
	int			i;

	if (nspname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database", "hybridcache")));
	table = "hybridcache.warm_queries";
	InitMaterializedSRF(fcinfo, 0);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* read the list first: warming must not see its own updates */
	if (SPI_execute(psprintf("SELECT id, query, role_name FROM %s WHERE enabled ORDER BY id",
							 table), true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read %s", table);
	nrows = (int) SPI_processed;
	ids = MemoryContextAlloc(callcxt, sizeof(int32) * Max(nrows, 1));
	queries = MemoryContextAlloc(callcxt, sizeof(char *) * Max(nrows, 1));
	roles = MemoryContextAlloc(callcxt, sizeof(char *) * Max(nrows, 1));
	for (i = 0; i < nrows; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		ids[i] = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
		queries[i] = MemoryContextStrdup(callcxt, SPI_getvalue(tup, desc, 2));
		roles[i] = MemoryContextStrdup(callcxt, SPI_getvalue(tup, desc, 3));
	}

	for (i = 0; i < nrows; i++)
	{
		Oid			roleid = get_role_oid(roles[i], true);
		char	   *outcome;
		Datum		values[2];
		bool		nulls[2] = {0};
		Oid			argtypes[2] = {TEXTOID, INT4OID};
		Datum		args[2];

		CHECK_FOR_INTERRUPTS();
		if (!OidIsValid(roleid))
			outcome = psprintf("error: role \"%s\" does not exist", roles[i]);
		else if (!is_single_select(queries[i]))
			outcome = pstrdup("error: not a single SELECT statement");
		else if (!has_privs_of_role(GetUserId(), roleid))
			outcome = psprintf("error: permission denied to run as role \"%s\"", roles[i]);
		else
			outcome = warm_one(queries[i], roleid);

		args[0] = CStringGetTextDatum(outcome);
		args[1] = Int32GetDatum(ids[i]);
		SPI_execute_with_args(psprintf("UPDATE %s SET last_warmed = now(), last_result = $1 WHERE id = $2",
									   table), 2, argtypes, args, NULL, false, 0);

		values[0] = Int32GetDatum(ids[i]);
		values[1] = CStringGetTextDatum(outcome);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}

	SPI_finish();
	return (Datum) 0;
}

/* A warming worker for dbname. */
static void
fill_worker(BackgroundWorker *worker, const char *dbname)
{
	memset(worker, 0, sizeof(*worker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker->bgw_library_name, "hybridcache", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, "hybridcache_warm_main", BGW_MAXLEN);
	snprintf(worker->bgw_name, BGW_MAXLEN, "hybridcache warmer for database %s", dbname);
	strlcpy(worker->bgw_type, "hybridcache warmer", BGW_MAXLEN);
	strlcpy(worker->bgw_extra, dbname, BGW_EXTRALEN);
}

/*
 * Register one warming worker per database of hybridcache.warm_databases;
 * called from _PG_init in the postmaster.
 */
void
hc_warming_register_workers(void)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;

	if (hc_warm_databases == NULL || hc_warm_databases[0] == '\0')
		return;
	raw = pstrdup(hc_warm_databases);
	if (!SplitIdentifierString(raw, ',', &names))
	{
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid list syntax in parameter \"%s\"", "hybridcache.warm_databases"),
				 errdetail("No database will be warmed.")));
		return;
	}
	foreach(lc, names)
	{
		BackgroundWorker worker;

		fill_worker(&worker, lfirst(lc));
		RegisterBackgroundWorker(&worker);
	}
}

/*
 * Called by hybridcache_invalidate_all(): start a worker that warms this
 * database again once the current transaction has ended.
 */
void
hc_warming_after_invalidate_all(void)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	char	   *dbname = get_database_name(MyDatabaseId);

	fill_worker(&worker, dbname);
	worker.bgw_main_arg = TransactionIdGetDatum(GetTopTransactionId());
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a worker to warm the cache again"),
				 errhint("Consider increasing the configuration parameter \"%s\".",
						 "max_worker_processes")));
}

/* Background worker: warm the database named in bgw_extra, then exit. */
void
hybridcache_warm_main(Datum main_arg)
{
	char		dbname[BGW_EXTRALEN];
	char	   *nspname;

	strlcpy(dbname, MyBgworkerEntry->bgw_extra, BGW_EXTRALEN);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(dbname, NULL, 0);
	pgstat_report_appname("hybridcache warmer");

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (DatumGetTransactionId(main_arg) != InvalidTransactionId)
	{
		/* warm only once the invalidate_all that asked for it has ended */
		pgstat_report_activity(STATE_RUNNING, "waiting for an invalidating transaction to end");
		XactLockTableWait(DatumGetTransactionId(main_arg), NULL, NULL, XLTW_None);
	}
	nspname = hc_extension_schema();
	if (nspname == NULL)
		ereport(LOG,
				(errmsg("hybridcache is not installed in database \"%s\", nothing to warm", dbname)));
	else
	{
		int			ret;

		pgstat_report_activity(STATE_RUNNING, "warming the query result cache");
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		ret = SPI_execute(psprintf("SELECT count(*) FILTER (WHERE outcome = 'stored'), count(*) FROM %s.hybridcache_warm()",
								   quote_identifier(nspname)),
						  false, 0);
		if (ret == SPI_OK_SELECT && SPI_processed == 1)
		{
			bool		isnull;
			int64		stored = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
															 SPI_tuptable->tupdesc, 1, &isnull));
			int64		total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
															SPI_tuptable->tupdesc, 2, &isnull));

			ereport(LOG,
					(errmsg("hybridcache warmed database \"%s\": " INT64_FORMAT " of " INT64_FORMAT " queries stored",
							dbname, stored, total)));
		}
		SPI_finish();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}
