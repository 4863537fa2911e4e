/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * fuzz_lifetime: lifetimes in mod_expires' syntax and delta-seconds,
 * cc_policy.c (CondCacheExpiresDefault, CondCacheExpiresByType,
 * CondCacheFingerprint; RFC 9111 1.2.2).
 *
 * Input: the lifetime ("access plus 1 month 2 days", "M86400", ...),
 * then, after the first newline if there is one, eight bytes of 'now',
 * eight of Last-Modified (apr_time_t, little-endian, any value) and one
 * whose low bit says whether there is a Last-Modified.
 *
 * Asserts:
 *   - cc_lifetime_parse gives an error message or a lifetime of 0 to
 *     CC_DELTA_MAX seconds, and leaves its argument alone;
 *   - a parsed lifetime written back as A<seconds> or M<seconds>, and as
 *     "access|modification plus <seconds> seconds", parses to the same;
 *     one more "1 second" adds one (up to the clamp);
 *   - cc_delta_parse takes digits only and clamps to CC_DELTA_MAX;
 *   - cc_lifetime_max_age, with the input's 'now' and Last-Modified and
 *     with the extremes of apr_time_t, is within 0..CC_DELTA_MAX: the
 *     lifetime itself for an access lifetime or without Last-Modified,
 *     else Last-Modified + lifetime - now, in whole seconds.
 */

#include <apr_strings.h>

#include "fuzz.h"

static void check_delta(const char *s);
static void check_same(apr_pool_t *p, const char *spec,
                       const cc_lifetime *want);
static void check_max_age(const cc_lifetime *lt, apr_time_t now,
                          int has_lm, apr_time_t lm);

static const apr_time_t extremes[] = {
    0, 1, -1, APR_INT64_MAX, APR_INT64_MIN, APR_INT64_MAX - 1,
    APR_INT64_MIN + 1, APR_INT64_C(1795435200000000),
    APR_INT64_C(-62167219200000000)
};

#define NEXTREMES (sizeof(extremes) / sizeof(extremes[0]))

/* delta-seconds = 1*DIGIT, clamped */
static void check_delta(const char *s)
{
    apr_int64_t v = -1, want = 0;
    const char *c;
    int ok = *s != '\0';

    for (c = s; *c; c++) {
        if (*c < '0' || *c > '9') {
            ok = 0;
            break;
        }
        want = want * 10 + (*c - '0');
        if (want > CC_DELTA_MAX) {
            want = CC_DELTA_MAX;
        }
    }
    CC_FUZZ_CHECK(cc_delta_parse(s, &v) == ok);
    CC_FUZZ_CHECK(!ok || v == want);
}

static void check_same(apr_pool_t *p, const char *spec,
                       const cc_lifetime *want)
{
    cc_lifetime lt;

    memset(&lt, 0, sizeof(lt));
    CC_FUZZ_CHECK(cc_lifetime_parse(p, spec, &lt) == NULL);
    CC_FUZZ_CHECK(lt.base == want->base && lt.seconds == want->seconds);
}

static void check_max_age(const cc_lifetime *lt, apr_time_t now,
                          int has_lm, apr_time_t lm)
{
    apr_int64_t age = cc_lifetime_max_age(lt, now, has_lm, lm), want;

    CC_FUZZ_CHECK(age >= 0 && age <= CC_DELTA_MAX);
    if (lt->base == CC_BASE_ACCESS || !has_lm) {
        CC_FUZZ_CHECK(age == lt->seconds);
        return;
    }
    /* whole seconds of apr_time_t fit many times over in 64 bits */
    want = apr_time_sec(lm) + lt->seconds - apr_time_sec(now);
    want = want < 0 ? 0 : want > CC_DELTA_MAX ? CC_DELTA_MAX : want;
    CC_FUZZ_CHECK(age == want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = cc_fuzz_pool();
    const uint8_t *nl = memchr(data, '\n', size);
    size_t slen = nl ? (size_t)(nl - data) : size;
    char *spec = cc_fuzz_strndup(data, slen);
    char *copy = cc_fuzz_strndup(data, slen);
    const uint8_t *rest = nl ? nl + 1 : data + size;
    size_t rlen = nl ? size - slen - 1 : 0;
    apr_time_t now = cc_fuzz_int64(&rest, &rlen);
    apr_time_t lm = cc_fuzz_int64(&rest, &rlen);
    int has_lm = rlen && (rest[0] & 1);
    cc_lifetime lt;
    const char *err;
    apr_size_t i, j;

    check_delta(spec);

    memset(&lt, 0, sizeof(lt));
    CC_FUZZ_CHECK(cc_lifetime_parse(p, NULL, &lt) != NULL);
    err = cc_lifetime_parse(p, spec, &lt);
    CC_FUZZ_CHECK(strcmp(spec, copy) == 0);
    if (err) {
        CC_FUZZ_CHECK(*err != '\0');
        goto done;
    }
    CC_FUZZ_CHECK(lt.base == CC_BASE_ACCESS
                  || lt.base == CC_BASE_MODIFICATION);
    CC_FUZZ_CHECK(lt.seconds >= 0 && lt.seconds <= CC_DELTA_MAX);

    /* the same lifetime, written the other ways */
    {
        int access = lt.base == CC_BASE_ACCESS;
        cc_lifetime more = lt;

        check_same(p, apr_psprintf(p, "%c%" APR_INT64_T_FMT,
                                   access ? 'A' : 'M', lt.seconds), &lt);
        check_same(p, apr_psprintf(p, "%s plus %" APR_INT64_T_FMT
                                   " seconds",
                                   access ? "access" : "modification",
                                   lt.seconds), &lt);
        if (!((spec[0] == 'A' || spec[0] == 'M')
              && spec[1] >= '0' && spec[1] <= '9')) {
            more.seconds = lt.seconds < CC_DELTA_MAX ? lt.seconds + 1
                                                     : CC_DELTA_MAX;
            check_same(p, apr_pstrcat(p, spec, " 1 second", NULL), &more);
        }
    }

    check_max_age(&lt, now, has_lm, lm);
    for (i = 0; i < NEXTREMES; i++) {
        check_max_age(&lt, extremes[i], 0, 0);
        check_max_age(&lt, extremes[i], has_lm, lm);
        check_max_age(&lt, now, 1, extremes[i]);
        for (j = 0; j < NEXTREMES; j++) {
            check_max_age(&lt, extremes[i], 1, extremes[j]);
        }
    }

done:
    free(spec);
    free(copy);
    apr_pool_destroy(p);
    return 0;
}
