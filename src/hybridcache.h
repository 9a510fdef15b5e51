/*-------------------------------------------------------------------------
 *
 * hybridcache.h
 *	  Declarations shared between the modules of the hybridcache extension.
 *
 * Each module owns one responsibility (see DESIGN.md "Modules"); this
 * header holds only what crosses module boundaries: GUC variables, the
 * cache key, the per-plan analysis result and the entry points of each
 * module.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/hybridcache.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef HYBRIDCACHE_H
#define HYBRIDCACHE_H

#include "executor/execdesc.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "nodes/plannodes.h"
#include "access/transam.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

/* Version of the L1/L2 entry format; bump on any layout change. */
#define HC_FORMAT_VERSION	4

/* Most dependency relations one cached query may have. */
#define HC_MAX_DEPS			256

/* Most dependencies one cached query may read by key range (key_ranges.c). */
#define HC_MAX_RANGES		8
#define HC_RANGE_MAX_TERMS	16

/* Most current_setting() names one cached query may depend on. */
#define HC_MAX_SETTINGS		8

/*---- GUC variables (guc.c) ----*/
extern bool hc_enabled;
extern int	hc_ttl_s;
extern char *hc_table_ttl_string;
extern int	hc_shared_memory_kb;
extern int	hc_max_entries;
extern int	hc_max_entry_size_kb;
extern double hc_min_exec_time_ms;
extern bool hc_auto_watch;
extern int	hc_single_flight_timeout_ms;
extern int	hc_max_query_stats;
extern bool hc_debug_check_fingerprint;
extern bool hc_standby_l1;
extern bool hc_reuse_plans;
extern bool hc_wire_rows;
extern bool hc_key_ranges;

/* Redis (L2) settings; hc_redis_target is NULL when L2 is off */
typedef struct hcRedisTarget
{
	bool		is_unix;		/* Unix-domain socket at path */
	char		host[64];		/* numeric address */
	int			port;
	char		path[1024];
	char		user[128];		/* empty: no user name */
	char		password[256];	/* empty: no AUTH */
	int			db;				/* SELECT db, 0: default */
	char		display[160];	/* host:port or path, no credentials */
} hcRedisTarget;

extern const hcRedisTarget *hc_redis_target;
extern uint32 hc_redis_target_version;	/* bumped on every change */
extern char *hc_redis_url;
extern char *hc_redis_secret;
extern char *hc_redis_password_file;
extern char *hc_redis_prefix;
extern int	hc_redis_timeout_ms;
extern int	hc_redis_backoff_min_ms;
extern int	hc_redis_backoff_max_ms;
extern int	hc_redis_heartbeat_timeout_ms;
extern double hc_l2_min_exec_time_ms;

extern void hc_define_gucs(void);
extern int	hc_relation_ttl_s(Oid relid);
extern void hc_table_ttl_forget(Oid relid);

/*---- the cache key ----*/
typedef struct hcKey
{
	uint64		hi;
	uint64		lo;
} hcKey;

static inline bool
hc_key_equal(const hcKey *a, const hcKey *b)
{
	return a->hi == b->hi && a->lo == b->lo;
}

/*---- reasons for not serving/storing a statement (stats.c has names) ----*/
typedef enum hcBypassReason
{
	HC_BYPASS_NONE = 0,
	HC_BYPASS_DISABLED,			/* hybridcache.enabled = off */
	HC_BYPASS_HINT,				/* leading comment "hybridcache: off" */
	HC_BYPASS_NOT_INSTALLED,	/* extension not created in this database */
	HC_BYPASS_NESTED,			/* inside a function, utility statement, ... */
	HC_BYPASS_DESTINATION,		/* results not going straight to the client */
	HC_BYPASS_CURSOR,			/* scrollable/rewindable or backward fetch */
	HC_BYPASS_INSTRUMENTED,		/* EXPLAIN ANALYZE, auto_explain analyze */
	HC_BYPASS_ISOLATION,		/* REPEATABLE READ / SERIALIZABLE: no hits */
	HC_BYPASS_OWN_WRITE,		/* this transaction wrote a dependency */
	HC_BYPASS_RECOVERY,			/* hot standby: writes are not observed */
	HC_BYPASS_STATEMENT,		/* not a plain SELECT (locking, modifying CTE) */
	HC_BYPASS_NO_RELATION,		/* reads no table: nothing worth caching */
	HC_BYPASS_MUTABLE_FUNCTION, /* volatile or stable function */
	HC_BYPASS_RELATION_KIND,	/* catalog, temp, foreign, sequence, ... */
	HC_BYPASS_UNWATCHED_SUBSCRIPTION,	/* subscribed table without trigger */
	HC_BYPASS_TABLESAMPLE,
	HC_BYPASS_UNSUPPORTED_NODE, /* plan node this version does not know */
	HC_BYPASS_RECORD_RESULT,	/* anonymous record column in the result */
	HC_BYPASS_TOO_MANY_DEPS,
	HC_BYPASS_TTL_ZERO,			/* a TTL of 0 applies */
	HC_BYPASS_PARAMS,			/* dynamic parameter hooks */
	HC_BYPASS_TOO_LARGE,		/* result exceeded hybridcache.max_entry_size */
	HC_BYPASS_INCOMPLETE,		/* portal closed before the end */
	HC_BYPASS_CHEAP,			/* below hybridcache.min_exec_time */
	HC_BYPASS_NUM_REASONS
} hcBypassReason;

