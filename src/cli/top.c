/*
 * top.c: `latdiag top`, a live terminal view of the latest time window.
 *
 *   latdiag top [--dsn DSN]... [--interval 2s] [--sort p99|total|calls|regression]
 *               [--top N] [--once]
 *
 * Every --interval it reads each server (one libpq connection each, kept
 * open, reconnected when lost) and redraws the screen in place:
 *
 *   - one line per server: calls/s and p99 of the latest closed window
 *     (latdiag_windows), errors/s (latdiag_errors, counted between two
 *     reads), sessions waiting on a heavyweight lock now (pg_stat_activity);
 *   - the statements of the latest window (latdiag_compare of that window
 *     against every kept window before it): calls/s, p50/p95/p99, the factor
 *     of their p95 against that baseline, "P" when the window's most used plan
 *     is not the one the statement ran with most (by calls) in the windows
 *     before: a plan change; lock-wait time, and the query, cut to the width.
 *
 * The screen is drawn with plain ANSI/VT100 escape codes (cursor home, erase
 * to end of line and of screen, alternate screen, hidden cursor), which every
 * terminal emulator in use and tmux understand; ncurses would add a library
 * and a terminfo lookup to draw a single table that is repainted whole each
 * time.  Keys are read in non-canonical mode (termios) when stdin is a
 * terminal: q quits, s cycles the sort.  The terminal is restored on exit, on
 * SIGINT/SIGTERM/SIGHUP, and around a suspension (SIGTSTP/SIGCONT).
 *
 * Servers whose postgres_latdiag has no windows (before 1.4), no extension or
 * that are down get a line saying so; nothing there ends the program.
 */
#include "latdiag.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define TAG "/* latdiag-cli */ "

typedef enum SortKey
{
	SORT_P99,
	SORT_TOTAL,
	SORT_CALLS,
	SORT_REGRESSION,
	NUM_SORTS
} SortKey;

/* Calls in the window below which --sort regression ranks a statement after the others. */
#define REGRESSION_MIN_CALLS 20

static const char *const sort_names[NUM_SORTS] = {"p99", "total", "calls", "regression"};

/* One statement of the latest window of one server. */
typedef struct TopRow
{
	int			server;			/* index in the servers */
	double		calls;			/* in the window */
	double		calls_s,
				p50,
				p95,
				p99,
				total,
				lock_ms;
	double		factor;			/* p95 against the baseline; < 0: none */
	bool		plan_change;
	char	   *query;
} TopRow;

typedef struct TopServer
{
	const char *dsn;
	char	   *label;
	PGconn	   *conn;
	char	   *ext_version;
	bool		has_windows;
	bool		has_errors;
	char	   *message;		/* why there is no data, or NULL */
	/* the latest window */
	char		window_end[16];
	double		window_secs;
	double		calls_s,
				p99;			/* < 0: none */
	/* errors/s between two reads */
	double		errors_prev;
	struct timespec errors_at;
	bool		have_errors_prev;
	double		errors_s;		/* < 0: not known yet */
	long		lock_waiting;	/* < 0: not known */
	TopRow	   *rows;
	int			nrows;
} TopServer;

static struct termios saved_tio;
static bool raw_mode = false;	/* saved_tio must be restored */
static bool screen_mode = false;	/* alternate screen, hidden cursor */
static volatile sig_atomic_t got_quit = 0;
static volatile sig_atomic_t got_resize = 0;
static volatile sig_atomic_t got_cont = 0;

static const char ENTER_SCREEN[] = "\033[?1049h\033[?25l";
static const char LEAVE_SCREEN[] = "\033[?25h\033[?1049l";

/* Put the terminal back as it was (async-signal-safe: tcsetattr, write). */
static void
restore_terminal(void)
{
	if (screen_mode && write(STDOUT_FILENO, LEAVE_SCREEN, sizeof(LEAVE_SCREEN) - 1) < 0)
	{
		/* nothing to do about it */
	}
	if (raw_mode)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
}

