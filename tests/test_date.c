/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/* HTTP-date: docs/conformance.md 1.6, RFC 9110 section 5.6.7. */

#include <string.h>

#include "cc_test.h"

#define NOW APR_INT64_C(1795435200)   /* Mon, 23 Nov 2026 12:00:00 GMT */
#define BAD APR_INT64_C(0x7fffffff00)

static const struct {
    const char *in;
    apr_int64_t secs;   /* BAD: not one valid HTTP-date */
} cases[] = {
    /* the three forms of RFC 9110's example */
    { "Sun, 06 Nov 1994 08:49:37 GMT",      784111777 },
    { "Sunday, 06-Nov-94 08:49:37 GMT",     784111777 },
    { "Sun Nov  6 08:49:37 1994",           784111777 },
    { "Sun Nov 06 08:49:37 1994",           784111777 },
    { " \tSun, 06 Nov 1994 08:49:37 GMT\t ", 784111777 },
    /* calendar edges */
    { "Tue, 29 Feb 2000 00:00:00 GMT",      951782400 },
    { "Sat, 31 Dec 2016 23:59:60 GMT",      1483228799 + 1 }, /* leap s */
    { "Fri, 31 Dec 9999 23:59:59 GMT",      APR_INT64_C(253402300799) },
    /* before 1970 is a valid date, not an error */
    { "Fri, 01 Jan 1960 00:00:00 GMT",      -315619200 },
    { "Wed, 31 Dec 1969 23:59:59 GMT",      -1 },
    { "Mon, 01 Jan 0001 00:00:00 GMT",      APR_INT64_C(-62135596800) },
    /* two-digit years: more than 50 years ahead means the last century */
    { "Sunday, 01-Nov-76 00:00:00 GMT",     APR_INT64_C(3371414400) },
    { "Wednesday, 01-Dec-76 00:00:00 GMT",  218246400 },
    { "Saturday, 01-Jan-77 00:00:00 GMT",   220924800 },
    /* invalid */
    { "",                                    BAD },
    { "   ",                                 BAD },
    { "garbage",                             BAD },
    { "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", BAD },
    { "Sun, 06 Nov 1994 08:49:37 GMT x",     BAD },
    { "Sun, 06 Nov 1994 08:49:37 gmt",       BAD },
    { "Sun, 06 Nov 1994 08:49:37 UTC",       BAD },
    { "Sun, 06 Nov 1994 08:49:37",           BAD },
    { "Sun, 6 Nov 1994 08:49:37 GMT",        BAD },
    { "Sun, 06 nov 1994 08:49:37 GMT",       BAD },
    { "Sun, 06 Xyz 1994 08:49:37 GMT",       BAD },
    { "Xyz, 06 Nov 1994 08:49:37 GMT",       BAD },
    { "Sun, 06 Nov 19940 08:49:37 GMT",      BAD },
    { "Sun, 06 Nov 94 08:49:37 GMT",         BAD },
    { "Sun, 00 Nov 1994 08:49:37 GMT",       BAD },
    { "Sun, 31 Nov 1994 08:49:37 GMT",       BAD },
    { "Sun, 30 Feb 2000 08:49:37 GMT",       BAD },
    { "Sun, 29 Feb 1900 08:49:37 GMT",       BAD },
    { "Sun, 29 Feb 1995 08:49:37 GMT",       BAD },
    { "Sun, 06 Nov 1994 24:00:00 GMT",       BAD },
    { "Sun, 06 Nov 1994 23:60:00 GMT",       BAD },
    { "Sun, 06 Nov 1994 23:59:61 GMT",       BAD },
    { "Sun, 06 Nov 1994 8:49:37 GMT",        BAD },
    { "Sun, 06 Nov 1994 08:49:37 GMT\r\n",   BAD },
    { "Sun, 06-Nov-94 08:49:37 GMT",         BAD },  /* short day name */
    { "Sunday, 06-Nov-1994 08:49:37 GMT",    BAD },
    { "Sunday, 06 Nov 1994 08:49:37 GMT",    BAD },
    { "Sunday,06-Nov-94 08:49:37 GMT",       BAD },
    { "Sun Nov  6 08:49:37 94",              BAD },
    { "Sun Nov 6 08:49:37 1994",             BAD },
    { "Sun Nov  0 08:49:37 1994",            BAD },
    { "1994-11-06T08:49:37Z",                BAD },
    { "784111777",                           BAD },
    { "-1",                                  BAD },
};

START_TEST(parse)
{
    apr_time_t t = 0;
    int ok = cc_date_parse(cases[_i].in, apr_time_from_sec(NOW), &t);

    if (cases[_i].secs == BAD) {
        ck_assert_msg(!ok, "accepted '%s'", cases[_i].in);
    }
    else {
        ck_assert_msg(ok, "refused '%s'", cases[_i].in);
        ck_assert_msg(t == apr_time_from_sec(cases[_i].secs),
                      "'%s': %" APR_INT64_T_FMT, cases[_i].in,
                      (apr_int64_t)apr_time_sec(t));
    }
}
END_TEST

START_TEST(null_and_huge)
{
    static char big[100000];
    apr_time_t t;

    ck_assert(!cc_date_parse(NULL, apr_time_from_sec(NOW), &t));
    memset(big, 'A', sizeof(big) - 1);
    ck_assert(!cc_date_parse(big, apr_time_from_sec(NOW), &t));
}
END_TEST

/* a two-digit year resolved against a 'now' at the ends of the range:
 * no signed overflow (UBSan aborts the unit-asan run on one), and the
 * date comes out in the past century as it would for any late 'now'
 */
START_TEST(extreme_now)
{
    apr_time_t t;
    int ok;

    ok = cc_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", APR_INT64_MAX, &t);
    ck_assert(!ok || t < APR_INT64_MAX);
    ok = cc_date_parse("Sunday, 06-Nov-94 08:49:37 GMT",
                       APR_INT64_MAX - 1, &t);
    ck_assert(!ok || t < APR_INT64_MAX);
    ok = cc_date_parse("Sunday, 06-Nov-94 08:49:37 GMT", APR_INT64_MIN, &t);
    ck_assert(!ok || t > APR_INT64_MIN);
    ck_assert(cc_date_parse("Sunday, 06-Nov-94 08:49:37 GMT",
                            apr_time_from_sec(NOW), &t));
    ck_assert(t == apr_time_from_sec(784111777));
}
END_TEST

/* emitted dates are IMF-fixdate, and read back as themselves */
START_TEST(format)
{
    char buf[CC_DATE_LEN];
    apr_time_t t;

    ck_assert(cc_date_format(buf, apr_time_from_sec(784111777)));
    ck_assert_str_eq(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
    ck_assert(cc_date_format(buf, apr_time_from_sec(NOW) + 999999));
    ck_assert_str_eq(buf, "Mon, 23 Nov 2026 12:00:00 GMT");
    ck_assert(cc_date_parse(buf, apr_time_from_sec(NOW), &t));
    ck_assert(t == apr_time_from_sec(NOW));
}
END_TEST

static Suite *date_suite(void)
{
    Suite *s = suite_create("date");
    TCase *tc = tcase_create("date");

    tcase_add_loop_test(tc, parse, 0, CC_NELTS(cases));
    tcase_add_test(tc, null_and_huge);
    tcase_add_test(tc, extreme_now);
    tcase_add_test(tc, format);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cc_test_main(date_suite());
}
