/*
 * samples.c: actual parameter values of statements, for the index advisor.
 *
 * WHAT IS KEPT.  Per (userid, dbid, queryid), the text of one execution as it
 * ran (with its constants) and the values bound to its parameters (extended
 * protocol, PL/pgSQL), as text, each with its type.  The advisor matches
 * that text with the statement's normalized text token by token
 * (samples_align) to learn the value of each $n, and plans the statement
 * with them (a custom plan) besides the generic plan.
 *
 * VOTES.  Each value position (bound parameter i, then the i-th constant
 * token of the text) has a Boyer-Moore majority vote over the captured
 * executions: a candidate hash, a counter, and the number of captures that
 * had the candidate since it became the candidate.  When a value is used in
 * most captures it is the candidate, and matches / captures is a lower bound
 * of its share.  The kept sample is replaced by a new capture that agrees
 * with the candidates at least as often, so it holds the usual values.
 *
 * WHEN.  Only off the hot path: ExecutorEnd calls samples_capture for an
 * execution at least latdiag.slow_execution_min_duration long, or for an
 * instrumented execution (armed for a snapshot: seen slow, or the random
 * sample) of a plan with a large-table sequential scan.  Everything is built
 * in local memory first; the entry is then updated under its spinlock (one
 * copy of at most SAMPLE_TEXT bytes).  A text longer than SAMPLE_TEXT is not
 * sampled; a bound value longer than SAMPLE_VALUE_MAX, or of a type whose
 * output function is not built in, is kept as unknown.
 *
 * One bounded shared table (table.c), latdiag.max_param_samples entries,
 * saved across restarts like the other stores (latdiag.save).  Texts and values are shown only to readers with
 * pg_read_all_stats (or the statement's own role).
 */
#include "postgres.h"

#include <ctype.h>

#include "access/transam.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "parser/scanner.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "compat.h"
#include "guc.h"
#include "samples.h"
#include "table.h"

PG_FUNCTION_INFO_V1(latdiag_param_samples);
PG_FUNCTION_INFO_V1(latdiag_param_sample_info);

#define SAMPLE_VALUE_MAX	256		/* longest bound value kept */

typedef struct SampleKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
} SampleKey;

typedef struct SampleData
{
	int64		captures;
	TimestampTz sampled_at;
	double		sample_ms;
	int32		nslots;
	int32		nparams;
	int32		text_len;		/* 0: no sample kept yet */
	int32		pad;
	uint64		kept[SAMPLE_SLOTS];
	uint64		cand[SAMPLE_SLOTS];
	int32		votes[SAMPLE_SLOTS];
	int32		matches[SAMPLE_SLOTS];
	char		text[SAMPLE_TEXT];	/* statement, NUL, bound values */
} SampleData;

/* What table_read copies out per entry. */
typedef struct SampleCopy
{
	SampleKey	key;
	SampleData	d;
} SampleCopy;

static TableDef samples_def;
static Table *samples = NULL;

static const TableDef *
samples_table_def(void)
{
	samples_def.name = "postgres_latdiag param samples";
	samples_def.key_size = sizeof(SampleKey);
	samples_def.data_size = sizeof(SampleData);
	samples_def.max_entries = Max(latdiag_max_param_samples, 1);
	samples_def.max_text = 0;
	samples_def.file = PGSTAT_STAT_PERMANENT_DIRECTORY "/latdiag_param_samples.stat";
	samples_def.file_version = 1;
	samples_def.save = &latdiag_save;
	return &samples_def;
}

/* Shared memory of the table (0 when none is kept). */
Size
samples_shmem_size(void)
{
	return latdiag_max_param_samples > 0 ? table_shmem_size(samples_table_def()) : 0;
}

/* Ask for the table's memory; from shmem_request_hook. */
void
samples_shmem_request(void)
{
	if (latdiag_max_param_samples > 0)
		table_request(samples_table_def());
}

/* Attach to (or create) the table; from shmem_startup_hook. */
void
samples_shmem_startup(void)
{
	if (latdiag_max_param_samples > 0)
		samples = table_attach(samples_table_def());
}

