/*
 * render_text.c: the report as aligned plain text, or as GitHub markdown.
 *
 * Both print the same things in the same order: the servers, the findings
 * (ranked by latdiag_findings on 1.5 servers, then counted by kind),
 * then every section as a table (with a server column in fleet mode), and the
 * slowest EXPLAIN ANALYZE snapshot of each top query with its plan.
 */
#include "latdiag.h"

#include <stdlib.h>
#include <string.h>

/* A long text column is not cut narrower than this; the table goes vertical. */
#define TEXT_MIN 24

#define Max2(a, b) ((a) > (b) ? (a) : (b))

/* Width the text format fits (Report.width); 0: --wide, nothing is cut. */
static int	line_width;

/* Characters (UTF-8 code points) of a string. */
static int
utf8_len(const char *s)
{
	int			n = 0;

	for (; *s; s++)
		if (((unsigned char) *s & 0xC0) != 0x80)
			n++;
	return n;
}

/* Whether a column holds long free text that the text format cuts. */
static bool
is_long_text(const char *name)
{
	size_t		len = strlen(name);

	return (len >= 5 && strcmp(name + len - 5, "query") == 0) ||
		strcmp(name, "filter") == 0 || strcmp(name, "suggestion") == 0 ||
		strcmp(name, "index_def") == 0 || strcmp(name, "reason") == 0 ||
		strcmp(name, "message") == 0;
}

/* Is p at "YYYY-MM-DD HH:MM:SS.fff"?  Returns the length up to the seconds, or 0. */
static int
timestamp_fraction_at(const char *p)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd.";
	int			i;

	for (i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !(p[i] >= '0' && p[i] <= '9') : p[i] != shape[i])
			return 0;
	return i - 1;
}

/*
 * A cell for the text format: NULL as "-", control characters as spaces, cut
 * at cap; a timestamp without its fractional seconds (--wide keeps them).
 */
static char *
text_cell(const char *v, int cap)
{
	char	   *s;
	char	   *p;
	int			chars = 0;
	int			ts;

	if (v == NULL)
		return xstrdup("-");
	if (line_width > 0 && (ts = timestamp_fraction_at(v)) > 0)
	{
		const char *rest = v + ts + 1;

		while (*rest >= '0' && *rest <= '9')
			rest++;
		return xprintf("%.*s%s", ts, v, rest);
	}
	s = xmalloc(strlen(v) + 4);
	for (p = s; *v; v++)
	{
		if (((unsigned char) *v & 0xC0) != 0x80)
		{
			if (cap > 0 && chars == cap - 3)
			{
				/* keep room for "..." only if more than 3 characters remain */
				if (utf8_len(v) > 3)
				{
					strcpy(p, "...");
					return s;
				}
			}
			chars++;
		}
		*p++ = ((unsigned char) *v < 0x20 || *v == 0x7f) ? ' ' : *v;
	}
	*p = '\0';
	return s;
}

/*
 * A table wider than line_width, one record after another (psql's \x):
 * "name  value" lines, values cut to what is left of the line.
 */
static void
print_vertical(FILE *out, const Table *t)
{
	int			r,
				c,
				i,
				namew = 0,
				valw;

	for (c = 0; c < t->ncols; c++)
		if (utf8_len(t->cols[c]) > namew)
			namew = utf8_len(t->cols[c]);
	valw = line_width - 2 - namew - 2;
	if (valw < TEXT_MIN)
		valw = TEXT_MIN;
	for (r = 0; r < t->nrows; r++)
	{
		char		head[32];
		int			hl = snprintf(head, sizeof(head), "  -[ %d ]", r + 1);

		fputs(head, out);
		for (i = hl; i < 2 + namew + 2 + 20 && i < line_width; i++)
			fputc('-', out);
		fputc('\n', out);
		for (c = 0; c < t->ncols; c++)
		{
			char	   *cell = text_cell(t->vals[r][c], valw);

			fprintf(out, "  %-*s  %s\n", namew, t->cols[c], cell);
			free(cell);
		}
	}
}

/* A cell for markdown: punctuation that means something there is escaped. */
static void
md_cell(FILE *out, const char *v)
{
	if (v == NULL)
	{
		fputs("-", out);
		return;
	}
	for (; *v; v++)
	{
		if (strchr("\\`*_[]<>|#~", *v))
			fputc('\\', out);
		fputc(((unsigned char) *v < 0x20 || *v == 0x7f) ? ' ' : *v, out);
	}
}

