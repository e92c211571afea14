/*
 * histogram.c: latency histogram bucket math and percentiles.
 *
 * Only hist_bucket() (inline, histogram.h) runs on the query path;
 * percentiles are computed when a view is read.
 */
#include "postgres.h"

#include <math.h>

#include "histogram.h"

/* The bucket boundaries (histogram.h) */
uint64		hist_threshold[HIST_PER_OCTAVE + 1];
uint8		hist_sub_of_top8[256];

/* Fill the tables hist_bucket() reads; from _PG_init, before anything else. */
void
hist_init(void)
{
	for (int j = 0; j <= HIST_PER_OCTAVE; j++)
		hist_threshold[j] = (uint64) ((exp2((double) j / HIST_PER_OCTAVE) - 1.0) *
									  (double) (UINT64CONST(1) << 52));
	for (int k = 0, j = 0; k < 256; k++)
	{
		uint64		start = (uint64) k << 44;

		while (j + 1 < HIST_PER_OCTAVE && hist_threshold[j + 1] <= start)
			j++;
		hist_sub_of_top8[k] = j;
	}
}

/* Lower bound in ms of bucket i. */
double
hist_bucket_lower(int i)
{
	return HIST_MIN_MS * exp2((double) i / HIST_PER_OCTAVE);
}

/* Upper bound in ms of bucket i. */
double
hist_bucket_upper(int i)
{
	return HIST_MIN_MS * exp2((double) (i + 1) / HIST_PER_OCTAVE);
}

/* Number of durations counted. */
uint64
hist_total(const LatdiagHistogram *h)
{
	uint64		n = 0;

	for (int i = 0; i < HIST_BUCKETS; i++)
		n += h->buckets[i];
	return n;
}

/* The value reported for bucket i: its harmonic midpoint, clamped. */
static double
bucket_value(int i, double min_ms, double max_ms)
{
	double		lo = hist_bucket_lower(i);
	double		hi = hist_bucket_upper(i);
	double		v = 2.0 * lo * hi / (lo + hi);

	if (v < min_ms)
		v = min_ms;
	if (v > max_ms)
		v = max_ms;
	return v;
}

/* Several nearest-rank percentiles in one pass; fractions ascending. */
void
hist_percentiles(const LatdiagHistogram *h, const double *fractions, int n,
				 double min_ms, double max_ms, double *out)
{
	uint64		total = hist_total(h);
	uint64		cum = 0;
	int			b = 0;

	for (int k = 0; k < n; k++)
	{
		uint64		rank;

		if (total == 0)
		{
			out[k] = -1;
			continue;
		}
		/* nearest rank: the smallest value with at least fraction*N at or below */
		rank = (uint64) ceil(fractions[k] * (double) total - 1e-9);
		if (rank < 1)
			rank = 1;
		if (rank > total)
			rank = total;
		while (b < HIST_BUCKETS && cum + h->buckets[b] < rank)
			cum += h->buckets[b++];
		out[k] = bucket_value(Min(b, HIST_BUCKETS - 1), min_ms, max_ms);
	}
}