/* ---------------------------------------------------------------------
 * Tokens
 * ---------------------------------------------------------------------
 */

typedef enum TokClass
{
	TK_OTHER,
	TK_PARAM,					/* $n */
	TK_NUMBER,
	TK_STRING,					/* '...', E'...', B'...', X'...', N'...', $$...$$ */
	TK_USTRING,					/* U&'...': not decoded by the core lexer */
	TK_BOOL,
	TK_NULL
} TokClass;

/* The class of a token from its text as written. */
static TokClass
tok_class(const char *raw)
{
	char		c = raw[0];

	if (c == '$')
		return isdigit((unsigned char) raw[1]) ? TK_PARAM : TK_STRING;
	if (isdigit((unsigned char) c) || (c == '.' && isdigit((unsigned char) raw[1])))
		return TK_NUMBER;
	if (c == '\'')
		return TK_STRING;
	if (raw[1] == '\'' && strchr("eEbBxXnN", c) != NULL)
		return TK_STRING;
	if ((c == 'u' || c == 'U') && raw[1] == '&')
		return TK_USTRING;
	if (pg_strcasecmp(raw, "true") == 0 || pg_strcasecmp(raw, "false") == 0)
		return TK_BOOL;
	if (pg_strcasecmp(raw, "null") == 0)
		return TK_NULL;
	return TK_OTHER;
}

/* A constant token: counted as one value position. */
static inline bool
tok_is_constant(TokClass k)
{
	return k == TK_NUMBER || k == TK_STRING || k == TK_USTRING ||
		k == TK_BOOL || k == TK_NULL;
}

/* A lexer over one text, giving each token's text as written. */
typedef struct Lexer
{
	core_yyscan_t scanner;
	core_yy_extra_type extra;
	core_YYSTYPE lval;
	YYLTYPE		lloc;
	int			tok;
	const char *raw;			/* valid until the next lex_next */
} Lexer;

static void
lex_init(Lexer *lx, const char *text)
{
	lx->scanner = scanner_init(text, &lx->extra, &ScanKeywords, ScanKeywordTokens);
	compat_scanner_quiet(&lx->extra);
}

static int
lex_next(Lexer *lx)
{
	lx->tok = core_yylex(&lx->lval, &lx->lloc, lx->scanner);
	lx->raw = lx->tok == 0 ? "" : lx->extra.scanbuf + lx->lloc;
	return lx->tok;
}

/* ---------------------------------------------------------------------
 * Capture
 * ---------------------------------------------------------------------
 */

/* The text of a bound value, or NULL if not kept (type or length). */
static char *
bound_value_text(Oid type, Datum value)
{
	Oid			outfn;
	bool		varlena;
	char		typtype;
	Oid			elem;
	char	   *s;

	if (!OidIsValid(type))
		return NULL;
	typtype = get_typtype(getBaseType(type));
	if (typtype == TYPTYPE_COMPOSITE || typtype == TYPTYPE_PSEUDO)
		return NULL;
	getTypeOutputInfo(type, &outfn, &varlena);
	if (outfn >= FirstNormalObjectId)
		return NULL;			/* only output functions of the server itself */
	elem = get_element_type(type);
	if (OidIsValid(elem))
	{
		Oid			efn;
		bool		evar;

		if (get_typtype(getBaseType(elem)) == TYPTYPE_COMPOSITE)
			return NULL;
		getTypeOutputInfo(elem, &efn, &evar);
		if (efn >= FirstNormalObjectId)
			return NULL;
	}
	if (varlena && VARSIZE_ANY_EXHDR(DatumGetPointer(value)) > SAMPLE_VALUE_MAX * 4)
		return NULL;
	s = OidOutputFunctionCall(outfn, value);
	if (strlen(s) > SAMPLE_VALUE_MAX)
		return NULL;
	return s;
}

/*
 * Build a sample of one execution in local memory: the text block and the
 * value hashes.  False if it cannot be kept.
 */
