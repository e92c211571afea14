/*
 * normalize.c: build a statement's normalized text from the constant
 * locations that core query jumbling recorded.
 *
 * The jumbler only records where each constant starts.  Its length comes from
 * running the core lexer over the text: the lexer NUL-terminates the current
 * token in its private copy of the string, so strlen() there is the token's
 * length.  This runs only when a new store entry is created.
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "parser/scanner.h"

#include "normalize.h"

/* qsort comparator: constant locations in text order. */
static int
location_cmp(const void *a, const void *b)
{
	int			la = ((const LocationLen *) a)->location;
	int			lb = ((const LocationLen *) b)->location;

	return (la > lb) - (la < lb);
}

/*
 * A sorted copy of the recorded constant locations with their lengths filled
 * in (the jumbler's own array is left alone: other modules read it too).
 * A constant the lexer cannot find keeps length -1 and is left as written;
 * a squashed IN list (18) comes with the length of the whole list.
 */
static LocationLen *
constant_locations(const char *query, CompatJumbleState *jstate)
{
	int			n = jstate->clocations_count;
	LocationLen *locs = palloc(n * sizeof(LocationLen));
	core_yyscan_t scanner;
	core_yy_extra_type extra;
	core_YYSTYPE lval;
	YYLTYPE		lloc;
	int			last = -1;
	bool		done = false;

	memcpy(locs, jstate->clocations, n * sizeof(LocationLen));
	if (n > 1)
		qsort(locs, n, sizeof(LocationLen), location_cmp);

	scanner = scanner_init(query, &extra, &ScanKeywords, ScanKeywordTokens);
	compat_scanner_quiet(&extra);	/* lexing again must not warn */

	for (int i = 0; i < n; i++)
	{
		int			loc = locs[i].location;

		if (loc < 0 || loc == last)
		{
			locs[i].length = -1;	/* unknown or duplicate location */
			continue;
		}
		last = loc;
		if (compat_location_squashed(&locs[i]))
			continue;			/* the list's length is known */
		locs[i].length = -1;
		while (!done)
		{
			int			tok = core_yylex(&lval, &lloc, scanner);

			if (tok == 0)
			{
				done = true;	/* end of text */
				break;
			}
			if (lloc < loc)
				continue;
			/* a negative number is recorded at its '-' sign: take the number too */
			if (tok == '-' && lloc == loc)
			{
				tok = core_yylex(&lval, &lloc, scanner);
				if (tok == 0)
				{
					done = true;
					break;
				}
			}
			locs[i].length = lloc - loc + (int) strlen(extra.scanbuf + lloc);
			break;
		}
	}
	scanner_finish(scanner);
	return locs;
}

/* See normalize.h. */
char *
normalize_query(const char *query, int loc, int *len, CompatJumbleState *jstate)
{
	int			end = loc + *len;
	int			pos = loc;		/* next byte of query to copy */
	int			n = 0;			/* bytes written */
	int			param = jstate->highest_extern_param_id;
	LocationLen *locs = constant_locations(query, jstate);
	char	   *out;

	/* "$" plus 10 digits, and a squashed list's comment, for each constant */
	out = palloc(*len + jstate->clocations_count * 22 + 1);

	for (int i = 0; i < jstate->clocations_count; i++)
	{
		int			cloc = locs[i].location;
		int			clen = locs[i].length;

		if (clen < 0 || cloc < pos || cloc + clen > end)
			continue;			/* unknown, overlapping or in another statement */
		if (compat_location_kept_param(jstate, &locs[i]))
			continue;			/* a $n of the text stays as written */
		memcpy(out + n, query + pos, cloc - pos);
		n += cloc - pos;
		n += sprintf(out + n, "$%d%s", ++param,
					 compat_location_squashed(&locs[i]) ? " /*, ... */" : "");
		pos = cloc + clen;
	}
	memcpy(out + n, query + pos, end - pos);
	n += end - pos;
	out[n] = '\0';
	*len = n;
	pfree(locs);
	return out;
}

/*
 * The ids core gave the last few utility statements at parse analysis, by a
 * hash of their text: from 16 on core jumbles a utility statement's parse
 * tree, which ProcessUtility no longer has.
 */
#define UTILITY_MEMO_SIZE 8
static struct
{
	uint64		text_hash;
	uint64		queryid;
}			utility_memo[UTILITY_MEMO_SIZE];
static int	utility_memo_next = 0;

/* The hash of a statement's text; core's compute_utility_query_id() in 15. */
static uint64
statement_text_hash(const char *query, int loc, int len)
{
	const char *sql = CleanQuerytext(query, &loc, &len);
	uint64		id;

	id = DatumGetUInt64(hash_any_extended((const unsigned char *) sql, len, 0));
	return id != UINT64CONST(0) ? id : UINT64CONST(2);
}

/* See normalize.h. */
void
utility_query_id_note(const char *query, int loc, int len, uint64 queryid)
{
	utility_memo[utility_memo_next].text_hash = statement_text_hash(query, loc, len);
	utility_memo[utility_memo_next].queryid = queryid;
	utility_memo_next = (utility_memo_next + 1) % UTILITY_MEMO_SIZE;
}

/* See normalize.h. */
uint64
utility_query_id(const char *query, int loc, int len)
{
	uint64		h = statement_text_hash(query, loc, len);

	for (int i = 0; i < UTILITY_MEMO_SIZE; i++)
	{
		if (utility_memo[i].text_hash == h && utility_memo[i].queryid != 0)
			return utility_memo[i].queryid;
	}
	return COMPAT_UTILITY_ID_IS_TEXT_HASH ? h : UINT64CONST(0);
}
