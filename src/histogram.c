/*
 * histogram.c: latency histogram bucket math and percentiles.
 *
 * Only hist_bucket() runs on the query path; percentiles are computed when a
 * view is read.
 */
#include "postgres.h"

#include <math.h>

#include "histogram.h"

/* Index of the bucket that holds a duration of ms milliseconds. */
int
hist_bucket(double ms)
{
	double		i;

	if (!(ms > HIST_MIN_MS))	/* also catches NaN */
		return 0;
	i = log2(ms / HIST_MIN_MS) * HIST_PER_OCTAVE;
	if (i >= HIST_BUCKETS - 1)
		return HIST_BUCKETS - 1;
	return (int) i;
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

/* One nearest-rank percentile. */
double
hist_percentile(const LatdiagHistogram *h, double fraction,
				double min_ms, double max_ms)
{
	double		v;

	hist_percentiles(h, &fraction, 1, min_ms, max_ms, &v);
	return v;
}
