/*
 * timeline.c: the report over time (postgres_latdiag 1.4 or later).
 *
 * Reads every kept time window of the whole server (latdiag_windows) and of
 * the statements heaviest in the recent period (--since, else 5 minutes;
 * latdiag_query_windows), so the recent windows show against what came
 * before, with where plans changed (a plan id not
 * seen in the statement's earlier windows of the period) and when each
 * regression began (latdiag_regressions.since); then prints them: a table in
 * text (the recent windows only), arrays in JSON, inline SVG charts in HTML
 * with the recent period shaded (no script).
 *
 * check_since refuses a --since further back than the server keeps windows
 * (latdiag.max_windows x latdiag.window_interval).
 */
#include "latdiag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define TAG "/* latdiag-cli */ "

/* Statements with a timeline of their own, at most. */
#define TIMELINE_STATEMENTS 10

/* SVG geometry, px */
#define TL_W		720
#define TL_LEFT		52
#define TL_RIGHT	12
#define TL_TOP		22
#define TL_LAT_H	130			/* latency panel */
#define TL_GAP		18
#define TL_CALLS_H	50			/* calls panel */
#define TL_BOTTOM	30
#define TL_H		(TL_TOP + TL_LAT_H + TL_GAP + TL_CALLS_H + TL_BOTTOM)


