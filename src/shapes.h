/*
 * shapes.h: query shapes seen in executions (deep OFFSET, unbounded reads).
 *
 * Read from the executed plan at ExecutorEnd, at the cost of two comparisons
 * for an execution that is neither: the top plan node is a Limit whose OFFSET
 * (as evaluated at run time, parameters included) reaches latdiag.large_offset,
 * or a SELECT without a top Limit returned at least latdiag.unbounded_rows
 * rows.  The store counts flagged executions per statement (StoreShapes); the
 * latdiag_query_shapes view reads them.
 */
#ifndef LATDIAG_SHAPES_H
#define LATDIAG_SHAPES_H

#include "executor/execdesc.h"
#include "nodes/execnodes.h"

#include "guc.h"
#include "store.h"

/* The offset of an executed top Limit node, or 0 if it never ran. */
static inline int64
shapes_limit_offset(const LimitState *ls)
{
	return ls->lstate == LIMIT_INITIAL ? 0 : ls->offset;
}

/*
 * The query shape of an execution that returned rows rows (a StoreShape),
 * and its evidence in *value (the offset, or the rows).
 */
static inline int
shapes_of_execution(const QueryDesc *queryDesc, uint64 rows, int64 *value)
{
	const PlanState *ps = queryDesc->planstate;

	*value = 0;
	if (ps == NULL)
		return STORE_SHAPE_NONE;
	if (IsA(ps, LimitState))
	{
		int64		offset = shapes_limit_offset((const LimitState *) ps);

		if (latdiag_large_offset >= 0 && offset > 0 && offset >= latdiag_large_offset)
		{
			*value = offset;
			return STORE_SHAPE_DEEP_OFFSET;
		}
		return STORE_SHAPE_NONE;
	}
	if (latdiag_unbounded_rows >= 0 && rows > 0 && rows >= (uint64) latdiag_unbounded_rows &&
		queryDesc->operation == CMD_SELECT)
	{
		*value = (int64) rows;
		return STORE_SHAPE_UNBOUNDED;
	}
	return STORE_SHAPE_NONE;
}

#endif