static bool
build_sample(const char *stmt, int len, ParamListInfo params, char *buf,
			 int *buf_len, uint64 *hashes, int *nslots, int *nparams)
{
	int			used = len + 1;
	int			ns = 0;
	int			np = (params != NULL && params->numParams > 0) ? params->numParams : 0;
	char	   *text = pnstrdup(stmt, len);
	Lexer		lx;

	memcpy(buf, stmt, len);
	buf[len] = '\0';
	for (int i = 0; i < np; i++)
	{
		ParamExternData workspace;
		ParamExternData *prm;
		char	   *v = NULL;
		char		head[32];
		int			vlen;
		int			hlen;
		Oid			type = InvalidOid;
		bool		isnull = true;

		if (params->paramFetch != NULL)
			prm = params->paramFetch(params, i + 1, true, &workspace);
		else
			prm = &params->params[i];
		if (prm != NULL)
		{
			type = prm->ptype;
			isnull = prm->isnull;
			if (!isnull)
				v = bound_value_text(type, prm->value);
		}
		/* -1: NULL; -2: not kept */
		vlen = isnull ? -1 : (v ? (int) strlen(v) : -2);
		if (vlen == -2)
			type = InvalidOid;
		hlen = snprintf(head, sizeof(head), "%u:%d:", type, vlen);
		if (used + hlen + Max(vlen, 0) > SAMPLE_TEXT)
			return false;
		memcpy(buf + used, head, hlen);
		used += hlen;
		if (vlen > 0)
		{
			memcpy(buf + used, v, vlen);
			used += vlen;
		}
		if (ns < SAMPLE_SLOTS)
		{
			uint64		h = hash_bytes_extended((const unsigned char *) &type, sizeof(Oid), vlen);

			if (vlen > 0)
				h = hash_combine64(h, hash_bytes_extended((const unsigned char *) v, vlen, 0));
			hashes[ns++] = h;
		}
	}

	/* the constants of the text, in order */
	lex_init(&lx, text);
	while (ns < SAMPLE_SLOTS && lex_next(&lx) != 0)
	{
		if (tok_is_constant(tok_class(lx.raw)))
			hashes[ns++] = hash_bytes_extended((const unsigned char *) lx.raw,
											   strlen(lx.raw), 1);
	}
	scanner_finish(lx.scanner);

	*buf_len = used;
	*nslots = ns;
	*nparams = np;
	return true;
}

/*
 * Keep (or vote with) the values of one slow or sampled execution.  Never
 * raises an error, except a cancel.
 */
void
samples_capture(QueryDesc *queryDesc, uint64 queryid, double ms)
{
	const char *src = queryDesc->sourceText;
	int			loc = queryDesc->plannedstmt->stmt_location;
	int			len = queryDesc->plannedstmt->stmt_len;
	const char *stmt;
	MemoryContext cxt,
				old;
	char	   *buf;
	int			buf_len = 0;
	uint64		hashes[SAMPLE_SLOTS];
	int			nslots = 0,
				nparams = 0;
	volatile bool ok = false;
	SampleKey	key;
	uint32		hint;
	SampleData *d;
	TimestampTz now;

	if (samples == NULL || src == NULL)
		return;
	stmt = CleanQuerytext(src, &loc, &len);
	if (len <= 0 || len >= SAMPLE_TEXT)
		return;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "latdiag param sample",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	buf = palloc(SAMPLE_TEXT);
	PG_TRY();
	{
		ok = build_sample(stmt, len, queryDesc->params, buf, &buf_len,
						  hashes, &nslots, &nparams);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED || edata->elevel > ERROR)
		{
			MemoryContextSwitchTo(old);
			PG_RE_THROW();
		}
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);

	if (ok)
	{
		memset(&key, 0, sizeof(key));
		key.userid = GetUserId();
		key.dbid = MyDatabaseId;
		key.queryid = queryid;
		hint = (uint32) (queryid ^ (queryid >> 32));
		now = GetCurrentTimestamp();

		d = table_lock(samples, &key, hint);
		if (d == NULL)
			d = table_create_lock(samples, &key, hint, NULL, 0);
		if (d != NULL)
		{
			int			agree_new = 0,
						agree_kept = 0;

			if (d->captures > 0 && d->nslots != nslots)
			{
				/* another shape under the same id: start the votes again */
				memset(d->votes, 0, sizeof(d->votes));
				memset(d->matches, 0, sizeof(d->matches));
				d->captures = 0;
				d->text_len = 0;
			}
			d->captures++;
			d->nslots = nslots;
			for (int i = 0; i < nslots; i++)
			{
				if (d->votes[i] == 0)
				{
					d->cand[i] = hashes[i];
					d->votes[i] = 1;
					d->matches[i] = 1;
				}
				else if (d->cand[i] == hashes[i])
				{
					d->votes[i]++;
					d->matches[i]++;
				}
				else
					d->votes[i]--;
				agree_new += (hashes[i] == d->cand[i]);
				agree_kept += (d->kept[i] == d->cand[i]);
			}
			if (d->text_len == 0 || agree_new >= agree_kept)
			{
				memcpy(d->kept, hashes, sizeof(uint64) * nslots);
				memcpy(d->text, buf, buf_len);
				d->text_len = buf_len;
				d->nparams = nparams;
				d->sampled_at = now;
				d->sample_ms = ms;
			}
			table_unlock(samples, d, 1.0);
		}
	}
	MemoryContextDelete(cxt);
}

