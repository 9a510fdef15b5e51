/*-------------------------------------------------------------------------
 *
 * wire_rows.c
 *	  Cached results in the form they are sent to the client.
 *
 * Replaying cached tuples to the client runs every column's output
 * function and the character set conversion again on every hit: a third
 * of the CPU of a 100-row hit.  So a result that goes to the client is
 * also kept as the DataRow messages sent for it, and a hit whose client
 * would receive the very same bytes sends them as they are.
 *
 * The bytes of a DataRow depend on the result formats the client asked
 * for (text or binary, per column), on the output or send function of
 * each column's type, and on the settings those functions read:
 * client_encoding for every text value, DateStyle, IntervalStyle and
 * TimeZone for date and time types, extra_float_digits for floats,
 * bytea_output for bytea.  Only the built-in types whose functions are
 * known to read nothing else are written this way (an enum's labels can
 * be renamed, a composite or array depends on its elements, money on the
 * locale).  The rows are sent the way printtup.c sends them; the
 * signature of a result's wire rows is a hash of the formats and of all
 * those settings, and a hit uses them only when its own signature is
 * equal (the column types themselves are checked with the entry).
 * Otherwise the hit replays the tuples, which every entry also holds.
 *
 * Copyright (c) 2026, hybridcache developers
 *
 * IDENTIFICATION
 *	  src/wire_rows.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "hybridcache.h"
#include "libpq/pqformat.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "port/pg_bswap.h"
#include "tcop/pquery.h"
#include "utils/builtins.h"
#include "utils/bytea.h"
#include "utils/float.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/portal.h"

struct hcWireWriter
{
	uint64		sig;			/* the wire signature of what it writes */
	int			natts;
	int16	   *formats;
	FmgrInfo   *finfo;
	StringInfoData row;			/* the DataRow being built */
	MemoryContext rowcxt;		/* per-row scratch */
};

/* Output (text) and send (binary) functions whose bytes we may cache. */
static bool
known_function(Oid fn, bool binary)
{
	if (!binary)
	{
		switch (fn)
		{
			case F_BOOLOUT:
			case F_INT2OUT:
			case F_INT4OUT:
			case F_INT8OUT:
			case F_OIDOUT:
			case F_NUMERIC_OUT:
			case F_FLOAT4OUT:
			case F_FLOAT8OUT:
			case F_TEXTOUT:
			case F_VARCHAROUT:
			case F_BPCHAROUT:
			case F_NAMEOUT:
			case F_CHAROUT:
			case F_DATE_OUT:
			case F_TIME_OUT:
			case F_TIMETZ_OUT:
			case F_TIMESTAMP_OUT:
			case F_TIMESTAMPTZ_OUT:
			case F_INTERVAL_OUT:
			case F_BYTEAOUT:
			case F_UUID_OUT:
			case F_JSON_OUT:
			case F_JSONB_OUT:
				return true;
			default:
				return false;
		}
	}
	switch (fn)
	{
		case F_BOOLSEND:
		case F_INT2SEND:
		case F_INT4SEND:
		case F_INT8SEND:
		case F_OIDSEND:
		case F_NUMERIC_SEND:
		case F_FLOAT4SEND:
		case F_FLOAT8SEND:
		case F_TEXTSEND:
		case F_VARCHARSEND:
		case F_BPCHARSEND:
		case F_NAMESEND:
		case F_CHARSEND:
		case F_DATE_SEND:
		case F_TIME_SEND:
		case F_TIMETZ_SEND:
		case F_TIMESTAMP_SEND:
		case F_TIMESTAMPTZ_SEND:
		case F_INTERVAL_SEND:
		case F_BYTEASEND:
		case F_UUID_SEND:
		case F_JSON_SEND:
		case F_JSONB_SEND:
			return true;
		default:
			return false;
	}
}

/*
 * The result formats printtup.c will use for the rows of qd, or NULL when
 * they are not known or hybridcache.wire_rows is off.  The rows go to the
 * client through printtup when the destination is DestRemote or
 * DestRemoteExecute; printtup takes the formats of its portal, which is
 * the active one when that portal runs this very statement.  (A FETCH
 * runs a cursor's portal, which has no formats, for the receiver of
 * another.)
 */