/* Print a table, aligned (text) or as a markdown table. */
static void
print_table(FILE *out, const Table *t, bool markdown)
{
	int			r,
				c,
				i;

	if (markdown)
	{
		fputc('|', out);
		for (c = 0; c < t->ncols; c++)
		{
			fputc(' ', out);
			md_cell(out, t->cols[c]);
			fputs(" |", out);
		}
		fputs("\n|", out);
		for (c = 0; c < t->ncols; c++)
			fputs(t->kinds[c] == COL_NUM ? "---:|" : "---|", out);
		fputc('\n', out);
		for (r = 0; r < t->nrows; r++)
		{
			fputc('|', out);
			for (c = 0; c < t->ncols; c++)
			{
				fputc(' ', out);
				md_cell(out, t->vals[r][c]);
				fputs(" |", out);
			}
			fputc('\n', out);
		}
	}
	else
	{
		char	 ***cells = xmalloc(sizeof(char **) * (t->nrows + 1));
		int		   *width = xmalloc(sizeof(int) * t->ncols);
		int		   *cap = xmalloc(sizeof(int) * t->ncols);
		int			total = 0,
					fixed = 0,
					nlong = 0;

		/*
		 * Fit line_width: long text columns share what the others leave, down
		 * to TEXT_MIN characters each; narrower than that, the table is
		 * printed one record after another.  --wide (0) cuts nothing.
		 */
		for (c = 0; c < t->ncols; c++)
		{
			width[c] = utf8_len(t->cols[c]);
			for (r = 0; r < t->nrows; r++)
			{
				int			w = t->vals[r][c] ? utf8_len(t->vals[r][c]) : 1;

				if (w > width[c])
					width[c] = w;
			}
			cap[c] = 0;
			total += width[c] + 2;
			if (is_long_text(t->cols[c]) && width[c] > TEXT_MIN)
				nlong++, fixed += 2;
			else
				fixed += width[c] + 2;
		}
		if (line_width > 0 && total > line_width)
		{
			int			avail = line_width - fixed;
			int			left = nlong;

			if (nlong == 0 || avail / nlong < TEXT_MIN)
			{
				print_vertical(out, t);
				free(cells);
				free(width);
				free(cap);
				return;
			}
			/* narrow columns first, so that what they leave goes to the others */
			while (left > 0)
			{
				int			share = avail / left,
							narrowest = -1;

				for (c = 0; c < t->ncols; c++)
					if (is_long_text(t->cols[c]) && width[c] > TEXT_MIN && cap[c] == 0 &&
						(narrowest < 0 || width[c] < width[narrowest]))
						narrowest = c;
				cap[narrowest] = width[narrowest] < share ? width[narrowest] : share;
				avail -= cap[narrowest];
				left--;
			}
		}
		for (c = 0; c < t->ncols; c++)
			width[c] = utf8_len(t->cols[c]);
		for (r = 0; r < t->nrows; r++)
		{
			cells[r] = xmalloc(sizeof(char *) * t->ncols);
			for (c = 0; c < t->ncols; c++)
			{
				int			w;

				cells[r][c] = text_cell(t->vals[r][c], cap[c]);
				w = utf8_len(cells[r][c]);
				if (w > width[c])
					width[c] = w;
			}
		}
		free(cap);
		for (c = 0; c < t->ncols; c++)
			fprintf(out, "%s%-*s", c ? "  " : "  ", c == t->ncols - 1 ? 0 : width[c], t->cols[c]);
		fputs("\n", out);
		for (c = 0; c < t->ncols; c++)
		{
			fputs("  ", out);
			for (i = 0; i < width[c]; i++)
				fputc('-', out);
		}
		fputs("\n", out);
		for (r = 0; r < t->nrows; r++)
		{
			for (c = 0; c < t->ncols; c++)
			{
				int			pad = width[c] - utf8_len(cells[r][c]);
				bool		right = t->kinds[c] == COL_NUM || t->kinds[c] == COL_ID;

				fputs("  ", out);
				if (right)
					fprintf(out, "%*s", pad, "");
				fputs(cells[r][c], out);
				if (!right && c < t->ncols - 1)
					fprintf(out, "%*s", pad, "");
				free(cells[r][c]);
			}
			fputs("\n", out);
			free(cells[r]);
		}
		free(cells);
		free(width);
	}
}

