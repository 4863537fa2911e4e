/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * fuzz_precond: the evaluation of RFC 9110 13.2.2 over any combination
 * of fields, cc_precond.c.
 *
 * Input: eleven lines (the last takes the rest),
 *
 *   method             GET, HEAD, anything else is a method decided up
 *                      front (PUT, DELETE, POST)
 *   exists             0 or empty: no current representation
 *   ETag               the current ETag field value
 *   If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since,
 *   If-Range           the request fields
 *   has_range          0 or empty: no Range
 *   Last-Modified      an HTTP-date or signed seconds since 1970
 *   Date               the same; 1994-11-06 08:49:37 when missing
 *
 * A line that is missing, or is "-" alone, is a field that is absent.
 * Times are whole seconds of the years 0000 to 9999, Last-Modified never
 * after Date, as the caller guarantees.
 *
 * Asserts:
 *   - status is 0, 304 or 412; 304 only for GET and HEAD; reason set;
 *     range only for a GET or HEAD with Range and a decision of 0,
 *     APPLY when there is no If-Range;
 *   - no If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since:
 *     never 304 nor 412; neither If-Range nor Range changes the status;
 *   - step 1: a true If-Match ("*" with a representation, or a strong
 *     match) decides as if neither it nor If-Unmodified-Since were there;
 *     any other If-Match is 412;
 *   - step 2: If-Unmodified-Since alone (valid, with Last-Modified) is
 *     412 exactly when Last-Modified is after it;
 *   - step 3: once steps 1 and 2 pass, a matching If-None-Match is 304
 *     for GET and HEAD and 412 otherwise; one that does not match is 0,
 *     whatever If-Modified-Since says;
 *   - step 4: If-Modified-Since counts only for GET and HEAD without an
 *     If-None-Match that lists something: 304 exactly when it is a valid
 *     date, not after Date, and Last-Modified is not after it.
 */

#include <apr_strings.h>

#include "fuzz.h"

enum {
    F_METHOD, F_EXISTS, F_ETAG, F_IM, F_INM, F_IMS, F_IUS, F_IR,
    F_RANGE, F_LM, F_DATE, F_COUNT
};

/* 0000-01-01 and 9999-12-31 23:59:59, in seconds */
#define SEC_MIN  APR_INT64_C(-62167219200)
#define SEC_MAX  APR_INT64_C(253402300799)
#define DATE_DEFAULT APR_INT64_C(784111777)

static const char *field(const cc_fuzz_pieces *ps, int i);
static int flag(const cc_fuzz_pieces *ps, int i);
static int get_time(const cc_fuzz_pieces *ps, int i, apr_time_t *t);
static int evaluate(const cc_precond_in *in);
static void check(const cc_precond_in *in);

static const char *field(const cc_fuzz_pieces *ps, int i)
{
    const char *v = ps->piece[i];

    return v && strcmp(v, "-") ? v : NULL;
}

static int flag(const cc_fuzz_pieces *ps, int i)
{
    const char *v = field(ps, i);

    return v && *v && strcmp(v, "0");
}

/* an HTTP-date or signed seconds, clamped to the years 0000-9999 */
static int get_time(const cc_fuzz_pieces *ps, int i, apr_time_t *t)
{
    const char *v = field(ps, i);
    apr_int64_t sec;
    char *end;

    if (!v || !*v) {
        return 0;
    }
    if (cc_date_parse(v, apr_time_from_sec(DATE_DEFAULT), t)) {
        sec = apr_time_sec(*t);
    }
    else {
        sec = apr_strtoi64(v, &end, 10);
    }
    sec = sec < SEC_MIN ? SEC_MIN : sec > SEC_MAX ? SEC_MAX : sec;
    *t = apr_time_from_sec(sec);
    return 1;
}