static const int16 *
client_formats(QueryDesc *qd, DestReceiver *dest)
{
	if (!hc_wire_rows)
		return NULL;
	if (dest->mydest != DestRemote && dest->mydest != DestRemoteExecute)
		return NULL;
	if (ActivePortal == NULL || ActivePortal->queryDesc != qd ||
		ActivePortal->formats == NULL || ActivePortal->tupDesc == NULL ||
		ActivePortal->tupDesc->natts != qd->tupDesc->natts)
		return NULL;
	return ActivePortal->formats;
}

/* what the signature of wire rows hashes */
typedef struct hcWireMaterial
{
	int			encoding;
	int			datestyle;
	int			dateorder;
	int			intervalstyle;
	int			float_digits;
	int			bytea_output;
	char		tz[TZ_STRLEN_MAX + 1];
	int16		formats[FLEXIBLE_ARRAY_MEMBER];
} hcWireMaterial;

/*
 * The signature of wire rows of natts columns in these formats, under the
 * current settings; 0 for a format printtup does not know.
 */
static uint64
signature_of(const int16 *formats, int natts)
{
	const char *tzname;
	hcKey		h;
	hcWireMaterial *m;
	Size		len;
	int			i;

	len = offsetof(hcWireMaterial, formats) + natts * sizeof(int16);
	m = palloc0(len);
	m->encoding = pg_get_client_encoding();
	m->datestyle = DateStyle;
	m->dateorder = DateOrder;
	m->intervalstyle = IntervalStyle;
	m->float_digits = extra_float_digits;
	m->bytea_output = bytea_output;
	tzname = session_timezone ? pg_get_timezone_name(session_timezone) : NULL;
	if (tzname != NULL)
		strlcpy(m->tz, tzname, sizeof(m->tz));
	for (i = 0; i < natts; i++)
	{
		if (formats[i] != 0 && formats[i] != 1)
		{
			pfree(m);
			return 0;
		}
		m->formats[i] = formats[i];
	}
	hc_hash_bytes(m, len, &h);
	pfree(m);
	/* 0 means "none" */
	return h.hi | 1;
}

/*
 * The signature of the wire rows qd would send to dest, or 0 when its rows
 * are not sent as DataRow messages of a known shape.
 */
uint64
hc_wire_signature(QueryDesc *qd, DestReceiver *dest)
{
	const int16 *formats = client_formats(qd, dest);

	return formats ? signature_of(formats, qd->tupDesc->natts) : 0;
}

/*
 * A writer of the DataRow messages of qd's rows for dest, or NULL when the
 * columns are not all of known types.  In cxt.
 */
hcWireWriter *
hc_wire_writer_begin(QueryDesc *qd, DestReceiver *dest, MemoryContext cxt)
{
	const int16 *formats = client_formats(qd, dest);
	TupleDesc	tupdesc = qd->tupDesc;
	hcWireWriter *w;
	MemoryContext oldcxt;
	uint64		sig;
	int			i;

	if (formats == NULL || (sig = signature_of(formats, tupdesc->natts)) == 0)
		return NULL;

	oldcxt = MemoryContextSwitchTo(cxt);
	w = palloc0(sizeof(hcWireWriter));
	w->sig = sig;
	w->natts = tupdesc->natts;
	w->formats = palloc(sizeof(int16) * Max(w->natts, 1));
	memcpy(w->formats, formats, sizeof(int16) * w->natts);
	w->finfo = palloc0(sizeof(FmgrInfo) * Max(w->natts, 1));
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		Oid			fn;
		bool		isvarlena;

		if (w->formats[i] == 0)
			getTypeOutputInfo(att->atttypid, &fn, &isvarlena);
		else
			getTypeBinaryOutputInfo(att->atttypid, &fn, &isvarlena);
		if (!known_function(fn, w->formats[i] == 1))
		{
			MemoryContextSwitchTo(oldcxt);
			pfree(w->finfo);
			pfree(w->formats);
			pfree(w);
			return NULL;
		}
		fmgr_info(fn, &w->finfo[i]);
	}
	initStringInfo(&w->row);
	w->rowcxt = AllocSetContextCreate(cxt, "hybridcache wire row",
									  ALLOCSET_SMALL_SIZES);
	MemoryContextSwitchTo(oldcxt);
	return w;
}

