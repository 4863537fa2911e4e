/* Licensed to the Apache Software Foundation (ASF) under one or more
 * contributor license agreements.  See the LICENSE file distributed with
 * this work for additional information regarding copyright ownership.
 * The ASF licenses this file to You under the Apache License, Version 2.0
 * (the "License"); you may not use this file except in compliance with
 * the License.  You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * cc_date.c: HTTP-date, RFC 9110 section 5.6.7.
 *
 * Recipients must accept three forms and senders emit only the first:
 *
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   rfc850-date  Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime      Sun Nov  6 08:49:37 1994
 *
 * apr_date_parse_http() is close, but it accepts trailing text (so two
 * If-Modified-Since lines joined by a comma would still parse), refuses
 * years before 1970 (a valid If-Unmodified-Since of 1960 must fail the
 * precondition, not vanish) and resolves two-digit years with a fixed
 * pivot instead of the "more than 50 years in the future" rule.  So the
 * shape is checked here with APR's own apr_date_checkmask(), whole-string,
 * and the fields are turned into a time without the 1970 limit.
 */

#include <string.h>

#include <apr_date.h>
#include <apr_lib.h>

#include "mod_condcache.h"

#define CC_DATE_MAX 64

static const char *const cc_months[12] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static const char *const cc_days[7] = {
    "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"
};

static const char *const cc_long_days[7] = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
    "Sunday"
};

static int cc_lookup(const char *s, apr_size_t len,
                     const char *const *names, int n);
static int cc_num(const char *s, int digits);
static apr_int64_t cc_days_from_civil(apr_int64_t y, int m, int d);
static int cc_days_in_month(int y, int m);
static int cc_make_time(int y, int mon, int d, int hh, int mm, int ss,
                        apr_time_t *t);

static int cc_lookup(const char *s, apr_size_t len,
                     const char *const *names, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0) {
            return i;
        }
    }
    return -1;
}

/* digits are already known to be digits (or a leading space) */
static int cc_num(const char *s, int digits)
{
    int v = 0;

    while (digits--) {
        v = v * 10 + (*s == ' ' ? 0 : *s - '0');
        s++;
    }
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), valid far beyond the years 0000-9999 used here.
 */
static apr_int64_t cc_days_from_civil(apr_int64_t y, int m, int d)
{
    apr_int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int cc_days_in_month(int y, int m)
{
    static const int len[12] = {31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    return len[m - 1] + (m == 2 && leap);
}

/* y is 0-9999 (a two-digit year resolved against a far 'now' can leave
 * that range: refused); mon is 1-12; a second of 60 (a leap second) is
 * allowed
 */
static int cc_make_time(int y, int mon, int d, int hh, int mm, int ss,
                        apr_time_t *t)
{
    apr_int64_t secs;

    if (y < 0 || y > 9999 || d < 1 || d > cc_days_in_month(y, mon)
        || hh > 23 || mm > 59 || ss > 60) {
        return 0;
    }
    secs = cc_days_from_civil(y, mon, d) * 86400
           + hh * 3600 + mm * 60 + ss;
    *t = apr_time_from_sec(secs);
    return 1;
}

int cc_date_parse(const char *value, apr_time_t now, apr_time_t *t)
{
    char buf[CC_DATE_MAX];
    const char *s, *comma;
    apr_size_t len;
    int mon, y;

    if (!value) {
        return 0;
    }
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    len = strlen(value);
    while (len && (value[len - 1] == ' ' || value[len - 1] == '\t')) {
        len--;
    }
    if (len >= sizeof(buf)) {
        return 0;
    }
    memcpy(buf, value, len);
    buf[len] = '\0';
    s = buf;

    if (apr_date_checkmask(s, "@$$, ## @$$ #### ##:##:## GMT")) {
        if (cc_lookup(s, 3, cc_days, 7) < 0
            || (mon = cc_lookup(s + 8, 3, cc_months, 12)) < 0) {
            return 0;
        }
        return cc_make_time(cc_num(s + 12, 4), mon + 1, cc_num(s + 5, 2),
                            cc_num(s + 17, 2), cc_num(s + 20, 2),
                            cc_num(s + 23, 2), t);
    }
    if (apr_date_checkmask(s, "@$$ @$$ ~# ##:##:## ####")) {
        if (cc_lookup(s, 3, cc_days, 7) < 0
            || (mon = cc_lookup(s + 4, 3, cc_months, 12)) < 0) {
            return 0;
        }
        return cc_make_time(cc_num(s + 20, 4), mon + 1, cc_num(s + 8, 2),
                            cc_num(s + 11, 2), cc_num(s + 14, 2),
                            cc_num(s + 17, 2), t);
    }
    comma = strchr(s, ',');
    if (comma && comma[1] == ' '
        && cc_lookup(s, (apr_size_t)(comma - s), cc_long_days, 7) >= 0
        && apr_date_checkmask(comma + 2, "##-@$$-## ##:##:## GMT")) {
        apr_time_exp_t xt;
        apr_time_t limit, ahead;

        s = comma + 2;
        if ((mon = cc_lookup(s + 3, 3, cc_months, 12)) < 0
            || apr_time_exp_gmt(&xt, now) != APR_SUCCESS) {
            return 0;
        }
        /* RFC 9110 5.6.7: a two-digit year that appears to be more than
         * 50 years in the future is the most recent such year in the past.
         */
        y = (xt.tm_year + 1900) / 100 * 100 + cc_num(s + 7, 2);
        if (!cc_make_time(y, mon + 1, cc_num(s, 2), cc_num(s + 10, 2),
                          cc_num(s + 13, 2), cc_num(s + 16, 2), t)) {
            return 0;
        }
        ahead = apr_time_from_sec(
                    (cc_days_from_civil(xt.tm_year + 1950, xt.tm_mon + 1, 1)
                     - cc_days_from_civil(xt.tm_year + 1900,
                                          xt.tm_mon + 1, 1)) * 86400);
        /* a 'now' near the end of the range: no signed overflow */
        limit = now > APR_INT64_MAX - ahead ? APR_INT64_MAX : now + ahead;
        if (*t > limit) {
            return cc_make_time(y - 100, mon + 1, cc_num(s, 2),
                                cc_num(s + 10, 2), cc_num(s + 13, 2),
                                cc_num(s + 16, 2), t);
        }
        return 1;
    }
    return 0;
}

int cc_date_format(char *buf, apr_time_t t)
{
    return apr_rfc822_date(buf, t) == APR_SUCCESS;
}
