/* rng.h: a fast deterministic random number generator (xoshiro256** seeded by splitmix64) and its draws. */
#ifndef EC_RNG_H
#define EC_RNG_H

#include "ec.h"

/*
 * Deterministic on every platform: the same seed gives the same sequence,
 * so generated data and tests reproduce byte for byte. Never the C
 * library's rand(). The small draws are inline: generators call them
 * several times per record.
 */

/* One splitmix64 step: advances *STATE and returns a well-mixed value (also a good hash). */
static inline uint64_t ec_splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct ec_rng {
	uint64_t s[4];
};

/* Seed R from SEED (any value, 0 included) through splitmix64. */
void ec_rng_seed(struct ec_rng *r, uint64_t seed);

static inline uint64_t ec_rng_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* The next 64 random bits (xoshiro256**). */
static inline uint64_t ec_rng_next(struct ec_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = ec_rng_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = ec_rng_rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double ec_rng_unit(struct ec_rng *r)
{
	return (double)(ec_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n) for n > 0, without modulo bias (Lemire's multiply-shift). */
static inline uint64_t ec_rng_below(struct ec_rng *r, uint64_t n)
{
	unsigned __int128 m = (unsigned __int128)ec_rng_next(r) * n;
	uint64_t low = (uint64_t)m, threshold;

	if (EC_UNLIKELY(low < n)) {
		threshold = (0 - n) % n;
		while (low < threshold) {
			m = (unsigned __int128)ec_rng_next(r) * n;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

/* Uniform in [lo, hi], both included (lo <= hi). */
static inline int64_t ec_rng_range(struct ec_rng *r, int64_t lo, int64_t hi)
{
	return lo + (int64_t)ec_rng_below(r, (uint64_t)(hi - lo) + 1);
}

/* Exponentially distributed with the given mean, truncated to an integer (arrivals, waits). */
int64_t ec_rng_exp(struct ec_rng *r, double mean);

/*
 * An index in [0, n) drawn with probability weights[i] / sum(weights);
 * n > 0, sum > 0. Inline: with a constant table the sum folds away.
 */
static inline unsigned ec_rng_weighted(struct ec_rng *r, const unsigned *weights, size_t n)
{
	unsigned total = 0, x;
	size_t i;

	for (i = 0; i < n; i++)
		total += weights[i];
	x = (unsigned)ec_rng_below(r, total);
	for (i = 0; i + 1 < n && x >= weights[i]; i++)
		x -= weights[i];
	return (unsigned)i;
}

/*
 * A Zipf-like popularity over n ranks: rank i has weight 1/(i+1)^s, so
 * rank 0 is the most popular. A draw is one uniform number and a binary
 * search of the cumulative weights.
 */
struct ec_zipf {
	double *cdf;
	size_t n;
};

/* N > 0 ranks with exponent S (1.0 is the classic Zipf). */
void ec_zipf_init(struct ec_zipf *z, size_t n, double s);
size_t ec_zipf_draw(const struct ec_zipf *z, struct ec_rng *r);
void ec_zipf_release(struct ec_zipf *z);

#endif
