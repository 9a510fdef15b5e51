/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Configuration parameters of hybridcache and the per-table TTL list.
 *
 * All GUCs are defined here.  hybridcache.table_ttl is a list such as
 * 'orders=5s, public.products=1h, audit_log=0': the check hook parses it
 * into a flat array (the GUC "extra"), the assign hook publishes it, and
 * hc_relation_ttl_s() resolves a relation's effective TTL through a small
 * backend-local cache that is dropped whenever the list changes or the
 * relation is renamed (relcache callback, see invalidation.c).
 *
 * An unqualified name applies to a table of that name in any schema; a
 * qualified one to exactly that table.  A TTL of 0 means "never cache
 * queries reading this table".
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/guc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>

#include "hybridcache.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/varlena.h"

/*---- GUC variables ----*/
bool		hc_enabled = true;
int			hc_ttl_s = 300;
char	   *hc_table_ttl_string = NULL;
int			hc_shared_memory_kb = 64 * 1024;
int			hc_max_entries = 16384;
int			hc_max_entry_size_kb = 1024;
double		hc_min_exec_time_ms = 0.02;
bool		hc_auto_watch = false;
int			hc_single_flight_timeout_ms = 5000;
int			hc_max_query_stats = 1000;
bool		hc_debug_check_fingerprint = false;
bool		hc_standby_l1 = true;
bool		hc_reuse_plans = true;
bool		hc_wire_rows = true;
bool		hc_key_ranges = true;
char	   *hc_warm_databases = NULL;
bool		hc_warm_after_invalidate_all = false;
char	   *hc_redis_url = NULL;
char	   *hc_redis_secret = NULL;
char	   *hc_redis_password_file = NULL;
char	   *hc_redis_prefix = NULL;
int			hc_redis_timeout_ms = 5;
int			hc_redis_backoff_min_ms = 500;
int			hc_redis_backoff_max_ms = 30000;
int			hc_redis_heartbeat_timeout_ms = 2000;
double		hc_l2_min_exec_time_ms = 1.0;
const hcRedisTarget *hc_redis_target = NULL;
uint32		hc_redis_target_version = 0;

/* One parsed element of hybridcache.table_ttl. */
typedef struct hcTableTtl
{
	char		nspname[NAMEDATALEN];	/* empty: any schema */
	char		relname[NAMEDATALEN];
	int			ttl_s;
} hcTableTtl;

typedef struct hcTableTtlList
{
	int			n;
	hcTableTtl	items[FLEXIBLE_ARRAY_MEMBER];
} hcTableTtlList;

static hcTableTtlList *table_ttls = NULL;

/* backend-local cache: relid -> TTL override (-1 = none) */
typedef struct hcTtlCacheEntry
{
	Oid			relid;
	int			ttl_s;
} hcTtlCacheEntry;

static HTAB *ttl_cache = NULL;

static bool check_table_ttl(char **newval, void **extra, GucSource source);
static void assign_table_ttl(const char *newval, void *extra);
static bool check_redis_url(char **newval, void **extra, GucSource source);
static void assign_redis_url(const char *newval, void *extra);
static bool check_redis_prefix(char **newval, void **extra, GucSource source);

/*
 * Define every hybridcache GUC.  Called from _PG_init while
 * shared_preload_libraries is being processed.
 */