/* Keys one at a time, no echo; signals (^C, ^Z) still work. */
static void
enter_raw(void)
{
	struct termios tio = saved_tio;

	tio.c_lflag &= ~(ICANON | ECHO);
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio);
}

static void
on_quit(int sig)
{
	(void) sig;
	got_quit = 1;
}

static void
on_winch(int sig)
{
	(void) sig;
	got_resize = 1;
}

/* ^Z: give the terminal back, then stop for real. */
static void
on_tstp(int sig)
{
	int			save_errno = errno;

	(void) sig;
	restore_terminal();
	signal(SIGTSTP, SIG_DFL);
	raise(SIGTSTP);
	errno = save_errno;
}

/* Resumed: take the terminal again (the main loop redraws). */
static void
on_cont(int sig)
{
	int			save_errno = errno;

	(void) sig;
	signal(SIGTSTP, on_tstp);
	if (raw_mode)
		enter_raw();
	if (screen_mode && write(STDOUT_FILENO, ENTER_SCREEN, sizeof(ENTER_SCREEN) - 1) < 0)
	{
		/* nothing to do about it */
	}
	got_cont = 1;
	errno = save_errno;
}

static void
top_usage(FILE *out)
{
	fprintf(out,
			"latdiag top: a live view of the latest time window, redrawn in place.\n"
			"\n"
			"Usage:\n"
			"  latdiag top [OPTION]...\n"
			"\n"
			"Options:\n"
			"  -d, --dsn=DSN          a libpq connection string or URI; repeat it for a fleet\n"
			"                         (adds a server column); default: the PG* variables\n"
			"  -i, --interval=TIME    seconds between reads: 2s (default), 500ms, 1m;\n"
			"                         from 100ms to 1h\n"
			"  -s, --sort=KEY         p99 (default), total, calls or regression (factor\n"
			"                         against the baseline)\n"
			"  -n, --top=N            statements shown (default: what fits the terminal,\n"
			"                         20 when not a terminal)\n"
			"      --once             print one screen and exit (errors/s is then sampled\n"
			"                         over one interval)\n"
			"  -h, --help             print this help and exit\n"
			"\n"
			"Keys (when standard input is a terminal): q quits, s cycles the sort.\n"
			"Needs postgres_latdiag 1.4 or later on the servers (time windows).\n"
			"Exit status: 0 quit, 1 bad arguments.\n");
}

static void
top_bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "latdiag top: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\nTry \"latdiag top --help\".\n");
	exit(1);
}

