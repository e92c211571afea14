/*
 * latdiag.c: the `latdiag` command-line report of postgres_latdiag.
 *
 *   latdiag report [--dsn DSN]... [--format text|markdown|json|html]
 *                  [--output FILE] [--top N] [--fail-on LIST] [--wide] [--since 30m]
 *   latdiag top [--dsn DSN]... [--interval 2s] [--sort KEY] [--once]  (top.c)
 *   latdiag exporter [--listen HOST:PORT] [--dsn DSN]... [--top N] ...  (exporter.c)
 *
 * Exit status: 0 report written; 1 bad arguments (--since further back than a
 * server keeps windows included) or the report could not be written; 2 a finding named in --fail-on is present; 3 (when no --fail-on
 * finding is) some server could not be read.  See doc/cli.md.
 */
#include "latdiag.h"

#include <errno.h>
#include <getopt.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Print the usage to `out`. */
static void
usage(FILE *out)
{
	fprintf(out,
			"latdiag: the postgres_latdiag report: why is PostgreSQL slow?\n"
			"\n"
			"Usage:\n"
			"  latdiag report [OPTION]...\n"
			"  latdiag top [OPTION]...        live view of the latest window (latdiag top --help)\n"
			"  latdiag exporter [OPTION]...   Prometheus metrics (latdiag exporter --help)\n"
			"\n"
			"Options:\n"
			"  -d, --dsn=DSN          a libpq connection string or URI; repeat it for a fleet\n"
			"                         (servers are read in parallel); default: the PG*\n"
			"                         environment variables and ~/.pgpass\n"
			"  -f, --format=FORMAT    text (default), markdown, json or html\n"
			"  -o, --output=FILE      write the report to FILE instead of standard output\n"
			"  -n, --top=N            rows per section and server (1..1000, default 10)\n"
			"      --fail-on=LIST     exit 2 if any of these findings is present:\n"
			"                         n_plus_one,seq_scan,index,lock,errors,regression (the\n"
			"                         Regressions section, over --since) or all; with\n"
			"                         postgres_latdiag 1.5 also tail,deep_offset,\n"
			"                         unbounded_read\n"
			"      --since=TIME       the recent period (30m, 2h, 90s; default 5m): its\n"
			"                         windows against every kept window before it, with\n"
			"                         the regressions first; longer than the servers keep\n"
			"                         windows is an error\n"
			"      --wide             text: print long texts in full (by default they are\n"
			"                         cut to the terminal's width, 120 when not a terminal)\n"
			"  -V, --version          print the version and exit\n"
			"  -h, --help             print this help and exit\n"
			"\n"
			"Exit status: 0 report written, 1 bad arguments or output error,\n"
			"2 a --fail-on finding is present, 3 a server could not be read.\n");
}

/* Complain about the arguments, print the usage and exit 1. */
static void
bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "latdiag: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n");
	usage(stderr);
	exit(1);
}

/* Parse --fail-on's comma-separated list into r->fail_on. */
static void
parse_fail_on(Report *r, const char *arg)
{
	char	   *copy = xstrdup(arg);
	char	   *save = NULL;
	char	   *tok;
	int			i,
				n = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
	{
		bool		found = false;

		while (*tok == ' ')
			tok++;
		if (strcmp(tok, "all") == 0)
		{
			for (i = 0; i < NUM_FINDINGS; i++)
				r->fail_on[i] = true;
			found = true;
		}
		for (i = 0; i < NUM_FINDINGS && !found; i++)
			if (strcmp(tok, finding_names[i]) == 0)
				r->fail_on[i] = found = true;
		if (!found)
			bad_usage("unknown finding \"%s\" in --fail-on (n_plus_one, seq_scan, index, lock, errors, regression, tail, deep_offset, unbounded_read, all)",
					  tok);
		n++;
	}
	if (n == 0)
		bad_usage("--fail-on needs a list of findings%s", "");
	free(copy);
}

/* Sum the findings of the servers and decide the exit code. */
static void
judge(Report *r)
{
	int			s,
				f;
	bool		failed = false;
	bool		unread = false;

	for (f = 0; f < NUM_FINDINGS; f++)
	{
		r->findings[f] = -1;
		for (s = 0; s < r->nservers; s++)
			if (r->servers[s].findings[f] >= 0)
				r->findings[f] = (r->findings[f] < 0 ? 0 : r->findings[f]) +
					r->servers[s].findings[f];
		if (r->fail_on[f] && r->findings[f] > 0)
			failed = true;
	}
	for (s = 0; s < r->nservers; s++)
	{
		if (r->servers[s].status != SRV_OK)
			unread = true;
		for (f = 0; f < NUM_FINDINGS; f++)
			if (r->fail_on[f] && r->servers[s].status == SRV_OK &&
				r->servers[s].findings[f] < 0)
				fprintf(stderr, "latdiag: warning: --fail-on %s cannot be checked on %s: %s\n",
						finding_names[f], r->servers[s].label,
						f >= FIND_FIRST_RANKED_ONLY &&
						r->servers[s].sections[SEC_FINDINGS].status == SS_MISSING ?
						"needs latdiag_findings (postgres_latdiag 1.5)" :
						r->servers[s].sections[f == FIND_N_PLUS_ONE ? SEC_N_PLUS_ONE :
											   f == FIND_SEQ_SCAN ? SEC_SEQ_SCANS :
											   f == FIND_INDEX ? SEC_INDEX_CANDIDATES :
											   f == FIND_ERRORS ? SEC_ERRORS :
											   f == FIND_LOCK ? SEC_LOCK_WAITS :
											   f == FIND_REGRESSION ? SEC_REGRESSIONS :
											   SEC_FINDINGS].message);
	}
	r->exit_code = failed ? 2 : unread ? 3 : 0;
}

