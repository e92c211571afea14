/*
 * guc.h: the latdiag.* settings.
 */
#ifndef LATDIAG_GUC_H
#define LATDIAG_GUC_H

typedef enum LatdiagTrackLevel
{
	LATDIAG_TRACK_NONE,			/* track no statements */
	LATDIAG_TRACK_TOP,			/* only top-level statements */
	LATDIAG_TRACK_ALL			/* all statements, nested ones included */
} LatdiagTrackLevel;

extern bool latdiag_enabled;
extern int	latdiag_max_queries;
extern int	latdiag_max_query_length;
extern int	latdiag_track;
extern int	latdiag_track_max_level;	/* -1: none; 0: top level; INT_MAX: all */
extern bool latdiag_track_utility;
extern bool latdiag_track_planning;
extern bool latdiag_save;
extern int	latdiag_max_plans;
extern int	latdiag_max_plan_length;
extern int	latdiag_max_snapshots;
extern int	latdiag_max_snapshot_length;
extern int	latdiag_snapshot_min_duration;
extern int	latdiag_snapshot_format;
extern bool latdiag_snapshot_timing;
extern double latdiag_snapshot_sample_rate;
extern int	latdiag_snapshot_tail_min_duration;
extern int	latdiag_large_offset;
extern int	latdiag_unbounded_rows;
extern int	latdiag_max_seq_scans;
extern int	latdiag_large_table_rows;
extern double latdiag_seq_scan_max_selectivity;
extern int	latdiag_max_n_plus_one;
extern int	latdiag_checkpoint_interval;
extern int	latdiag_n_plus_one_min_calls;
extern int	latdiag_n_plus_one_min_time;
extern int	latdiag_n_plus_one_max_gap;
extern int	latdiag_n_plus_one_max_rows;
extern int	latdiag_lock_sample_interval;
extern int	latdiag_max_lock_waits;
extern int	latdiag_max_errors;
extern int	latdiag_max_sources;
extern int	latdiag_max_slow_executions;
extern int	latdiag_slow_execution_min_duration;
extern double latdiag_index_min_improvement;
extern int	latdiag_report_interval;
extern char *latdiag_report_database;
extern int	latdiag_window_interval;
extern int	latdiag_max_windows;
extern int	latdiag_window_max_queries;
extern int	latdiag_max_baselines;
extern int	latdiag_max_param_samples;

extern void guc_define(void);

#endif