static PGresult *
q(PGconn *conn, const char *sql, int n, const char *p1, const char *p2, char **err)
{
	const char *params[2] = {p1, p2};
	PGresult   *res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		if (err)
			*err = one_line(PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Refuse a --since longer than the windows the server keeps. */
bool
check_since(void *c, Server *srv, const Report *rep)
{
	PGconn	   *conn = c;
	char	   *err = NULL;
	PGresult   *res = q(conn, TAG "SELECT current_setting('latdiag.max_windows')::int * "
						"extract(epoch FROM current_setting('latdiag.window_interval')::interval), "
						"current_setting('latdiag.max_windows'), "
						"current_setting('latdiag.window_interval')", 0, NULL, NULL, &err);
	double		kept;

	if (res == NULL)
	{
		srv->since_error = xprintf("cannot check --since: %s", err);
		free(err);
		return false;
	}
	kept = atof(PQgetvalue(res, 0, 0));
	if (rep->since > kept + 0.5)
	{
		char	   *want = format_duration(rep->since);
		char	   *have = format_duration(kept);

		srv->since_error =
			xprintf("--since %s reaches further back than this server keeps time windows: "
					"latdiag.max_windows (%s) x latdiag.window_interval (%s) = %s; "
					"ask for %s or less, or raise latdiag.max_windows",
					want, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2), have, have);
		free(want);
		free(have);
		PQclear(res);
		return false;
	}
	PQclear(res);
	return true;
}

/* A double from a cell; -1 for NULL. */
static double
cell(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? -1 : atof(PQgetvalue(res, r, c));
}

/* Plan ids of a bigint[] text ("{1,-2}") that are not in seen[]; adds them. */
static bool
new_planids(const char *arr, char ***seen, int *nseen, int *cap)
{
	char	   *copy;
	char	   *tok,
			   *save = NULL;
	bool		found = false;
	int			i;

	if (arr == NULL)
		return false;
	copy = xstrdup(arr);
	for (tok = strtok_r(copy, "{},", &save); tok; tok = strtok_r(NULL, "{},", &save))
	{
		bool		known = false;

		for (i = 0; i < *nseen; i++)
			if (strcmp((*seen)[i], tok) == 0)
				known = true;
		if (known)
			continue;
		if (*nseen > 0)
			found = true;		/* the first window's plans are not a change */
		if (*nseen == *cap)
		{
			char	  **grown = xmalloc(sizeof(char *) * (*cap * 2 + 4));

			if (*nseen)
				memcpy(grown, *seen, sizeof(char *) * *nseen);
			free(*seen);
			*seen = grown;
			*cap = *cap * 2 + 4;
		}
		(*seen)[(*nseen)++] = xstrdup(tok);
	}
	free(copy);
	return found;
}

/* Read the timeline of one server. */
void
collect_timeline(void *c, Server *srv, const Report *rep)
{
	PGconn	   *conn = c;
	PGresult   *res;
	char	   *err = NULL;
	char		nbuf[16];
	int			r,
				i;
	char	   *key = NULL;
	char	  **seen = NULL;
	int			nseen = 0,
				cap = 0;
	Series	   *cur = NULL;

	res = q(conn, TAG "SELECT extract(epoch FROM window_start), extract(epoch FROM window_end), "
			"calls, p50_exec_time, p95_exec_time, p99_exec_time, "
			"extract(epoch FROM now() - $1::interval) FROM latdiag_windows "
			"ORDER BY window_start", 1, rep->recent, NULL, &err);
	if (res == NULL)
	{
		srv->timeline_message = xprintf("error: %s", err);
		return;
	}
	snprintf(nbuf, sizeof(nbuf), "%d", rep->top < TIMELINE_STATEMENTS ? rep->top : TIMELINE_STATEMENTS);
	srv->series = xmalloc(sizeof(Series) * (TIMELINE_STATEMENTS + 1));
	srv->nseries = 1;
	srv->series[0].npoints = PQntuples(res);
	srv->series[0].points = xmalloc(sizeof(TimePoint) * (PQntuples(res) + 1));
	for (r = 0; r < PQntuples(res); r++)
	{
		TimePoint  *p = &srv->series[0].points[r];

		p->start = cell(res, r, 0);
		p->end = cell(res, r, 1);
		p->calls = cell(res, r, 2);
		p->p50 = cell(res, r, 3);
		p->p95 = cell(res, r, 4);
		p->p99 = cell(res, r, 5);
		srv->recent_from = cell(res, r, 6);
	}
	PQclear(res);
	if (srv->series[0].npoints == 0)
	{
		srv->timeline_message = xstrdup("no time window closed yet");
		return;
	}

	/* The heaviest statements of the period, window by window. */
	res = q(conn, TAG "WITH q AS (SELECT * FROM latdiag_query_windows "
			"  WHERE NOT is_other AND queryid IS NOT NULL "
			"    AND coalesce(query, '') NOT LIKE '/* latdiag-cli */%'), "
			"t AS (SELECT userid, dbid, queryid, toplevel, sum(total_exec_time) AS total FROM q "
			"  WHERE window_end > now() - $1::interval "
			"  GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, 3 LIMIT $2::int) "
			"SELECT concat_ws('/', t.userid, t.dbid, t.queryid, t.toplevel), q.queryid, "
			"extract(epoch FROM q.window_start), extract(epoch FROM q.window_end), q.calls, "
			"q.p50_exec_time, q.p95_exec_time, q.p99_exec_time, q.planids::text, "
			"regexp_replace(btrim(q.query), '\\s+', ' ', 'g') "
			"FROM q JOIN t USING (userid, dbid, queryid, toplevel) "
			"ORDER BY t.total DESC, t.queryid, t.userid, t.dbid, t.toplevel, q.window_start",
			2, rep->recent, nbuf, &err);
	if (res == NULL)
	{
		srv->timeline_message = xprintf("error: %s", err);
		return;
	}
	for (r = 0; r < PQntuples(res); r++)
	{
		TimePoint  *p;

		if (key == NULL || strcmp(key, PQgetvalue(res, r, 0)) != 0)
		{
			if (srv->nseries > TIMELINE_STATEMENTS)
				break;
			free(key);
			key = xstrdup(PQgetvalue(res, r, 0));
			cur = &srv->series[srv->nseries++];
			cur->queryid = xstrdup(PQgetvalue(res, r, 1));
			cur->query = PQgetisnull(res, r, 9) ? NULL : xstrdup(PQgetvalue(res, r, 9));
			cur->points = xmalloc(sizeof(TimePoint) * (PQntuples(res) + 1));
			for (i = 0; i < nseen; i++)
				free(seen[i]);
			nseen = 0;
		}
		p = &cur->points[cur->npoints++];
		p->start = cell(res, r, 2);
		p->end = cell(res, r, 3);
		p->calls = cell(res, r, 4);
		p->p50 = cell(res, r, 5);
		p->p95 = cell(res, r, 6);
		p->p99 = cell(res, r, 7);
		p->plan_change = new_planids(PQgetisnull(res, r, 8) ? NULL : PQgetvalue(res, r, 8),
									 &seen, &nseen, &cap);
		if (cur->query == NULL && !PQgetisnull(res, r, 9))
			cur->query = xstrdup(PQgetvalue(res, r, 9));
	}
	for (i = 0; i < nseen; i++)
		free(seen[i]);
	free(seen);
	free(key);
	PQclear(res);

	/* When each regression began: on the server's chart, and on the statement's. */
	res = q(conn, TAG "SELECT queryid::text, extract(epoch FROM since) FROM latdiag_regressions($1::interval, $2::interval) "
			"WHERE since IS NOT NULL", 2, rep->recent, rep->since > 0 ? "100 years" : "1 hour", NULL);
	if (res)
	{
		srv->regression_marks = xmalloc(sizeof(double) * (PQntuples(res) + 1));
		for (r = 0; r < PQntuples(res); r++)
		{
			double		since = atof(PQgetvalue(res, r, 1));

			srv->regression_marks[srv->nregression_marks++] = since;
			for (i = 1; i < srv->nseries; i++)
				if (!PQgetisnull(res, r, 0) && srv->series[i].queryid &&
					strcmp(srv->series[i].queryid, PQgetvalue(res, r, 0)) == 0)
					srv->series[i].regressed_since = since;
		}
		PQclear(res);
	}
}

/* A UTC time of day, for labels. */
static void
hms(char *buf, size_t len, double epoch)
{
	time_t		t = (time_t) floor(epoch + 0.5);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%H:%M:%S", &tm);
}

/* An ISO 8601 UTC timestamp, for JSON and titles. */
static void
iso(char *buf, size_t len, double epoch)
{
	time_t		t = (time_t) floor(epoch);
	struct tm	tm;
	int			ms = (int) floor((epoch - floor(epoch)) * 1000 + 0.5);

	if (ms > 999)
		ms = 999;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + strlen(buf), len - strlen(buf), ".%03dZ", ms);
}