/* ---------------------------------------------------------------------
 * Reading
 * ---------------------------------------------------------------------
 */

static void
emit_copy(void *row, const void *key, const void *data, char *text,
		  int text_len, bool truncated, void *arg)
{
	SampleCopy *c = (SampleCopy *) row;

	memcpy(&c->key, key, sizeof(SampleKey));
	memcpy(&c->d, data, sizeof(SampleData));
}

/* A SampleRow from a copy; false if no sample is kept in it. */
static bool
row_from_copy(const SampleCopy *c, SampleRow *r)
{
	const SampleData *d = &c->d;
	const char *p;
	const char *end;

	memset(r, 0, sizeof(SampleRow));
	r->userid = c->key.userid;
	r->dbid = c->key.dbid;
	r->queryid = c->key.queryid;
	r->captures = d->captures;
	r->sampled_at = d->sampled_at;
	r->sample_ms = d->sample_ms;
	r->nslots = Min(d->nslots, SAMPLE_SLOTS);
	r->nparams = d->nparams;
	if (d->text_len <= 0 || d->text_len > SAMPLE_TEXT)
		return false;
	for (int i = 0; i < r->nslots; i++)
		r->share[i] = (d->kept[i] == d->cand[i] && d->captures > 0) ?
			(double) d->matches[i] / d->captures : 0.0;
	r->statement = pnstrdup(d->text, strnlen(d->text, d->text_len));
	p = d->text + strlen(r->statement) + 1;
	end = d->text + d->text_len;
	r->nbound = d->nparams;
	r->bound_types = palloc0(sizeof(Oid) * Max(r->nbound, 1));
	r->bound_nulls = palloc0(sizeof(bool) * Max(r->nbound, 1));
	r->bound_values = palloc0(sizeof(char *) * Max(r->nbound, 1));
	for (int i = 0; i < r->nbound; i++)
	{
		unsigned int type;
		int			vlen;
		int			n = 0;

		if (p >= end || sscanf(p, "%u:%d:%n", &type, &vlen, &n) != 2 || n == 0)
			return false;
		p += n;
		r->bound_types[i] = (Oid) type;
		r->bound_nulls[i] = (vlen == -1);
		if (vlen > 0)
		{
			if (p + vlen > end)
				return false;
			r->bound_values[i] = pnstrdup(p, vlen);
			p += vlen;
		}
		else if (vlen == 0)
			r->bound_values[i] = pstrdup("");
		else if (vlen == -2)
			r->bound_types[i] = InvalidOid;
	}
	return true;
}

/* Every kept sample of database dbid (InvalidOid: all). */
SampleRow *
samples_read(Oid dbid, int *nrows)
{
	void	   *rows;
	int			n;
	int			kept = 0;
	SampleRow  *out;

	*nrows = 0;
	if (samples == NULL)
		return NULL;
	n = table_read(samples, sizeof(SampleCopy), false, emit_copy, NULL, &rows);
	out = palloc(sizeof(SampleRow) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		SampleCopy *c = &((SampleCopy *) rows)[i];

		if (OidIsValid(dbid) && c->key.dbid != dbid)
			continue;
		if (row_from_copy(c, &out[kept]))
			kept++;
	}
	pfree(rows);
	*nrows = kept;
	return out;
}