/* Run a query; NULL (and *err set) unless it returned tuples. */
static PGresult *
query(PGconn *conn, const char *sql, int nparams, const char *const *params, char **err)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (err)
			*err = one_line(PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

static void
set_message(TopServer *s, char *msg)
{
	free(s->message);
	s->message = msg;
}

static void
free_rows(TopServer *s)
{
	int			i;

	for (i = 0; i < s->nrows; i++)
		free(s->rows[i].query);
	free(s->rows);
	s->rows = NULL;
	s->nrows = 0;
}

static bool setup_connected(TopServer *s);

/*
 * Connect and find out what this server's latdiag has; false with a message
 * if unusable (the connection is then closed: the next read tries again, so
 * an extension created meanwhile is found).
 */
static bool
setup(TopServer *s)
{
	bool		ok;

	const char *const keys[] = {"dbname", "client_encoding", "fallback_application_name", NULL};
	const char *const vals[] = {s->dsn, "UTF8", "latdiag top", NULL};

	s->conn = PQconnectdbParams(keys, vals, 1);
	if (s->label == NULL && s->conn)
		s->label = xprintf("%s:%s/%s", PQhost(s->conn) ? PQhost(s->conn) : "?",
						   PQport(s->conn) ? PQport(s->conn) : "?",
						   PQdb(s->conn) ? PQdb(s->conn) : "?");
	if (s->conn == NULL || PQstatus(s->conn) != CONNECTION_OK)
	{
		set_message(s, xprintf("down: %s", s->conn ? one_line(PQerrorMessage(s->conn)) : "out of memory"));
		PQfinish(s->conn);
		s->conn = NULL;
		return false;
	}
	ok = setup_connected(s);
	if (!ok)
	{
		PQfinish(s->conn);
		s->conn = NULL;
	}
	return ok;
}

static bool
setup_connected(TopServer *s)
{
	PGresult   *res;
	char	   *err = NULL;
	const char *params[1];
	char	   *schema;

	if (PQparameterStatus(s->conn, "is_superuser") &&
		strcmp(PQparameterStatus(s->conn, "is_superuser"), "on") == 0)
		PQclear(PQexec(s->conn, TAG "SET latdiag.enabled = off"));
	PQclear(PQexec(s->conn, TAG "SET statement_timeout = '10s'"));

	res = query(s->conn, TAG "SELECT e.extversion, n.nspname FROM pg_catalog.pg_extension e "
				"JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace "
				"WHERE e.extname = 'postgres_latdiag'", 0, NULL, &err);
	if (res == NULL)
	{
		set_message(s, err);
		return false;
	}
	if (PQntuples(res) == 0)
	{
		set_message(s, xprintf("extension postgres_latdiag is not installed in database \"%s\"",
							   PQdb(s->conn)));
		PQclear(res);
		return false;
	}
	free(s->ext_version);
	s->ext_version = xstrdup(PQgetvalue(res, 0, 0));
	schema = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	params[0] = schema;
	res = query(s->conn, TAG "SELECT pg_catalog.set_config('search_path', "
				"'pg_catalog, ' || pg_catalog.quote_ident($1), false), "
				"to_regclass(quote_ident($1) || '.latdiag_windows') IS NOT NULL "
				"AND to_regprocedure(quote_ident($1) || '.latdiag_compare(timestamptz,timestamptz,timestamptz,timestamptz)') IS NOT NULL, "
				"to_regclass(quote_ident($1) || '.latdiag_errors') IS NOT NULL",
				1, params, &err);
	free(schema);
	if (res == NULL)
	{
		set_message(s, err);
		return false;
	}
	s->has_windows = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	s->has_errors = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	PQclear(res);
	return true;
}

/* Read one server: its line and the statements of its latest window. */
static void
read_server(TopServer *s, int index)
{
	PGresult   *res;
	char	   *err = NULL;
	const char *params[2];
	int			r;

	free_rows(s);
	s->calls_s = s->p99 = -1;
	s->window_end[0] = '\0';
	s->lock_waiting = -1;
	if (s->conn && PQstatus(s->conn) != CONNECTION_OK)
	{
		PQfinish(s->conn);
		s->conn = NULL;
	}
	if (s->conn == NULL)
	{
		s->have_errors_prev = false;
		s->errors_s = -1;
		if (!setup(s))
			return;
	}
	set_message(s, NULL);

	/* Sessions waiting on a heavyweight lock now: any version, any server. */
	res = query(s->conn, TAG "SELECT count(*) FROM pg_catalog.pg_stat_activity "
				"WHERE wait_event_type = 'Lock'", 0, NULL, &err);
	if (res == NULL)
	{
		set_message(s, err);
		if (PQstatus(s->conn) != CONNECTION_OK)
			set_message(s, xprintf("down: %s", one_line(PQerrorMessage(s->conn))));
		return;
	}
	s->lock_waiting = atol(PQgetvalue(res, 0, 0));
	PQclear(res);

	/* Errors per second, from the cumulative counts of two reads. */
	if (s->has_errors)
	{
		res = query(s->conn, TAG "SELECT coalesce(sum(errors), 0) FROM latdiag_errors", 0, NULL, NULL);
		if (res)
		{
			double		n = atof(PQgetvalue(res, 0, 0));
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (s->have_errors_prev)
			{
				double		dt = (now.tv_sec - s->errors_at.tv_sec) +
					(now.tv_nsec - s->errors_at.tv_nsec) / 1e9;

				/* a reset makes the count go down: start again */
				s->errors_s = (dt > 0 && n >= s->errors_prev) ? (n - s->errors_prev) / dt : -1;
			}
			s->errors_prev = n;
			s->errors_at = now;
			s->have_errors_prev = true;
			PQclear(res);
		}
	}

	if (!s->has_windows)
	{
		set_message(s, xprintf("postgres_latdiag %s has no time windows (1.4 or later needed): "
							   "ALTER EXTENSION postgres_latdiag UPDATE",
							   s->ext_version ? s->ext_version : "?"));
		return;
	}

	res = query(s->conn, TAG "SELECT window_start, window_end, to_char(window_end, 'HH24:MI:SS'), "
				"extract(epoch FROM window_end - window_start), calls, p99_exec_time "
				"FROM latdiag_windows ORDER BY window_end DESC LIMIT 1", 0, NULL, &err);
	if (res == NULL)
	{
		set_message(s, err);
		return;
	}
	if (PQntuples(res) == 0)
	{
		PQclear(res);
		res = query(s->conn, TAG "SELECT current_setting('latdiag.window_interval')", 0, NULL, NULL);
		set_message(s, xprintf("no time window closed yet (latdiag.window_interval = %s)",
							   res ? PQgetvalue(res, 0, 0) : "?"));
		PQclear(res);
		return;
	}
	snprintf(s->window_end, sizeof(s->window_end), "%s", PQgetvalue(res, 0, 2));
	s->window_secs = atof(PQgetvalue(res, 0, 3));
	if (s->window_secs <= 0)
		s->window_secs = 1;
	s->calls_s = atof(PQgetvalue(res, 0, 4)) / s->window_secs;
	s->p99 = PQgetisnull(res, 0, 5) ? -1 : atof(PQgetvalue(res, 0, 5));
	params[0] = xstrdup(PQgetvalue(res, 0, 0));
	params[1] = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);

	/*
	 * The latest window against every kept window before it.  A window
	 * belongs to a period when its middle does: the latest one is in [$1, $2)
	 * only.
	 */
	res = query(s->conn, TAG "SELECT calls_2, p50_exec_time_2, p95_exec_time_2, p99_exec_time_2, "
				"total_exec_time_2, coalesce(lock_wait_time_2, 0), factor, "
				"u.planid IS NOT NULL AND planids_2[1] IS DISTINCT FROM u.planid, "
				"left(regexp_replace(btrim(query), '\\s+', ' ', 'g'), 1000) "
				"FROM latdiag_compare($1::timestamptz - interval '100 years', $1, $1, $2) "
				"LEFT JOIN " LATDIAG_USUAL_PLAN("window_start < $1::timestamptz")
				" AS u USING (userid, dbid, queryid, toplevel) "
				"WHERE calls_2 > 0 AND queryid IS DISTINCT FROM NULL "
				"AND coalesce(query, '') NOT LIKE '/* latdiag-cli */%'",
				2, params, &err);
	free((char *) params[0]);
	free((char *) params[1]);
	if (res == NULL)
	{
		set_message(s, err);
		return;
	}
	s->nrows = PQntuples(res);
	s->rows = xmalloc(sizeof(TopRow) * (s->nrows + 1));
	for (r = 0; r < s->nrows; r++)
	{
		TopRow	   *row = &s->rows[r];

		row->server = index;
		row->calls = atof(PQgetvalue(res, r, 0));
		row->calls_s = row->calls / s->window_secs;
		row->p50 = PQgetisnull(res, r, 1) ? -1 : atof(PQgetvalue(res, r, 1));
		row->p95 = PQgetisnull(res, r, 2) ? -1 : atof(PQgetvalue(res, r, 2));
		row->p99 = PQgetisnull(res, r, 3) ? -1 : atof(PQgetvalue(res, r, 3));
		row->total = atof(PQgetvalue(res, r, 4));
		row->lock_ms = atof(PQgetvalue(res, r, 5));
		row->factor = PQgetisnull(res, r, 6) ? -1 : atof(PQgetvalue(res, r, 6));
		row->plan_change = strcmp(PQgetvalue(res, r, 7), "t") == 0;
		row->query = PQgetisnull(res, r, 8) ? xstrdup("<query text not available>") :
			xstrdup(PQgetvalue(res, r, 8));
	}
	PQclear(res);
}