/* A value of the server's latdiag_info row, or "-". */
static const char *
info_value(const Server *s, const char *col)
{
	int			c;

	if (s->info == NULL || s->info->nrows == 0 || (c = table_col(s->info, col)) < 0 ||
		s->info->vals[0][c] == NULL)
		return "-";
	return s->info->vals[0][c];
}

/* The servers' table: status, versions, store size. */
static Table *
servers_table(const Report *r)
{
	static const char *const cols[] = {"server", "status", "server_version", "extension",
	"queries", "evictions", "stats_reset", "message"};
	Table	   *t = xmalloc(sizeof(Table));
	int			s,
				c;

	t->ncols = 8;
	t->cols = xmalloc(sizeof(char *) * t->ncols);
	t->kinds = xmalloc(sizeof(ColKind) * t->ncols);
	for (c = 0; c < t->ncols; c++)
	{
		t->cols[c] = xstrdup(cols[c]);
		t->kinds[c] = (c == 4 || c == 5) ? COL_NUM : COL_TEXT;
	}
	t->nrows = r->nservers;
	t->vals = xmalloc(sizeof(char **) * (r->nservers + 1));
	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];
		char	  **v = xmalloc(sizeof(char *) * t->ncols);

		v[0] = xstrdup(sv->label);
		v[1] = xstrdup(server_status_name(sv->status));
		/* "15.6 (Debian 15.6-0+deb12u1)": the number is what the table needs */
		v[2] = sv->server_version ? xprintf("%.*s", (int) strcspn(sv->server_version, " "),
											sv->server_version) : NULL;
		v[3] = xstrdup(sv->ext_version);
		v[4] = sv->info ? xstrdup(info_value(sv, "entries")) : NULL;
		v[5] = sv->info ? xstrdup(info_value(sv, "evictions")) : NULL;
		v[6] = sv->info ? xstrdup(info_value(sv, "stats_reset")) : NULL;
		v[7] = xstrdup(sv->message);
		t->vals[s] = v;
	}
	return t;
}

/* Print a heading. */
static void
heading(FILE *out, bool markdown, int level, const char *title)
{
	if (markdown)
		fprintf(out, "\n%s %s\n\n", level == 1 ? "#" : "##", title);
	else if (level == 1)
		fprintf(out, "%s\n", title);
	else
		fprintf(out, "\n== %s ==\n\n", title);
}

/* Why a section has nothing from some servers. */
static void
section_notes(FILE *out, const Report *r, SectionId id, bool markdown)
{
	int			s;

	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];
		const SectionResult *sr = &sv->sections[id];

		if (sv->status != SRV_OK || sr->status == SS_OK)
			continue;
		if (markdown)
		{
			fputs("_", out);
			if (r->nservers > 1)
			{
				md_cell(out, sv->label);
				fputs(": ", out);
			}
			if (sr->status == SS_ERROR)
				fputs("error: ", out);
			md_cell(out, sr->message);
			fputs("_\n\n", out);
		}
		else
			fprintf(out, "  %s%s%s%s\n", r->nservers > 1 ? sv->label : "",
					r->nservers > 1 ? ": " : "", sr->status == SS_ERROR ? "error: " : "",
					sr->message);
	}
}

/* The snapshots section: each plan in full under a one-line header. */
static void
print_snapshots(FILE *out, const Table *t, bool markdown)
{
	int			r;
	int			cq = table_col(t, "queryid"),
				cs = table_col(t, "server"),
				ce = table_col(t, "exec_ms"),
				ct = table_col(t, "captured_at"),
				cx = table_col(t, "query"),
				cp = table_col(t, "plan");

	for (r = 0; r < t->nrows; r++)
	{
		char	  **v = t->vals[r];
		char	   *q = text_cell(cx >= 0 ? v[cx] : NULL,
								 markdown || line_width == 0 ? 0 : Max2(line_width - 2, TEXT_MIN));

		if (markdown)
		{
			fprintf(out, "**queryid %s**%s%s, %s ms, captured %s: ",
					cq >= 0 && v[cq] ? v[cq] : "-", cs >= 0 ? " on " : "",
					cs >= 0 ? v[cs] : "", ce >= 0 && v[ce] ? v[ce] : "-",
					ct >= 0 && v[ct] ? v[ct] : "-");
			md_cell(out, q);
			fprintf(out, "\n\n````\n%s\n````\n\n", cp >= 0 && v[cp] ? v[cp] : "");
		}
		else
		{
			const char *p = cp >= 0 && v[cp] ? v[cp] : "";

			fprintf(out, "  queryid %s%s%s, %s ms, captured %s\n  %s\n",
					cq >= 0 && v[cq] ? v[cq] : "-", cs >= 0 ? " on " : "",
					cs >= 0 ? v[cs] : "", ce >= 0 && v[ce] ? v[ce] : "-",
					ct >= 0 && v[ct] ? v[ct] : "-", q);
			/* the plan, indented */
			while (*p)
			{
				const char *nl = strchr(p, '\n');
				int			len = nl ? (int) (nl - p) : (int) strlen(p);

				fprintf(out, "      %.*s\n", len, p);
				p += len + (nl ? 1 : 0);
			}
			fputc('\n', out);
		}
		free(q);
	}
}