/*
 * Match the normalized text with the kept sample's text, token by token:
 * where the normalized text has $n and the sample a constant, or the same
 * $n with a bound value, that is $n's value.  NULL if the texts do not
 * match (another spelling under the same id, a squashed list, a U& string).
 * *nvalues is the highest $n of the normalized text.
 */
SampleValue *
samples_align(const char *normalized, const SampleRow *r, int *nvalues)
{
	Lexer		ln,
				ls;
	int			cap = 16;
	SampleValue *vals = palloc0(sizeof(SampleValue) * cap);
	int			maxp = 0;
	int			ordinal = 0;	/* constant tokens of the sample seen */
	bool		ok = true;

	lex_init(&ln, normalized);
	lex_init(&ls, r->statement);
	for (;;)
	{
		int			tn = lex_next(&ln);
		int			ts = lex_next(&ls);
		TokClass	kn,
					ks;

		if (tn == 0 || ts == 0)
		{
			ok = (tn == 0 && ts == 0);
			break;
		}
		kn = tok_class(ln.raw);
		ks = tok_class(ls.raw);
		if (kn == TK_PARAM)
		{
			int			p = atoi(ln.raw + 1);
			SampleValue *v;
			bool		neg = false;

			if (p <= 0 || p > 65535)
			{
				ok = false;
				break;
			}
			if (p > cap)
			{
				int			ncap = Max(cap * 2, p);

				vals = repalloc(vals, sizeof(SampleValue) * ncap);
				memset(vals + cap, 0, sizeof(SampleValue) * (ncap - cap));
				cap = ncap;
			}
			maxp = Max(maxp, p);
			v = &vals[p - 1];
			if (ks == TK_PARAM)
			{
				int			b = atoi(ls.raw + 1);

				if (b != p)
				{
					ok = false;
					break;
				}
				if (b <= r->nbound && OidIsValid(r->bound_types[b - 1]))
				{
					v->known = true;
					v->type = r->bound_types[b - 1];
					v->isnull = r->bound_nulls[b - 1];
					v->value = r->bound_values[b - 1];
					v->slot = (b - 1 < SAMPLE_SLOTS) ? b - 1 : -1;
				}
				continue;
			}
			/* a constant: a negative number is written "-" number */
			if (ls.raw[0] == '-' && ls.raw[1] == '\0')
			{
				neg = true;
				if (lex_next(&ls) == 0)
				{
					ok = false;
					break;
				}
				ks = tok_class(ls.raw);
				if (ks != TK_NUMBER)
				{
					ok = false;
					break;
				}
			}
			if (!tok_is_constant(ks) || ks == TK_USTRING)
			{
				ok = false;
				break;
			}
			v->known = true;
			v->slot = (r->nbound + ordinal < SAMPLE_SLOTS) ? r->nbound + ordinal : -1;
			ordinal++;
			switch (ks)
			{
				case TK_NUMBER:
					v->value = psprintf("%s%s", neg ? "-" : "", ls.raw);
					if (strspn(ls.raw, "0123456789") == strlen(ls.raw))
					{
						/* as the parser types an integer literal */
						char	   *end;
						long long	x;

						errno = 0;
						x = strtoll(v->value, &end, 10);
						if (errno == 0 && x >= PG_INT32_MIN && x <= PG_INT32_MAX)
							v->type = INT4OID;
						else if (errno == 0)
							v->type = INT8OID;
						else
							v->type = NUMERICOID;
					}
					else
						v->type = NUMERICOID;
					break;
				case TK_STRING:
					v->type = UNKNOWNOID;
					v->value = pstrdup(ls.lval.str);
					break;
				case TK_BOOL:
					v->type = BOOLOID;
					v->value = pstrdup(ls.raw);
					break;
				default:		/* NULL */
					v->type = UNKNOWNOID;
					v->isnull = true;
					break;
			}
			continue;
		}
		/* anything else is written alike in both texts */
		if (tn != ts || kn != ks)
		{
			ok = false;
			break;
		}
		if (ln.raw[0] == '"' || ln.raw[0] == '\'' || ln.raw[0] == '$' || tok_is_constant(kn))
			ok = strcmp(ln.raw, ls.raw) == 0;
		else
			ok = pg_strcasecmp(ln.raw, ls.raw) == 0;
		if (!ok)
			break;
		if (tok_is_constant(ks))
			ordinal++;
	}
	scanner_finish(ln.scanner);
	scanner_finish(ls.scanner);
	if (!ok)
		return NULL;
	*nvalues = maxp;
	return vals;
}