/* ---------------------------------------------------------------- drawing */

/* A number in at most `w` characters: 0.123, 12.3, 1234, 12.3k, 1.2M. */
static void
num(char *buf, size_t len, double v, int w)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else if (v == 0)
		snprintf(buf, len, "0");
	else if (v < 10)
		snprintf(buf, len, "%.*f", w >= 6 ? 3 : 2, v);
	else if (v < 100)
		snprintf(buf, len, "%.*f", w >= 6 ? 2 : 1, v);
	else if (v < 1000)
		snprintf(buf, len, "%.1f", v);
	else if (v < 100000)
		snprintf(buf, len, "%.0f", v);
	else if (v < 1e7)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.1fM", v / 1e6);
	if ((int) strlen(buf) > w && w > 0)
		snprintf(buf, len, "%.2g", v);
}

/* Output buffer of one screen: lines cut at the width (UTF-8 aware). */
typedef struct Screen
{
	FILE	   *out;
	int			width;
	int			lines;
	bool		ansi;
} Screen;

static void
put_line(Screen *sc, const char *text)
{
	int			chars = 0;
	const char *p;

	for (p = text; *p; p++)
	{
		if (((unsigned char) *p & 0xC0) != 0x80)
		{
			if (chars == sc->width)
				break;
			chars++;
		}
		fputc(((unsigned char) *p < 0x20 || *p == 0x7f) ? ' ' : *p, sc->out);
	}
	if (sc->ansi)
		fputs("\033[K", sc->out);
	fputs(sc->ansi ? "\r\n" : "\n", sc->out);
	sc->lines++;
}

