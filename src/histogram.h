/*
 * histogram.h: log-spaced latency histogram with bounded relative error.
 *
 * Bucket i holds durations in [HIST_MIN_MS * g^i, HIST_MIN_MS * g^(i+1)) with
 * g = 2^(1/HIST_PER_OCTAVE); bucket 0 also holds everything shorter and the
 * last bucket everything longer.  512 buckets of 18 per power of two cover
 * 0.01 ms to 3650 s (just over one hour) in 2 KiB.  A percentile is reported
 * as the bucket's harmonic midpoint 2*lo*hi/(lo+hi), whose relative error is at
 * most (g-1)/(g+1) = 1.93%.
 */
#ifndef LATDIAG_HISTOGRAM_H
#define LATDIAG_HISTOGRAM_H

#define HIST_BUCKETS		512
#define HIST_PER_OCTAVE		18
#define HIST_MIN_MS			0.01

typedef struct LatdiagHistogram
{
	uint32		buckets[HIST_BUCKETS];
} LatdiagHistogram;

/*
 * Bucket boundaries within a power of two, as IEEE-754 mantissa bits:
 * hist_threshold[j] = mantissa of 2^(j/18), and a 256-entry table from the
 * top 8 mantissa bits to the sub-bucket of that range's start (hist_init
 * fills both).  A range of 1/256 is narrower than a sub-bucket, so one
 * comparison settles the rest: the index is exactly
 * floor(18 * log2(ms / 0.01)) without calling log2.
 */
extern PGDLLIMPORT uint64 hist_threshold[HIST_PER_OCTAVE + 1];
extern PGDLLIMPORT uint8 hist_sub_of_top8[256];

extern void hist_init(void);

/* Index of the bucket that holds a duration of ms milliseconds. */
static inline int
hist_bucket(double ms)
{
	double		v = ms * (1.0 / HIST_MIN_MS);
	uint64		bits;
	uint64		frac;
	int			e,
				sub,
				i;

	if (!(v > 1.0))				/* also catches NaN */
		return 0;
	memcpy(&bits, &v, sizeof(bits));
	e = (int) ((bits >> 52) & 0x7FF) - 1023;	/* v > 1: e >= 0 */
	frac = bits & ((UINT64CONST(1) << 52) - 1);
	sub = hist_sub_of_top8[frac >> 44];
	if (sub + 1 < HIST_PER_OCTAVE && frac >= hist_threshold[sub + 1])
		sub++;
	i = e * HIST_PER_OCTAVE + sub;
	return i < HIST_BUCKETS ? i : HIST_BUCKETS - 1;
}

/* Count one duration in bucket i (saturating, never wraps). */
static inline void
hist_count(LatdiagHistogram *h, int i)
{
	if (likely(h->buckets[i] != PG_UINT32_MAX))
		h->buckets[i]++;
}

/* Count n durations in bucket i (saturating). */
static inline void
hist_count_n(LatdiagHistogram *h, int i, uint32 n)
{
	uint64		sum = (uint64) h->buckets[i] + n;

	h->buckets[i] = (uint32) Min(sum, (uint64) PG_UINT32_MAX);
}

/*
 * Add one duration to running statistics: n is the count including it;
 * m2 (Welford's sum of squared deviations) may be NULL.
 */
static inline void
timing_add(int64 n, double ms, double *total, double *min, double *max,
		   double *mean, double *m2)
{
	double		old_mean = *mean;

	*total += ms;
	/* max == 0: the first sample since min and max were reset */
	if (n == 1 || *max == 0 || ms < *min)
		*min = ms;
	if (n == 1 || ms > *max)
		*max = ms;
	*mean += (ms - old_mean) / n;
	if (m2)
		*m2 += (ms - old_mean) * (ms - *mean);
}

extern double hist_bucket_lower(int i);
extern double hist_bucket_upper(int i);
extern uint64 hist_total(const LatdiagHistogram *h);

/*
 * Nearest-rank percentiles (fractions ascending, in [0,1]) of the histogram,
 * clamped to the exactly known [min_ms, max_ms]; -1 when it is empty.
 */
extern void hist_percentiles(const LatdiagHistogram *h, const double *fractions,
							 int n, double min_ms, double max_ms, double *out);

#endif
