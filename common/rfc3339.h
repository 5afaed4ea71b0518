/* SPDX-License-Identifier: MIT */
/*
 * RFC 3339 timestamps as E2B's APIs write them: parsing any offset and
 * fraction, formatting in UTC with 'Z'.  No strptime/strftime (locale,
 * the TZ environment); libc only, caller-given buffers.
 */
#ifndef E2B_COMMON_RFC3339_H
#define E2B_COMMON_RFC3339_H

#include <stddef.h>
#include <stdint.h>

/* Enough for any timestamp e2bu_rfc3339_format() writes, with its NUL. */
#define E2BU_RFC3339_MAX 40

/* Fraction digits: the fewest of 0, 3, 6 or 9 that keep @nsec exact, as
 * protojson and envd write them. */
#define E2BU_RFC3339_SHORTEST (-1)

/* Days since 1970-01-01 of year @y, month @m (1-12), day @d (proleptic
 * Gregorian; negative before 1970). */
int64_t e2bu_days_from_civil(int64_t y, int m, int d);

/*
 * Parse "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)" ('t', 'z' and a
 * space for 'T' accepted; fraction digits past nine ignored) into seconds
 * since the epoch and nanoseconds (@nsec may be NULL).  0, or -1 with errno
 * EINVAL for anything else, trailing bytes included.
 */
int e2bu_rfc3339_parse(const char *s, int64_t *sec, int32_t *nsec);

/*
 * Write @sec/@nsec as "YYYY-MM-DDTHH:MM:SS[.fraction]Z" into @out (capacity
 * @cap) with @digits fraction digits (0, 3, 6, 9 or E2BU_RFC3339_SHORTEST;
 * no fraction for an @nsec outside 1..999999999 with SHORTEST).  Returns the
 * length, or -1 with errno EINVAL (bad @digits), EOVERFLOW (year out of
 * range) or ENOSPC (@cap too small).
 */
int e2bu_rfc3339_format(char *out, size_t cap, int64_t sec, int32_t nsec, int digits);

#endif