static int	current_sort;

/* The last `w` characters of a label ("..." first when cut): hosts differ less than databases. */
static const char *
cut_left(char *buf, size_t len, const char *s, int w)
{
	int			n = (int) strlen(s);

	if (n <= w || w < 4)
		snprintf(buf, len, "%s", s);
	else
		snprintf(buf, len, "...%s", s + n - (w - 3));
	return buf;
}

/* Worst first, by the current sort key. */
static int
cmp_rows(const void *a, const void *b)
{
	const TopRow *x = a,
			   *y = b;
	double		kx,
				ky;

	switch (current_sort)
	{
		case SORT_TOTAL:
			kx = x->total, ky = y->total;
			break;
		case SORT_CALLS:
			kx = x->calls_s, ky = y->calls_s;
			break;
		case SORT_REGRESSION:
			/* as latdiag_regressions, a factor counts from 20 calls on: rarer statements after */
			kx = x->factor - (x->calls < REGRESSION_MIN_CALLS ? 1e6 : 0);
			ky = y->factor - (y->calls < REGRESSION_MIN_CALLS ? 1e6 : 0);
			if (kx == ky)
				kx = x->p99, ky = y->p99;
			break;
		default:
			kx = x->p99, ky = y->p99;
	}
	if (kx != ky)
		return kx < ky ? 1 : -1;
	return x->total < y->total ? 1 : x->total > y->total ? -1 : 0;
}