/*
 * What one walk over a PlannedStmt found out (eligibility.c).  Memoised per
 * cached plan together with the plan's base fingerprint (fingerprint.c).
 */
typedef struct hcPlanInfo
{
	hcBypassReason verdict;		/* HC_BYPASS_NONE when cacheable */
	bool		depends_on_role;	/* RLS, current_user, ... */
	bool		calls_user_functions;	/* any function not built in */
	int			ndeps;
	Oid			deps[HC_MAX_DEPS];	/* relations, with partition ancestors */
	int			nsettings;
	char	   *settings[HC_MAX_SETTINGS];	/* current_setting() names */
	hcKey		plan_key;		/* normalised plan hash (no params/role) */
	/* admission: the last measured execution time, and how often since */
	double		last_exec_ms;
	uint32		measured;		/* complete executions measured */
	uint32		skipped;		/* misses not captured since */
	/* memoised with a plan that lives across executions (fingerprint.c) */
	bool		memoised;
	uint32		starts;			/* recorded ExecutorStarts (plan_stub.c) */
	struct hcPlanStub *stub;	/* for hits without initialising the plan */
	/* dependencies read by key range, and how (key_ranges.c) */
	int			nranges;
	struct hcRangeSpec *ranges;
} hcPlanInfo;

/*
 * The rows of dependency deps[dep] a statement can read, or a write can
 * touch: those whose column attno lies in [lo, hi] (empty when lo > hi).
 * Part of the entry format.
 */
typedef struct hcKeyRange
{
	int32		dep;
	int16		attno;
	int16		pad;
	int64		lo;
	int64		hi;
} hcKeyRange;

/*---- eligibility.c ----*/
extern void hc_eligibility_init(void);
extern void hc_analyze_plan(PlannedStmt *pstmt, hcPlanInfo *info);
extern bool hc_tupdesc_cacheable(TupleDesc tupdesc);

/*---- key_hash.c ----*/
extern void hc_hash_bytes(const void *data, Size len, hcKey *key);

/*---- fingerprint.c ----*/
extern void hc_check_query_hash(Query *query, const hcKey *walker_key);
extern const hcPlanInfo *hc_plan_info(PlannedStmt *pstmt);
extern const hcPlanInfo *hc_plan_info_memoised(PlannedStmt *pstmt);
extern void hc_statement_key(const hcPlanInfo *info, ParamListInfo params,
							 hcKey *key);
extern bool hc_params_usable(ParamListInfo params);
extern void hc_params_hash(ParamListInfo params, hcKey *key);
extern bool hc_plan_known_cheap(const hcPlanInfo *info);
extern void hc_plan_measured(const hcPlanInfo *info, double exec_ms);

/*---- key_ranges.c ----*/
typedef struct hcRangeSpec hcRangeSpec;
extern void hc_key_ranges_analyze(PlannedStmt *pstmt, hcPlanInfo *info);
extern int	hc_key_ranges_compute(const hcPlanInfo *info, ParamListInfo params,
								  hcKeyRange *out);
extern bool hc_write_key_range(QueryDesc *qd, Oid *relid, hcKeyRange *range);
extern bool hc_key_ranges_overlap(int64 lo1, int64 hi1, int64 lo2, int64 hi2);

/*---- plan_hash.c ----*/
extern bool hc_plan_hash(const PlannedStmt *pstmt, hcKey *key);
extern bool hc_query_hash(const Query *query, hcKey *key);