/* ------------------------------------------------------------------ text */

/* The server's windows as a table, with the marks of the statements. */
Table *
timeline_table(const Report *r)
{
	static const char *const cols[] = {"server", "window_end", "calls", "calls_per_s",
	"p50_ms", "p95_ms", "p99_ms", "marks"};
	Table	   *t = xmalloc(sizeof(Table));
	bool		fleet = r->nservers > 1;
	int			s,
				c,
				n = 0,
				i,
				j,
				k;
	int			off = fleet ? 0 : 1;

	t->ncols = 8 - off;
	t->cols = xmalloc(sizeof(char *) * t->ncols);
	t->kinds = xmalloc(sizeof(ColKind) * t->ncols);
	for (c = 0; c < t->ncols; c++)
	{
		t->cols[c] = xstrdup(cols[c + off]);
		t->kinds[c] = (c + off >= 2 && c + off <= 6) ? COL_NUM : COL_TEXT;
	}
	for (s = 0; s < r->nservers; s++)
		if (r->servers[s].nseries > 0)
			n += r->servers[s].series[0].npoints;
	t->vals = xmalloc(sizeof(char **) * (n + 1));
	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];

		if (sv->nseries == 0)
			continue;
		for (i = 0; i < sv->series[0].npoints; i++)
		{
			const TimePoint *p = &sv->series[0].points[i];
			char	  **v;
			char		buf[32];
			char	   *marks;

			/* the recent period: windows whose middle is in it */
			if ((p->start + p->end) / 2 < sv->recent_from)
				continue;
			v = xmalloc(sizeof(char *) * 8);
			marks = xstrdup("");

			/* plan changes of the statements in this window, regressions that began in it */
			for (j = 1; j < sv->nseries; j++)
				for (k = 0; k < sv->series[j].npoints; k++)
					if (sv->series[j].points[k].plan_change &&
						fabs(sv->series[j].points[k].start - p->start) < 0.5)
					{
						char	   *m = xprintf("%s%snew plan %s", marks, *marks ? ", " : "",
												sv->series[j].queryid);

						free(marks);
						marks = m;
					}
			for (j = 0; j < sv->nregression_marks; j++)
				if (sv->regression_marks[j] >= p->start - 0.5 && sv->regression_marks[j] < p->end - 0.5)
				{
					char	   *m = xprintf("%s%sregression begins", marks, *marks ? ", " : "");

					free(marks);
					marks = m;
					break;
				}
			c = 0;
			if (fleet)
				v[c++] = xstrdup(sv->label);
			hms(buf, sizeof(buf), p->end);
			v[c++] = xstrdup(buf);
			v[c++] = xprintf("%.0f", p->calls);
			v[c++] = xprintf("%.1f", p->end > p->start ? p->calls / (p->end - p->start) : 0);
			v[c++] = p->p50 < 0 ? NULL : xprintf("%.2f", p->p50);
			v[c++] = p->p95 < 0 ? NULL : xprintf("%.2f", p->p95);
			v[c++] = p->p99 < 0 ? NULL : xprintf("%.2f", p->p99);
			v[c++] = marks;
			t->vals[t->nrows++] = v;
		}
	}
	return t;
}