/* Draw one screen. */
static void
draw(FILE *out, TopServer *servers, int nservers, double interval, int top,
	 int width, int height, bool ansi)
{
	Screen		sc = {out, width, 0, ansi};
	TopRow	   *all;
	int			nall = 0,
				i,
				r,
				limit;
	bool		fleet = nservers > 1;
	int			srvw = 0;
	char		line[4096];
	char		now_s[16];
	char		ivl[32];
	time_t		now = time(NULL);
	struct tm	tm;

	localtime_r(&now, &tm);
	strftime(now_s, sizeof(now_s), "%H:%M:%S", &tm);
	if (interval >= 1)
		snprintf(ivl, sizeof(ivl), "%gs", interval);
	else
		snprintf(ivl, sizeof(ivl), "%gms", interval * 1000);
	if (ansi)
		fputs("\033[H", out);
	snprintf(line, sizeof(line), "latdiag top %s  every %s  sort: %s%s", now_s, ivl,
			 sort_names[current_sort], ansi ? "   (s: sort, q: quit)" : "");
	put_line(&sc, line);

	if (fleet)
	{
		for (i = 0; i < nservers; i++)
			if (servers[i].label && (int) strlen(servers[i].label) > srvw)
				srvw = strlen(servers[i].label);
		/* a fifth of the line at most */
		if (srvw > width / 5)
			srvw = width / 5;
		if (srvw < 6)
			srvw = 6;
	}
	/* server lines */
	for (i = 0; i < nservers; i++)
	{
		TopServer  *s = &servers[i];
		char		c[16],
					p[24],
					e[16],
					l[16],
					lab[256];
		int			n = 0;

		if (fleet)
			n = snprintf(line, sizeof(line), "%s ", cut_left(lab, sizeof(lab), s->label ? s->label : s->dsn, srvw));
		num(c, sizeof(c), s->calls_s, 6);
		num(p, sizeof(p), s->p99, 6);
		if (s->p99 >= 0)
			strcat(p, fleet ? "ms" : " ms");
		num(e, sizeof(e), s->errors_s, 5);
		if (s->lock_waiting >= 0)
			snprintf(l, sizeof(l), "%ld", s->lock_waiting);
		else
			snprintf(l, sizeof(l), "-");
		/* a fleet's lines carry the label: shorter words */
		if (s->window_end[0])
			snprintf(line + n, sizeof(line) - n,
					 fleet ? "calls/s %s p99 %s err/s %s lockwait %s @%s" :
					 "calls/s %s  p99 %s  errors/s %s  waiting on locks %s  window %s",
					 c, p, e, l, s->window_end);
		else
			snprintf(line + n, sizeof(line) - n,
					 fleet ? "err/s %s lockwait %s" : "errors/s %s  waiting on locks %s", e, l);
		put_line(&sc, line);
		if (s->message)
		{
			snprintf(line, sizeof(line), "%s%s%s", fleet ? cut_left(lab, sizeof(lab), s->label ? s->label : s->dsn, srvw) : "",
					 fleet ? " " : "  ", s->message);
			put_line(&sc, line);
		}
	}
	put_line(&sc, "");

	/* statements, merged over the servers */
	for (i = 0; i < nservers; i++)
		nall += servers[i].nrows;
	all = xmalloc(sizeof(TopRow) * (nall + 1));
	nall = 0;
	for (i = 0; i < nservers; i++)
		for (r = 0; r < servers[i].nrows; r++)
			all[nall++] = servers[i].rows[r];
	qsort(all, nall, sizeof(TopRow), cmp_rows);

	/* the query takes what the numbers leave; put_line cuts at the width */
	snprintf(line, sizeof(line), "%s%*s%8s %7s %7s %7s %6s %1s %7s  %s",
			 fleet ? "server" : "", fleet ? srvw + 1 - 6 : 0, "",
			 "calls/s", "p50 ms", "p95 ms", "p99 ms", "xbase", "P", "lock ms", "query");
	put_line(&sc, line);

	/* what fits, with the "... more" line, and the last row left free: a newline there would scroll */
	limit = top > 0 ? top : height - sc.lines - 2;
	if (limit < 1)
		limit = 1;
	for (r = 0; r < nall && r < limit; r++)
	{
		TopRow	   *row = &all[r];
		char		c[16],
					a[16],
					b[16],
					d[16],
					f[16],
					l[16],
					srv[128];

		num(c, sizeof(c), row->calls_s, 8);
		num(a, sizeof(a), row->p50, 7);
		num(b, sizeof(b), row->p95, 7);
		num(d, sizeof(d), row->p99, 7);
		if (row->factor < 0)
			snprintf(f, sizeof(f), "-");
		else if (row->factor >= 100)
			snprintf(f, sizeof(f), "%.0fx", row->factor);
		else
			snprintf(f, sizeof(f), "%.1fx", row->factor);
		num(l, sizeof(l), row->lock_ms, 7);
		srv[0] = '\0';
		if (fleet)
		{
			char		lab[256];

			snprintf(srv, sizeof(srv), "%-*s ", srvw,
					 cut_left(lab, sizeof(lab), servers[row->server].label, srvw));
		}
		snprintf(line, sizeof(line), "%s%8s %7s %7s %7s %6s %1s %7s  %s", srv, c, a, b, d, f,
				 row->plan_change ? "P" : "", l, row->query);
		put_line(&sc, line);
	}
	if (nall == 0)
	{
		bool		any = false;

		for (i = 0; i < nservers; i++)
			if (servers[i].window_end[0])
				any = true;
		if (any)
			put_line(&sc, "  (no statement in the latest window)");
	}
	else if (r < nall)
	{
		snprintf(line, sizeof(line), "  ... %d more", nall - r);
		put_line(&sc, line);
	}
	free(all);
	if (ansi)
		fputs("\033[J", out);
	else
		fputs("\n", out);
	fflush(out);
}