/*---- plan_reuse.c ----*/
extern void hc_plan_reuse_init(void);
extern void hc_plan_reuse_learn(QueryDesc *qd);
extern void hc_plan_reuse_starting(QueryDesc *qd);
extern void hc_plan_reuse_resolve(QueryDesc *qd);
extern void hc_bind_params_key(ParamListInfo params, hcKey *key);
extern void hc_plan_reuse_reset(void);
extern MemoryContext hc_kept_plan_context(PlannedStmt *pstmt);

/*---- plan_stub.c ----*/
#define HC_MAX_STUB_FUNCS	64

typedef struct hcPlanStub
{
	uint64		generation;		/* valid while it is current */
	TupleDesc	tupdesc;		/* the plan's result row type */
	Result	   *result;			/* initialised instead of the plan; empty */
	int			nfuncs;
	Oid			funcs[FLEXIBLE_ARRAY_MEMBER];	/* EXECUTE checks of its start */
} hcPlanStub;

extern void hc_plan_stub_init(void);
extern void hc_stub_record_begin(void);
extern void hc_stub_record_end(void);
extern void hc_stub_learn(PlannedStmt *pstmt, hcPlanInfo *info,
						  bool reused_plan);
extern const hcPlanStub *hc_stub_valid(const hcPlanInfo *info);
extern void hc_stub_result_type(const hcPlanStub *stub, QueryDesc *qd);
extern PlannedStmt *hc_stub_statement(const hcPlanStub *stub,
									  PlannedStmt *real);

/*---- invalidation.c ----*/
extern Size hc_invalidation_shmem_size(void);
extern void hc_invalidation_shmem_init(void);
extern void hc_invalidation_init(void);
extern void hc_register_write(Oid relid);
extern void hc_register_plan_writes(QueryDesc *queryDesc);
extern void hc_register_utility_writes(Node *parsetree);
extern bool hc_wrote_any(const Oid *relids, int n);
extern uint64 hc_current_epoch(void);
extern void hc_apply_remote_write(Oid dbid, Oid relid, FullTransactionId fxid);
extern void hc_apply_remote_flush(FullTransactionId floor);
extern void hc_read_generations(const Oid *deps, int ndeps,
								const hcKeyRange *ranges, int nranges,
								uint64 *gens, uint64 *rseqs);
extern bool hc_generations_current(const Oid *deps, int ndeps,
								   const uint64 *gens,
								   const hcKeyRange *ranges, int nranges,
								   pg_atomic_uint64 **marks);
extern bool hc_store_allowed(const Oid *relids, const uint64 *gens, int n,
							 const hcKeyRange *ranges, const uint64 *rseqs,
							 int nranges, uint64 epoch, Snapshot snapshot);

/*---- l1_store.c ----*/
typedef struct hcEntryHeader hcEntryHeader;
extern Size hc_l1_shmem_size(void);
extern void hc_l1_shmem_init(void);
extern const hcEntryHeader *hc_l1_lookup(const hcKey *key, int *desc_id,
										 int *filling_id);
extern void hc_l1_release(int desc_id);
extern bool hc_l1_store(const hcKey *key, const char *blob, Size len,
						int placeholder_id);
extern int	hc_l1_claim(const hcKey *key);
extern void hc_l1_abandon(int placeholder_id);
extern bool hc_l1_wait_fill(int id, const hcKey *key, int timeout_ms);
extern void hc_l1_release_all_pins(void);
extern void hc_l1_usage(int64 *entries, int64 *bytes_used, int64 *bytes_limit);

/* what hc_l1_foreach shows of one entry; hdr is pinned during the call */
typedef void (*hcEntryVisitor) (const hcEntryHeader *hdr, Size len,
								int usage, int pins, void *arg);
extern void hc_l1_foreach(hcEntryVisitor visit, void *arg);

/*---- l2_redis.c ----*/

/*
 * What an L2 lookup read besides the entry: the Redis generations of the
 * statement's dependencies and the L2 epoch, the stamp a later store of
 * the same statement's result must carry.
 */
typedef struct hcL2Stamp
{
	bool		valid;
	int64		lease_ms;		/* left of the primary's lease on computing it */
	uint64		epoch;
	int			ndeps;
	uint64		gens[HC_MAX_DEPS];
} hcL2Stamp;

extern Size hc_l2_shmem_size(void);
extern void hc_l2_shmem_init(void);
extern void hc_l2_init_scripts(void);
extern bool hc_l2_usable(void);
extern char *hc_l2_lookup(const hcKey *key, const Oid *deps, int ndeps,
						  hcL2Stamp *stamp, int64 *spent_us,
						  Size *len);
