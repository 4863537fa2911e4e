/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * Precondition evaluation: one row per case of docs/conformance.md
 * sections 2 and 3 and of the list in section 6, RFC 9110 sections 13.1
 * and 13.2.2.
 *
 * The current representation, unless a row says otherwise: ETag "abc",
 * Last-Modified Sun, 06 Nov 1994 08:49:37 GMT, Date Mon, 23 Nov 2026.
 */

#include <string.h>

#include "cc_test.h"

#define LM       APR_INT64_C(784111777)
#define NOW      APR_INT64_C(1795435200)
#define D_LM     "Sun, 06 Nov 1994 08:49:37 GMT"
#define D_LM850  "Sunday, 06-Nov-94 08:49:37 GMT"
#define D_LMASC  "Sun Nov  6 08:49:37 1994"
#define D_OLD    "Sat, 01 Jan 1994 00:00:00 GMT"
#define D_LATER  "Mon, 07 Nov 1994 08:49:37 GMT"
#define D_NOW    "Mon, 23 Nov 2026 12:00:00 GMT"
#define D_2100   "Fri, 01 Jan 2100 00:00:00 GMT"
#define D_1960   "Fri, 01 Jan 1960 00:00:00 GMT"

#define GET   CC_METHOD_GET
#define HEAD  CC_METHOD_HEAD
#define OTHER CC_METHOD_OTHER  /* PUT, POST, DELETE: decided up front */

typedef struct {
    const char *name;
    cc_method method;
    int gone;              /* no current representation */
    const char *etag;      /* NULL: "abc"; "" : none */
    int no_lm;             /* no Last-Modified */
    apr_int64_t lm;        /* 0: LM */
    const char *im, *ius, *inm, *ims, *ir;
    int range;
    int status;
    cc_range want_range;
    const char *reason;    /* NULL: not checked */
} row;

