/* rng.c: seeding, exponential and weighted draws, and Zipf tables for the deterministic generator. */
#include "ec.h"
#include "rng.h"
#include <math.h>

void ec_rng_seed(struct ec_rng *r, uint64_t seed)
{
	uint64_t state = seed;
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = ec_splitmix64(&state);
}

int64_t ec_rng_exp(struct ec_rng *r, double mean)
{
	/* log1p(-u) for u in [0, 1) never reaches log(0). */
	return (int64_t)(-log1p(-ec_rng_unit(r)) * mean);
}

void ec_zipf_init(struct ec_zipf *z, size_t n, double s)
{
	double sum = 0;
	size_t i;

	z->cdf = xmalloc(n * sizeof(*z->cdf));
	z->n = n;
	for (i = 0; i < n; i++) {
		sum += pow((double)(i + 1), -s);
		z->cdf[i] = sum;
	}
}

size_t ec_zipf_draw(const struct ec_zipf *z, struct ec_rng *r)
{
	double u = ec_rng_unit(r) * z->cdf[z->n - 1];
	size_t lo = 0, hi = z->n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->cdf[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void ec_zipf_release(struct ec_zipf *z)
{
	free(z->cdf);
	z->cdf = NULL;
	z->n = 0;
}