extern void hc_l2_store(const hcKey *key, const char *blob, Size len,
						const hcL2Stamp *stamp, int ttl_s,
						int64 *spent_us);
extern void hc_l2_take_lease(const hcKey *key, int lease_ms, int64 *spent_us);
extern void hc_l2_register_writes(const Oid *relids, int n, bool everything,
								  FullTransactionId fxid);
extern void hc_l2_nudge_worker(void);
extern bool hc_l1_readable(void);
extern bool hc_l1_storable(void);
extern void hc_l2_fence(void);
extern int	hc_l2_worker_tick(void);
extern void hc_l2_worker_exit(void);
extern int	hc_l2_worker_interval_ms(void);
extern void hc_l2_config_reloaded(void);

typedef struct hcL2State
{
	bool		configured;
	bool		down;			/* circuit breaker open */
	bool		fenced;			/* a write Redis did not see is pending */
	TimestampTz down_until;
	TimestampTz last_error_time;
	TimestampTz last_heartbeat; /* this server's worker, primary only */
	uint64		heartbeat_lsn;
	char		server[160];
	char		last_error[256];
	/* the stream: off, publishing (primary), following or resyncing */
	const char *stream;
	uint64		stream_lsn;		/* standby: heartbeat position applied */
	int64		stream_lag_bytes;	/* standby: replay beyond it; -1: n/a */
	uint64		stream_resyncs; /* standby: gaps recovered from */
} hcL2State;
extern void hc_l2_get_state(hcL2State *state);

/*---- worker.c ----*/
extern void hc_worker_register(void);

/*---- wire_rows.c ----*/
typedef struct hcWireWriter hcWireWriter;
extern uint64 hc_wire_signature(QueryDesc *qd, DestReceiver *dest);
extern hcWireWriter *hc_wire_writer_begin(QueryDesc *qd, DestReceiver *dest,
										  MemoryContext cxt);
extern uint64 hc_wire_writer_signature(const hcWireWriter *w);
extern const StringInfoData *hc_wire_send_row(hcWireWriter *w,
											  TupleTableSlot *slot);
extern bool hc_wire_rows_validate(const char *rows, Size len, int natts,
								  uint64 nrows);
extern uint64 hc_wire_replay(const char *rows, Size len, uint64 *pos,
							 uint64 count, EState *estate);

/*---- result.c ----*/
typedef struct hcCapture hcCapture;
extern hcCapture *hc_capture_begin(TupleDesc tupdesc, int ndeps, int nranges,
								   Size max_bytes, MemoryContext cxt);
extern void hc_capture_set_wire(hcCapture *cap, hcWireWriter *w);
extern void hc_capture_poison(hcCapture *cap);
extern DestReceiver *hc_capture_receiver(hcCapture *cap, DestReceiver *inner);
extern bool hc_capture_ok(hcCapture *cap);
extern bool hc_capture_too_large(hcCapture *cap);
extern char *hc_capture_finish(hcCapture *cap, const hcKey *key, Oid dbid,
							   const Oid *deps, const uint64 *gens, int ndeps,
							   const hcKeyRange *ranges, const uint64 *rseqs,
							   int nranges, uint64 epoch, TimestampTz created,
							   double exec_ms, Size *len);
extern bool hc_entry_matches(const hcEntryHeader *hdr, const hcKey *key,
							 TupleDesc tupdesc, const Oid *deps, int ndeps,
							 const hcKeyRange *ranges, int nranges,
							 uint64 epoch, TimestampTz now, int ttl_s);
extern bool hc_entry_fits(const hcEntryHeader *hdr, const hcKey *key,
						  TupleDesc tupdesc, const Oid *deps, int ndeps,
						  TimestampTz now, int ttl_s);
extern bool hc_entry_validate(const char *blob, Size len, const hcKey *key,
							  Oid dbid);
extern bool hc_entry_restamp(hcEntryHeader *hdr, const uint64 *gens,
							 const hcKeyRange *ranges, const uint64 *rseqs,
							 int nranges, uint64 epoch);
extern uint64 hc_entry_ntuples(const hcEntryHeader *hdr);
extern double hc_entry_exec_ms(const hcEntryHeader *hdr);
extern void hc_entry_describe(const hcEntryHeader *hdr, Oid *dbid,
							  TimestampTz *created, int *ndeps,
							  const Oid **deps);