int
main(int argc, char **argv)
{
	static const struct option long_options[] = {
		{"dsn", required_argument, NULL, 'd'},
		{"format", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"top", required_argument, NULL, 'n'},
		{"fail-on", required_argument, NULL, 1},
		{"wide", no_argument, NULL, 2},
		{"since", required_argument, NULL, 3},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	Report		report;
	const char **dsns = xmalloc(sizeof(char *) * (argc + 1));
	int			ndsns = 0;
	const char *output = NULL;
	FILE	   *out = stdout;
	bool		wide = false;
	int			c,
				i;
	time_t		now;
	struct tm	tm;

	memset(&report, 0, sizeof(report));
	report.format = FMT_TEXT;
	report.top = 10;

	if (argc > 1 && strcmp(argv[1], "exporter") == 0)
		return exporter_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "top") == 0)
		return top_main(argc - 1, argv + 1);
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0))
	{
		usage(stdout);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0))
	{
		printf("latdiag (postgres_latdiag) %s\n", LATDIAG_CLI_VERSION);
		return 0;
	}

	while ((c = getopt_long(argc, argv, ":d:f:o:n:Vh", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				dsns[ndsns++] = optarg;
				break;
			case 'f':
				if (strcmp(optarg, "text") == 0)
					report.format = FMT_TEXT;
				else if (strcmp(optarg, "markdown") == 0 || strcmp(optarg, "md") == 0)
					report.format = FMT_MARKDOWN;
				else if (strcmp(optarg, "json") == 0)
					report.format = FMT_JSON;
				else if (strcmp(optarg, "html") == 0)
					report.format = FMT_HTML;
				else
					bad_usage("unknown format \"%s\" (text, markdown, json, html)", optarg);
				break;
			case 'o':
				output = optarg;
				break;
			case 'n':
				{
					char	   *end;
					long		v;

					errno = 0;
					v = strtol(optarg, &end, 10);
					if (errno || *end || end == optarg || v < 1 || v > 1000)
						bad_usage("--top must be an integer from 1 to 1000, not \"%s\"", optarg);
					report.top = (int) v;
				}
				break;
			case 1:
				parse_fail_on(&report, optarg);
				break;
			case 2:
				wide = true;
				break;
			case 3:
				if (!parse_duration(optarg, &report.since) || report.since < 1)
					bad_usage("--since must be a duration of at least 1s, such as 30m, 2h or 90s, not \"%s\"",
							  optarg);
				break;
			case 'V':
				printf("latdiag (postgres_latdiag) %s\n", LATDIAG_CLI_VERSION);
				return 0;
			case 'h':
				usage(stdout);
				return 0;
			case ':':
				bad_usage("option \"%s\" needs a value", argv[optind - 1]);
				break;
			default:
				bad_usage("unknown option \"%s\"", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		bad_usage("missing command%s (report or exporter)", "");
	if (strcmp(argv[optind], "report") != 0)
		bad_usage("unknown command \"%s\" (report or exporter; exporter comes first)", argv[optind]);
	if (optind + 1 < argc)
		bad_usage("unexpected argument \"%s\"", argv[optind + 1]);
	if (ndsns == 0)
		dsns[ndsns++] = "";
	if (report.since > 0)
		snprintf(report.recent, sizeof(report.recent), "%.3f seconds", report.since);
	else
		snprintf(report.recent, sizeof(report.recent), "5 minutes");

	report.nservers = ndsns;
	report.servers = xmalloc(sizeof(Server) * ndsns);
	for (i = 0; i < ndsns; i++)
		report.servers[i].dsn = dsns[i];

	/* Open the output first: a typo in the path should not cost a fleet's worth of queries. */
	if (output)
	{
		out = fopen(output, "w");
		if (out == NULL)
		{
			fprintf(stderr, "latdiag: could not open \"%s\" for writing: %s\n",
					output, strerror(errno));
			return 1;
		}
	}

	/* The text format fits the terminal, or 120 columns; --wide cuts nothing. */
	report.width = 120;
	if (wide)
		report.width = 0;
	else if (isatty(fileno(out)))
	{
		struct winsize ws;

		if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
			report.width = ws.ws_col;
	}

	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(report.generated_at, sizeof(report.generated_at), "%Y-%m-%dT%H:%M:%SZ", &tm);

	collect_all(&report);
	{
		bool		since_bad = false;

		for (i = 0; i < report.nservers; i++)
			if (report.servers[i].since_error)
			{
				fprintf(stderr, "latdiag: %s: %s\n", report.servers[i].label,
						report.servers[i].since_error);
				since_bad = true;
			}
		if (since_bad)
		{
			if (output)
			{
				fclose(out);
				unlink(output);
			}
			return 1;
		}
	}
	judge(&report);

	switch (report.format)
	{
		case FMT_TEXT:
			render_text(out, &report, false);
			break;
		case FMT_MARKDOWN:
			render_text(out, &report, true);
			break;
		case FMT_JSON:
			render_json(out, &report);
			break;
		case FMT_HTML:
			render_html(out, &report);
			break;
	}
	if (fflush(out) != 0 || ferror(out) || (output && fclose(out) != 0))
	{
		fprintf(stderr, "latdiag: could not write the report: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < report.nservers; i++)
		if (report.servers[i].status != SRV_OK)
			fprintf(stderr, "latdiag: %s: %s: %s\n", report.servers[i].label,
					server_status_name(report.servers[i].status),
					report.servers[i].message);
	return report.exit_code;
}