/* ------------------------------------------------------------------ JSON */

static void
jnum(FILE *out, double v)
{
	if (v < 0 || v != v)
		fputs("null", out);
	else
		fprintf(out, "%.6g", v);
}

static void
json_points(FILE *out, const Series *se, bool marks)
{
	int			i;
	char		a[40],
				b[40];

	fputs("[", out);
	for (i = 0; i < se->npoints; i++)
	{
		const TimePoint *p = &se->points[i];

		iso(a, sizeof(a), p->start);
		iso(b, sizeof(b), p->end);
		fprintf(out, "%s\n          {\"window_start\": \"%s\", \"window_end\": \"%s\", \"calls\": %.0f, "
				"\"p50_ms\": ", i ? "," : "", a, b, p->calls);
		jnum(out, p->p50);
		fputs(", \"p95_ms\": ", out);
		jnum(out, p->p95);
		fputs(", \"p99_ms\": ", out);
		jnum(out, p->p99);
		if (marks)
			fprintf(out, ", \"plan_change\": %s", p->plan_change ? "true" : "false");
		fputs("}", out);
	}
	fputs(se->npoints ? "\n        ]" : "]", out);
}

/* "timeline": one object per server (shape: doc/cli.md). */
void
render_timeline_json(FILE *out, const Report *r)
{
	int			s,
				i;
	char		buf[40];

	fputs("  \"timeline\": [", out);
	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];

		fprintf(out, "%s\n    {\"server\": ", s ? "," : "");
		json_string(out, sv->label);
		fputs(", \"message\": ", out);
		json_string(out, sv->timeline_message);
		fputs(", \"recent_from\": ", out);
		if (sv->recent_from > 0)
		{
			iso(buf, sizeof(buf), sv->recent_from);
			fprintf(out, "\"%s\"", buf);
		}
		else
			fputs("null", out);
		fputs(",\n     \"regressions_since\": [", out);
		for (i = 0; i < sv->nregression_marks; i++)
		{
			iso(buf, sizeof(buf), sv->regression_marks[i]);
			fprintf(out, "%s\"%s\"", i ? ", " : "", buf);
		}
		fputs("],\n     \"windows\": ", out);
		if (sv->nseries > 0)
			json_points(out, &sv->series[0], false);
		else
			fputs("[]", out);
		fputs(",\n     \"statements\": [", out);
		for (i = 1; i < sv->nseries; i++)
		{
			const Series *se = &sv->series[i];

			fprintf(out, "%s\n      {\"queryid\": ", i > 1 ? "," : "");
			json_string(out, se->queryid);
			fputs(", \"query\": ", out);
			json_string(out, se->query);
			fputs(", \"regressed_since\": ", out);
			if (se->regressed_since > 0)
			{
				iso(buf, sizeof(buf), se->regressed_since);
				fprintf(out, "\"%s\"", buf);
			}
			else
				fputs("null", out);
			fputs(",\n        \"windows\": ", out);
			json_points(out, se, true);
			fputs("}", out);
		}
		fputs(sv->nseries > 1 ? "\n     ]}" : "]}", out);
	}
	fputs(r->nservers ? "\n  ],\n" : "],\n", out);
}

