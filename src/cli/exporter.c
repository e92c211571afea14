/*
 * exporter.c: `latdiag exporter`, a Prometheus endpoint (GET /metrics).
 *
 *   latdiag exporter [--listen HOST:PORT] [--dsn DSN]... [--top N]
 *                    [--basic-auth-user USER --basic-auth-password-file FILE]
 *                    [--tls-cert FILE --tls-key FILE] [--query-length N]
 *
 * The HTTP side is libmicrohttpd (Debian's libmicrohttpd-dev; doc/monitoring.md
 * says why), one thread per connection.  Every scrape reads every server in
 * parallel, one thread each, on a connection kept open between scrapes and
 * guarded by the server's mutex, so concurrent scrapes of one server take
 * turns.  A server that cannot be read gives latdiag_up 0, never an HTTP error.
 *
 * Per statement (queryid), latdiag_statement_duration_seconds is a Prometheus
 * histogram whose cumulative buckets are sums of latdiag's fine buckets
 * (18 per power of two from 0.01 ms): each boundary is a fine-bucket edge, so
 * the counts are exact.  Only --top statements by total time are exported,
 * and a statement once exported stays so until it leaves the store (eviction
 * or reset); the rest are summed into queryid="other".  See doc/monitoring.md.
 */
#include "latdiag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <microhttpd.h>

#define TAG "/* latdiag-cli */ "

/* latdiag's fine buckets (src/histogram.h). */
#define FINE_PER_OCTAVE 18
#define FINE_MIN_MS 0.01

/*
 * The exported boundaries, in ms: Prometheus' usual 1-2.5-5 steps from 0.5 ms
 * to 60 s, each moved to the nearest fine-bucket edge (0.508 ms, 1.016 ms ...),
 * so that a cumulative count is a sum of whole fine buckets.
 */
static const double target_ms[] = {
	0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 60000
};
#define NB ((int) (sizeof(target_ms) / sizeof(target_ms[0])))
static int	edge_index[NB];		/* fine index of each boundary */
static char edge_label[NB][32]; /* its value in seconds, as printed in le="" */

/* A growable string. */
typedef struct Buf
{
	char	   *s;
	size_t		len,
				cap;
} Buf;