/* The wire signature of the rows w writes. */
uint64
hc_wire_writer_signature(const hcWireWriter *w)
{
	return w->sig;
}

/*
 * Send slot's row to the client as printtup() would, and return the
 * DataRow message's body (valid until the next row).
 */
const StringInfoData *
hc_wire_send_row(hcWireWriter *w, TupleTableSlot *slot)
{
	StringInfo	buf = &w->row;
	MemoryContext oldcxt;
	int			i;

	slot_getallattrs(slot);
	oldcxt = MemoryContextSwitchTo(w->rowcxt);
	resetStringInfo(buf);
	pq_sendint16(buf, w->natts);
	for (i = 0; i < w->natts; i++)
	{
		Datum		attr = slot->tts_values[i];

		if (slot->tts_isnull[i])
		{
			pq_sendint32(buf, -1);
			continue;
		}
		if (w->formats[i] == 0)
		{
			char	   *str = OutputFunctionCall(&w->finfo[i], attr);

			pq_sendcountedtext(buf, str, strlen(str), false);
		}
		else
		{
			bytea	   *bytes = SendFunctionCall(&w->finfo[i], attr);

			pq_sendint32(buf, VARSIZE(bytes) - VARHDRSZ);
			pq_sendbytes(buf, VARDATA(bytes), VARSIZE(bytes) - VARHDRSZ);
		}
	}
	MemoryContextSwitchTo(oldcxt);
	buf->cursor = 'D';
	pq_endmessage_reuse(buf);
	MemoryContextReset(w->rowcxt);
	return buf;
}

/*
 * Is [rows, rows + len) a sequence of natts-column DataRow bodies, each
 * preceded by its uint32 length, nrows in all?
 */
bool
hc_wire_rows_validate(const char *rows, Size len, int natts, uint64 nrows)
{
	Size		pos = 0;
	uint64		n = 0;

	while (pos < len)
	{
		uint32		rowlen;
		Size		p;
		uint16		nf;
		int			i;

		if (len - pos < sizeof(uint32))
			return false;
		memcpy(&rowlen, rows + pos, sizeof(uint32));
		pos += sizeof(uint32);
		if (rowlen > len - pos || rowlen < 2)
			return false;
		memcpy(&nf, rows + pos, 2);
		if (pg_ntoh16(nf) != natts)
			return false;
		p = 2;
		for (i = 0; i < natts; i++)
		{
			uint32		fl;

			if (rowlen - p < 4)
				return false;
			memcpy(&fl, rows + pos + p, 4);
			fl = pg_ntoh32(fl);
			p += 4;
			if (fl == (uint32) -1)
				continue;
			if (fl > rowlen - p)
				return false;
			p += fl;
		}
		if (p != rowlen)
			return false;
		pos += rowlen;
		n++;
	}
	return n == nrows;
}

/*
 * Send up to count wire rows (0: all) from byte offset *pos of rows on, as
 * ExecutePlan would count them.  Returns the number sent.
 */
uint64
hc_wire_replay(const char *rows, Size len, uint64 *pos, uint64 count,
			   EState *estate)
{
	uint64		sent = 0;
	StringInfoData msg;

	/* pq_endmessage_reuse() sends a buffer's bytes as they are */
	msg.cursor = 'D';
	while (*pos < len && (count == 0 || sent < count))
	{
		uint32		rowlen;

		CHECK_FOR_INTERRUPTS();
		memcpy(&rowlen, rows + *pos, sizeof(uint32));
		msg.data = (char *) rows + *pos + sizeof(uint32);
		msg.len = rowlen;
		msg.maxlen = rowlen + 1;
		pq_endmessage_reuse(&msg);
		*pos += sizeof(uint32) + rowlen;
		estate->es_processed++;
		sent++;
	}
	return sent;
}