extern uint64 hc_replay(const hcEntryHeader *hdr, uint64 *pos,
						TupleTableSlot *slot, DestReceiver *dest,
						uint64 count, EState *estate);
extern uint64 hc_entry_wire_sig(const hcEntryHeader *hdr);
extern uint64 hc_replay_wire(const hcEntryHeader *hdr, uint64 *pos,
							 uint64 count, EState *estate);

/*---- executor_hooks.c ----*/
extern void hc_install_hooks(void);
extern bool hc_extension_installed(void);
extern bool hc_at_top_level(void);
extern bool hc_client_statement(void);
extern bool hc_has_off_hint(const char *text, int location);
extern const char *hc_warm_query(const char *query);
extern char *hc_extension_schema(void);

/*---- warming.c ----*/
extern char *hc_warm_databases;
extern bool hc_warm_after_invalidate_all;
extern void hc_warming_register_workers(void);
extern void hc_warming_after_invalidate_all(void);
extern hcBypassReason hc_decide(QueryDesc *qd, int eflags,
								const hcPlanInfo **info, hcKey *key,
								int *ttl_s);

/*---- explain.c ----*/
extern bool hc_explain_notice;
extern bool hc_explain_wanted(bool top_level_explain);
extern void hc_explain_statement(QueryDesc *qd, int eflags);

/*---- stats.c ----*/
extern Size hc_stats_shmem_size(void);
extern void hc_stats_shmem_init(void);
extern void hc_count_bypass(hcBypassReason reason);
extern void hc_count_hit(const Oid *deps, int ndeps);
extern void hc_count_miss(const Oid *deps, int ndeps);
extern void hc_count_store(void);
extern void hc_count_store_refused(void);
extern void hc_count_single_flight(bool timed_out);
extern void hc_count_eviction(void);
extern void hc_count_invalidation(Oid relid);
extern void hc_count_plan_reused(void);

/* L2 and Redis counters (hybridcache_redis_stats()) */
typedef enum hcRedisCounter
{
	HC_R_L2_MISSES,
	HC_R_L2_STORES,
	HC_R_L2_REJECTED,			/* corrupt, truncated, foreign, forged */
	HC_R_ROUND_TRIPS,
	HC_R_SKIPPED,				/* Redis not tried: breaker open, fenced */
	HC_R_ERR_CONNECT,
	HC_R_ERR_TIMEOUT,
	HC_R_ERR_IO,
	HC_R_ERR_AUTH,
	HC_R_ERR_REPLY,
	HC_R_ERR_TOO_LARGE,
	HC_R_BYTES_SENT,
	HC_R_BYTES_RECEIVED,
	HC_R_FENCED_WRITES,			/* write transactions Redis did not see */
	HC_R_NUM_COUNTERS
} hcRedisCounter;

extern void hc_count_l2_hit(const Oid *deps, int ndeps);
extern void hc_count_redis(hcRedisCounter c, uint64 n);
extern uint64 hc_redis_counter(hcRedisCounter c);
extern void hc_stats_flush_tables(bool force);
extern const char *hc_bypass_reason_name(hcBypassReason reason);

/*---- query_stats.c ----*/
extern Size hc_query_stats_shmem_size(void);
extern void hc_query_stats_shmem_init(void);
extern void hc_query_stats_flush(bool force);
extern void hc_query_stats_reset(void);
extern double hc_query_mean_exec_ms(QueryDesc *qd);
extern void hc_query_count_hit(const hcPlanInfo *info, QueryDesc *qd,
							   double saved_ms);
extern void hc_query_count_miss(const hcPlanInfo *info, QueryDesc *qd,
								bool found_stale);
extern void hc_query_count_execution(const hcPlanInfo *info, QueryDesc *qd,
									 double exec_ms, bool stored, Size bytes);

/*---- shared memory (hybridcache.c) ----*/
extern LWLockPadded *hc_locks;	/* HC_NUM_PARTITIONS + HC_LOCK_EXTRA */
#define HC_NUM_PARTITIONS	32
#define HC_LOCK_TABLE_STATS	(HC_NUM_PARTITIONS + 0)
#define HC_LOCK_QUERY_STATS	(HC_NUM_PARTITIONS + 1)
#define HC_LOCK_L2_FENCE	(HC_NUM_PARTITIONS + 2)
#define HC_LOCK_EXTRA		3

#endif							/* HYBRIDCACHE_H */
