/*
 * render_html.c: the report as one self-contained HTML page.
 *
 * No external asset, no script: inline CSS, and one inline SVG latency
 * histogram per top query (log-scaled latency axis, log-scaled counts so the
 * tail shows) with its p50/p95/p99 marks.  Every value from a server is
 * escaped.
 */
#include "latdiag.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* SVG chart geometry, in px. */
#define CH_W		560
#define CH_H		210
#define CH_LEFT		12
#define CH_RIGHT	12
#define CH_TOP		40
#define CH_BOTTOM	26

/* A latency for labels: "0.52 ms", "1.2 s". */
static void
fmt_ms(char *buf, size_t len, double ms)
{
	if (ms >= 1000)
		snprintf(buf, len, "%.3g s", ms / 1000);
	else
		snprintf(buf, len, "%.3g ms", ms);
}

/* Whether a column holds long free text (wraps, smaller font). */
static bool
is_long(const char *name)
{
	size_t		len = strlen(name);

	return (len >= 5 && strcmp(name + len - 5, "query") == 0) ||
		strcmp(name, "filter") == 0 || strcmp(name, "index_def") == 0 ||
		strcmp(name, "suggestion") == 0 || strcmp(name, "message") == 0;
}

/* A table. */
static void
html_table(FILE *out, const Table *t)
{
	int			r,
				c;

	fputs("<div class=\"scroll\"><table>\n<thead><tr>", out);
	for (c = 0; c < t->ncols; c++)
	{
		fputs("<th>", out);
		html_text(out, t->cols[c], 0);
		fputs("</th>", out);
	}
	fputs("</tr></thead>\n<tbody>\n", out);
	for (r = 0; r < t->nrows; r++)
	{
		fputs("<tr>", out);
		for (c = 0; c < t->ncols; c++)
		{
			const char *v = t->vals[r][c];
			const char *cls = (t->kinds[c] == COL_NUM || t->kinds[c] == COL_ID) ? " class=\"n\"" :
				is_long(t->cols[c]) ? " class=\"q\"" : "";

			fprintf(out, "<td%s>", cls);
			if (v == NULL)
				fputs("<span class=\"null\">-</span>", out);
			else if (strcmp(t->cols[c], "index_def") == 0)
			{
				fputs("<code>", out);
				html_text(out, v, 0);
				fputs("</code>", out);
			}
			else
				html_text(out, v, 0);
			fputs("</td>", out);
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></div>\n", out);
}

/* x position of a latency on the chart's log axis. */
static double
chart_x(double ms, double lx0, double lx1)
{
	double		l = log10(ms < 1e-3 ? 1e-3 : ms);

	return CH_LEFT + (l - lx0) / (lx1 - lx0) * (CH_W - CH_LEFT - CH_RIGHT);
}

/* One histogram as an inline SVG, with p50/p95/p99 marks. */
static void
html_histogram(FILE *out, const Histogram *h)
{
	double		lo = 1e300,
				hi = 0,
				maxc = 0;
	double		lx0,
				lx1;
	double		ph = CH_H - CH_TOP - CH_BOTTOM;
	int			b,
				e,
				m;
	char		buf[64];
	static const char *const mark_name[3] = {"p50", "p95", "p99"};
	static const char *const mark_color[3] = {"#2a7d2a", "#c77c00", "#c0392b"};
	double		mark_val[3];

	mark_val[0] = h->p50;
	mark_val[1] = h->p95;
	mark_val[2] = h->p99;
	for (b = 0; b < h->nbuckets; b++)
	{
		double		l = h->lower[b] < 1e-3 ? 1e-3 : h->lower[b];

		if (l < lo)
			lo = l;
		if (h->upper[b] > hi)
			hi = h->upper[b];
		if (h->count[b] > maxc)
			maxc = h->count[b];
	}
	if (h->nbuckets == 0)
	{
		lo = 0.01;
		hi = 1;
	}
	/* The marks are on the chart even if the buckets disagree with them. */
	for (m = 0; m < 3; m++)
	{
		if (mark_val[m] < 0)
			continue;
		if (mark_val[m] < lo)
			lo = mark_val[m] < 1e-3 ? 1e-3 : mark_val[m];
		if (mark_val[m] > hi)
			hi = mark_val[m];
	}
	lx0 = floor(log10(lo));
	lx1 = ceil(log10(hi));
	if (lx1 <= lx0)
		lx1 = lx0 + 1;

	fprintf(out, "<svg class=\"hist\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
			"viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"latency histogram of queryid ",
			CH_W, CH_H, CH_W, CH_H);
	html_text(out, h->queryid, 0);
	fputs("\">\n", out);
	fprintf(out, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", CH_W, CH_H);

	/* decade grid and labels */
	for (e = (int) lx0; e <= (int) lx1; e++)
	{
		double		x = chart_x(pow(10, e), lx0, lx1);

		fmt_ms(buf, sizeof(buf), pow(10, e));
		fprintf(out, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
				"<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"%s\" fill=\"#555\">%s</text>\n",
				x, CH_TOP, x, CH_TOP + ph, x, CH_H - 10,
				e == (int) lx0 ? "start" : e == (int) lx1 ? "end" : "middle", buf);
	}
	fprintf(out, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\"/>\n",
			CH_LEFT, CH_TOP + ph, CH_W - CH_RIGHT, CH_TOP + ph);

	/* bars: height log-scaled */
	for (b = 0; b < h->nbuckets; b++)
	{
		double		x1 = chart_x(h->lower[b], lx0, lx1);
		double		x2 = chart_x(h->upper[b], lx0, lx1);
		double		bh = maxc > 0 ? ph * log1p(h->count[b]) / log1p(maxc) : 0;
		char		lb[32],
					ub[32];

		if (bh < 1 && h->count[b] > 0)
			bh = 1;
		fmt_ms(lb, sizeof(lb), h->lower[b]);
		fmt_ms(ub, sizeof(ub), h->upper[b]);
		fprintf(out, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4a78b5\">"
				"<title>%s to %s: %.0f executions</title></rect>\n",
				x1, CH_TOP + ph - bh, x2 - x1 > 1.5 ? x2 - x1 - 0.5 : 1.0, bh, lb, ub, h->count[b]);
	}

	/* percentile marks, labels stacked so they never overlap */
	for (m = 0; m < 3; m++)
	{
		double		x;
		const char *anchor;

		if (mark_val[m] < 0)
			continue;
		x = chart_x(mark_val[m], lx0, lx1);
		anchor = x > CH_W - 110 ? "end" : "start";
		fmt_ms(buf, sizeof(buf), mark_val[m]);
		fprintf(out, "<line class=\"mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
				"stroke-width=\"1.5\" stroke-dasharray=\"4 2\"/>"
				"<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"%s\" fill=\"%s\">%s %s</text>\n",
				x, 15 + 12 * m, x, CH_TOP + ph,
				mark_color[m], anchor[0] == 'e' ? x - 3 : x + 3, 12 + 12 * m, anchor,
				mark_color[m], mark_name[m], buf);
	}
	fputs("</svg>\n", out);
}

static const char *const css =
"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#222;background:#fafafa}"
"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ccc;padding-bottom:3px}"
".meta{color:#666;margin:0 0 12px}nav a{margin-right:12px}"
".scroll{overflow-x:auto}table{border-collapse:collapse;background:#fff;font-size:13px}"
"th,td{border:1px solid #ddd;padding:3px 7px;text-align:left;vertical-align:top}th{background:#eef2f7}"
"td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
"td.q{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;min-width:260px;max-width:640px;word-break:break-word}"
".null{color:#aaa}.note{color:#8a6d3b;margin:4px 0}.err{color:#b00}"
".findings li.bad{color:#b00;font-weight:bold}.findings li.na{color:#888}"
".charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;background:#fff;border:1px solid #ddd;padding:8px;width:560px}figure.wide{width:720px}"
"figcaption{font-size:12px;margin-bottom:4px;word-break:break-word}"
"figcaption code,pre{font-family:ui-monospace,Menlo,Consolas,monospace}"
"pre{background:#fff;border:1px solid #ddd;padding:8px;overflow-x:auto;font-size:12px}"
"details{margin:6px 0}summary{cursor:pointer}";

/* The notes of a section: servers without it, errors. */
static void
html_notes(FILE *out, const Report *r, SectionId id)
{
	int			s;

	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];
		const SectionResult *sr = &sv->sections[id];

		if (sv->status != SRV_OK || sr->status == SS_OK)
			continue;
		fprintf(out, "<p class=\"%s\">", sr->status == SS_ERROR ? "note err" : "note");
		if (r->nservers > 1)
		{
			html_text(out, sv->label, 0);
			fputs(": ", out);
		}
		if (sr->status == SS_ERROR)
			fputs("error: ", out);
		html_text(out, sr->message, 0);
		fputs("</p>\n", out);
	}
}

static void html_histograms(FILE *out, const Report *r);
static void html_section(FILE *out, const Report *r, SectionId i);

/* The whole report as an HTML page. */
void
render_html(FILE *out, const Report *r)
{
	bool		fleet = r->nservers > 1;
	int			i,
				k,
				s,
				row,
				nok = 0;
	int			order[NUM_SECTIONS];
	Table	   *t;

	for (s = 0; s < r->nservers; s++)
		if (r->servers[s].status == SRV_OK)
			nok++;

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		  "<link rel=\"icon\" href=\"data:,\">\n<title>postgres_latdiag report</title>\n<style>", out);
	fputs(css, out);
	fputs("</style>\n</head>\n<body>\n<h1>postgres_latdiag report</h1>\n<p class=\"meta\">generated ", out);
	html_text(out, r->generated_at, 0);
	fprintf(out, " &middot; %d server%s (%d read) &middot; top %d &middot; latdiag %s</p>\n",
			r->nservers, r->nservers == 1 ? "" : "s", nok, r->top, LATDIAG_CLI_VERSION);

	section_order(r, order);
	fputs("<nav><a href=\"#servers\">servers</a><a href=\"#findings\">findings</a>", out);
	for (k = 0; k < NUM_SECTIONS; k++)
	{
		i = order[k];
		if (i == SEC_PLAN_CHANGES)
			fputs("<a href=\"#histograms\">histograms</a>", out);
		if (i == SEC_WINDOW_COMPARE)
			fputs("<a href=\"#timeline\">timeline</a>", out);
		if (i == SEC_FINDINGS)
			continue;			/* the #findings link above */
		fprintf(out, "<a href=\"#%s\">%s</a>", section_defs[i].key, section_defs[i].key);
	}
	fputs("</nav>\n", out);

	/* servers */
	fputs("<section id=\"servers\"><h2>Servers</h2>\n<div class=\"scroll\"><table><thead><tr>"
		  "<th>server</th><th>status</th><th>server version</th><th>extension</th>"
		  "<th>queries</th><th>evictions</th><th>message</th></tr></thead><tbody>\n", out);
	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];
		int			ce = sv->info ? table_col(sv->info, "entries") : -1;
		int			cv = sv->info ? table_col(sv->info, "evictions") : -1;

		fputs("<tr><td>", out);
		html_text(out, sv->label, 0);
		fprintf(out, "</td><td class=\"%s\">%s</td><td>", sv->status == SRV_OK ? "" : "err",
				server_status_name(sv->status));
		html_text(out, sv->server_version, 0);
		fputs("</td><td>", out);
		html_text(out, sv->ext_version, 0);
		fputs("</td><td class=\"n\">", out);
		if (ce >= 0 && sv->info->nrows > 0)
			html_text(out, sv->info->vals[0][ce], 0);
		fputs("</td><td class=\"n\">", out);
		if (cv >= 0 && sv->info->nrows > 0)
			html_text(out, sv->info->vals[0][cv], 0);
		fputs("</td><td class=\"q\">", out);
		html_text(out, sv->message, 0);
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody></table></div></section>\n", out);

	/* findings: ranked by latdiag_findings (1.5), then counted by kind */
	fputs("<section id=\"findings\"><h2>Findings</h2>\n", out);
	for (s = 0; s < r->nservers; s++)
		if (r->servers[s].sections[SEC_FINDINGS].status == SS_OK)
			break;
	if (s < r->nservers)
	{
		t = merged_section(r, SEC_FINDINGS, fleet);
		if (t->nrows == 0)
			fputs("<p>no finding</p>\n", out);
		else
			fputs("<ol class=\"ranked\">\n", out);
		for (row = 0; row < t->nrows && row < r->top; row++)
		{
			char	  **v = t->vals[row];
			static const char *const fields[4] = {"evidence", "fix", "detail_view", "query"};
			int			f;

			fputs("<li><b>", out);
			html_text(out, v[table_col(t, "severity")], 0);
			fputs("</b> <code>", out);
			html_text(out, v[table_col(t, "kind")], 0);
			fputs("</code>, about ", out);
			html_text(out, v[table_col(t, "est_ms_per_hour")], 0);
			fputs(" ms/hour, queryid ", out);
			html_text(out, v[table_col(t, "queryid")], 0);
			if (table_col(t, "server") >= 0)
			{
				fputs(" on ", out);
				html_text(out, v[table_col(t, "server")], 0);
			}
			fputs("<dl>", out);
			for (f = 0; f < 4; f++)
			{
				int			c = table_col(t, fields[f]);

				if (c < 0 || v[c] == NULL)
					continue;
				fprintf(out, "<dt>%s</dt><dd>%s", f == 2 ? "detail" : fields[f],
						f == 1 || f == 3 ? "<code>" : "");
				if (f == 3)
					html_text(out, v[c], 300);
				else
					html_text(out, v[c], 0);
				fprintf(out, "%s</dd>", f == 1 || f == 3 ? "</code>" : "");
			}
			fputs("</dl></li>\n", out);
		}
		if (t->nrows > 0)
			fputs("</ol>\n", out);
		free_table(t);
	}
	fputs("<ul class=\"findings\">\n", out);
	for (i = 0; i < NUM_FINDINGS; i++)
	{
		if (r->findings[i] < 0)
			fprintf(out, "<li class=\"na\">%s: not available</li>\n", finding_names[i]);
		else
			fprintf(out, "<li class=\"%s\">%s: %ld%s</li>\n", r->findings[i] > 0 ? "bad" : "ok",
					finding_names[i], r->findings[i],
					r->fail_on[i] && r->findings[i] > 0 ? " (--fail-on: exit status 2)" : "");
	}
	fputs("</ul></section>\n", out);

	for (k = 0; k < NUM_SECTIONS; k++)
	{
		i = order[k];
		if (i == SEC_PLAN_CHANGES)
			html_histograms(out, r);
		if (i == SEC_WINDOW_COMPARE)
			render_timeline_html(out, r);
		if (i == SEC_FINDINGS)
			continue;			/* under "Findings" */
		html_section(out, r, (SectionId) i);
	}

	for (s = 0; s < r->nservers; s++)
	{
		if (r->servers[s].index_report == NULL)
			continue;
		fputs("<section class=\"index-report\"><h2>Index report (latdiag_index_report)", out);
		if (fleet)
		{
			fputs(": ", out);
			html_text(out, r->servers[s].label, 0);
		}
		fputs("</h2>\n<pre>", out);
		html_text(out, r->servers[s].index_report, 0);
		fputs("</pre></section>\n", out);
	}
	fputs("</body>\n</html>\n", out);
}