/* the status, with the checks that hold for every evaluation */
static int evaluate(const cc_precond_in *in)
{
    cc_precond_out out, again;

    memset(&out, 0x5a, sizeof(out));
    cc_precond_evaluate(in, &out);
    CC_FUZZ_CHECK(out.status == 0 || out.status == 304
                  || out.status == 412);
    CC_FUZZ_CHECK(out.reason != NULL && strlen(out.reason) > 0);
    CC_FUZZ_CHECK(out.range == CC_RANGE_NONE || out.range == CC_RANGE_APPLY
                  || out.range == CC_RANGE_IGNORE);
    if (out.status == 304) {
        CC_FUZZ_CHECK(in->method != CC_METHOD_OTHER);
        CC_FUZZ_CHECK(in->if_none_match || in->if_modified_since);
    }
    if (out.status == 412 && in->method != CC_METHOD_OTHER) {
        CC_FUZZ_CHECK(in->if_match || in->if_unmodified_since);
    }
    if (!in->if_match && !in->if_none_match && !in->if_modified_since
        && !in->if_unmodified_since) {
        CC_FUZZ_CHECK(out.status == 0);
    }
    if (out.range != CC_RANGE_NONE) {
        CC_FUZZ_CHECK(out.status == 0 && in->method != CC_METHOD_OTHER
                      && in->has_range);
    }
    if (out.status == 0 && in->method != CC_METHOD_OTHER && in->has_range
        && !in->if_range) {
        CC_FUZZ_CHECK(out.range == CC_RANGE_APPLY);
    }
    /* deterministic */
    cc_precond_evaluate(in, &again);
    CC_FUZZ_CHECK(again.status == out.status && again.range == out.range
                  && !strcmp(again.reason, out.reason));
    return out.status;
}

static void check(const cc_precond_in *in)
{
    cc_precond_in v;
    cc_etag tag;
    const cc_etag *cur;
    cc_list_result im, inm;
    apr_time_t when;
    int status = evaluate(in), before, safe, ims;

    cur = in->etag && cc_etag_parse_one(in->etag, &tag) ? &tag : NULL;
    safe = in->method != CC_METHOD_OTHER;

    /* If-Range and Range do not change the status */
    v = *in;
    v.if_range = NULL;
    v.has_range = 0;
    CC_FUZZ_CHECK(evaluate(&v) == status);

    /* step 1 */
    im = cc_etag_list_match(in->if_match, cur, 1);
    if (im != CC_LIST_ABSENT) {
        v = *in;
        v.if_match = NULL;
        v.if_unmodified_since = NULL;
        if (im == CC_LIST_MATCH || (im == CC_LIST_STAR && in->exists)) {
            CC_FUZZ_CHECK(status == evaluate(&v));
        }
        else {
            CC_FUZZ_CHECK(status == 412);
        }
        return;
    }

    /* step 2 */
    if (in->if_unmodified_since) {
        v = *in;
        v.if_none_match = NULL;
        v.if_modified_since = NULL;
        before = evaluate(&v);
        CC_FUZZ_CHECK(before == 0 || before == 412);
        CC_FUZZ_CHECK((before == 412)
                      == (in->has_last_modified
                          && cc_date_parse(in->if_unmodified_since,
                                           in->date, &when)
                          && in->last_modified > when));
        if (before == 412) {
            CC_FUZZ_CHECK(status == 412);
            return;
        }
    }

    /* step 3 */
    inm = cc_etag_list_match(in->if_none_match, cur, 0);
    if (inm != CC_LIST_ABSENT && inm != CC_LIST_EMPTY) {
        if (inm == CC_LIST_MATCH || (inm == CC_LIST_STAR && in->exists)) {
            CC_FUZZ_CHECK(status == (safe ? 304 : 412));
        }
        else {
            CC_FUZZ_CHECK(status == 0);
        }
        return;
    }

    /* step 4 */
    ims = safe && in->if_modified_since && in->has_last_modified
          && cc_date_parse(in->if_modified_since, in->date, &when)
          && when <= in->date && in->last_modified <= when;
    CC_FUZZ_CHECK(status == (ims ? 304 : 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = cc_fuzz_pool();
    cc_fuzz_pieces ps;
    cc_precond_in in;
    const char *m;

    cc_fuzz_split(&ps, data, size, '\n', F_COUNT);
    memset(&in, 0, sizeof(in));
    m = field(&ps, F_METHOD);
    in.method = m && !strcmp(m, "GET") ? CC_METHOD_GET
                : m && !strcmp(m, "HEAD") ? CC_METHOD_HEAD
                : CC_METHOD_OTHER;
    in.exists = flag(&ps, F_EXISTS);
    in.etag = field(&ps, F_ETAG);
    in.if_match = field(&ps, F_IM);
    in.if_none_match = field(&ps, F_INM);
    in.if_modified_since = field(&ps, F_IMS);
    in.if_unmodified_since = field(&ps, F_IUS);
    in.if_range = field(&ps, F_IR);
    in.has_range = flag(&ps, F_RANGE);
    if (!get_time(&ps, F_DATE, &in.date)) {
        in.date = apr_time_from_sec(DATE_DEFAULT);
    }
    in.has_last_modified = get_time(&ps, F_LM, &in.last_modified);
    if (in.has_last_modified && in.last_modified > in.date) {
        in.last_modified = in.date;
    }

    check(&in);

    cc_fuzz_free(&ps);
    apr_pool_destroy(p);
    return 0;
}