/* ------------------------------------------------------------------ HTML */

/* A "nice" axis maximum: 1, 2 or 5 times a power of ten, at least v. */
static double
nice_max(double v)
{
	double		e,
				m;

	if (v <= 0)
		return 1;
	e = pow(10, floor(log10(v)));
	m = v / e;
	return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
}

/* One series as an SVG chart: p50/p95/p99 lines, calls bars, plan and regression marks. */
static void
svg_series(FILE *out, const Series *se, double t0, double t1, double recent_from,
		   const double *regs, int nregs, const Series *all, int nall, const char *label)
{
	static const char *const names[3] = {"p50", "p95", "p99"};
	static const char *const colors[3] = {"#2a7d2a", "#c77c00", "#c0392b"};
	double		maxlat = 0,
				maxcalls = 0,
				span = t1 - t0 > 0 ? t1 - t0 : 1;
	double		pw = TL_W - TL_LEFT - TL_RIGHT;
	double		callsy = TL_TOP + TL_LAT_H + TL_GAP;
	int			i,
				k,
				j;
	char		buf[32];

#define X(t) (TL_LEFT + ((t) - t0) / span * pw)
	for (i = 0; i < se->npoints; i++)
	{
		if (se->points[i].p99 > maxlat)
			maxlat = se->points[i].p99;
		if (se->points[i].calls > maxcalls)
			maxcalls = se->points[i].calls;
	}
	maxlat = nice_max(maxlat * 1.05);
	maxcalls = nice_max(maxcalls);

	fprintf(out, "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
			"viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", TL_W, TL_H, TL_W, TL_H);
	html_text(out, label, 0);
	fputs("\">\n", out);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", TL_W, TL_H);
	/* the recent period, shaded */
	if (recent_from > 0 && recent_from < t1)
	{
		double		x = X(recent_from < t0 ? t0 : recent_from);

		fprintf(out, "<rect class=\"recent\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#fff7d6\">"
				"<title>the recent period</title></rect>"
				"<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" fill=\"#8a6d3b\">recent</text>\n",
				x, TL_TOP, TL_W - TL_RIGHT - x, TL_LAT_H + TL_GAP + TL_CALLS_H,
				(double) (TL_W - TL_RIGHT - 2), TL_TOP - 4);
	}

	/* latency grid: 0, half, max */
	for (k = 0; k <= 2; k++)
	{
		double		y = TL_TOP + TL_LAT_H - TL_LAT_H * k / 2.0;
		double		v = maxlat * k / 2.0;

		if (v >= 1000)
			snprintf(buf, sizeof(buf), "%.3g s", v / 1000);
		else
			snprintf(buf, sizeof(buf), "%.3g ms", v);
		fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>"
				"<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">%s</text>\n",
				TL_LEFT, y, TL_W - TL_RIGHT, y, k ? "#eee" : "#888", TL_LEFT - 4, y + 3, buf);
	}
	/* calls axis */
	fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\"/>"
			"<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">%.0f</text>"
			"<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">calls</text>\n",
			TL_LEFT, callsy + TL_CALLS_H, TL_W - TL_RIGHT, callsy + TL_CALLS_H,
			TL_LEFT - 4, callsy + 8, maxcalls, TL_LEFT - 4, callsy + TL_CALLS_H);

	/* time labels: first, middle, last window end */
	for (k = 0; k <= 2; k++)
	{
		double		t = t0 + span * k / 2.0;

		hms(buf, sizeof(buf), t);
		fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"%s\" fill=\"#555\">%s%s</text>\n",
				X(t), TL_H - 8, k == 0 ? "start" : k == 2 ? "end" : "middle", buf,
				k == 2 ? " UTC" : "");
	}

	/* calls per window */
	for (i = 0; i < se->npoints; i++)
	{
		const TimePoint *p = &se->points[i];
		double		x1 = X(p->start),
					x2 = X(p->end);
		double		h = TL_CALLS_H * p->calls / maxcalls;
		char		a[16];

		hms(a, sizeof(a), p->end);
		fprintf(out, "<rect class=\"calls\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#9db7d9\">"
				"<title>window to %s: %.0f calls</title></rect>\n",
				x1 + 0.5, callsy + TL_CALLS_H - h, x2 - x1 > 2 ? x2 - x1 - 1 : 1, h, a, p->calls);
	}

	/* p50/p95/p99 lines, a point per window (at its middle) */
	for (k = 0; k < 3; k++)
	{
		bool		open = false;

		for (i = 0; i < se->npoints; i++)
		{
			const TimePoint *p = &se->points[i];
			double		v = k == 0 ? p->p50 : k == 1 ? p->p95 : p->p99;

			if (v < 0)
			{
				if (open)
					fputs("\"/>\n", out);
				open = false;
				continue;
			}
			if (!open)
				fprintf(out, "<polyline class=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
						names[k], colors[k]);
			fprintf(out, "%s%.1f,%.1f", open ? " " : "", X((p->start + p->end) / 2),
					TL_TOP + TL_LAT_H - TL_LAT_H * (v > maxlat ? maxlat : v) / maxlat);
			open = true;
		}
		if (open)
			fputs("\"/>\n", out);
		/* a dot per window, so that a lone window shows */
		for (i = 0; i < se->npoints; i++)
		{
			const TimePoint *p = &se->points[i];
			double		v = k == 0 ? p->p50 : k == 1 ? p->p95 : p->p99;

			if (v >= 0)
				fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"1.8\" fill=\"%s\"/>",
						X((p->start + p->end) / 2),
						TL_TOP + TL_LAT_H - TL_LAT_H * (v > maxlat ? maxlat : v) / maxlat, colors[k]);
		}
		fputs("\n", out);
		fprintf(out, "<text x=\"%d\" y=\"14\" font-size=\"11\" fill=\"%s\">%s</text>\n",
				TL_LEFT + 4 + 40 * k, colors[k], names[k]);
	}

	/* marks: plan changes (of this series, or of any statement on the server chart) */
	for (j = 0; j < nall; j++)
	{
		const Series *ms = &all[j];

		for (i = 0; i < ms->npoints; i++)
		{
			double		x;
			char		a[16];

			if (!ms->points[i].plan_change)
				continue;
			x = X(ms->points[i].start);
			hms(a, sizeof(a), ms->points[i].start);
			fprintf(out, "<line class=\"plan-change\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" "
					"stroke=\"#7b3fb5\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\">"
					"<title>new plan from %s UTC (queryid %s)</title></line>"
					"<text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#7b3fb5\">plan</text>\n",
					x, TL_TOP, x, callsy + TL_CALLS_H, a, ms->queryid ? ms->queryid : "?",
					x + 2, TL_TOP + 10);
		}
	}
	for (j = 0; j < nregs; j++)
	{
		double		x = X(regs[j] < t0 ? t0 : regs[j]);
		char		a[16];

		hms(a, sizeof(a), regs[j]);
		fprintf(out, "<line class=\"regression\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" "
				"stroke=\"#d00\" stroke-width=\"2\"><title>regression since %s UTC</title></line>"
				"<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" fill=\"#d00\">regression</text>\n",
				x, TL_TOP, x, callsy + TL_CALLS_H, a, x - 2, TL_TOP + 10);
	}
