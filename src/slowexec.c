/*
 * slowexec.c: a log of individual slow and failed executions.
 *
 * RING.  latdiag.max_slow_executions entries in shared memory, each with its
 * own spinlock.  A writer takes the next position with one atomic
 * fetch-and-add and copies its entry in under that entry's spinlock; a
 * reader copies each entry under its spinlock.  No LWLock, no allocation:
 * failures are logged from abort callbacks.  The oldest entry is
 * overwritten; the ring is not saved across restarts (a log of the last
 * minutes, not statistics).
 *
 * WHAT IS LOGGED.  An execution at least latdiag.slow_execution_min_duration
 * long (ExecutorEnd, ProcessUtility: one comparison on the success path),
 * and every failed execution (errors.c).  Who sent it is resolved only when
 * an entry is written, so the success path pays nothing for it:
 * application_name is copied from the setting, the client address is
 * formatted once per backend, and the W3C trace context is parsed from a
 * sqlcommenter traceparent in the statement's text.
 */
#include "postgres.h"

#include <ctype.h>
#include <sys/socket.h>
#include <netdb.h>

#include "common/ip.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/backend_status.h"
#include "utils/guc.h"

#include "compat.h"
#include "guc.h"
#include "slowexec.h"

typedef struct SlowSlot
{
	slock_t		mutex;
	bool		used;
	SlowExecution e;
} SlowSlot;

typedef struct SlowRing
{
	pg_atomic_uint64 next;		/* executions ever written */
	int			size;
	SlowSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} SlowRing;

static SlowRing *ring = NULL;
static char my_client[SLOWEXEC_CLIENT_LEN];
static bool my_client_done = false;

Size
slowexec_shmem_size(void)
{
	return add_size(offsetof(SlowRing, slots),
					mul_size(latdiag_max_slow_executions, sizeof(SlowSlot)));
}

/* Ask for the ring's memory; from shmem_request_hook. */
void
slowexec_shmem_request(void)
{
	RequestAddinShmemSpace(slowexec_shmem_size());
}