/* Entry and eviction counts. */
void
samples_info(int64 *entries, int64 *evictions)
{
	int64		truncated;
	TimestampTz reset;

	*entries = *evictions = 0;
	if (samples != NULL)
		table_stats(samples, entries, evictions, &truncated, &reset);
}

/* Forget the samples matching (userid, dbid, queryid); 0 = any. */
void
samples_reset(Oid userid, Oid dbid, uint64 queryid)
{
	if (samples != NULL)
		(void) table_reset(samples, userid, dbid, queryid);
}

/*
 * latdiag_param_samples(): one row per kept sample.  The statement and the
 * values only for readers with pg_read_all_stats or the statement's role.
 */
Datum
latdiag_param_samples(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	void	   *rows;
	int			n;
	bool		all = superuser() ||
		has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	InitMaterializedSRF(fcinfo, 0);
	if (samples == NULL)
		return (Datum) 0;
	n = table_read(samples, sizeof(SampleCopy), false, emit_copy, NULL, &rows);
	for (int i = 0; i < n; i++)
	{
		SampleRow	r;
		Datum		values[9];
		bool		nulls[9];
		bool		visible;
		Datum	   *shares;

		if (!row_from_copy(&((SampleCopy *) rows)[i], &r))
			continue;
		visible = all || has_privs_of_role(GetUserId(), r.userid);
		memset(nulls, 0, sizeof(nulls));
		values[0] = ObjectIdGetDatum(r.userid);
		values[1] = ObjectIdGetDatum(r.dbid);
		values[2] = Int64GetDatum((int64) r.queryid);
		values[3] = Int64GetDatum(r.captures);
		values[4] = TimestampTzGetDatum(r.sampled_at);
		values[5] = Float8GetDatum(r.sample_ms);
		if (visible)
		{
			ArrayBuildState *astate = NULL;

			values[6] = CStringGetTextDatum(r.statement);
			for (int b = 0; b < r.nbound; b++)
			{
				char	   *s;

				if (!OidIsValid(r.bound_types[b]))
					s = psprintf("$%d: (not kept)", b + 1);
				else if (r.bound_nulls[b])
					s = psprintf("$%d: NULL::%s", b + 1, format_type_be(r.bound_types[b]));
				else
					s = psprintf("$%d: %s::%s", b + 1, quote_literal_cstr(r.bound_values[b]),
								 format_type_be(r.bound_types[b]));
				astate = accumArrayResult(astate, CStringGetTextDatum(s), false,
										  TEXTOID, CurrentMemoryContext);
			}
			if (astate)
				values[7] = makeArrayResult(astate, CurrentMemoryContext);
			else
				values[7] = PointerGetDatum(construct_empty_array(TEXTOID));
		}
		else
		{
			nulls[6] = nulls[7] = true;
		}
		shares = palloc(sizeof(Datum) * Max(r.nslots, 1));
		for (int s = 0; s < r.nslots; s++)
			shares[s] = Float8GetDatum(r.share[s]);
		values[8] = PointerGetDatum(construct_array(shares, r.nslots, FLOAT8OID, 8,
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* latdiag_param_sample_info(): entries, capacity and evictions of the table. */
Datum
latdiag_param_sample_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	int64		entries,
				evictions;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	samples_info(&entries, &evictions);
	values[0] = Int64GetDatum(entries);
	values[1] = Int64GetDatum(latdiag_max_param_samples);
	values[2] = Int64GetDatum(evictions);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
