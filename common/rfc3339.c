/* SPDX-License-Identifier: MIT */
/*
 * The one RFC 3339 parser and formatter (see rfc3339.h), in plain
 * arithmetic on the civil calendar (Howard Hinnant's algorithms).
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "rfc3339.h"

static int parse_digits(const char **pp, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*pp)[i] < '0' || (*pp)[i] > '9')
			return -1;
		v = v * 10 + ((*pp)[i] - '0');
	}
	*pp += n;
	*out = v;
	return 0;
}

int64_t e2bu_days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* ".digits" at *@pp, if any, as nanoseconds; -1 for a '.' without digits. */
static int parse_fraction(const char **pp, int32_t *nsec)
{
	const char *p = *pp;
	int ndig = 0;

	*nsec = 0;
	if (*p != '.')
		return 0;
	for (p++; *p >= '0' && *p <= '9'; p++) {
		if (ndig < 9) {
			*nsec = *nsec * 10 + (*p - '0');
			ndig++;
		}
	}
	if (!ndig)
		return -1;
	while (ndig++ < 9)
		*nsec *= 10;
	*pp = p;
	return 0;
}

/* "Z", "+hh:mm" or "-hh:mm" at *@pp as seconds east of UTC. */
static int parse_offset(const char **pp, int *off)
{
	const char *p = *pp;
	int sign, oh, om;

	if (*p == 'Z' || *p == 'z') {
		*off = 0;
		*pp = p + 1;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (parse_digits(&p, 2, &oh) || *p++ != ':' || parse_digits(&p, 2, &om))
		return -1;
	*off = sign * (oh * 3600 + om * 60);
	*pp = p;
	return 0;
}

/* "YYYY-MM-DD" at *pp, in range; 0 or -1. */
static int parse_date(const char **pp, int *Y, int *M, int *D)
{
	if (parse_digits(pp, 4, Y) || *(*pp)++ != '-' || parse_digits(pp, 2, M) ||
	    *(*pp)++ != '-' || parse_digits(pp, 2, D))
		return -1;
	return *M < 1 || *M > 12 || *D < 1 || *D > 31 ? -1 : 0;
}

/* "hh:mm:ss" at *pp, in range (a leap second allowed); 0 or -1. */
static int parse_time(const char **pp, int *h, int *m, int *ss)
{
	if (parse_digits(pp, 2, h) || *(*pp)++ != ':' || parse_digits(pp, 2, m) ||
	    *(*pp)++ != ':' || parse_digits(pp, 2, ss))
		return -1;
	return *h > 23 || *m > 59 || *ss > 60 ? -1 : 0;
}

int e2bu_rfc3339_parse(const char *s, int64_t *sec, int32_t *nsec)
{
	int Y, M, D, h, m, ss, off;
	const char *p = s;
	int32_t ns;

	if (!s || parse_date(&p, &Y, &M, &D))
		goto bad;
	if (*p != 'T' && *p != 't' && *p != ' ')
		goto bad;
	p++;
	if (parse_time(&p, &h, &m, &ss) || parse_fraction(&p, &ns) || parse_offset(&p, &off) ||
	    *p)
		goto bad;
	*sec = e2bu_days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + ss - off;
	if (nsec)
		*nsec = ns;
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

int e2bu_rfc3339_format(char *out, size_t cap, int64_t sec, int32_t nsec, int digits)
{
	static const int32_t div[] = { 1000000000, 0, 0, 1000000, 0, 0, 1000, 0, 0, 1 };
	char frac[12] = "";
	time_t t = (time_t)sec;
	struct tm tm;
	int n;

	if (nsec < 0 || nsec >= 1000000000)
		nsec = 0;
	if (digits == E2BU_RFC3339_SHORTEST)
		digits = !nsec ? 0 : nsec % 1000000 == 0 ? 3 : nsec % 1000 == 0 ? 6 : 9;
	if (digits < 0 || digits > 9 || (digits && !div[digits])) {
		errno = EINVAL;
		return -1;
	}
	if ((int64_t)t != sec || !gmtime_r(&t, &tm) || tm.tm_year < -1900 ||
	    tm.tm_year > 9999 - 1900) {
		errno = EOVERFLOW;
		return -1;
	}
	if (digits)
		snprintf(frac, sizeof(frac), ".%0*ld", digits, (long)(nsec / div[digits]));
	n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	if (n < 0 || (size_t)n >= cap) {
		errno = ENOSPC;
		return -1;
	}
	return n;
}