static const row rows[] = {
    /* ---- no preconditions ---- */
    { .name = "no fields", .status = 0, .reason = "unconditional" },

    /* ---- step 1: If-Match, strong comparison ---- */
    { .name = "IM matches", .im = "\"abc\"", .status = 0 },
    { .name = "IM differs", .im = "\"xyz\"", .status = 412,
      .reason = "if-match-failed" },
    { .name = "IM weak member never matches strongly",
      .im = "W/\"abc\"", .status = 412 },
    { .name = "IM current tag weak", .etag = "W/\"abc\"", .im = "\"abc\"",
      .status = 412 },
    { .name = "IM both weak", .etag = "W/\"abc\"", .im = "W/\"abc\"",
      .status = 412 },
    { .name = "IM list, match after a weak member (6.1)",
      .im = "W/\"abc\", \"abc\"", .status = 0 },
    { .name = "IM list, match after others", .im = "\"x\", \"y\",\"abc\"",
      .status = 0 },
    { .name = "IM list, no member", .im = "\"x\", \"y\"", .status = 412 },
    { .name = "IM star, exists", .im = "*", .status = 0 },
    { .name = "IM star, nothing there (PUT)", .method = OTHER, .gone = 1,
      .etag = "", .no_lm = 1, .im = "*", .status = 412 },
    { .name = "IM, no current ETag", .etag = "", .im = "\"abc\"",
      .status = 412 },
    { .name = "IM malformed", .im = "abc", .status = 412,
      .reason = "if-match-invalid" },
    { .name = "IM star mixed with a tag", .im = "*, \"abc\"", .status = 412 },
    /* a field that lists nothing matches nothing: a write never gets
     * through on it (stock httpd gives 412 too)
     */
    { .name = "IM empty matches nothing", .im = "", .status = 412,
      .reason = "if-match-empty" },
    { .name = "IM a lone comma matches nothing", .im = ",", .status = 412,
      .reason = "if-match-empty" },
    { .name = "IM only commas, PUT", .method = OTHER, .im = " , ,",
      .status = 412 },
    { .name = "IM on PUT", .method = OTHER, .im = "\"abc\"", .status = 0 },
    { .name = "IM fails on PUT", .method = OTHER, .im = "\"old\"",
      .status = 412 },

    /* ---- step 2: If-Unmodified-Since ---- */
    { .name = "IUS = LM", .ius = D_LM, .status = 0 },
    { .name = "IUS later", .ius = D_LATER, .status = 0 },
    { .name = "IUS earlier", .ius = D_OLD, .status = 412,
      .reason = "ius-failed" },
    { .name = "IUS before 1970", .ius = D_1960, .status = 412 },
    { .name = "IUS rfc850 = LM", .ius = D_LM850, .status = 0 },
    { .name = "IUS asctime earlier", .ius = "Sat Jan  1 00:00:00 1994",
      .status = 412 },
    { .name = "IUS garbage is ignored (6)", .ius = "garbage", .status = 0 },
    { .name = "IUS two dates is not one date",
      .ius = D_OLD ", " D_OLD, .status = 0 },
    { .name = "IUS without Last-Modified is ignored", .no_lm = 1,
      .ius = D_OLD, .status = 0 },
    { .name = "IM true wins over an old IUS (6)", .im = "\"abc\"",
      .ius = D_OLD, .status = 0 },
    { .name = "IM false, IUS true", .im = "\"xyz\"", .ius = D_LATER,
      .status = 412 },
    { .name = "IUS earlier on DELETE", .method = OTHER, .ius = D_OLD,
      .status = 412 },

    /* ---- step 3: If-None-Match, weak comparison ---- */
    { .name = "INM matches, GET", .inm = "\"abc\"", .status = 304,
      .reason = "inm-weak-match" },
    { .name = "INM matches, HEAD", .method = HEAD, .inm = "\"abc\"",
      .status = 304 },
    { .name = "INM matches, PUT", .method = OTHER, .inm = "\"abc\"",
      .status = 412 },
    { .name = "INM weak member matches", .inm = "W/\"abc\"", .status = 304 },
    { .name = "INM weak current tag", .etag = "W/\"abc\"",
      .inm = "\"abc\"", .status = 304 },
    { .name = "INM list, match after others", .inm = "\"x\", W/\"abc\"",
      .status = 304 },
    { .name = "INM no member", .inm = "\"x\", \"y\"", .status = 0,
      .reason = "inm-no-match" },
    { .name = "INM star, exists, GET", .inm = "*", .status = 304,
      .reason = "inm-star" },
    { .name = "INM star, exists, POST (6)", .method = OTHER, .inm = "*",
      .status = 412 },
    { .name = "INM star, nothing there, PUT creates", .method = OTHER,
      .gone = 1, .etag = "", .no_lm = 1, .inm = "*", .status = 0 },
    { .name = "INM malformed matches nothing", .inm = "abc", .status = 0,
      .reason = "inm-invalid" },
    { .name = "INM star mixed with a tag matches nothing",
      .inm = "\"abc\", *", .status = 0 },
    { .name = "INM empty is no field: IMS counts", .inm = " , ",
      .ims = D_LM, .status = 304, .reason = "ims-not-modified" },
    { .name = "INM empty on PUT", .method = OTHER, .inm = "", .status = 0 },
    { .name = "INM, no current ETag", .etag = "", .inm = "\"abc\"",
      .status = 0 },
    { .name = "INM, malformed current ETag", .etag = "abc",
      .inm = "\"abc\"", .status = 0 },
    { .name = "INM match with an old IMS (6)", .inm = "\"abc\"",
      .ims = D_OLD, .status = 304 },
    { .name = "INM no match wins over a matching IMS", .inm = "\"xyz\"",
      .ims = D_LM, .status = 0 },
    { .name = "IUS now plus INM match (6)", .ius = D_NOW, .inm = "\"abc\"",
      .status = 304 },
    { .name = "IM true plus INM match, GET", .im = "\"abc\"",
      .inm = "\"abc\"", .status = 304 },

    /* ---- step 4: If-Modified-Since, GET and HEAD only ---- */
    { .name = "IMS = LM", .ims = D_LM, .status = 304,
      .reason = "ims-not-modified" },
    { .name = "IMS = LM, HEAD", .method = HEAD, .ims = D_LM,
      .status = 304 },
    { .name = "IMS rfc850 = LM", .ims = D_LM850, .status = 304 },
    { .name = "IMS asctime = LM", .ims = D_LMASC, .status = 304 },
    { .name = "IMS later than LM, client clock (6)", .ims = D_LATER,
      .status = 304 },
    /* a date after the request is ignored (docs/conformance.md 3.4) */
    { .name = "IMS in the far future is ignored", .ims = D_2100,
      .status = 0, .reason = "ims-future" },
    { .name = "IMS in the year 9999 is ignored (6)",
      .ims = "Fri, 31 Dec 9999 23:59:59 GMT", .status = 0,
      .reason = "ims-future" },
    { .name = "IMS a second after the request is ignored",
      .ims = "Mon, 23 Nov 2026 12:00:01 GMT", .status = 0,
      .reason = "ims-future" },
    { .name = "IMS = the request time", .ims = D_NOW, .status = 304 },
    { .name = "IMS earlier than LM", .ims = D_OLD, .status = 0,
      .reason = "ims-modified" },
    { .name = "IMS garbage", .ims = "yesterday", .status = 0,
      .reason = "ims-invalid" },
    { .name = "IMS two dates", .ims = D_LM ", " D_LM, .status = 0 },
    { .name = "IMS without Last-Modified", .no_lm = 1, .ims = D_LM,
      .status = 0 },
    { .name = "IMS on PUT is ignored", .method = OTHER, .ims = D_LM,
      .status = 0 },

    /* ---- step 5: Range and If-Range, GET only ---- */
    { .name = "Range alone", .range = 1, .status = 0,
      .want_range = CC_RANGE_APPLY },
    { .name = "If-Range without Range", .ir = "\"xyz\"", .status = 0,
      .want_range = CC_RANGE_NONE },
    { .name = "If-Range tag matches", .range = 1, .ir = "\"abc\"",
      .status = 0, .want_range = CC_RANGE_APPLY },
    { .name = "If-Range tag differs", .range = 1, .ir = "\"xyz\"",
      .status = 0, .want_range = CC_RANGE_IGNORE },
    { .name = "If-Range weak tag", .range = 1, .ir = "W/\"abc\"",
      .status = 0, .want_range = CC_RANGE_IGNORE },
    { .name = "If-Range against a weak current tag", .range = 1,
      .etag = "W/\"abc\"", .ir = "\"abc\"", .status = 0,
      .want_range = CC_RANGE_IGNORE },
    { .name = "If-Range date = strong LM", .range = 1, .ir = D_LM,
      .status = 0, .want_range = CC_RANGE_APPLY },
    { .name = "If-Range date later than LM", .range = 1, .ir = D_LATER,
      .status = 0, .want_range = CC_RANGE_IGNORE },
    { .name = "If-Range date = LM, but LM within a second of Date",
      .range = 1, .lm = NOW, .ir = D_NOW, .status = 0,
      .want_range = CC_RANGE_IGNORE },
    { .name = "If-Range date without LM", .range = 1, .no_lm = 1,
      .ir = D_LM, .status = 0, .want_range = CC_RANGE_IGNORE },
    { .name = "If-Range garbage", .range = 1, .ir = "whenever",
      .status = 0, .want_range = CC_RANGE_IGNORE },
    /* HEAD: the header fields GET would get (RFC 9110 9.3.2) */
    { .name = "HEAD, Range, true If-Range: as GET", .method = HEAD,
      .range = 1, .ir = "\"abc\"", .status = 0,
      .want_range = CC_RANGE_APPLY },
    { .name = "HEAD, Range, false If-Range: as GET", .method = HEAD,
      .range = 1, .ir = "\"xyz\"", .status = 0,
      .want_range = CC_RANGE_IGNORE },
    { .name = "HEAD, Range, no If-Range: as GET", .method = HEAD,
      .range = 1, .status = 0, .want_range = CC_RANGE_APPLY },
    { .name = "Range on POST has no meaning", .method = OTHER, .range = 1,
      .ir = "\"abc\"", .status = 0, .want_range = CC_RANGE_NONE },
    { .name = "INM weak match with Range (6)", .range = 1,
      .inm = "W/\"abc\"", .status = 304 },
    { .name = "INM match, Range, matching If-Range (6)", .range = 1,
      .inm = "\"abc\"", .ir = "\"abc\"", .status = 304 },
    { .name = "IMS = LM with Range (6)", .range = 1, .ims = D_LM,
      .status = 304 },
    { .name = "IM true with Range and If-Range", .range = 1,
      .im = "\"abc\"", .ir = "\"abc\"", .status = 0,
      .want_range = CC_RANGE_APPLY },

    /* ---- nothing to compare with ---- */
    { .name = "no validators at all", .etag = "", .no_lm = 1,
      .inm = "\"abc\"", .ims = D_LM, .status = 0, .reason = "no-validator" },
};

