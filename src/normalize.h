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
 * The core query identifier of a utility statement (a hash of its text, as
 * PostgreSQL 15 computes it), for when another extension zeroed it.
 */
extern uint64 utility_query_id(const char *query, int loc, int len);

#endif
