/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * fuzz_date: HTTP-date, cc_date.c (RFC 9110 5.6.7).
 *
 * Input: eight bytes of 'now' (apr_time_t, little-endian, any value),
 * then the field value.
 *
 * Asserts:
 *   - a parsed date is a whole second of the years 0000 to 9999;
 *   - white space around the value changes nothing, and two dates joined
 *     by ", " (two field lines) never parse;
 *   - only the rfc850 form (the one with '-') depends on 'now', and its
 *     two-digit year lands at most 50 years after 'now' and less than
 *     about 100 years before it;
 *   - a date of 1970 to 9999 formatted with cc_date_format is an
 *     IMF-fixdate that parses back to the same second, whatever 'now',
 *     and that has the day, month, year and time the input had (so no
 *     31 Feb or 24:00 wraps into the next day);
 *   - the extreme values of 'now' never crash nor overflow (UBSan).
 */

#include "fuzz.h"

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:60Z, in seconds */
#define SEC_MIN  APR_INT64_C(-62167219200)
#define SEC_MAX  APR_INT64_C(253402300800)
#define DAY      APR_INT64_C(86400)
/* more than 50 years and a month, less than 100 years and a year */
#define AHEAD    apr_time_from_sec(18300 * DAY)
#define BEHIND   apr_time_from_sec(36890 * DAY)
/* a 'now' whose window above cannot overflow */
#define NOW_SAFE (APR_INT64_C(1) << 62)

static void check_date(const char *value, apr_time_t now);
static void check_format(apr_time_t t);
static void check_fields(const char *value, apr_time_t t);

static void check_format(apr_time_t t)
{
    char buf[CC_DATE_LEN];
    apr_time_t again;

    CC_FUZZ_CHECK(cc_date_format(buf, t));
    CC_FUZZ_CHECK(strlen(buf) == CC_DATE_LEN - 1);
    CC_FUZZ_CHECK(memcmp(buf + CC_DATE_LEN - 5, " GMT", 4) == 0);
    CC_FUZZ_CHECK(cc_date_parse(buf, 0, &again));
    CC_FUZZ_CHECK(again == t);
    CC_FUZZ_CHECK(cc_date_parse(buf, APR_INT64_MAX, &again));
    CC_FUZZ_CHECK(again == t);
}

/* The date as written is the date parsed: no day or time out of range
 * wraps into the next month.  The day name is not checked (nor is it by
 * the parser).  A leap second is the next day's 00:00:00.
 */
static void check_fields(const char *value, apr_time_t t)
{
    char buf[CC_DATE_LEN], day[3];
    const char *v = value;
    apr_size_t len;

    while (*v == ' ' || *v == '\t') {
        v++;
    }
    len = strlen(v);
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t')) {
        len--;
    }
    CC_FUZZ_CHECK(cc_date_format(buf, t));
    if (len == 29 && v[3] == ',') {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        if (memcmp(v + 23, "60", 2)) {
            CC_FUZZ_CHECK(memcmp(v + 5, buf + 5, 24) == 0);
        }
    }
    else if (len == 24 && v[3] == ' ') {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        day[0] = v[8] == ' ' ? '0' : v[8];
        day[1] = v[9];
        day[2] = '\0';
        if (memcmp(v + 17, "60", 2)) {
            CC_FUZZ_CHECK(memcmp(buf + 5, day, 2) == 0);
            CC_FUZZ_CHECK(memcmp(buf + 8, v + 4, 3) == 0);
            CC_FUZZ_CHECK(memcmp(buf + 12, v + 20, 4) == 0);
            CC_FUZZ_CHECK(memcmp(buf + 17, v + 11, 8) == 0);
        }
    }
    else if (len > 22 && memcmp(v + len - 22 + 16, "60", 2)) {
        /* rfc850-date: Sunday, 06-Nov-94 08:49:37 GMT */
        const char *d = v + len - 22;

        CC_FUZZ_CHECK(memcmp(buf + 5, d, 2) == 0);
        CC_FUZZ_CHECK(memcmp(buf + 8, d + 3, 3) == 0);
        CC_FUZZ_CHECK(memcmp(buf + 14, d + 7, 2) == 0);
        CC_FUZZ_CHECK(memcmp(buf + 17, d + 10, 8) == 0);
    }
}

static void check_date(const char *value, apr_time_t now)
{
    apr_size_t len = strlen(value);
    char *padded = malloc(2 * len + 8);
    apr_time_t t, t2;
    int ok = cc_date_parse(value, now, &t);
    int rfc850 = strchr(value, '-') != NULL;

    if (!padded) {
        abort();
    }

    /* white space around, and two lines joined */
    memcpy(padded, " \t", 2);
    memcpy(padded + 2, value, len);
    memcpy(padded + 2 + len, "\t ", 3);
    CC_FUZZ_CHECK(cc_date_parse(padded, now, &t2) == ok);
    CC_FUZZ_CHECK(!ok || t2 == t);
    if (ok) {
        memcpy(padded, value, len);
        memcpy(padded + len, ", ", 2);
        memcpy(padded + len + 2, value, len + 1);
        CC_FUZZ_CHECK(!cc_date_parse(padded, now, &t2));
    }
    free(padded);

    if (!ok) {
        return;
    }
    CC_FUZZ_CHECK(t % APR_USEC_PER_SEC == 0);
    CC_FUZZ_CHECK(apr_time_sec(t) >= SEC_MIN && apr_time_sec(t) <= SEC_MAX);

    if (!rfc850) {
        /* IMF-fixdate and asctime do not need 'now' */
        CC_FUZZ_CHECK(cc_date_parse(value, 0, &t2) && t2 == t);
        CC_FUZZ_CHECK(cc_date_parse(value, APR_INT64_MIN, &t2) && t2 == t);
    }
    else if (now > -NOW_SAFE && now < NOW_SAFE) {
        CC_FUZZ_CHECK(t <= now + AHEAD);
        CC_FUZZ_CHECK(t > now - BEHIND);
    }

    /* 1970 to 9999 */
    if (t >= 0 && apr_time_sec(t) < SEC_MAX) {
        check_format(t);
        check_fields(value, t);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = cc_fuzz_pool();
    apr_time_t now = cc_fuzz_int64(&data, &size), t;
    char *value = cc_fuzz_strndup(data, size);

    CC_FUZZ_CHECK(!cc_date_parse(NULL, now, &t));
    check_date(value, now);
    check_date(value, APR_INT64_MAX);
    check_date(value, APR_INT64_MIN);
    check_date(value, 0);

    free(value);
    apr_pool_destroy(p);
    return 0;
}