#undef X
	fputs("</svg>\n", out);
}

/* The timeline section of the HTML page. */
void
render_timeline_html(FILE *out, const Report *r)
{
	int			s,
				i,
				n = 0;
	bool		fleet = r->nservers > 1;

	char	   *d = format_duration(r->since > 0 ? r->since : 300);

	fputs("<section id=\"timeline\"><h2>Timeline: the kept time windows</h2>\n", out);
	fprintf(out, "<p class=\"meta\">The recent period (the last %s, shaded) against the windows before it. ", d);
	free(d);
	fputs("Per window: p50, p95 and p99 execution time (lines, ms) and calls (bars); "
		  "dashed purple lines mark a new plan, red lines the start of a regression (latdiag_regressions). "
		  "Times in UTC.</p>\n", out);
	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];
		double		t0 = 1e300,
					t1 = 0;

		if (sv->status != SRV_OK)
			continue;
		if (sv->timeline_message && sv->nseries == 0)
		{
			fputs("<p class=\"note\">", out);
			if (fleet)
			{
				html_text(out, sv->label, 0);
				fputs(": ", out);
			}
			html_text(out, sv->timeline_message, 0);
			fputs("</p>\n", out);
			continue;
		}
		if (sv->nseries == 0)
			continue;
		for (i = 0; i < sv->series[0].npoints; i++)
		{
			if (sv->series[0].points[i].start < t0)
				t0 = sv->series[0].points[i].start;
			if (sv->series[0].points[i].end > t1)
				t1 = sv->series[0].points[i].end;
		}
		fputs("<div class=\"charts\">\n<figure class=\"wide\"><figcaption><b>server</b> ", out);
		html_text(out, sv->label, 0);
		fprintf(out, " &middot; %d windows</figcaption>\n", sv->series[0].npoints);
		svg_series(out, &sv->series[0], t0, t1, sv->recent_from, sv->regression_marks, sv->nregression_marks,
				   sv->series + 1, sv->nseries - 1, "timeline of the server");
		fputs("</figure>\n", out);
		n++;
		for (i = 1; i < sv->nseries; i++)
		{
			const Series *se = &sv->series[i];
			char	   *label = xprintf("timeline of queryid %s", se->queryid);

			fputs("<figure class=\"wide\"><figcaption>", out);
			if (fleet)
			{
				html_text(out, sv->label, 0);
				fputs(" &middot; ", out);
			}
			fputs("queryid ", out);
			html_text(out, se->queryid, 0);
			if (se->regressed_since > 0)
				fputs(" &middot; <span class=\"err\">regression</span>", out);
			fputs("<br><code>", out);
			html_text(out, se->query, 160);
			fputs("</code></figcaption>\n", out);
			svg_series(out, se, t0, t1, sv->recent_from, se->regressed_since > 0 ? &se->regressed_since : NULL,
					   se->regressed_since > 0 ? 1 : 0, se, 1, label);
			free(label);
			fputs("</figure>\n", out);
			n++;
		}
		fputs("</div>\n", out);
	}
	if (n == 0)
		fputs("<p>no time window</p>\n", out);
	fputs("</section>\n", out);
}