/* The latency histograms of the top queries. */
static void
html_histograms(FILE *out, const Report *r)
{
	bool		fleet = r->nservers > 1;
	int			s,
				i,
				ncharts = 0;

	fputs("<section id=\"histograms\"><h2>Latency histograms of the top queries</h2>\n"
		  "<p class=\"meta\">Execution time on a log scale; bar heights (executions per bucket) on a log scale too, so the tail shows; dashed lines mark p50, p95 and p99.</p>\n"
		  "<div class=\"charts\">\n", out);
	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];

		for (i = 0; i < sv->nhists; i++)
		{
			fputs("<figure><figcaption>", out);
			if (fleet)
			{
				html_text(out, sv->label, 0);
				fputs(" &middot; ", out);
			}
			fputs("queryid ", out);
			html_text(out, sv->hists[i].queryid, 0);
			{
				double		total = 0;
				int			b;

				for (b = 0; b < sv->hists[i].nbuckets; b++)
					total += sv->hists[i].count[b];
				fprintf(out, " &middot; %.0f executions", total);
			}
			fputs("<br><code>", out);
			html_text(out, sv->hists[i].query, 160);
			fputs("</code></figcaption>\n", out);
			html_histogram(out, &sv->hists[i]);
			fputs("</figure>\n", out);
			ncharts++;
		}
	}
	if (ncharts == 0)
		fputs("<p>no histogram (no top query)</p>\n", out);
	fputs("</div></section>\n", out);
}

