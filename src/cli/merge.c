/*
 * merge.c: one table per section out of every server's rows.
 *
 * Columns are the union of the servers' columns in order of first appearance
 * (servers with other postgres_latdiag versions may differ), preceded by a
 * "server" column when asked.  Rows of sections with a natural "worst" column
 * are sorted on it across servers; the others keep server order.
 */
#include "latdiag.h"

#include <stdlib.h>
#include <string.h>

/* The column the merged rows of a section are sorted on (descending), or NULL. */
static const char *
sort_column(SectionId id)
{
	switch (id)
	{
		case SEC_TOP_P99:
			return "p99_ms";
		case SEC_TOP_TOTAL:
			return "total_ms";
		case SEC_N_PLUS_ONE:
			return "total_round_trip_ms";
		case SEC_LOCK_WAITS:
			return "total_wait_ms";
		case SEC_SNAPSHOTS:
			return "exec_ms";
		case SEC_ERRORS:
			return "errors";
		case SEC_FINDINGS:
			return "est_ms_per_hour";
		case SEC_REGRESSIONS:
		case SEC_WINDOW_COMPARE:
			return "factor";
		default:
			return NULL;
	}
}

/*
 * The order sections are printed in: the regressions first whenever some
 * server has any, else last; with --since the recent windows against the
 * baseline next; the others in their SectionId order.  The renderers print
 * the timeline just before SEC_WINDOW_COMPARE.
 */
void
section_order(const Report *r, int order[NUM_SECTIONS])
{
	int			s,
				i,
				n = 0;
	bool		any = false;

	for (s = 0; s < r->nservers; s++)
		if (r->servers[s].sections[SEC_REGRESSIONS].table &&
			r->servers[s].sections[SEC_REGRESSIONS].table->nrows > 0)
			any = true;
	if (any)
		order[n++] = SEC_REGRESSIONS;
	/* --since asks about the recent windows: they come next */
	if (r->since > 0)
		order[n++] = SEC_WINDOW_COMPARE;
	for (i = 0; i < NUM_SECTIONS; i++)
		if (i != SEC_REGRESSIONS && (i != SEC_WINDOW_COMPARE || r->since <= 0))
			order[n++] = i;
	if (!any)
		order[n++] = SEC_REGRESSIONS;
}

/* Index of a column by name, or -1. */
int
table_col(const Table *t, const char *name)
{
	int			c;

	for (c = 0; c < t->ncols; c++)
		if (strcmp(t->cols[c], name) == 0)
			return c;
	return -1;
}

/* Free a table and its strings. */
void
free_table(Table *t)
{
	int			r,
				c;

	if (t == NULL)
		return;
	for (r = 0; r < t->nrows; r++)
	{
		for (c = 0; c < t->ncols; c++)
			free(t->vals[r][c]);
		free(t->vals[r]);
	}
	for (c = 0; c < t->ncols; c++)
		free(t->cols[c]);
	free(t->cols);
	free(t->kinds);
	free(t->vals);
	free(t);
}

/* Numeric value of a cell for sorting; NULL sorts last. */
static double
sort_value(const char *v)
{
	return v ? atof(v) : -1e300;
}

/* The rows of one section from every server that has it, as one table. */
Table *
merged_section(const Report *r, SectionId id, bool with_server)
{
	Table	   *m = xmalloc(sizeof(Table));
	int			maxcols = with_server ? 1 : 0;
	int			maxrows = 0;
	int			s,
				c,
				row,
				i,
				j;
	const char *key = sort_column(id);
	int			keycol;

	for (s = 0; s < r->nservers; s++)
	{
		Table	   *t = r->servers[s].sections[id].table;

		if (t)
		{
			maxcols += t->ncols;
			maxrows += t->nrows;
		}
	}
	m->cols = xmalloc(sizeof(char *) * (maxcols + 1));
	m->kinds = xmalloc(sizeof(ColKind) * (maxcols + 1));
	m->vals = xmalloc(sizeof(char **) * (maxrows + 1));
	if (with_server)
	{
		m->cols[0] = xstrdup("server");
		m->kinds[0] = COL_TEXT;
		m->ncols = 1;
	}
	/* Union of the columns. */
	for (s = 0; s < r->nservers; s++)
	{
		Table	   *t = r->servers[s].sections[id].table;

		for (c = 0; t && c < t->ncols; c++)
			if (table_col(m, t->cols[c]) < 0)
			{
				m->cols[m->ncols] = xstrdup(t->cols[c]);
				m->kinds[m->ncols] = t->kinds[c];
				m->ncols++;
			}
	}
	/* Rows. */
	for (s = 0; s < r->nservers; s++)
	{
		Table	   *t = r->servers[s].sections[id].table;

		for (row = 0; t && row < t->nrows; row++)
		{
			char	  **vals = xmalloc(sizeof(char *) * (m->ncols + 1));

			if (with_server)
				vals[0] = xstrdup(r->servers[s].label);
			for (c = 0; c < t->ncols; c++)
				vals[table_col(m, t->cols[c])] = xstrdup(t->vals[row][c]);
			m->vals[m->nrows++] = vals;
		}
	}
	/* Stable insertion sort on the key, worst first. */
	keycol = key ? table_col(m, key) : -1;
	if (keycol >= 0)
	{
		for (i = 1; i < m->nrows; i++)
		{
			char	  **cur = m->vals[i];
			double		v = sort_value(cur[keycol]);

			for (j = i; j > 0 && sort_value(m->vals[j - 1][keycol]) < v; j--)
				m->vals[j] = m->vals[j - 1];
			m->vals[j] = cur;
		}
	}
	return m;
}