static void
buf_add(Buf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void
buf_add(Buf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	for (;;)
	{
		size_t		room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (b->s && (size_t) n < room)
		{
			b->len += n;
			return;
		}
		b->cap = (b->cap + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (b->s == NULL)
		{
			fprintf(stderr, "latdiag exporter: out of memory\n");
			exit(1);
		}
	}
}

/* Append len bytes (the fast path: a scrape writes millions of them). */
static void
buf_put(Buf *b, const char *p, size_t len)
{
	if (b->len + len + 1 > b->cap)
	{
		b->cap = (b->cap + len + 1) * 2;
		b->s = realloc(b->s, b->cap);
		if (b->s == NULL)
		{
			fprintf(stderr, "latdiag exporter: out of memory\n");
			exit(1);
		}
	}
	memcpy(b->s + b->len, p, len);
	b->len += len;
	b->s[b->len] = '\0';
}

static void
buf_str(Buf *b, const char *p)
{
	buf_put(b, p, strlen(p));
}

/* A count: an integer when it is one (always, for bucket counts). */
static void
buf_num(Buf *b, double v)
{
	char		tmp[40];
	int			n;

	if (v >= 0 && v < 9e15 && v == floor(v))
	{
		unsigned long long u = (unsigned long long) v;
		char	   *e = tmp + sizeof(tmp);
		char	   *q = e;

		do
			*--q = '0' + u % 10;
		while ((u /= 10) > 0);
		buf_put(b, q, e - q);
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.15g", v);
	buf_put(b, tmp, n);
}

/* A label value: backslash, double quote and newline escaped. */
static void
buf_label(Buf *b, const char *v)
{
	const char *p = v ? v : "";

	while (*p)
	{
		size_t		span = strcspn(p, "\\\"\n");

		buf_put(b, p, span);
		p += span;
		if (*p == '\0')
			break;
		buf_str(b, *p == '\\' ? "\\\\" : *p == '"' ? "\\\"" : "\\n");
		p++;
	}
}

/* The metric families, in output order; each server fills its own part. */
typedef enum Family
{
	F_UP,
	F_SCRAPE_SECONDS,
	F_DURATION,
	F_INFO,
	F_EXPORTED,
	F_ERRORS,
	F_LOCK_SECONDS,
	F_LOCK_WAITS,
	F_NPLUSONE,
	F_SEQ_ROWS,
	F_ENTRIES,
	F_MAX_ENTRIES,
	F_EVICTIONS,
	F_SHMEM,
	NUM_FAMILIES
} Family;

static const struct
{
	const char *name;
	const char *type;
	const char *help;
}			families[NUM_FAMILIES] = {
	{"latdiag_up", "gauge", "1 if the server's postgres_latdiag could be read at this scrape, else 0"},
	{"latdiag_scrape_duration_seconds", "gauge", "Time taken to read the server at this scrape"},
	{"latdiag_statement_duration_seconds", "histogram",
	 "Execution time of top-level and nested statements, from latdiag's histograms (exact at each boundary)"},
	{"latdiag_statement_info", "gauge", "Normalized text of an exported statement (1); only where the exporter's role may read it"},
	{"latdiag_statements_exported", "gauge", "Statements exported with their own queryid (the rest are queryid=\"other\")"},
	{"latdiag_statement_errors_total", "counter",
	 "Failed executions per statement and SQLSTATE class, where the server's latdiag records them (latdiag_errors)"},
	{"latdiag_statement_lock_wait_seconds_total", "counter", "Time statements waited for heavyweight locks"},
	{"latdiag_statement_lock_waits_total", "counter", "Heavyweight lock waits of statements"},
	{"latdiag_n_plus_one_episodes_total", "counter", "N+1 episodes kept in latdiag_n_plus_one, by kind"},
	{"latdiag_seq_scan_rows_total", "counter", "Rows read by flagged sequential scans of large tables, by table"},
	{"latdiag_store_entries", "gauge", "Statements in the query store"},
	{"latdiag_store_max_entries", "gauge", "Capacity of the query store (latdiag.max_queries)"},
	{"latdiag_store_evictions_total", "counter", "Statements evicted from the query store"},
	{"latdiag_store_shmem_bytes", "gauge", "Shared memory of the query store"},
};

/* One statement as read at a scrape, and its exported state. */
typedef struct Stmt
{
	long long	qid;
	double		calls;
	double		total_ms;
	char	   *datname;
	char	   *user;
	char	   *toplevel;
	char	   *query;
	double		cum[NB];		/* executions at or below each boundary */
	double		count;			/* all executions (the +Inf bucket) */
	double		lock_waits,
				lock_ms;
	bool		member;
	bool		own;			/* the exporter's own statement */
} Stmt;

/* A statement's counts at the previous scrape. */
typedef struct Prev
{
	long long	qid;
	double		cum[NB],
				count,
				ms,
				calls;
	bool		member;			/* exported then */
	char	   *text;			/* its text, if exported then */
	bool		no_text;		/* exported then, and no text to read */
} Prev;

/* A statement exported with its own queryid. */
typedef struct Member
{
	long long	qid;
	double		count;			/* at the last scrape: a drop means a reset */
} Member;

typedef struct ExpServer
{
	const char *dsn;
	char	   *password;		/* to scrub from messages */
	char	   *label;
	pthread_mutex_t lock;
	PGconn	   *conn;
	bool		was_up;
	char	   *last_error;
	Member	   *members;		/* sorted by qid */
	int			nmembers;
	/* What promoted statements had counted, so "other" never goes backwards. */
	double		other_cum[NB],
				other_count,
				other_ms;
	Prev	   *prev;			/* every statement at the last scrape, by qid */
	int			nprev;
	long long  *own;			/* queryids of the exporter's own statements */
	int			nown;
	/* This scrape's output, per family (filled under lock). */
	Buf			out[NUM_FAMILIES];
} ExpServer;

static ExpServer *servers;
static int	nservers;
static int	top_n = 200;
static int	query_length = 200;
static char *auth_user;
static char *auth_password;
static const char *listen_arg = "127.0.0.1:9187";
static volatile sig_atomic_t stop;

/*
 * msg with every occurrence of the DSN's password replaced by "***", then on
 * one line (one_line).  The password goes first, so that none of it is
 * missed for whitespace that one_line would fold.
 */
static char *
scrub(const ExpServer *s, const char *msg)
{
	char	   *out = xstrdup(msg ? msg : "unknown error");
	char	   *p;
	char	   *line;

	if (s->password && *s->password)
	{
		size_t		plen = strlen(s->password);

		while ((p = strstr(out, s->password)) != NULL)
		{
			char	   *n = xprintf("%.*s***%s", (int) (p - out), out, p + plen);

			free(out);
			out = n;
		}
	}
	line = one_line(out);
	free(out);
	return line;
}

static void
log_msg(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static void
log_msg(const char *fmt,...)
{
	va_list		ap;
	time_t		now = time(NULL);
	struct tm	tm;
	char		ts[32];

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s latdiag exporter: ", ts);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
cmp_stmt_qid(const void *a, const void *b)
{
	long long	x = ((const Stmt *) a)->qid,
				y = ((const Stmt *) b)->qid;

	return x < y ? -1 : x > y;
}

static int
cmp_prev(const void *a, const void *b)
{
	long long	x = ((const Prev *) a)->qid,
				y = ((const Prev *) b)->qid;

	return x < y ? -1 : x > y;
}

static int
cmp_stmt_total_desc(const void *a, const void *b)
{
	const Stmt *x = *(Stmt *const *) a,
			   *y = *(Stmt *const *) b;

	if (x->total_ms != y->total_ms)
		return x->total_ms > y->total_ms ? -1 : 1;
	return x->qid < y->qid ? -1 : x->qid > y->qid;
}

static Stmt *
find_stmt(Stmt *st, int n, long long qid)
{
	Stmt		key;

	key.qid = qid;
	return bsearch(&key, st, n, sizeof(Stmt), cmp_stmt_qid);
}

/* Run a query; NULL and *err (scrubbed) on failure. */
static PGresult *
exp_query(ExpServer *s, const char *sql, char **err)
{
	PGresult   *res = PQexec(s->conn, sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		*err = scrub(s, PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Open the server's connection if it is not open; false (and *err) if it cannot be. */
static bool
ensure_connected(ExpServer *s, char **err)
{
	const char *const keys[] = {"dbname", "client_encoding", "fallback_application_name", NULL};
	const char *const vals[] = {s->dsn, "UTF8", "latdiag-exporter", NULL};
	const char *su;

	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return true;
	if (s->conn)
		PQfinish(s->conn);
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (s->conn == NULL)
	{
		*err = xstrdup("out of memory");
		return false;
	}
	if (s->label == NULL || strcmp(s->label, "?:?/?") == 0)
	{
		free(s->label);
		s->label = xprintf("%s:%s/%s", PQhost(s->conn) ? PQhost(s->conn) : "?",
						   PQport(s->conn) ? PQport(s->conn) : "?",
						   PQdb(s->conn) ? PQdb(s->conn) : "?");
	}
	if (PQstatus(s->conn) != CONNECTION_OK)
	{
		*err = scrub(s, PQerrorMessage(s->conn));
		PQfinish(s->conn);
		s->conn = NULL;
		return false;
	}
	su = PQparameterStatus(s->conn, "is_superuser");
	if (su && strcmp(su, "on") == 0)
		PQclear(PQexec(s->conn, TAG "SET latdiag.enabled = off"));
	PQclear(PQexec(s->conn, TAG "SET statement_timeout = '30s'"));
	return true;
}

/* Fine index of a bucket from its lower bound in ms. */
static int
fine_index(double lower_ms)
{
	if (lower_ms <= FINE_MIN_MS)
		return 0;
	return (int) lround(FINE_PER_OCTAVE * log2(lower_ms / FINE_MIN_MS));
}

/* Is this queryid one of the exporter's own statements (found by fetch_texts)? */
static bool
is_own(const ExpServer *s, long long qid)
{
	int			i;

	for (i = 0; i < s->nown; i++)
		if (s->own[i] == qid)
			return true;
	return false;
}

/* Replace the oids in datname and user by names ("*" stays). */
static void
name_oids(ExpServer *s, Stmt *st, int n)
{
	PGresult   *res = PQexec(s->conn, TAG "SELECT 'd', oid, datname FROM pg_catalog.pg_database "
								 "UNION ALL SELECT 'r', oid, rolname FROM pg_catalog.pg_roles");
	int			i,
				r;
	bool		ok = PQresultStatus(res) == PGRES_TUPLES_OK;

	for (i = 0; i < n; i++)
	{
		char	  **fields[2] = {&st[i].datname, &st[i].user};
		int			f;

		for (f = 0; f < 2; f++)
		{
			if (strcmp(*fields[f], "*") == 0)
				continue;
			for (r = 0; ok && r < PQntuples(res); r++)
				if (PQgetvalue(res, r, 0)[0] == (f == 0 ? 'd' : 'r') &&
					strcmp(PQgetvalue(res, r, 1), *fields[f]) == 0)
				{
					free(*fields[f]);
					*fields[f] = xstrdup(PQgetvalue(res, r, 2));
					break;
				}
		}
	}
	PQclear(res);
}

/* The statements' counts at the last scrape, by queryid. */
static Prev *
find_prev(const ExpServer *s, long long qid)
{
	Prev		key;

	key.qid = qid;
	return s->prev ? bsearch(&key, s->prev, s->nprev, sizeof(Prev), cmp_prev) : NULL;
}

/*
 * Texts of the exported statements: kept from the last scrape, read for new
 * members.  A member whose text is one of our own statements (a role that is
 * not superuser is tracked) is dropped and never exported.
 */
static void
fetch_texts(ExpServer *s, Stmt *st, int n)
{
	Buf			ids = {0};
	int			i,
				need = 0;
	PGresult   *res;
	const char *params[1];

	buf_str(&ids, "{");
	for (i = 0; i < n; i++)
	{
		Prev	   *p;

		if (!st[i].member)
			continue;
		p = find_prev(s, st[i].qid);
		if (p && p->text)
			st[i].query = xstrdup(p->text);
		else if (!(p && p->no_text))
		{
			buf_add(&ids, "%s%lld", need++ ? "," : "", st[i].qid);
		}
	}
	buf_str(&ids, "}");
	if (need == 0)
	{
		free(ids.s);
		return;
	}
	params[0] = ids.s;
	res = PQexecParams(s->conn, TAG "SELECT queryid, min(query) FROM latdiag_queries "
					   "WHERE queryid = ANY ($1::bigint[]) AND query <> '<insufficient privilege>' "
					   "GROUP BY queryid", 1, NULL, params, NULL, NULL, 0);
	free(ids.s);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		PQclear(res);
		return;
	}
	for (i = 0; i < PQntuples(res); i++)
	{
		Stmt	   *t = find_stmt(st, n, atoll(PQgetvalue(res, i, 0)));

		if (t == NULL || PQgetisnull(res, i, 1))
			continue;
		if (strncmp(PQgetvalue(res, i, 1), TAG, strlen(TAG) - 1) == 0)
		{
			/* ours: forget it for good */
			s->own = realloc(s->own, sizeof(long long) * (s->nown + 1));
			s->own[s->nown++] = t->qid;
			t->member = false;
			t->own = true;
			continue;
		}
		t->query = xstrdup(PQgetvalue(res, i, 1));
	}
	PQclear(res);
}

/* The statements of the server, with their histograms, sorted by queryid. */
static bool
read_statements(ExpServer *s, Stmt **out, int *nout, char **err)
{
	PGresult   *res = NULL;
	PGresult   *hres = NULL;
	Stmt	   *st;
	int			n,
				nres,
				i,
				attempt;

	/*
	 * Statements the exporter's role can identify (a NULL queryid is another
	 * user's statement, hidden without pg_read_all_stats), without texts:
	 * texts are read only for exported statements (fetch_texts).  Entries of
	 * one queryid (users, databases, nesting levels) are summed here.
	 */
	res = exp_query(s, TAG "SELECT queryid, dbid, userid, toplevel, calls, total_exec_time "
					"FROM latdiag_queries(false) WHERE queryid IS NOT NULL AND calls > 0 "
					"ORDER BY queryid", err);
	if (res == NULL)
		return false;
	nres = PQntuples(res);
	st = xmalloc(sizeof(Stmt) * (nres + 1));
	n = 0;
	for (i = 0; i < nres; i++)
	{
		long long	qid = atoll(PQgetvalue(res, i, 0));
		const char *db = PQgetvalue(res, i, 1);
		const char *usr = PQgetvalue(res, i, 2);
		const char *top = PQgetvalue(res, i, 3)[0] == 't' ? "true" : "false";
		Stmt	   *t;

		if (is_own(s, qid))
			continue;
		if (n > 0 && st[n - 1].qid == qid)
		{
			t = &st[n - 1];
			/* several databases, users or levels: "*" (doc/monitoring.md) */
			if (strcmp(t->datname, db) != 0)
				strcpy(t->datname, "*");
			if (strcmp(t->user, usr) != 0)
				strcpy(t->user, "*");
			if (strcmp(t->toplevel, top) != 0)
				strcpy(t->toplevel, "*");
		}
		else
		{
			t = &st[n++];
			t->qid = qid;
			/* oids for now (never shorter than "*"); names once every row is in */
			t->datname = xstrdup(db);
			t->user = xstrdup(usr);
			t->toplevel = xstrdup(top);
		}
		t->calls += atof(PQgetvalue(res, i, 4));
		t->total_ms += atof(PQgetvalue(res, i, 5));
	}
	PQclear(res);
	/* ORDER BY queryid sorts as we compare; sort anyway, bsearch depends on it. */
	qsort(st, n, sizeof(Stmt), cmp_stmt_qid);
	name_oids(s, st, n);

	/*
	 * The histograms.  latdiag_latency_histogram() copies the store once per
	 * call, so only statements whose calls or time changed since the last
	 * scrape are read again; the others keep the buckets read then.  A
	 * statement evicted meanwhile makes the call fail: read again.
	 */
	{
		Buf			ids = {0};
		int			nread = 0;

		buf_add(&ids, "{");
		for (i = 0; i < n; i++)
		{
			Prev		key,
					   *p;

			key.qid = st[i].qid;
			p = s->prev ? bsearch(&key, s->prev, s->nprev, sizeof(Prev), cmp_prev) : NULL;
			if (p && p->calls == st[i].calls && p->ms == st[i].total_ms)
			{
				memcpy(st[i].cum, p->cum, sizeof(p->cum));
				st[i].count = p->count;
				continue;
			}
			buf_add(&ids, "%s%lld", nread++ ? "," : "", st[i].qid);
		}
		buf_add(&ids, "}");
		for (attempt = 0; nread > 0 && attempt < 3 && hres == NULL; attempt++)
		{
			const char *params[1] = {ids.s};

			if (*err)
			{
				free(*err);
				*err = NULL;
			}
			hres = PQexecParams(s->conn, TAG "SELECT q, h.lower_ms, h.count FROM "
								"unnest($1::bigint[]) q CROSS JOIN LATERAL latdiag_latency_histogram(q) h",
								1, NULL, params, NULL, NULL, 0);
			if (PQresultStatus(hres) != PGRES_TUPLES_OK)
			{
				*err = scrub(s, PQresultErrorMessage(hres));
				PQclear(hres);
				hres = NULL;
			}
		}
		free(ids.s);
		if (nread == 0)
		{
			*out = st;
			*nout = n;
			return true;
		}
	}
	if (hres == NULL)
	{
		for (i = 0; i < n; i++)
		{
			free(st[i].datname);
			free(st[i].user);
			free(st[i].toplevel);
			free(st[i].query);
		}
		free(st);
		return false;
	}
	for (i = 0; i < PQntuples(hres); i++)
	{
		Stmt	   *t = find_stmt(st, n, atoll(PQgetvalue(hres, i, 0)));
		int			fi = fine_index(atof(PQgetvalue(hres, i, 1)));
		double		c = atof(PQgetvalue(hres, i, 2));
		int			k;

		if (t == NULL)
			continue;
		t->count += c;
		for (k = 0; k < NB; k++)
			if (fi < edge_index[k])
				t->cum[k] += c;
	}
	PQclear(hres);
	*out = st;
	*nout = n;
	return true;
}

/* Does the extension's schema (on the search_path) have this relation? */
static bool
has_relation(ExpServer *s, const char *name)
{
	char	   *sql = xprintf(TAG "SELECT to_regclass('%s') IS NOT NULL", name);
	PGresult   *res = PQexec(s->conn, sql);
	bool		yes = PQresultStatus(res) == PGRES_TUPLES_OK &&
		strcmp(PQgetvalue(res, 0, 0), "t") == 0;

	PQclear(res);
	free(sql);
	return yes;
}

/* Decide which statements are exported (sticky, --top by total time). */
static void
choose_members(ExpServer *s, Stmt *st, int n)
{
	Member	   *keep = xmalloc(sizeof(Member) * (top_n + 1));
	int			nkeep = 0,
				i,
				k;
	Stmt	  **cand;
	int			ncand = 0;

	/* Members stay while they are in the store and have not been reset. */
	for (i = 0; i < s->nmembers; i++)
	{
		Stmt	   *t = find_stmt(st, n, s->members[i].qid);

		if (t == NULL || t->count < s->members[i].count)
			continue;
		t->member = true;
		keep[nkeep].qid = t->qid;
		keep[nkeep].count = t->count;
		nkeep++;
	}
	/* Free places go to the heaviest others; what they counted leaves "other". */
	if (nkeep < top_n)
	{
		cand = xmalloc(sizeof(Stmt *) * (n + 1));
		for (i = 0; i < n; i++)
			if (!st[i].member)
				cand[ncand++] = &st[i];
		qsort(cand, ncand, sizeof(Stmt *), cmp_stmt_total_desc);
		for (i = 0; i < ncand && nkeep < top_n; i++)
		{
			Stmt	   *t = cand[i];

			t->member = true;
			keep[nkeep].qid = t->qid;
			keep[nkeep].count = t->count;
			nkeep++;
			{
				/* "other" counted it at the last scrape: keep that in "other" */
				Prev		key,
						   *p;

				key.qid = t->qid;
				p = s->prev ? bsearch(&key, s->prev, s->nprev, sizeof(Prev), cmp_prev) : NULL;
				if (p && !p->member)
				{
					for (k = 0; k < NB; k++)
						s->other_cum[k] += p->cum[k];
					s->other_count += p->count;
					s->other_ms += p->ms;
				}
			}
		}
		free(cand);
	}
	free(keep);
}

/* Remember this scrape: the members, and every statement's counts and text. */
static void
remember(ExpServer *s, Stmt *st, int n)
{
	int			i;

	for (i = 0; i < s->nprev; i++)
		free(s->prev[i].text);
	free(s->prev);
	free(s->members);
	s->prev = xmalloc(sizeof(Prev) * (n + 1));
	s->members = xmalloc(sizeof(Member) * (n + 1));
	s->nmembers = 0;
	/* st is sorted by qid, so prev and members are too */
	for (i = 0; i < n; i++)
	{
		s->prev[i].qid = st[i].qid;
		memcpy(s->prev[i].cum, st[i].cum, sizeof(st[i].cum));
		s->prev[i].count = st[i].count;
		s->prev[i].ms = st[i].total_ms;
		s->prev[i].calls = st[i].calls;
		s->prev[i].member = st[i].member;
		s->prev[i].text = st[i].member ? xstrdup(st[i].query) : NULL;
		s->prev[i].no_text = st[i].member && st[i].query == NULL;
		if (st[i].member)
		{
			s->members[s->nmembers].qid = st[i].qid;
			s->members[s->nmembers].count = st[i].count;
			s->nmembers++;
		}
	}
	s->nprev = n;
}

/* The series of one statement (or "other") of the duration histogram. */
static void
emit_histogram(ExpServer *s, const char *qid, const char *datname, const char *user,
			   const char *toplevel, const double *cum, double count, double total_ms)
{
	Buf		   *b = &s->out[F_DURATION];
	Buf			lab = {0};
	int			k;
	const char *name = families[F_DURATION].name;

	buf_add(&lab, "server=\"");
	buf_label(&lab, s->label);
	buf_add(&lab, "\",datname=\"");
	buf_label(&lab, datname);
	buf_add(&lab, "\",user=\"");
	buf_label(&lab, user);
	buf_add(&lab, "\",queryid=\"%s\",toplevel=\"%s\"", qid, toplevel);
	for (k = 0; k <= NB; k++)
	{
		buf_str(b, name);
		buf_put(b, "_bucket{", 8);
		buf_put(b, lab.s, lab.len);
		buf_put(b, ",le=\"", 5);
		buf_str(b, k < NB ? edge_label[k] : "+Inf");
		buf_put(b, "\"} ", 3);
		buf_num(b, k < NB ? cum[k] : count);
		buf_put(b, "\n", 1);
	}
	buf_add(b, "%s_sum{%s} %.15g\n", name, lab.s, total_ms / 1000.0);
	buf_str(b, name);
	buf_put(b, "_count{", 7);
	buf_put(b, lab.s, lab.len);
	buf_put(b, "} ", 2);
	buf_num(b, count);
	buf_put(b, "\n", 1);
	free(lab.s);
}

/* server="..." for the families that carry only it. */
static void
emit_server_value(ExpServer *s, Family f, const char *extra, double v)
{
	Buf		   *b = &s->out[f];

	buf_add(b, "%s{server=\"", families[f].name);
	buf_label(b, s->label);
	buf_add(b, "\"%s%s} %.15g\n", extra ? "," : "", extra ? extra : "", v);
}

/* Read one server and fill s->out; false (and *err) if it could not be read. */
static bool
scrape_server(ExpServer *s, char **err)
{
	Stmt	   *st = NULL;
	int			n = 0,
				i,
				k;
	PGresult   *res;
	double		other_cum[NB],
				other_count,
				other_ms;
	char		qid[32];
	Stmt	   *other_lock = NULL;

	if (!ensure_connected(s, err))
		return false;
	/* The views are found in the extension's schema. */
	res = exp_query(s, TAG "SELECT pg_catalog.set_config('search_path', 'pg_catalog, ' || "
					"pg_catalog.quote_ident(n.nspname), false) FROM pg_catalog.pg_extension e "
					"JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
					"WHERE e.extname = 'postgres_latdiag'", err);
	if (res == NULL)
		goto broken;
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		*err = xprintf("extension postgres_latdiag is not installed in database \"%s\"",
					   PQdb(s->conn));
		return false;
	}
	PQclear(res);

	res = exp_query(s, TAG "SELECT entries, max_entries, evictions, shmem_bytes FROM latdiag_info", err);
	if (res == NULL)
		goto broken;
	emit_server_value(s, F_ENTRIES, NULL, atof(PQgetvalue(res, 0, 0)));
	emit_server_value(s, F_MAX_ENTRIES, NULL, atof(PQgetvalue(res, 0, 1)));
	emit_server_value(s, F_EVICTIONS, NULL, atof(PQgetvalue(res, 0, 2)));
	emit_server_value(s, F_SHMEM, NULL, atof(PQgetvalue(res, 0, 3)));
	PQclear(res);

	if (!read_statements(s, &st, &n, err))
		goto broken;
	choose_members(s, st, n);
	fetch_texts(s, st, n);
	remember(s, st, n);

	/* Lock waits per statement. */
	other_lock = xmalloc(sizeof(Stmt));
	if (has_relation(s, "latdiag_lock_waits"))
	{
		res = exp_query(s, TAG "SELECT queryid, sum(waits), sum(total_wait_time) FROM latdiag_lock_waits "
						"WHERE queryid IS NOT NULL GROUP BY queryid", err);
		if (res == NULL)
			goto broken;
		for (i = 0; i < PQntuples(res); i++)
		{
			Stmt	   *t = find_stmt(st, n, atoll(PQgetvalue(res, i, 0)));

			if (t == NULL || !t->member)
				t = other_lock;
			t->lock_waits += atof(PQgetvalue(res, i, 1));
			t->lock_ms += atof(PQgetvalue(res, i, 2));
		}
		PQclear(res);
	}

	/* The histograms: members, then everything else as "other". */
	memcpy(other_cum, s->other_cum, sizeof(other_cum));
	other_count = s->other_count;
	other_ms = s->other_ms;
	for (i = 0; i < n; i++)
	{
		Stmt	   *t = &st[i];

		if (t->own)
			continue;
		if (!t->member)
		{
			for (k = 0; k < NB; k++)
				other_cum[k] += t->cum[k];
			other_count += t->count;
			other_ms += t->total_ms;
			continue;
		}
		snprintf(qid, sizeof(qid), "%lld", t->qid);
		emit_histogram(s, qid, t->datname, t->user, t->toplevel, t->cum, t->count, t->total_ms);
		if (t->query)
		{
			Buf		   *b = &s->out[F_INFO];
			char	   *q = xstrdup(t->query);
			char	   *p;
			int			len = 0;

			/* one line, cut at --query-length characters (UTF-8 aware) */
			for (p = q; *p; p++)
				if (*p == '\n' || *p == '\r' || *p == '\t')
					*p = ' ';
			for (p = q; *p; p++)
				if ((*p & 0xC0) != 0x80 && len++ == query_length)
				{
					*p = '\0';
					break;
				}
			buf_add(b, "latdiag_statement_info{server=\"");
			buf_label(b, s->label);
			buf_add(b, "\",queryid=\"%s\",query=\"", qid);
			buf_label(b, q);
			buf_add(b, "\"} 1\n");
			free(q);
		}
		if (t->lock_waits > 0)
		{
			char	   *l = xprintf("queryid=\"%s\"", qid);

			emit_server_value(s, F_LOCK_WAITS, l, t->lock_waits);
			emit_server_value(s, F_LOCK_SECONDS, l, t->lock_ms / 1000.0);
			free(l);
		}
	}
	emit_histogram(s, "other", "*", "*", "*", other_cum, other_count, other_ms);
	if (other_lock->lock_waits > 0)
	{
		emit_server_value(s, F_LOCK_WAITS, "queryid=\"other\"", other_lock->lock_waits);
		emit_server_value(s, F_LOCK_SECONDS, "queryid=\"other\"", other_lock->lock_ms / 1000.0);
	}
	free(other_lock);
	emit_server_value(s, F_EXPORTED, NULL, s->nmembers);

	/* N+1 episodes by kind, seq-scan rows by table, errors by class. */
	if (has_relation(s, "latdiag_n_plus_one"))
	{
		res = exp_query(s, TAG "SELECT kind, sum(episodes) FROM latdiag_n_plus_one GROUP BY kind ORDER BY kind", err);
		if (res == NULL)
			goto broken;
		for (i = 0; i < PQntuples(res); i++)
		{
			Buf			l = {0};

			buf_add(&l, "kind=\"");
			buf_label(&l, PQgetvalue(res, i, 0));
			buf_add(&l, "\"");
			emit_server_value(s, F_NPLUSONE, l.s, atof(PQgetvalue(res, i, 1)));
			free(l.s);
		}
		PQclear(res);
	}
	if (has_relation(s, "latdiag_seq_scans"))
	{
		res = exp_query(s, TAG "SELECT relname, sum(rows_scanned * calls) FROM latdiag_seq_scans "
						"WHERE relname IS NOT NULL GROUP BY relname ORDER BY relname", err);
		if (res == NULL)
			goto broken;
		for (i = 0; i < PQntuples(res); i++)
		{
			Buf			l = {0};

			buf_add(&l, "relname=\"");
			buf_label(&l, PQgetvalue(res, i, 0));
			buf_add(&l, "\"");
			emit_server_value(s, F_SEQ_ROWS, l.s, round(atof(PQgetvalue(res, i, 1))));
			free(l.s);
		}
		PQclear(res);
	}
	if (has_relation(s, "latdiag_errors"))
	{
		/* A later postgres_latdiag: failed executions per (statement, SQLSTATE). */
		res = exp_query(s, TAG "SELECT queryid, left(sqlstate, 2), sum(errors) FROM latdiag_errors "
						"WHERE queryid IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2", err);
		if (res != NULL)
		{
			for (i = 0; i < PQntuples(res); i++)
			{
				Stmt	   *t = find_stmt(st, n, atoll(PQgetvalue(res, i, 0)));
				char	   *l = xprintf("queryid=\"%s\",class=\"%s\"",
										t && t->member ? PQgetvalue(res, i, 0) : "other",
										PQgetvalue(res, i, 1));

				emit_server_value(s, F_ERRORS, l, atof(PQgetvalue(res, i, 2)));
				free(l);
			}
			PQclear(res);
		}
		else
		{
			free(*err);
			*err = NULL;
		}
	}

	for (i = 0; i < n; i++)
	{
		free(st[i].datname);
		free(st[i].user);
		free(st[i].toplevel);
		free(st[i].query);
	}
	free(st);
	return true;

broken:
	free(other_lock);
	if (st)
	{
		for (i = 0; i < n; i++)
		{
			free(st[i].datname);
			free(st[i].user);
			free(st[i].toplevel);
			free(st[i].query);
		}
		free(st);
	}
	/* A lost connection is opened again at the next scrape. */
	if (s->conn && PQstatus(s->conn) != CONNECTION_OK)
	{
		PQfinish(s->conn);
		s->conn = NULL;
	}
	return false;
}

/* Thread body: scrape one server under its lock; returns its families' text. */
static void *
scrape_thread(void *arg)
{
	ExpServer  *s = arg;
	Buf		   *result = xmalloc(sizeof(Buf) * NUM_FAMILIES);
	char	   *err = NULL;
	struct timespec t0,
				t1;
	bool		ok;
	int			f;

	pthread_mutex_lock(&s->lock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ok = scrape_server(s, &err);
	if (!ok)
	{
		/* Only latdiag_up and the scrape time: no half-read figures. */
		for (f = 0; f < NUM_FAMILIES; f++)
			s->out[f].len = 0;
		if (s->was_up || s->last_error == NULL || strcmp(s->last_error, err) != 0)
			log_msg("%s: cannot be read: %s", s->label ? s->label : "?", err);
		free(s->last_error);
		s->last_error = err;
	}
	else if (!s->was_up && s->last_error)
		log_msg("%s: read again", s->label);
	s->was_up = ok;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	emit_server_value(s, F_UP, NULL, ok ? 1 : 0);
	emit_server_value(s, F_SCRAPE_SECONDS, NULL,
					  (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	/* hand this scrape's text over; the server starts the next one empty */
	for (f = 0; f < NUM_FAMILIES; f++)
	{
		result[f] = s->out[f];
		memset(&s->out[f], 0, sizeof(Buf));
	}
	pthread_mutex_unlock(&s->lock);
	return result;
}

/* The whole exposition: every server in parallel, then family by family. */
static Buf
scrape_all(void)
{
	pthread_t  *th = xmalloc(sizeof(pthread_t) * nservers);
	Buf		  **parts = xmalloc(sizeof(Buf *) * nservers);
	Buf			b = {0};
	int			i,
				f;

	for (i = 0; i < nservers; i++)
		if (pthread_create(&th[i], NULL, scrape_thread, &servers[i]) != 0)
			parts[i] = scrape_thread(&servers[i]), th[i] = 0;
	for (i = 0; i < nservers; i++)
		if (th[i])
			pthread_join(th[i], (void **) &parts[i]);
	for (f = 0; f < NUM_FAMILIES; f++)
	{
		buf_add(&b, "# HELP %s %s\n# TYPE %s %s\n", families[f].name, families[f].help,
				families[f].name, families[f].type);
		for (i = 0; i < nservers; i++)
			if (parts[i][f].len > 0)
				buf_put(&b, parts[i][f].s, parts[i][f].len);
	}
	for (i = 0; i < nservers; i++)
	{
		for (f = 0; f < NUM_FAMILIES; f++)
			free(parts[i][f].s);
		free(parts[i]);
	}
	free(parts);
	free(th);
	return b;
}

/* Constant-time comparison, for the password. */
static bool
same_secret(const char *a, const char *b)
{
	size_t		la = strlen(a),
				lb = strlen(b),
				i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char) a[i] ^ (unsigned char) b[i % (lb ? lb : 1)];
	return d == 0;
}

static enum MHD_Result
send_text(struct MHD_Connection *conn, unsigned int status, const char *text)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *) text,
															 MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
handle_request(void *cls, struct MHD_Connection *conn, const char *url,
			   const char *method, const char *version, const char *upload_data,
			   size_t *upload_data_size, void **req_cls)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	Buf			b;

	(void) cls;
	(void) version;
	(void) upload_data;
	if (*req_cls == NULL)
	{
		/* first call: headers only */
		*req_cls = conn;
		return MHD_YES;
	}
	if (*upload_data_size != 0)
	{
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (auth_user)
	{
		char	   *pass = NULL;
		char	   *user = MHD_basic_auth_get_username_password(conn, &pass);
		bool		ok = user && pass && strcmp(user, auth_user) == 0 &&
			same_secret(pass, auth_password);

		if (user)
			MHD_free(user);
		if (pass)
			MHD_free(pass);
		if (!ok)
		{
			const char *msg = "authentication required\n";

			r = MHD_create_response_from_buffer(strlen(msg), (void *) msg, MHD_RESPMEM_PERSISTENT);
			ret = MHD_queue_basic_auth_fail_response(conn, "latdiag", r);
			MHD_destroy_response(r);
			return ret;
		}
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	if (strcmp(url, "/") == 0)
		return send_text(conn, MHD_HTTP_OK,
						 "latdiag exporter: the postgres_latdiag metrics are at /metrics\n");
	if (strcmp(url, "/metrics") != 0)
		return send_text(conn, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n");

	b = scrape_all();
	r = MHD_create_response_from_buffer(b.len, b.s, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Read a whole file (a key, a certificate, a password); NULL and a message on failure. */
static char *
read_file(const char *path, const char *what)
{
	FILE	   *f = fopen(path, "r");
	Buf			b = {0};
	char		chunk[4096];
	size_t		n;

	if (f == NULL)
	{
		fprintf(stderr, "latdiag exporter: could not open %s \"%s\": %s\n", what, path,
				strerror(errno));
		return NULL;
	}
	buf_add(&b, "%s", "");
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, "%.*s", (int) n, chunk);
	fclose(f);
	return b.s;
}

static void
exporter_usage(FILE *out)
{
	fprintf(out,
			"latdiag exporter: postgres_latdiag's figures for Prometheus (GET /metrics)\n"
			"\n"
			"Usage:\n"
			"  latdiag exporter [OPTION]...\n"
			"\n"
			"Options:\n"
			"  -l, --listen=HOST:PORT         address to listen on (default 127.0.0.1:9187;\n"
			"                                 [::1]:9187 for IPv6, port 0 picks a free one)\n"
			"  -d, --dsn=DSN                  a server to read; repeat it for a fleet\n"
			"                                 (default: the PG* variables and ~/.pgpass)\n"
			"  -n, --top=N                    statements exported with their own series, by\n"
			"                                 total time, sticky (1..100000, default 200);\n"
			"                                 the rest are summed into queryid=\"other\"\n"
			"      --query-length=N           characters of text in latdiag_statement_info\n"
			"                                 (0..10000, default 200; 0: no text)\n"
			"      --basic-auth-user=USER     require HTTP basic authentication\n"
			"      --basic-auth-password-file=FILE  its password (first line of FILE)\n"
			"      --tls-cert=FILE --tls-key=FILE  serve HTTPS (PEM files)\n"
			"  -h, --help                     print this help and exit\n"
			"\n"
			"Listening beyond loopback without basic auth and TLS prints a warning.\n");
}

static void
exporter_bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "latdiag exporter: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n");
	exporter_usage(stderr);
	exit(1);
}

static void
on_signal(int sig)
{
	(void) sig;
	stop = 1;
}

/* Bind and listen on --listen; exits 1 with a clear message when it cannot. */
static int
open_listener(const char *arg, bool *loopback, char *shown, size_t shown_len)
{
	char	   *host;
	const char *port;
	const char *colon = strrchr(arg, ':');
	struct addrinfo hints,
			   *ai = NULL;
	int			rc,
				fd,
				one = 1;
	char	   *end;
	long		p;
	struct sockaddr_storage ss;
	socklen_t	sl = sizeof(ss);
	char		addr[INET6_ADDRSTRLEN];

	if (colon == NULL)
		exporter_bad_usage("--listen must be HOST:PORT (e.g. 127.0.0.1:9187), not \"%s\"", arg);
	port = colon + 1;
	errno = 0;
	p = strtol(port, &end, 10);
	if (*port == '\0' || *end || errno || p < 0 || p > 65535)
		exporter_bad_usage("--listen: bad port in \"%s\" (0 to 65535)", arg);
	host = xprintf("%.*s", (int) (colon - arg), arg);
	if (host[0] == '[')
	{
		size_t		l = strlen(host);

		if (l < 2 || host[l - 1] != ']')
			exporter_bad_usage("--listen: bad IPv6 address in \"%s\" (write [::1]:9187)", arg);
		host[l - 1] = '\0';
		memmove(host, host + 1, l - 1);
	}
	else if (strchr(host, ':'))
		exporter_bad_usage("--listen: write an IPv6 address in brackets, e.g. [::1]:9187, not \"%s\"", arg);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0)
	{
		fprintf(stderr, "latdiag exporter: --listen: cannot resolve \"%s\": %s\n", host, gai_strerror(rc));
		exit(1);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
	{
		fprintf(stderr, "latdiag exporter: could not create a socket: %s\n", strerror(errno));
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
	{
		fprintf(stderr, "latdiag exporter: could not listen on %s: %s%s\n", arg, strerror(errno),
				errno == EADDRINUSE ? " (another program uses this port: choose another with --listen)" :
				errno == EADDRNOTAVAIL ? " (no interface of this machine has that address)" : "");
		exit(1);
	}
	if (listen(fd, 64) != 0)
	{
		fprintf(stderr, "latdiag exporter: could not listen on %s: %s\n", arg, strerror(errno));
		exit(1);
	}
	getsockname(fd, (struct sockaddr *) &ss, &sl);
	if (ss.ss_family == AF_INET)
	{
		struct sockaddr_in *in = (struct sockaddr_in *) &ss;

		*loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		snprintf(shown, shown_len, "%s:%d", addr, ntohs(in->sin_port));
	}
	else
	{
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		snprintf(shown, shown_len, "[%s]:%d", addr, ntohs(in6->sin6_port));
	}
	freeaddrinfo(ai);
	free(host);
	return fd;
}

int
exporter_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"dsn", required_argument, NULL, 'd'},
		{"top", required_argument, NULL, 'n'},
		{"query-length", required_argument, NULL, 2},
		{"basic-auth-user", required_argument, NULL, 3},
		{"basic-auth-password-file", required_argument, NULL, 4},
		{"tls-cert", required_argument, NULL, 5},
		{"tls-key", required_argument, NULL, 6},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char **dsns = xmalloc(sizeof(char *) * (argc + 1));
	int			ndsns = 0;
	const char *pwfile = NULL,
			   *certfile = NULL,
			   *keyfile = NULL;
	char	   *cert = NULL,
			   *key = NULL;
	int			c,
				i,
				k,
				fd;
	bool		loopback = false;
	char		shown[128];
	struct MHD_Daemon *d;
	unsigned int flags;
	struct sigaction sa;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":l:d:n:h", opts, NULL)) != -1)
	{
		char	   *end;
		long		v;

		switch (c)
		{
			case 'l':
				listen_arg = optarg;
				break;
			case 'd':
				dsns[ndsns++] = optarg;
				break;
			case 'n':
				errno = 0;
				v = strtol(optarg, &end, 10);
				if (errno || *end || end == optarg || v < 1 || v > 100000)
					exporter_bad_usage("--top must be an integer from 1 to 100000, not \"%s\"", optarg);
				top_n = (int) v;
				break;
			case 2:
				errno = 0;
				v = strtol(optarg, &end, 10);
				if (errno || *end || end == optarg || v < 0 || v > 10000)
					exporter_bad_usage("--query-length must be an integer from 0 to 10000, not \"%s\"", optarg);
				query_length = (int) v;
				break;
			case 3:
				auth_user = xstrdup(optarg);
				break;
			case 4:
				pwfile = optarg;
				break;
			case 5:
				certfile = optarg;
				break;
			case 6:
				keyfile = optarg;
				break;
			case 'h':
				exporter_usage(stdout);
				return 0;
			case ':':
				exporter_bad_usage("option \"%s\" needs a value", argv[optind - 1]);
				break;
			default:
				exporter_bad_usage("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc)
		exporter_bad_usage("unexpected argument \"%s\"", argv[optind]);
	if ((auth_user == NULL) != (pwfile == NULL))
		exporter_bad_usage("--basic-auth-user and --basic-auth-password-file go together%s", "");
	if ((certfile == NULL) != (keyfile == NULL))
		exporter_bad_usage("--tls-cert and --tls-key go together%s", "");
	if (pwfile)
	{
		char	   *nl;

		auth_password = read_file(pwfile, "the password file");
		if (auth_password == NULL)
			return 1;
		if ((nl = strpbrk(auth_password, "\r\n")) != NULL)
			*nl = '\0';
		if (*auth_password == '\0')
		{
			fprintf(stderr, "latdiag exporter: the password file \"%s\" is empty\n", pwfile);
			return 1;
		}
	}
	if (certfile)
	{
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		{
			fprintf(stderr, "latdiag exporter: this libmicrohttpd has no TLS support\n");
			return 1;
		}
		cert = read_file(certfile, "the TLS certificate");
		key = read_file(keyfile, "the TLS key");
		if (cert == NULL || key == NULL)
			return 1;
	}
	if (ndsns == 0)
		dsns[ndsns++] = "";

	/* The boundaries: fine-bucket edges nearest to the targets. */
	for (k = 0; k < NB; k++)
	{
		edge_index[k] = (int) lround(FINE_PER_OCTAVE * log2(target_ms[k] / FINE_MIN_MS));
		snprintf(edge_label[k], sizeof(edge_label[k]), "%.6g",
				 FINE_MIN_MS * exp2((double) edge_index[k] / FINE_PER_OCTAVE) / 1000.0);
	}

	setenv("PGCONNECT_TIMEOUT", "5", 0);
	nservers = ndsns;
	servers = xmalloc(sizeof(ExpServer) * ndsns);
	for (i = 0; i < ndsns; i++)
	{
		PQconninfoOption *opt = PQconninfoParse(dsns[i], NULL);
		PQconninfoOption *o;
		const char *host = NULL,
				   *port = NULL,
				   *db = NULL,
				   *user = NULL;

		if (opt == NULL)
		{
			/* never echo the DSN: it may hold a password */
			fprintf(stderr, "latdiag exporter: --dsn number %d is not a valid connection string or URI\n", i + 1);
			return 1;
		}
		servers[i].dsn = dsns[i];
		pthread_mutex_init(&servers[i].lock, NULL);
		for (o = opt; o->keyword; o++)
		{
			if (o->val == NULL)
				continue;
			if (strcmp(o->keyword, "password") == 0)
				servers[i].password = xstrdup(o->val);
			else if (strcmp(o->keyword, "host") == 0)
				host = o->val;
			else if (strcmp(o->keyword, "port") == 0)
				port = o->val;
			else if (strcmp(o->keyword, "dbname") == 0)
				db = o->val;
			else if (strcmp(o->keyword, "user") == 0)
				user = o->val;
		}
		if (servers[i].password == NULL && getenv("PGPASSWORD"))
			servers[i].password = xstrdup(getenv("PGPASSWORD"));
		/* host:port/dbname, as the report labels servers; the defaults as libpq takes them */
		if (host == NULL)
			host = getenv("PGHOST") ? getenv("PGHOST") : "/var/run/postgresql";
		if (port == NULL)
			port = getenv("PGPORT") ? getenv("PGPORT") : "5432";
		if (db == NULL)
			db = getenv("PGDATABASE") ? getenv("PGDATABASE") :
				user ? user : getenv("PGUSER") ? getenv("PGUSER") : "?";
		servers[i].label = xprintf("%s:%s/%s", host, port, db);
		PQconninfoFree(opt);
	}
	/* Two DSNs naming the same server get #2, #3 ... as in the report. */
	for (i = ndsns - 1; i > 0; i--)
	{
		int			n = 1,
					j;

		for (j = 0; j < i; j++)
			if (strcmp(servers[j].label, servers[i].label) == 0)
				n++;
		if (n > 1)
		{
			char	   *l = xprintf("%s#%d", servers[i].label, n);

			free(servers[i].label);
			servers[i].label = l;
		}
	}

	fd = open_listener(listen_arg, &loopback, shown, sizeof(shown));
	if (!loopback && (auth_user == NULL || cert == NULL))
		log_msg("warning: listening on %s, beyond loopback, without %s%s%s: anyone who can reach "
				"this port can read the statements' metrics%s",
				shown, auth_user ? "" : "basic auth", (auth_user || cert) ? "" : " and ",
				cert ? "" : "TLS", auth_user ? "" : " (--basic-auth-user)");

	signal(SIGPIPE, SIG_IGN);
	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (cert)
		flags |= MHD_USE_TLS;
	if (cert)
		d = MHD_start_daemon(flags, 0, NULL, NULL, handle_request, NULL,
							 MHD_OPTION_LISTEN_SOCKET, fd,
							 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 60,
							 MHD_OPTION_HTTPS_MEM_CERT, cert,
							 MHD_OPTION_HTTPS_MEM_KEY, key,
							 MHD_OPTION_END);
	else
		d = MHD_start_daemon(flags, 0, NULL, NULL, handle_request, NULL,
							 MHD_OPTION_LISTEN_SOCKET, fd,
							 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 60,
							 MHD_OPTION_END);
	if (d == NULL)
	{
		fprintf(stderr, "latdiag exporter: could not start the HTTP server on %s%s\n", shown,
				cert ? " (check that the TLS certificate and key are PEM and match)" : "");
		return 1;
	}
	log_msg("listening on %s://%s/metrics, reading %d server%s", cert ? "https" : "http", shown,
			nservers, nservers == 1 ? "" : "s");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop)
		pause();
	log_msg("stopping");
	MHD_stop_daemon(d);
	for (i = 0; i < nservers; i++)
		if (servers[i].conn)
			PQfinish(servers[i].conn);
	return 0;
}