void
hc_define_gucs(void)
{
	DefineCustomBoolVariable("hybridcache.enabled",
							 "Enables serving and storing query results in the cache.",
							 "Turn it off for a session or with SET LOCAL for one transaction to bypass the cache.",
							 &hc_enabled,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("hybridcache.ttl",
							"Sets the maximum age of a cached result a statement accepts.",
							"Zero disables caching.",
							&hc_ttl_s,
							300,
							0, INT_MAX / 1000,
							PGC_USERSET,
							GUC_UNIT_S,
							NULL, NULL, NULL);

	DefineCustomStringVariable("hybridcache.table_ttl",
							   "Sets per-table maximum ages, overriding hybridcache.ttl.",
							   "A comma-separated list of table=duration, for example 'orders=5s, public.products=1h, audit_log=0'; 0 means never cache queries reading that table.",
							   &hc_table_ttl_string,
							   "",
							   PGC_USERSET,
							   GUC_LIST_INPUT,
							   check_table_ttl, assign_table_ttl, NULL);

	DefineCustomIntVariable("hybridcache.max_entry_size",
							"Sets the largest result that is stored in the cache.",
							NULL,
							&hc_max_entry_size_kb,
							1024,
							1, 1024 * 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomRealVariable("hybridcache.min_exec_time",
							 "Sets the minimum execution time of a result worth storing.",
							 "Results of statements that ran faster are not stored.",
							 &hc_min_exec_time_ms,
							 0.02,
							 0.0, 3600.0 * 1000.0,
							 PGC_SUSET,
							 GUC_UNIT_MS,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("hybridcache.auto_watch",
							 "Adds the invalidation triggers to tables created from now on.",
							 "See hybridcache_watch(); the triggers are only needed for writers the executor hooks cannot see, such as logical replication.",
							 &hc_auto_watch,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("hybridcache.single_flight_timeout",
							"Sets how long a miss waits for a concurrent identical miss to finish.",
							"Zero lets every miss run the statement itself.",
							&hc_single_flight_timeout_ms,
							5000,
							0, 60 * 1000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("hybridcache.explain_notice",
							 "Reports in a notice what the cache would do with each EXPLAINed statement.",
							 NULL,
							 &hc_explain_notice,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("hybridcache.debug_check_fingerprint",
							 "Checks every plan fingerprint against one computed from the plan's text.",
							 "A developer setting: warns when the plan hashing walker gives one key to different plans, or two keys to one plan.  Slow.",
							 &hc_debug_check_fingerprint,
							 false,
							 PGC_SUSET,
							 GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("hybridcache.shared_memory",
							"Sets the amount of shared memory for cached results.",
							NULL,
							&hc_shared_memory_kb,
							64 * 1024,
							1024, INT_MAX,
							PGC_POSTMASTER,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hybridcache.max_entries",
							"Sets the maximum number of cached results.",
							NULL,
							&hc_max_entries,
							16384,
							128, 16 * 1024 * 1024,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hybridcache.max_query_stats",
							"Sets the number of query shapes hybridcache_query_stats() tracks.",
							"When more are seen, the least used one is forgotten.",
							&hc_max_query_stats,
							1000,
							100, 100000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("hybridcache.warm_databases",
							   "Lists the databases whose warming queries run at server start.",
							   "A comma-separated list; each database's hybridcache.warm_queries table says what to run.",
							   &hc_warm_databases,
							   "",
							   PGC_POSTMASTER,
							   GUC_LIST_INPUT,
							   NULL, NULL, NULL);

	DefineCustomBoolVariable("hybridcache.warm_after_invalidate_all",
							 "Warms the database again after hybridcache_invalidate_all() commits.",
							 NULL,
							 &hc_warm_after_invalidate_all,
							 false,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("hybridcache.redis_url",
							   "Sets the Redis server used as the shared second-level cache.",
							   "redis://[user:password@]address[:port][/db] with a numeric address or localhost, or the path of a Unix socket; empty: no second level.",
							   &hc_redis_url,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   check_redis_url, assign_redis_url, NULL);

	DefineCustomBoolVariable("hybridcache.standby_l1",
							 "Lets a hot standby serve results from its own shared memory.",
							 "The standby's worker then follows the primary's stream of writes in Redis; without Redis, or with this off, a standby uses only Redis.",
							 &hc_standby_l1,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("hybridcache.reuse_plans",
							 "Reuses the plans of repeated simple-protocol queries the cache serves.",
							 "A top-level SELECT sent with the simple query protocol, or a custom plan of a prepared one, whose result was served from or stored into the cache keeps its plan in the backend; the same analysed query (with the same parameter values) then skips planning.  Kept plans are dropped when anything they depend on changes.",
							 &hc_reuse_plans,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("hybridcache.wire_rows",
							 "Also keeps cached results in the form sent to the client.",
							 "A result sent to the client in text or binary form, with columns of common built-in types, is also kept as its DataRow messages; a hit with the same result formats and output settings sends them without converting the values again.  This takes up to about twice the memory per cached result.",
							 &hc_wire_rows,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("hybridcache.key_ranges",
							 "Invalidates cached results by the key ranges they read.",
							 "A cached result whose every scan of a table bounds one integer column by constants or parameters depends only on the table's rows in that range; an UPDATE or DELETE that bounds the same column, and does not change it, invalidates only the results whose ranges it touches.  Off: every write invalidates every result that reads the table.",
							 &hc_key_ranges,
							 true,
							 PGC_SUSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("hybridcache.redis_password_file",
							   "Sets a file holding the Redis password.",
							   "Used when hybridcache.redis_url has no password.  Unlike the URL, the file's contents never appear in the server log.",
							   &hc_redis_password_file,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("hybridcache.redis_secret",
							   "Sets the key that signs results stored in Redis.",
							   "With a secret, values in Redis that were not written by a server with the same secret are ignored; every server sharing the Redis must use the same one.",
							   &hc_redis_secret,
							   "",
							   PGC_SIGHUP,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("hybridcache.redis_prefix",
							   "Sets the prefix of every Redis key hybridcache uses.",
							   "Keys also contain the database system identifier, so clusters sharing a Redis never see each other's results.",
							   &hc_redis_prefix,
							   "hybridcache",
							   PGC_SIGHUP,
							   0,
							   check_redis_prefix, NULL, NULL);

	DefineCustomIntVariable("hybridcache.redis_timeout",
							"Sets the longest time one statement waits for Redis in total.",
							"When it is exceeded the statement runs as a miss and Redis is skipped for a while.",
							&hc_redis_timeout_ms,
							5,
							1, 10000,
							PGC_SUSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hybridcache.redis_backoff_min",
							"Sets how long Redis is skipped after its first failure.",
							"The pause doubles with each further failure, up to hybridcache.redis_backoff_max; the background worker ends it as soon as Redis answers.",
							&hc_redis_backoff_min_ms,
							500,
							10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hybridcache.redis_backoff_max",
							"Sets the longest time Redis is skipped after repeated failures.",
							NULL,
							&hc_redis_backoff_max_ms,
							30000,
							10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("hybridcache.redis_heartbeat_timeout",
							"Sets how long the primary's heartbeat in Redis stays valid.",
							"Servers use results in Redis only while the primary's heartbeat is valid; the primary refreshes it four times per period.",
							&hc_redis_heartbeat_timeout_ms,
							2000,
							100, 600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomRealVariable("hybridcache.l2_min_exec_time",
							 "Sets the minimum execution time of a statement worth a Redis round trip.",
							 "Statements measured to run faster are neither looked up in nor stored to Redis.",
							 &hc_l2_min_exec_time_ms,
							 1.0,
							 0.0, 3600.0 * 1000.0,
							 PGC_SUSET,
							 GUC_UNIT_MS,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("hybridcache");
}

/*
 * hybridcache.redis_url: parse into an hcRedisTarget.  Only numeric
 * addresses (and localhost) are accepted: name resolution in hiredis has
 * no timeout.
 */
static bool
check_redis_url(char **newval, void **extra, GucSource source)
{
	hcRedisTarget *t;
	const char *url = *newval;
	const char *p;
	const char *at;
	const char *hostend;
	char		hostbuf[sizeof(t->host)];
	unsigned char addr[sizeof(struct in6_addr)];

	if (url == NULL || url[0] == '\0')
	{
		*extra = NULL;
		return true;
	}
	t = (hcRedisTarget *) malloc(sizeof(hcRedisTarget));
	if (t == NULL)
		return false;
	memset(t, 0, sizeof(*t));

	if (url[0] == '/')
	{
		if (strlen(url) >= sizeof(t->path))
		{
			GUC_check_errdetail("The socket path is too long.");
			goto bad;
		}
		t->is_unix = true;
		strlcpy(t->path, url, sizeof(t->path));
		strlcpy(t->display, url, sizeof(t->display));
		*extra = t;
		return true;
	}
	if (strncmp(url, "redis://", 8) != 0)
	{
		GUC_check_errdetail("The value must start with \"redis://\" or be the absolute path of a Unix socket.");
		goto bad;
	}
	p = url + 8;

	/* credentials: everything up to the last '@' */
	at = strrchr(p, '@');
	if (at != NULL)
	{
		const char *colon = memchr(p, ':', at - p);
		size_t		ulen = colon ? (size_t) (colon - p) : 0;
		const char *pw = colon ? colon + 1 : p;
		size_t		plen = at - pw;

		if (ulen >= sizeof(t->user) || plen >= sizeof(t->password))
		{
			GUC_check_errdetail("The user name or password is too long.");
			goto bad;
		}
		memcpy(t->user, p, ulen);
		memcpy(t->password, pw, plen);
		if (plen == 0)
		{
			GUC_check_errdetail("The password is empty.");
			goto bad;
		}
		p = at + 1;
	}

	/* host: [v6], v4 or localhost */
	if (*p == '[')
	{
		hostend = strchr(p, ']');
		if (hostend == NULL || (size_t) (hostend - p - 1) >= sizeof(hostbuf))
		{
			GUC_check_errdetail("The IPv6 address is not closed by \"]\".");
			goto bad;
		}
		memcpy(hostbuf, p + 1, hostend - p - 1);
		hostbuf[hostend - p - 1] = '\0';
		hostend++;
	}
	else
	{
		hostend = p + strcspn(p, ":/");
		if ((size_t) (hostend - p) >= sizeof(hostbuf))
		{
			GUC_check_errdetail("The address is too long.");
			goto bad;
		}
		memcpy(hostbuf, p, hostend - p);
		hostbuf[hostend - p] = '\0';
	}
	if (strcmp(hostbuf, "localhost") == 0)
		strlcpy(hostbuf, "127.0.0.1", sizeof(hostbuf));
	if (inet_pton(AF_INET, hostbuf, addr) != 1 &&
		inet_pton(AF_INET6, hostbuf, addr) != 1)
	{
		GUC_check_errdetail("\"%s\" is not a numeric IP address.", hostbuf);
		GUC_check_errhint("Host names are not resolved, because name resolution cannot be interrupted; use an address or localhost.");
		goto bad;
	}
	strlcpy(t->host, hostbuf, sizeof(t->host));
	t->port = 6379;
	p = hostend;
	if (*p == ':')
	{
		char	   *end;
		long		port;

		errno = 0;
		port = strtol(p + 1, &end, 10);
		if (end == p + 1 || errno != 0 || port < 1 || port > 65535)
		{
			GUC_check_errdetail("The port must be a number between 1 and 65535.");
			goto bad;
		}
		t->port = (int) port;
		p = end;
	}
	if (*p == '/')
	{
		char	   *end;
		long		db;

		if (p[1] != '\0')
		{
			errno = 0;
			db = strtol(p + 1, &end, 10);
			if (end == p + 1 || *end != '\0' || errno != 0 || db < 0 || db > 100000)
			{
				GUC_check_errdetail("The database must be a non-negative number.");
				goto bad;
			}
			t->db = (int) db;
		}
		p += strlen(p);
	}
	if (*p != '\0')
	{
		GUC_check_errdetail("Unexpected characters \"%s\" after the address.", p);
		goto bad;
	}
	snprintf(t->display, sizeof(t->display),
			 strchr(t->host, ':') ? "[%s]:%d" : "%s:%d", t->host, t->port);
	*extra = t;
	return true;

bad:
	free(t);
	return false;
}

static void
assign_redis_url(const char *newval, void *extra)
{
	hc_redis_target = (const hcRedisTarget *) extra;
	hc_redis_target_version++;
}

/* hybridcache.redis_prefix: non-empty, printable, no spaces. */
static bool
check_redis_prefix(char **newval, void **extra, GucSource source)
{
	const char *p;

	if (*newval == NULL || (*newval)[0] == '\0' || strlen(*newval) > 64)
	{
		GUC_check_errdetail("The prefix must have between 1 and 64 characters.");
		return false;
	}
	for (p = *newval; *p; p++)
		if (*p <= ' ' || *p > '~')
		{
			GUC_check_errdetail("The prefix may only contain printable ASCII characters other than space.");
			return false;
		}
	return true;
}

/*
 * Parse one "name=duration" element into *item.  Returns false with a
 * check-hook detail message on bad input.
 */
static bool
parse_table_ttl_item(char *elem, hcTableTtl *item)
{
	char	   *eq = strrchr(elem, '=');
	char	   *name;
	char	   *value;
	List	   *parts;
	const char *hintmsg = NULL;
	int			ttl;

	if (eq == NULL)
	{
		GUC_check_errdetail("Element \"%s\" is not of the form table=duration.", elem);
		return false;
	}
	*eq = '\0';
	name = elem;
	value = eq + 1;

	while (*value == ' ' || *value == '\t')
		value++;

	if (!SplitIdentifierString(pstrdup(name), '.', &parts) ||
		list_length(parts) < 1 || list_length(parts) > 2)
	{
		GUC_check_errdetail("\"%s\" is not a valid table name.", name);
		return false;
	}
	if (!parse_int(value, &ttl, GUC_UNIT_S, &hintmsg) || ttl < 0 ||
		ttl > INT_MAX / 1000)
	{
		GUC_check_errdetail("Invalid duration \"%s\" for table \"%s\".", value, name);
		if (hintmsg)
			GUC_check_errhint("%s", hintmsg);
		else
			GUC_check_errhint("Use a number of seconds or a value with a unit, such as 5s, 10min or 1h.");
		list_free(parts);
		return false;
	}

	memset(item, 0, sizeof(*item));
	if (list_length(parts) == 2)
	{
		strlcpy(item->nspname, linitial(parts), NAMEDATALEN);
		strlcpy(item->relname, lsecond(parts), NAMEDATALEN);
	}
	else
		strlcpy(item->relname, linitial(parts), NAMEDATALEN);
	item->ttl_s = ttl;
	list_free(parts);
	return true;
}

/*
 * Check hook: parse the whole list; never raises errors or has side
 * effects.  The parsed list travels to the assign hook as "extra".
 */
static bool
check_table_ttl(char **newval, void **extra, GucSource source)
{
	char	   *raw;
	char	   *p;
	int			nitems = 0;
	int			cap;
	hcTableTtlList *list;
	bool		ok = true;

	raw = pstrdup(*newval);
	cap = 1;
	for (p = raw; *p; p++)
		if (*p == ',')
			cap++;

	list = malloc(offsetof(hcTableTtlList, items) + cap * sizeof(hcTableTtl));
	if (list == NULL)
	{
		pfree(raw);
		return false;
	}

	p = raw;
	while (ok && p != NULL)
	{
		char	   *comma = strchr(p, ',');
		char	   *end;

		if (comma)
			*comma = '\0';
		/* trim */
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'))
			*--end = '\0';

		if (*p != '\0')
			ok = parse_table_ttl_item(p, &list->items[nitems++]);
		else if (comma != NULL)
		{
			GUC_check_errdetail("The list contains an empty element.");
			ok = false;
		}
		p = comma ? comma + 1 : NULL;
	}
	pfree(raw);

	if (!ok)
	{
		free(list);
		return false;
	}
	list->n = nitems;
	*extra = list;
	return true;
}

static void
assign_table_ttl(const char *newval, void *extra)
{
	table_ttls = (hcTableTtlList *) extra;
	/* every cached resolution may be wrong now */
	if (ttl_cache != NULL)
	{
		hash_destroy(ttl_cache);
		ttl_cache = NULL;
	}
}

/* Forget the cached TTL of one relation (InvalidOid: all of them). */
void
hc_table_ttl_forget(Oid relid)
{
	if (ttl_cache == NULL)
		return;
	if (relid == InvalidOid)
	{
		hash_destroy(ttl_cache);
		ttl_cache = NULL;
	}
	else
		hash_search(ttl_cache, &relid, HASH_REMOVE, NULL);
}

/* Look a relation up in the table_ttl list: its override or -1. */
static int
lookup_table_ttl(Oid relid)
{
	char	   *relname;
	char	   *nspname = NULL;
	int			result = -1;
	int			i;

	relname = get_rel_name(relid);
	if (relname == NULL)
		return -1;

	for (i = 0; i < table_ttls->n; i++)
	{
		hcTableTtl *item = &table_ttls->items[i];

		if (strcmp(item->relname, relname) != 0)
			continue;
		if (item->nspname[0] != '\0')
		{
			if (nspname == NULL)
				nspname = get_namespace_name(get_rel_namespace(relid));
			if (nspname == NULL || strcmp(item->nspname, nspname) != 0)
				continue;
		}
		/* the last matching element wins, as in most list settings */
		result = item->ttl_s;
	}
	pfree(relname);
	if (nspname)
		pfree(nspname);
	return result;
}

/*
 * The TTL in seconds a reader applies to results depending on relid:
 * the table's override, else hybridcache.ttl.
 */
int
hc_relation_ttl_s(Oid relid)
{
	hcTtlCacheEntry *entry;
	bool		found;

	if (table_ttls == NULL || table_ttls->n == 0)
		return hc_ttl_s;

	if (ttl_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(hcTtlCacheEntry);
		ctl.hcxt = TopMemoryContext;
		ttl_cache = hash_create("hybridcache table TTLs", 64, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	entry = hash_search(ttl_cache, &relid, HASH_FIND, NULL);
	if (entry == NULL)
	{
		/* resolve first: the catalog lookup may fail */
		int			ttl = lookup_table_ttl(relid);

		entry = hash_search(ttl_cache, &relid, HASH_ENTER, &found);
		entry->ttl_s = ttl;
	}

	return entry->ttl_s >= 0 ? entry->ttl_s : hc_ttl_s;
}
