/*
 * hooks.h: the planner, executor and utility hooks.  They keep the nesting
 * level and dispatch to the capabilities; they hold no logic of their own.
 */
#ifndef LATDIAG_HOOKS_H
#define LATDIAG_HOOKS_H

extern void hooks_install(void);
extern void hooks_whatif(bool on);

#endif
