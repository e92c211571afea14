/*
 * render_json.c: the report as one JSON document (shape: doc/cli.md).
 *
 * Numbers are JSON numbers, except 64-bit identifiers (queryid, planid ...),
 * which are strings: they do not fit a double.  SQL NULL is null.
 */
#include "latdiag.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Whether PostgreSQL's text of a number is a valid JSON number (not NaN, Infinity). */
static bool
json_number_ok(const char *s)
{
	if (*s == '-')
		s++;
	if (!isdigit((unsigned char) *s))
		return false;
	while (isdigit((unsigned char) *s))
		s++;
	if (*s == '.')
	{
		s++;
		if (!isdigit((unsigned char) *s))
			return false;
		while (isdigit((unsigned char) *s))
			s++;
	}
	if (*s == 'e' || *s == 'E')
	{
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char) *s))
			return false;
		while (isdigit((unsigned char) *s))
			s++;
	}
	return *s == '\0';
}

/* Print one value typed by its column kind. */
static void
json_value(FILE *out, const char *v, ColKind kind)
{
	if (v == NULL)
		fputs("null", out);
	else if (kind == COL_BOOL)
		fputs(strcmp(v, "t") == 0 ? "true" : "false", out);
	else if (kind == COL_NUM)
		fputs(json_number_ok(v) ? v : "null", out);
	else
		json_string(out, v);
}

/* One table row as an object. */
static void
json_row(FILE *out, const Table *t, int r, const char *indent)
{
	int			c;

	fputc('{', out);
	for (c = 0; c < t->ncols; c++)
	{
		fprintf(out, "%s\n%s  ", c ? "," : "", indent);
		json_string(out, t->cols[c]);
		fputs(": ", out);
		json_value(out, t->vals[r][c], t->kinds[c]);
	}
	fprintf(out, "\n%s}", indent);
}

/* A count, or null when not available. */
static void
json_count(FILE *out, long n)
{
	if (n < 0)
		fputs("null", out);
	else
		fprintf(out, "%ld", n);
}

/* A finite double, or null. */
static void
json_double(FILE *out, double d)
{
	if (d < 0 || d != d)
		fputs("null", out);
	else
		fprintf(out, "%.6g", d);
}

/* Name of a section status. */
static const char *
sec_status_name(SecStatus s)
{
	switch (s)
	{
		case SS_OK:
			return "ok";
		case SS_MISSING:
			return "not_available";
		case SS_ERROR:
			return "error";
		case SS_SKIPPED:
			return "skipped";
	}
	return "error";
}

/* The whole report as JSON. */
void
render_json(FILE *out, const Report *r)
{
	int			i,
				k,
				s,
				row,
				b,
				n;
	int			order[NUM_SECTIONS];

	fprintf(out, "{\n  \"format_version\": %d,\n  \"generator\": \"latdiag %s\",\n",
			LATDIAG_JSON_VERSION, LATDIAG_CLI_VERSION);
	fprintf(out, "  \"generated_at\": \"%s\",\n  \"top\": %d,\n", r->generated_at, r->top);
	fputs("  \"since_seconds\": ", out);
	if (r->since > 0)
		fprintf(out, "%.6g", r->since);
	else
		fputs("null", out);
	fputs(",\n", out);
	fputs("  \"fail_on\": [", out);
	for (i = 0, n = 0; i < NUM_FINDINGS; i++)
		if (r->fail_on[i])
			fprintf(out, "%s\"%s\"", n++ ? ", " : "", finding_names[i]);
	fprintf(out, "],\n  \"exit_code\": %d,\n  \"findings\": {", r->exit_code);
	for (i = 0; i < NUM_FINDINGS; i++)
	{
		fprintf(out, "%s\"%s\": ", i ? ", " : "", finding_names[i]);
		json_count(out, r->findings[i]);
	}
	fputs("},\n", out);

	/* servers */
	fputs("  \"servers\": [", out);
	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];

		fprintf(out, "%s\n    {\n      \"server\": ", s ? "," : "");
		json_string(out, sv->label);
		fprintf(out, ",\n      \"status\": \"%s\",\n      \"message\": ",
				server_status_name(sv->status));
		json_string(out, sv->message);
		fputs(",\n      \"server_version\": ", out);
		json_string(out, sv->server_version);
		fputs(",\n      \"extension_version\": ", out);
		json_string(out, sv->ext_version);
		fputs(",\n      \"info\": ", out);
		if (sv->info && sv->info->nrows > 0)
			json_row(out, sv->info, 0, "      ");
		else
			fputs("null", out);
		fputs(",\n      \"findings\": {", out);
		for (i = 0; i < NUM_FINDINGS; i++)
		{
			fprintf(out, "%s\"%s\": ", i ? ", " : "", finding_names[i]);
			json_count(out, sv->findings[i]);
		}
		fputs("},\n      \"sections\": {", out);
		for (i = 0; i < NUM_SECTIONS; i++)
		{
			fprintf(out, "%s\n        \"%s\": {\"status\": \"%s\", \"message\": ",
					i ? "," : "", section_defs[i].key,
					sec_status_name(sv->sections[i].status));
			json_string(out, sv->sections[i].message);
			fputc('}', out);
		}
		fputs("\n      },\n      \"index_report\": ", out);
		json_string(out, sv->index_report);
		fputs("\n    }", out);
	}
	fputs("\n  ],\n", out);

	/* sections */
	fputs("  \"sections\": {", out);
	section_order(r, order);
	for (k = 0; k < NUM_SECTIONS; k++)
	{
		Table	   *t;

		i = order[k];
		t = merged_section(r, (SectionId) i, true);
		fprintf(out, "%s\n    \"%s\": {\n      \"title\": ", k ? "," : "", section_defs[i].key);
		json_string(out, section_defs[i].title);
		fputs(",\n      \"source\": ", out);
		json_string(out, section_defs[i].object);
		fputs(",\n      \"rows\": [", out);
		for (row = 0; row < t->nrows; row++)
		{
			fputs(row ? ",\n        " : "\n        ", out);
			json_row(out, t, row, "        ");
		}
		fputs(t->nrows ? "\n      ]\n    }" : "]\n    }", out);
		free_table(t);
	}
	fputs("\n  },\n", out);

	render_timeline_json(out, r);

	/* histograms */
	fputs("  \"histograms\": [", out);
	n = 0;
	for (s = 0; s < r->nservers; s++)
	{
		const Server *sv = &r->servers[s];

		for (i = 0; i < sv->nhists; i++)
		{
			const Histogram *h = &sv->hists[i];

			fprintf(out, "%s\n    {\"server\": ", n++ ? "," : "");
			json_string(out, sv->label);
			fputs(", \"queryid\": ", out);
			json_string(out, h->queryid);
			fputs(", \"query\": ", out);
			json_string(out, h->query);
			fputs(",\n     \"p50_ms\": ", out);
			json_double(out, h->p50);
			fputs(", \"p95_ms\": ", out);
			json_double(out, h->p95);
			fputs(", \"p99_ms\": ", out);
			json_double(out, h->p99);
			fputs(",\n     \"buckets\": [", out);
			for (b = 0; b < h->nbuckets; b++)
				fprintf(out, "%s{\"lower_ms\": %.6g, \"upper_ms\": %.6g, \"count\": %.0f}",
						b ? ",\n       " : "\n       ", h->lower[b], h->upper[b], h->count[b]);
			fputs(h->nbuckets ? "\n     ]}" : "]}", out);
		}
	}
	fputs(n ? "\n  ]\n}\n" : "]\n}\n", out);
}