/*
 * Print "      name      text" with the text folded at spaces into lines of at
 * most width characters (0: one line), continuation lines indented the same.
 */
static void
print_folded(FILE *out, const char *name, const char *text, int width)
{
	const char *p = text;
	bool		first = true;

	while (*p || first)
	{
		const char *end = p;
		const char *brk = NULL;
		int			chars = 0;

		/* the longest run of at most width characters, ending at a space if any */
		while (*end && (width <= 0 || chars < width))
		{
			if (*end == ' ')
				brk = end;
			end++;
			while (((unsigned char) *end & 0xC0) == 0x80)
				end++;
			chars++;
		}
		if (*end && brk != NULL && brk > p)
			end = brk;
		fprintf(out, "      %-9s %.*s\n", first ? name : "", (int) (end - p), p);
		first = false;
		p = end;
		while (*p == ' ')
			p++;
	}
}

/*
 * The ranked findings (latdiag_findings, 1.5): one numbered entry each, the
 * most expensive first, with its evidence and its fix (folded, never cut:
 * a fix may be SQL to run).  False if no server has the view.
 */
static bool
print_ranked_findings(FILE *out, const Report *r, bool markdown)
{
	Table	   *t;
	bool		any = false;
	int			s,
				row;
	int			cap = line_width > 0 ? Max2(line_width - 16, TEXT_MIN) : 0;

	for (s = 0; s < r->nservers; s++)
		if (r->servers[s].sections[SEC_FINDINGS].status == SS_OK)
			any = true;
	if (!any)
		return false;
	t = merged_section(r, SEC_FINDINGS, r->nservers > 1);
	if (t->nrows == 0)
		fputs(markdown ? "_no finding_\n\n" : "  no finding\n\n", out);
	for (row = 0; row < t->nrows && row < r->top; row++)
	{
		char	  **v = t->vals[row];
		const char *kind = v[table_col(t, "kind")];
		const char *sev = v[table_col(t, "severity")];
		const char *cost = v[table_col(t, "est_ms_per_hour")];
		const char *qid = v[table_col(t, "queryid")];
		const char *db = v[table_col(t, "database")];
		const char *srv = table_col(t, "server") >= 0 ? v[table_col(t, "server")] : NULL;
		static const char *const fields[4] = {"evidence", "fix", "detail_view", "query"};
		char	   *stmt;
		int			k;

		stmt = xprintf("queryid %s%s%s%s%s", qid ? qid : "-", db ? " in " : "", db ? db : "",
					   srv ? " on " : "", srv ? srv : "");
		if (markdown)
		{
			fprintf(out, "%d. **%s** `%s`, about %s ms/hour\n   - statement: ", row + 1,
					sev ? sev : "-", kind ? kind : "-", cost ? cost : "-");
			md_cell(out, stmt);
			fputc('\n', out);
		}
		else
		{
			char	   *cell = text_cell(stmt, cap);

			fprintf(out, "  %2d. [%s] %s, about %s ms/hour\n", row + 1,
					sev ? sev : "-", kind ? kind : "-", cost ? cost : "-");
			fprintf(out, "      %-9s %s\n", "statement", cell);
			free(cell);
		}
		free(stmt);
		for (k = 0; k < 4; k++)
		{
			int			c = table_col(t, fields[k]);
			const char *name = k == 2 ? "detail" : fields[k];
			char	   *cell;

			if (c < 0 || v[c] == NULL)
				continue;
			if (markdown)
			{
				fprintf(out, "   - %s: ", name);
				md_cell(out, v[c]);
				fputc('\n', out);
			}
			else if (k <= 1)
				print_folded(out, name, v[c], cap);
			else
			{
				cell = text_cell(v[c], cap);
				fprintf(out, "      %-9s %s\n", name, cell);
				free(cell);
			}
		}
	}
	if (t->nrows > 0)
		fputc('\n', out);
	free_table(t);
	return true;
}