/* The terminal's size: stdout's, else $COLUMNS/$LINES, else 80x24. */
static void
term_size(int *width, int *height)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");
	const char *l = getenv("LINES");

	*width = 80;
	*height = 24;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
	{
		*width = ws.ws_col;
		if (ws.ws_row > 0)
			*height = ws.ws_row;
		return;
	}
	if (c && atoi(c) >= 20)
		*width = atoi(c);
	if (l && atoi(l) >= 5)
		*height = atoi(l);
}

int
top_main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"dsn", required_argument, NULL, 'd'},
		{"interval", required_argument, NULL, 'i'},
		{"sort", required_argument, NULL, 's'},
		{"top", required_argument, NULL, 'n'},
		{"once", no_argument, NULL, 1},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char **dsns = xmalloc(sizeof(char *) * (argc + 1));
	int			ndsns = 0;
	double		interval = 2;
	bool		once = false;
	int			top = 0;
	int			c,
				i;
	TopServer  *servers;
	bool		tty_out = isatty(STDOUT_FILENO);
	bool		tty_in = isatty(STDIN_FILENO);
	bool		keys;
	int			width,
				height;

	current_sort = SORT_P99;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":d:i:s:n:h", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				dsns[ndsns++] = optarg;
				break;
			case 'i':
				if (!parse_duration(optarg, &interval))
					top_bad_usage("--interval must be a duration such as 2s, 500ms or 1m, not \"%s\"",
								  optarg);
				if (interval < 0.1 || interval > 3600)
					top_bad_usage("--interval must be from 100ms to 1h, not \"%s\"", optarg);
				break;
			case 's':
				for (i = 0; i < NUM_SORTS; i++)
					if (strcmp(optarg, sort_names[i]) == 0)
						break;
				if (i == NUM_SORTS)
					top_bad_usage("unknown sort \"%s\" (p99, total, calls, regression)", optarg);
				current_sort = i;
				break;
			case 'n':
				{
					char	   *end;
					long		v;

					errno = 0;
					v = strtol(optarg, &end, 10);
					if (errno || *end || end == optarg || v < 1 || v > 1000)
						top_bad_usage("--top must be an integer from 1 to 1000, not \"%s\"", optarg);
					top = (int) v;
				}
				break;
			case 1:
				once = true;
				break;
			case 'h':
				top_usage(stdout);
				return 0;
			case ':':
				top_bad_usage("option \"%s\" needs a value", argv[optind - 1]);
				break;
			default:
				top_bad_usage("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind < argc)
		top_bad_usage("unexpected argument \"%s\"", argv[optind]);
	if (ndsns == 0)
		dsns[ndsns++] = "";
	if (top == 0 && !tty_out)
		top = 20;

	setenv("PGCONNECT_TIMEOUT", "5", 0);
	servers = xmalloc(sizeof(TopServer) * ndsns);
	for (i = 0; i < ndsns; i++)
	{
		servers[i].dsn = dsns[i];
		servers[i].errors_s = -1;
	}

	signal(SIGINT, on_quit);
	signal(SIGTERM, on_quit);
	signal(SIGHUP, on_quit);
	signal(SIGPIPE, SIG_IGN);

	if (once)
	{
		struct timespec ts;

		/* errors/s needs two reads: sample them over one interval */
		for (i = 0; i < ndsns; i++)
			read_server(&servers[i], i);
		ts.tv_sec = (time_t) interval;
		ts.tv_nsec = (long) ((interval - (double) ts.tv_sec) * 1e9);
		for (i = 0; i < ndsns; i++)
			if (servers[i].has_errors && servers[i].conn)
			{
				nanosleep(&ts, NULL);
				break;
			}
		for (i = 0; i < ndsns; i++)
			read_server(&servers[i], i);
		term_size(&width, &height);
		draw(stdout, servers, ndsns, interval, top > 0 ? top : 20, width, height, false);
		for (i = 0; i < ndsns; i++)
			PQfinish(servers[i].conn);
		return ferror(stdout) ? 1 : 0;
	}

	keys = tty_in && tty_out;
	if (keys && tcgetattr(STDIN_FILENO, &saved_tio) == 0)
	{
		raw_mode = true;
		enter_raw();
	}
	if (tty_out)
	{
		screen_mode = true;
		fputs(ENTER_SCREEN, stdout);
		signal(SIGWINCH, on_winch);
		signal(SIGTSTP, on_tstp);
		signal(SIGCONT, on_cont);
	}
	atexit(restore_terminal);

	while (!got_quit)
	{
		struct timespec start,
					now;
		bool		redraw_only = false;

		clock_gettime(CLOCK_MONOTONIC, &start);
		for (i = 0; i < ndsns && !got_quit; i++)
			read_server(&servers[i], i);
		for (;;)
		{
			double		left;
			fd_set		fds;
			struct timeval tv;
			int			n;

			if (got_quit)
				break;
			if (!redraw_only || got_resize || got_cont)
			{
				got_resize = got_cont = 0;
				term_size(&width, &height);
				draw(stdout, servers, ndsns, interval, top, width, height, tty_out);
			}
			redraw_only = true;
			clock_gettime(CLOCK_MONOTONIC, &now);
			left = interval - ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9);
			if (left <= 0)
				break;
			tv.tv_sec = (time_t) left;
			tv.tv_usec = (long) ((left - (double) tv.tv_sec) * 1e6);
			FD_ZERO(&fds);
			if (keys)
				FD_SET(STDIN_FILENO, &fds);
			n = select(keys ? STDIN_FILENO + 1 : 0, &fds, NULL, NULL, &tv);
			if (n > 0 && FD_ISSET(STDIN_FILENO, &fds))
			{
				char		ch;
				ssize_t		got = read(STDIN_FILENO, &ch, 1);

				if (got == 0 && !raw_mode)
					keys = false;	/* end of input */
				else if (got == 1 && (ch == 'q' || ch == 'Q'))
					got_quit = 1;
				else if (got == 1 && (ch == 's' || ch == 'S'))
				{
					current_sort = (current_sort + 1) % NUM_SORTS;
					redraw_only = false;
				}
			}
		}
	}
	restore_terminal();
	raw_mode = screen_mode = false;
	for (i = 0; i < ndsns; i++)
		PQfinish(servers[i].conn);
	return 0;
}
