/*
 * advisor.h: missing-index candidates, validated by what-if planning.
 */
#ifndef LATDIAG_ADVISOR_H
#define LATDIAG_ADVISOR_H

#include "nodes/pathnodes.h"

#include "compat.h"

extern void advisor_relation_info(COMPAT_RELINFO_ARGS);

#endif