/* The whole report as text or markdown. */
void
render_text(FILE *out, const Report *r, bool markdown)
{
	bool		fleet = r->nservers > 1;
	char	   *title;
	Table	   *t;
	int			i,
				k,
				s,
				nok = 0;
	int			order[NUM_SECTIONS];
	bool		any_fail = false;

	line_width = r->width;

	for (s = 0; s < r->nservers; s++)
		if (r->servers[s].status == SRV_OK)
			nok++;
	title = xprintf("postgres_latdiag report, %s, %d server%s (%d read), top %d",
					r->generated_at, r->nservers, r->nservers == 1 ? "" : "s", nok, r->top);
	heading(out, markdown, 1, title);
	free(title);
	if (r->since > 0)
	{
		char	   *d = format_duration(r->since);

		fprintf(out, "%sRecent period: the last %s, against every kept window before it.\n",
				markdown ? "\n" : "", d);
		free(d);
	}

	heading(out, markdown, 2, "Servers");
	t = servers_table(r);
	print_table(out, t, markdown);
	free_table(t);

	heading(out, markdown, 2, "Findings");
	if (print_ranked_findings(out, r, markdown))
		fputs(markdown ? "Findings by kind:\n\n" : "  by kind:\n", out);
	for (i = 0; i < NUM_FINDINGS; i++)
	{
		if (markdown)
			fprintf(out, "- `%s`: ", finding_names[i]);
		else
			fprintf(out, "  %-11s ", finding_names[i]);
		if (r->findings[i] < 0)
			fputs("not available\n", out);
		else
			fprintf(out, "%ld%s\n", r->findings[i],
					r->fail_on[i] && r->findings[i] > 0 ? "  (--fail-on)" : "");
		if (r->fail_on[i] && r->findings[i] > 0)
			any_fail = true;
	}
	if (any_fail)
		fprintf(out, "%s\n%s--fail-on: failing (exit status 2)\n", markdown ? "" : "",
				markdown ? "" : "  ");

	section_order(r, order);
	for (k = 0; k < NUM_SECTIONS; k++)
	{
		i = order[k];
		if (i == SEC_FINDINGS)
			continue;			/* printed under "Findings" */
		if (i == SEC_WINDOW_COMPARE && nok > 0)
		{
			char	   *d = format_duration(r->since > 0 ? r->since : 300);
			char	   *h = xprintf("Time windows of the whole server, the last %s (UTC)", d);

			heading(out, markdown, 2, h);
			free(h);
			free(d);
			for (s = 0; s < r->nservers; s++)
				if (r->servers[s].status == SRV_OK && r->servers[s].timeline_message)
				{
					if (markdown)
						fputs("_", out);
					else
						fputs("  ", out);
					if (fleet)
						fprintf(out, "%s: ", r->servers[s].label);
					fputs(r->servers[s].timeline_message, out);
					fputs(markdown ? "_\n\n" : "\n", out);
				}
			t = timeline_table(r);
			if (t->nrows > 0)
				print_table(out, t, markdown);
			free_table(t);
		}
		heading(out, markdown, 2, section_defs[i].title);
		if (nok == 0)
		{
			fprintf(out, markdown ? "_no server could be read_\n" : "  no server could be read\n");
			continue;
		}
		section_notes(out, r, (SectionId) i, markdown);
		t = merged_section(r, (SectionId) i, fleet);
		if (t->nrows == 0)
		{
			bool		any_ok = false;

			for (s = 0; s < r->nservers; s++)
				if (r->servers[s].sections[i].status == SS_OK)
					any_ok = true;
			if (any_ok)
				fprintf(out, markdown ? "_none_\n" : "  (none)\n");
		}
		else if (i == SEC_SNAPSHOTS)
			print_snapshots(out, t, markdown);
		else
			print_table(out, t, markdown);
		free_table(t);
	}

	/* The index advisor's own report, when the server has it. */
	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];
		char	   *h;

		if (sv->index_report == NULL)
			continue;
		h = xprintf("Index report (latdiag_index_report)%s%s", fleet ? ": " : "",
					fleet ? sv->label : "");
		heading(out, markdown, 2, h);
		free(h);
		fprintf(out, "%s\n", sv->index_report);
	}
}
