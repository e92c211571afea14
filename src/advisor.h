/*
 * advisor.h: missing-index candidates, validated by what-if planning.
 */
#ifndef LATDIAG_ADVISOR_H
#define LATDIAG_ADVISOR_H

#include "nodes/pathnodes.h"

#include "compat.h"

/* Set only while the advisor plans a statement with a hypothetical index. */
extern bool advisor_whatif_active;

extern void advisor_relation_info(COMPAT_RELINFO_ARGS);

#endif
