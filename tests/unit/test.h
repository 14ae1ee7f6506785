/* test.h: a minimal TAP producer for the C unit tests ("ok N - name"). */
#ifndef EC_TEST_H
#define EC_TEST_H

#include "ec.h"

static int test_count, test_failed;

#define CHECK(cond) check_at((cond), #cond, __FILE__, __LINE__)
#define CHECK_STR(got, want) check_str_at((got), (want), __FILE__, __LINE__)
#define CHECK_INT(got, want) check_int_at((long long)(got), (long long)(want), #got, __FILE__, __LINE__)

static int test_case_failed;
static void check_at(int ok, const char *what, const char *file, int line)
{
	if (!ok) {
		printf("# %s:%d: check failed: %s\n", file, line, what);
		test_case_failed = 1;
	}
}
static void check_str_at(const char *got, const char *want, const char *file, int line)
{
	if (!got || strcmp(got, want)) {
		printf("# %s:%d: got \"%s\", want \"%s\"\n", file, line, got ? got : "(null)", want);
		test_case_failed = 1;
	}
}
static void check_int_at(long long got, long long want, const char *what, const char *file, int line)
{
	if (got != want) {
		printf("# %s:%d: %s = %lld, want %lld\n", file, line, what, got, want);
		test_case_failed = 1;
	}
}

/* Run one test function and print its TAP line. */
#define RUN(fn) do { \
	test_case_failed = 0; fn(); test_count++; \
	if (test_case_failed) test_failed++; \
	printf("%sok %d - %s\n", test_case_failed ? "not " : "", test_count, #fn); \
} while (0)

/* Print the TAP plan last and return the exit status. */
static inline int test_done(void)
{
	printf("1..%d\n", test_count);
	return test_failed ? 1 : 0;
}

#endif
