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
	if (source == NULL)
		return;
	(void) trace_context_parse(source, (int) strlen(source), &e->trace);
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