/* Attach to (or create) the ring; from shmem_startup_hook. */
void
slowexec_shmem_startup(void)
{
	bool		found;

	ring = ShmemInitStruct("postgres_latdiag slow executions",
						   slowexec_shmem_size(), &found);
	if (!found)
	{
		pg_atomic_init_u64(&ring->next, 0);
		ring->size = latdiag_max_slow_executions;
		for (int i = 0; i < ring->size; i++)
		{
			SpinLockInit(&ring->slots[i].mutex);
			ring->slots[i].used = false;
		}
	}
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* n bytes from 2n hex digits; false if one is not a hex digit. */
static bool
hex_bytes(const char *s, uint8 *out, int n)
{
	for (int i = 0; i < n; i++)
	{
		int			hi = hex_value(s[2 * i]),
					lo = hex_value(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8) (hi << 4 | lo);
	}
	return true;
}

static bool
all_zero(const uint8 *b, int n)
{
	for (int i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/*
 * Find a W3C traceparent in a sqlcommenter comment of the text:
 * traceparent='00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>'.
 * Version ff and all-zero ids are invalid.  The first well-formed one wins;
 * anything else is ignored.  Allocates nothing.
 */
bool
trace_context_parse(const char *text, int len, TraceContext *tc)
{
	static const char key[] = "traceparent='";
	const int	klen = sizeof(key) - 1;
	const int	vlen = 55;		/* 2+1+32+1+16+1+2 */

	tc->valid = false;
	if (text == NULL)
		return false;
	for (int i = 0; i + klen + vlen < len + 1; i++)
	{
		const char *v;
		uint8		version,
					flags;

		if (text[i] != 't' || strncmp(text + i, key, klen) != 0)
			continue;
		v = text + i + klen;
		if (v[2] != '-' || v[35] != '-' || v[52] != '-' ||
			(i + klen + vlen < len && v[vlen] != '\''))
			continue;
		if (!hex_bytes(v, &version, 1) || version == 0xff ||
			!hex_bytes(v + 3, tc->trace_id, 16) ||
			!hex_bytes(v + 36, tc->parent_id, 8) ||
			!hex_bytes(v + 53, &flags, 1) ||
			all_zero(tc->trace_id, 16) || all_zero(tc->parent_id, 8))
			continue;
		tc->valid = true;
		return true;
	}
	return false;
}

/* A key character of sqlcommenter (URL-encoded keys keep '%'). */
static inline bool
sqlc_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '%';
}

/*
 * URL-decode src[0..n) into dst (at most cap - 1 bytes, then NUL), undoing
 * sqlcommenter's "\'" escape too.  Returns the decoded length, or -1 if a
 * %-escape is malformed.  A value longer than cap - 1 is cut.
 */
static int
sqlc_decode(const char *src, int n, char *dst, int cap)
{
	int			o = 0;

	for (int i = 0; i < n; i++)
	{
		char		c = src[i];

		if (c == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= n)
				return -1;
			hi = hex_value(src[i + 1]);
			lo = hex_value(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char) (hi << 4 | lo);
			i += 2;
		}
		else if (c == '\\' && i + 1 < n && src[i + 1] == '\'')
			c = src[++i];
		if (o < cap - 1)
			dst[o++] = c;
	}
	dst[o] = '\0';
	return o;
}

/*
 * Parse the pairs of one comment body, body[0..n): key='value',key='value'.
 * Any malformed pair makes the whole comment ignored (returns false).
 */
static bool
sqlc_parse_body(const char *body, int n, SqlcTags *tags)
{
	int			i = 0;

	tags->ntags = 0;
	tags->len = 0;
	while (i < n)
	{
		int			k0 = i,
					klen,
					v0,
					vlen;
		char		key[SQLC_KEY_LEN];
		char		value[SQLC_VALUE_LEN];
		int			kdec,
					vdec;

		while (i < n && sqlc_key_char(body[i]))
			i++;
		klen = i - k0;
		if (klen == 0 || i + 1 >= n || body[i] != '=' || body[i + 1] != '\'')
			return false;
		i += 2;
		v0 = i;
		while (i < n && body[i] != '\'')
		{
			if (body[i] == '\\' && i + 1 < n)
				i++;
			i++;
		}
		if (i >= n)
			return false;		/* unterminated value */
		vlen = i - v0;
		i++;					/* the closing quote */
		if (i < n)
		{
			if (body[i] != ',')
				return false;
			i++;
		}
		kdec = sqlc_decode(body + k0, klen, key, sizeof(key));
		vdec = sqlc_decode(body + v0, vlen, value, sizeof(value));
		if (kdec < 0 || vdec < 0)
			return false;
		/* the trace context has its own columns; bounded, valid text only */
		if (kdec == 0 || kdec >= SQLC_KEY_LEN - 1 ||
			strcmp(key, "traceparent") == 0 || strcmp(key, "tracestate") == 0)
			continue;
		if (vdec > 0)
			vdec = pg_mbcliplen(value, vdec, vdec);
		value[vdec] = '\0';
		if (!pg_verifymbstr(key, kdec, true) || !pg_verifymbstr(value, vdec, true))
			continue;
		if (tags->ntags >= SQLC_MAX_TAGS ||
			tags->len + kdec + 1 + vdec + 1 > SQLC_TAGS_LEN)
			continue;			/* more than we keep: the first ones win */
		memcpy(tags->buf + tags->len, key, kdec + 1);
		tags->len += kdec + 1;
		memcpy(tags->buf + tags->len, value, vdec + 1);
		tags->len += vdec + 1;
		tags->ntags++;
	}
	return true;
}

/*
 * The sqlcommenter tags of a query string: the pairs of a comment at its end
 * (before or after a final semicolon), else of a comment at its start, as
 * drivers write them.  A malformed comment is ignored.  Returns the number
 * of tags; allocates nothing and raises no error.
 */
int
sqlc_parse(const char *text, int len, SqlcTags *tags)
{
	int			e = len;
	int			b = 0;

	tags->ntags = 0;
	tags->len = 0;
	if (text == NULL || len < 4)
		return 0;
	/* trailing: skip whitespace and semicolons, then "*\/" ... "/\*" */
	while (e > 0 && (isspace((unsigned char) text[e - 1]) || text[e - 1] == ';'))
		e--;
	if (e >= 4 && text[e - 1] == '/' && text[e - 2] == '*')
	{
		for (int s = e - 4; s >= 0; s--)
		{
			if (text[s] == '/' && text[s + 1] == '*')
			{
				if (sqlc_parse_body(text + s + 2, e - 2 - (s + 2), tags))
					return tags->ntags;
				break;
			}
		}
	}
	/* leading */
	while (b < len && isspace((unsigned char) text[b]))
		b++;
	if (b + 4 <= len && text[b] == '/' && text[b + 1] == '*')
	{
		for (int s = b + 2; s + 1 < len; s++)
		{
			if (text[s] == '*' && text[s + 1] == '/')
			{
				if (sqlc_parse_body(text + b + 2, s - (b + 2), tags))
					return tags->ntags;
				break;
			}
		}
	}
	tags->ntags = 0;
	tags->len = 0;
	return 0;
}

/*
 * Copy a statement's text (loc, len within the query string source, as
 * CleanQuerytext takes them) into an entry, cut at a character boundary,
 * and find the trace context in the whole string: a sqlcommenter comment
 * can follow the statement's semicolon.  No allocation.
 */
void
slowexec_set_statement(SlowExecution *e, const char *source, int loc, int len)
{
	const char *stmt;

	e->text_len = 0;
	e->trace.valid = false;
	e->tags.ntags = 0;
	e->tags.len = 0;
	if (source == NULL)
		return;
	(void) trace_context_parse(source, (int) strlen(source), &e->trace);
	(void) sqlc_parse(source, (int) strlen(source), &e->tags);
	stmt = CleanQuerytext(source, &loc, &len);
	if (len <= 0)
		return;
	if (len >= SLOWEXEC_TEXT_LEN)
		len = pg_mbcliplen(stmt, len, SLOWEXEC_TEXT_LEN - 1);
	memcpy(e->text, stmt, len);
	e->text_len = len;
}

/* This backend's client address as text, formatted once; "" if local. */
static const char *
client_address(void)
{
	if (!my_client_done)
	{
		my_client[0] = '\0';
		if (MyBEEntry &&
			(MyBEEntry->st_clientaddr.addr.ss_family == AF_INET ||
			 MyBEEntry->st_clientaddr.addr.ss_family == AF_INET6) &&
			pg_getnameinfo_all(&MyBEEntry->st_clientaddr.addr,
							   MyBEEntry->st_clientaddr.salen,
							   my_client, sizeof(my_client), NULL, 0,
							   NI_NUMERICHOST) != 0)
			my_client[0] = '\0';
		my_client_done = true;
	}
	return my_client;
}

/*
 * Log one execution: the caller filled what it measured (and the text);
 * who sent it is filled in here.  No allocation, no error.
 */
void
slowexec_add(SlowExecution *e)
{
	SlowSlot   *s;
	uint64		pos;

	if (ring == NULL || ring->size <= 0)
		return;
	e->finished_at = GetCurrentTimestamp();
	e->dbid = MyDatabaseId;
	e->pid = MyProcPid;
	snprintf(e->application_name, SLOWEXEC_NAME_LEN, "%s",
			 application_name ? application_name : "");
	snprintf(e->client, SLOWEXEC_CLIENT_LEN, "%s", client_address());

	pos = pg_atomic_fetch_add_u64(&ring->next, 1);
	s = &ring->slots[pos % ring->size];
	SpinLockAcquire(&s->mutex);
	memcpy(&s->e, e, offsetof(SlowExecution, text) + e->text_len);
	s->used = true;
	SpinLockRelease(&s->mutex);
}

/* Copy the ring out, newest first. */
SlowExecution *
slowexec_read(int *nrows)
{
	SlowExecution *out;
	uint64		next;
	int			n = 0;

	if (ring == NULL || ring->size <= 0)
	{
		*nrows = 0;
		return palloc(sizeof(SlowExecution));
	}
	out = palloc(mul_size(ring->size, sizeof(SlowExecution)));
	next = pg_atomic_read_u64(&ring->next);
	for (int k = 1; k <= ring->size; k++)
	{
		SlowSlot   *s = &ring->slots[(next - k + (uint64) ring->size * 2) % ring->size];

		SpinLockAcquire(&s->mutex);
		if (s->used)
		{
			memcpy(&out[n], &s->e, offsetof(SlowExecution, text) + s->e.text_len);
			n++;
		}
		SpinLockRelease(&s->mutex);
	}
	*nrows = n;
	return out;
}

/* Forget the entries matching (userid, dbid, queryid); 0 = any. */
void
slowexec_reset(Oid userid, Oid dbid, uint64 queryid)
{
	if (ring == NULL)
		return;
	for (int i = 0; i < ring->size; i++)
	{
		SlowSlot   *s = &ring->slots[i];

		SpinLockAcquire(&s->mutex);
		if ((userid == InvalidOid || s->e.userid == userid) &&
			(dbid == InvalidOid || s->e.dbid == dbid) &&
			(queryid == 0 || s->e.queryid == queryid))
			s->used = false;
		SpinLockRelease(&s->mutex);
	}
}
