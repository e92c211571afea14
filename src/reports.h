/*
 * reports.h: the worker that records index reports on a schedule.
 */
#ifndef LATDIAG_REPORTS_H
#define LATDIAG_REPORTS_H

#include "postgres.h"

extern void reports_register_worker(void);
extern PGDLLEXPORT void latdiag_reports_main(Datum arg);

#endif