START_TEST(evaluate)
{
    const row *w = &rows[_i];
    cc_precond_in in;
    cc_precond_out out;

    in.method = w->method;
    in.exists = !w->gone;
    in.etag = !w->etag ? "\"abc\"" : *w->etag ? w->etag : NULL;
    in.has_last_modified = !w->no_lm;
    in.last_modified = apr_time_from_sec(w->lm ? w->lm : LM);
    in.date = apr_time_from_sec(NOW);
    in.if_match = w->im;
    in.if_unmodified_since = w->ius;
    in.if_none_match = w->inm;
    in.if_modified_since = w->ims;
    in.if_range = w->ir;
    in.has_range = w->range;

    cc_precond_evaluate(&in, &out);
    ck_assert_msg(out.status == w->status, "%s: status %d, want %d",
                  w->name, out.status, w->status);
    if (w->status == 0) {
        ck_assert_msg(out.range == w->want_range, "%s: range %d, want %d",
                      w->name, out.range, w->want_range);
    }
    if (w->reason) {
        ck_assert_msg(!strcmp(out.reason, w->reason), "%s: reason %s",
                      w->name, out.reason);
    }
}
END_TEST

static Suite *precond_suite(void)
{
    Suite *s = suite_create("precond");
    TCase *tc = tcase_create("rfc9110-13.2.2");

    tcase_add_loop_test(tc, evaluate, 0, CC_NELTS(rows));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cc_test_main(precond_suite());
}
