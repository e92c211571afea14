/*
 * normalize.h: normalized query text, with constants replaced by $n.
 */
#ifndef LATDIAG_NORMALIZE_H
#define LATDIAG_NORMALIZE_H

#include "compat.h"

/*
 * Return a palloc'd copy of the statement at query[loc .. loc+*len) with each
 * constant that the jumbler recorded in jstate replaced by $n; *len is set to
 * the new length.  Parameters already in the text keep their numbers, new
 * ones follow the highest of them.
 */
extern char *normalize_query(const char *query, int loc, int *len,
							 CompatJumbleState *jstate);

/*
 * The core query identifier of a utility statement, for when another
 * extension (pg_stat_statements) zeroed it before our ProcessUtility hook:
 * the id core gave it at parse analysis (noted there), else, where core
 * hashes a utility statement's text (15), that hash; 0 if unknown.
 */
extern void utility_query_id_note(const char *query, int loc, int len,
								  uint64 queryid);
extern uint64 utility_query_id(const char *query, int loc, int len);

#endif
