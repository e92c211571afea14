/*
 * advisor.h: missing-index candidates, validated by what-if planning.
 */
#ifndef LATDIAG_ADVISOR_H
#define LATDIAG_ADVISOR_H

#include "nodes/pathnodes.h"

/* Set only while the advisor plans a statement with a hypothetical index. */
extern bool advisor_whatif_active;

extern void advisor_relation_info(PlannerInfo *root, Oid relid, bool inhparent,
								  RelOptInfo *rel);

#endif