/* One section as a table (the snapshots as plans). */
static void
html_section(FILE *out, const Report *r, SectionId i)
{
	bool		fleet = r->nservers > 1;
	int			row;
	Table	   *t;

	fprintf(out, "<section id=\"%s\"><h2>", section_defs[i].key);
	html_text(out, section_defs[i].title, 0);
	fputs("</h2>\n", out);
	html_notes(out, r, (SectionId) i);
	t = merged_section(r, (SectionId) i, fleet);
	if (t->nrows == 0)
		fputs("<p>none</p>\n", out);
	else if (i == SEC_SNAPSHOTS)
	{
		int			cq = table_col(t, "queryid"),
					cs = table_col(t, "server"),
					ce = table_col(t, "exec_ms"),
					ct = table_col(t, "captured_at"),
					cx = table_col(t, "query"),
					cp = table_col(t, "plan");

		for (row = 0; row < t->nrows; row++)
		{
			char	  **v = t->vals[row];

			fputs("<details><summary>queryid ", out);
			html_text(out, cq >= 0 ? v[cq] : NULL, 0);
			if (cs >= 0)
			{
				fputs(" on ", out);
				html_text(out, v[cs], 0);
			}
			fputs(", <b>", out);
			html_text(out, ce >= 0 ? v[ce] : NULL, 0);
			fputs(" ms</b>, captured ", out);
			html_text(out, ct >= 0 ? v[ct] : NULL, 0);
			fputs(": <code>", out);
			html_text(out, cx >= 0 ? v[cx] : NULL, 200);
			fputs("</code></summary>\n<pre>", out);
			html_text(out, cp >= 0 ? v[cp] : NULL, 0);
			fputs("</pre></details>\n", out);
		}
	}
	else
		html_table(out, t);
	free_table(t);
	fputs("</section>\n", out);
}
