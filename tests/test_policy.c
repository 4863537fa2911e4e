/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * The freshness policy: lifetimes in mod_expires' syntax
 * (docs/conformance.md 5.4), Cache-Control parsed and composed as one
 * value (5.1, 5.3), the merge modes (9), and precedence by scope and
 * media type (5.7).
 */

#include <string.h>

#include <apr_strings.h>

#include "cc_test.h"

#define DAY   APR_INT64_C(86400)
#define BAD   (-1)
#define A     CC_BASE_ACCESS
#define M     CC_BASE_MODIFICATION

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static const struct {
    const char *spec;
    cc_base base;
    apr_int64_t seconds;     /* BAD: refused */
} lifetimes[] = {
    { "access plus 1 month",              A, 30 * DAY },
    { "access plus 1 months 2 days",      A, 32 * DAY },
    { "modification plus 3 hours",        M, 3 * 3600 },
    { "now",                              A, 0 },
    { "access",                           A, 0 },
    { "now plus 1 year",                  A, 365 * DAY },   /* not 365x30 */
    { "access plus 2 years",              A, 730 * DAY },
    { "access plus 1 week",               A, 7 * DAY },
    { "access plus 2 weeks",              A, 14 * DAY },
    { "access plus 1 day",                A, DAY },
    { "access plus 1 hour",               A, 3600 },
    { "access plus 2 hours",              A, 7200 },
    { "access plus 1 minute",             A, 60 },
    { "access plus 5 minutes",            A, 300 },
    { "access plus 1 second",             A, 1 },
    { "access plus 30 seconds",           A, 30 },
    { "access plus 0 seconds",            A, 0 },
    { "Access PLUS 1 Day",                A, DAY },
    { "access 1 day",                     A, DAY },        /* plus optional */
    { "  access   plus  1   day  ",       A, DAY },
    { "access plus 1 year 1 month 1 week 1 day 1 hour 1 minute 1 second",
      A, 365 * DAY + 30 * DAY + 7 * DAY + DAY + 3600 + 60 + 1 },
    { "A3600",                            A, 3600 },
    { "M86400",                           M, 86400 },
    { "A0",                               A, 0 },
    /* overflow: clamped to 2147483647 */
    { "access plus 100 years",            A, CC_DELTA_MAX },
    { "A99999999999",                     A, CC_DELTA_MAX },
    { "access plus 99999999999999999999999 seconds", A, CC_DELTA_MAX },
    { "access plus 68 years 1 year",      A, CC_DELTA_MAX },
    /* refused */
    { "",                                 A, BAD },
    { "later plus 1 day",                 A, BAD },
    { "access plus one day",              A, BAD },
    { "access plus 1",                    A, BAD },
    { "access plus 1 fortnight",          A, BAD },
    { "access plus 1 dayss",              A, BAD },
    { "access plus -1 day",               A, BAD },
    { "access plus 1.5 days",             A, BAD },
    { "access plus 1 day 2",              A, BAD },
    { "A-5",                              A, BAD },
    { "A5x",                              A, BAD },
    { "a3600",                            A, BAD },
    { "X3600",                            A, BAD },
};

START_TEST(lifetime)
{
    cc_lifetime lt = { CC_BASE_ACCESS, -7 };
    const char *err = cc_lifetime_parse(pool, lifetimes[_i].spec, &lt);

    if (lifetimes[_i].seconds == BAD) {
        ck_assert_msg(err != NULL, "accepted '%s'", lifetimes[_i].spec);
    }
    else {
        ck_assert_msg(err == NULL, "'%s': %s", lifetimes[_i].spec, err);
        ck_assert_int_eq(lt.base, lifetimes[_i].base);
        ck_assert_msg(lt.seconds == lifetimes[_i].seconds,
                      "'%s': %" APR_INT64_T_FMT, lifetimes[_i].spec,
                      lt.seconds);
    }
}
END_TEST

START_TEST(max_age)
{
    apr_time_t now = apr_time_from_sec(1795435200) + 123456;   /* .123 s */
    apr_time_t lm = apr_time_from_sec(1795435200 - 3600);
    cc_lifetime lt;

    lt.base = CC_BASE_ACCESS;
    lt.seconds = 3600;
    ck_assert_int_eq(cc_lifetime_max_age(&lt, now, 1, lm), 3600);
    lt.base = CC_BASE_MODIFICATION;
    lt.seconds = 2 * 3600;
    ck_assert_int_eq(cc_lifetime_max_age(&lt, now, 1, lm), 3600);
    /* a lifetime that ended in the past: max-age=0 */
    lt.seconds = 60;
    ck_assert_int_eq(cc_lifetime_max_age(&lt, now, 1, lm), 0);
    /* no Last-Modified: counted from the request */
    ck_assert_int_eq(cc_lifetime_max_age(&lt, now, 0, 0), 60);
    lt.base = CC_BASE_ACCESS;
    lt.seconds = CC_DELTA_MAX;
    ck_assert_int_eq(cc_lifetime_max_age(&lt, now, 1, lm), CC_DELTA_MAX);
}
END_TEST

static const char *roundtrip(const char *value)
{
    const char *out = cc_control_compose(pool, cc_control_parse(pool, value));

    return out ? out : "";
}

START_TEST(control_parse)
{
    ck_assert_str_eq(roundtrip("private, max-age=0"), "private, max-age=0");
    ck_assert_str_eq(roundtrip("Private,MAX-AGE=60"), "private, max-age=60");
    /* the first of two counts (RFC 9111 4.2.1) */
    ck_assert_str_eq(roundtrip("max-age=10, max-age=20"), "max-age=10");
    ck_assert_str_eq(roundtrip("max-age=10, Max-Age=20, public"),
                     "max-age=10, public");
    /* commas inside quoted strings */
    ck_assert_str_eq(roundtrip("no-cache=\"Set-Cookie, X-Foo\", max-age=5"),
                     "no-cache=\"Set-Cookie, X-Foo\", max-age=5");
    ck_assert_str_eq(roundtrip("x=\"a\\\"b, c\", y"), "x=\"a\\\"b, c\", y");
    /* unknown directives are kept as they are */
    ck_assert_str_eq(roundtrip("community=\"UCI\", foo, bar=baz"),
                     "community=\"UCI\", foo, bar=baz");
    ck_assert_str_eq(roundtrip(" , ,max-age=1,,  "), "max-age=1");
    ck_assert_str_eq(roundtrip("max-age=5 junk"), "max-age=5 junk");
    ck_assert_str_eq(roundtrip(""), "");
    ck_assert_str_eq(roundtrip(NULL), "");
    ck_assert_str_eq(roundtrip("=5, public"), "public");
    /* a member whose quote is never closed, or who has one outside a
     * quoted string, is dropped: composed before the policy's directives
     * it would swallow them (found by fuzz/fuzz_control.c)
     */
    ck_assert_str_eq(roundtrip("community=\"UCI"), "");
    ck_assert_str_eq(roundtrip("public, community=\"UCI"), "public");
    ck_assert_str_eq(roundtrip("a=\"x\\"), "");
    ck_assert_str_eq(roundtrip("a=\"x\\\", private"), "");
    ck_assert_str_eq(roundtrip("a=b\"c, private"), "private");
    ck_assert_str_eq(roundtrip("a=\"b\"c\"d, private"), "private");
    ck_assert_str_eq(roundtrip("a=\"b\" \"c\", private"), "private");
    /* ... but one that restricts the response stays, unqualified: the
     * stricter reading
     */
    ck_assert_str_eq(roundtrip("private=\"Set-Cookie, max-age=60"),
                     "private");
    ck_assert_str_eq(roundtrip("public, No-Cache=\"X"), "public, no-cache");
    ck_assert_str_eq(roundtrip("no-store=x\"y, max-age=5"),
                     "no-store, max-age=5");
    ck_assert_str_eq(roundtrip("no-cache=a\"b, private=\"c"),
                     "no-cache, private");
}
END_TEST

/* A handler may send thousands of members: each name still once, the
 * first wins, in order, and the composed value is the members as sent
 * (the duplicate check and the composition are linear: quadratic ones
 * took 15 s and 6 GB for 40,000 members from a CGI)
 */
START_TEST(control_many)
{
    enum { N = 50000 };
    apr_array_header_t *sent = apr_array_make(pool, N, sizeof(char *));
    apr_array_header_t *composed = apr_array_make(pool, N, sizeof(char *));
    apr_array_header_t *list;
    const char *value;
    int i;

    for (i = 0; i < N; i++) {
        APR_ARRAY_PUSH(sent, char *) = apr_psprintf(pool, "d%d=%d", i, i);
        APR_ARRAY_PUSH(composed, char *) =
            apr_psprintf(pool, "%sd%d=%d", i ? ", " : "", i, i);
    }
    /* later duplicates, in other cases, of a member the scan sees and of
     * members the hash sees
     */
    value = apr_pstrcat(pool, apr_array_pstrcat(pool, sent, ','),
                        ", D3=late, d40000=late,D49999", NULL);
    list = cc_control_parse(pool, value);
    ck_assert_int_eq(list->nelts, N);
    for (i = 0; i < N; i += 997) {
        const cc_directive *d = &APR_ARRAY_IDX(list, i, cc_directive);

        ck_assert_str_eq(d->name, apr_psprintf(pool, "d%d", i));
        ck_assert_str_eq(d->value, apr_psprintf(pool, "%d", i));
    }
    ck_assert_str_eq(cc_control_find(list, "d3")->value, "3");
    ck_assert_str_eq(cc_control_find(list, "d40000")->value, "40000");
    ck_assert_str_eq(cc_control_find(list, "d49999")->value, "49999");
    ck_assert_str_eq(cc_control_compose(pool, list),
                     apr_array_pstrcat(pool, composed, 0));
}
END_TEST

static const struct {
    const char *word;
    const char *want;     /* NULL: refused */
} policy_words[] = {
    { "public",                      "public" },
    { "private",                     "private" },
    { "no-cache",                    "no-cache" },
    { "no-store",                    "no-store" },
    { "must-revalidate",             "must-revalidate" },
    { "proxy-revalidate",            "proxy-revalidate" },
    { "no-transform",                "no-transform" },
    { "immutable",                   "immutable" },
    { "Immutable",                   "immutable" },
    { "s-maxage=600",                "s-maxage=600" },
    { "S-MaxAge=600",                "s-maxage=600" },
    { "stale-while-revalidate=30",   "stale-while-revalidate=30" },
    { "stale-if-error=86400",        "stale-if-error=86400" },
    { "s-maxage=007",                "s-maxage=7" },
    { "s-maxage=99999999999",        "s-maxage=2147483647" },
    { "max-age=60",                  NULL },
    { "s-maxage",                    NULL },
    { "s-maxage=",                   NULL },
    { "s-maxage=-1",                 NULL },
    { "s-maxage=1h",                 NULL },
    { "public=1",                    NULL },
    { "pubic",                       NULL },
    { "",                            NULL },
};

START_TEST(control_policy)
{
    cc_directive d;
    const char *err = cc_control_policy_parse(pool, policy_words[_i].word,
                                              &d);
    apr_array_header_t *one;

    if (!policy_words[_i].want) {
        ck_assert_msg(err != NULL, "accepted '%s'", policy_words[_i].word);
        return;
    }
    ck_assert_msg(err == NULL, "'%s': %s", policy_words[_i].word, err);
    one = apr_array_make(pool, 1, sizeof(cc_directive));
    APR_ARRAY_PUSH(one, cc_directive) = d;
    ck_assert_str_eq(cc_control_compose(pool, one), policy_words[_i].want);
}
END_TEST

static apr_array_header_t *policy_of(const char *words)
{
    apr_array_header_t *list = apr_array_make(pool, 4, sizeof(cc_directive));
    char *copy = apr_pstrdup(pool, words), *last;
    const char *w;

    for (w = apr_strtok(copy, " ", &last); w;
         w = apr_strtok(NULL, " ", &last)) {
        cc_directive d;

        ck_assert(cc_control_policy_parse(pool, w, &d) == NULL);
        APR_ARRAY_PUSH(list, cc_directive) = d;
    }
    return list;
}

/* the policy's max-age comes first, as the module composes it */
static const struct {
    const char *handler;     /* NULL: none sent */
    const char *policy;      /* policy words, max-age first */
    cc_merge_mode mode;
    const char *want;
} merges[] = {
    /* docs/conformance.md 6.13: the application's private, max-age=0 */
    { "private, max-age=0", "max-age=3600 public", CC_MERGE_MERGE,
      "private, max-age=0" },
    { "private, max-age=0", "max-age=3600 public", CC_MERGE_KEEP,
      "private, max-age=0" },
    { "private, max-age=0", "max-age=3600 public", CC_MERGE_REPLACE,
      "max-age=3600, public" },
    /* merge adds what the handler did not say */
    { "no-transform", "max-age=60 public", CC_MERGE_MERGE,
      "no-transform, max-age=60, public" },
    /* a handler that restricts storing gets no lifetime nor public from
     * the policy (docs/conformance.md 5.6; the PHP session page, 6.21)
     */
    { "private", "max-age=60", CC_MERGE_MERGE, "private" },
    { "no-store, no-cache, must-revalidate", "max-age=60 public s-maxage=5",
      CC_MERGE_MERGE, "no-store, no-cache, must-revalidate" },
    { "no-cache", "max-age=60 no-transform", CC_MERGE_MERGE,
      "no-cache, no-transform" },
    /* nor what would serve it past a lifetime (RFC 5861), nor immutable,
     * which is about a lifetime (RFC 8246): PHP's session page under a
     * by-type rule; directives that only restrict more are still added
     */
    { "no-store, no-cache, must-revalidate",
      "max-age=3600 public s-maxage=300 stale-while-revalidate=30",
      CC_MERGE_MERGE, "no-store, no-cache, must-revalidate" },
    { "private", "max-age=60 stale-if-error=600 immutable no-transform",
      CC_MERGE_MERGE, "private, no-transform" },
    { "no-cache", "max-age=60 stale-while-revalidate=5 proxy-revalidate",
      CC_MERGE_MERGE, "no-cache, proxy-revalidate" },
    { "no-store", "max-age=60 private must-revalidate", CC_MERGE_MERGE,
      "no-store, private, must-revalidate" },
    /* the handler's own are its own, whatever they say */
    { "private, stale-while-revalidate=5", "max-age=60 stale-if-error=9",
      CC_MERGE_MERGE, "private, stale-while-revalidate=5" },
    /* a handler that does not restrict still gets them */
    { "must-revalidate", "max-age=60 stale-while-revalidate=30 immutable",
      CC_MERGE_MERGE,
      "must-revalidate, max-age=60, stale-while-revalidate=30, immutable" },
    /* Replace puts the policy's in place of the handler's, and Keep
     * leaves the handler's, as the README says
     */
    { "no-store, no-cache, must-revalidate",
      "max-age=3600 public s-maxage=300 stale-while-revalidate=30",
      CC_MERGE_REPLACE,
      "max-age=3600, public, s-maxage=300, stale-while-revalidate=30" },
    { "no-store, no-cache, must-revalidate",
      "max-age=3600 public s-maxage=300 stale-while-revalidate=30",
      CC_MERGE_KEEP, "no-store, no-cache, must-revalidate" },
    { "no-store", "max-age=60 public", CC_MERGE_REPLACE,
      "max-age=60, public" },
    /* a qualified no-cache or private is about one field, not the response */
    { "no-cache=\"Set-Cookie\"", "max-age=60 public", CC_MERGE_MERGE,
      "no-cache=\"Set-Cookie\", max-age=60, public" },
    { "private=\"X-User\"", "max-age=60", CC_MERGE_MERGE,
      "private=\"X-User\", max-age=60" },
    { "public", "max-age=60 private", CC_MERGE_MERGE,
      "max-age=60, private" },
    { "foo=\"a, b\"", "max-age=60", CC_MERGE_MERGE,
      "foo=\"a, b\", max-age=60" },
    { "max-age=5, max-age=7", "max-age=60", CC_MERGE_MERGE, "max-age=5" },
    /* nothing from the handler: the policy, in every mode */
    { NULL, "max-age=60 immutable", CC_MERGE_MERGE, "max-age=60, immutable" },
    { NULL, "max-age=60 immutable", CC_MERGE_KEEP, "max-age=60, immutable" },
    { "", "max-age=60", CC_MERGE_REPLACE, "max-age=60" },
    { " , ", "max-age=60", CC_MERGE_KEEP, "max-age=60" },
    { "no-store", "max-age=60", CC_MERGE_KEEP, "no-store" },
};

START_TEST(merge)
{
    apr_array_header_t *handler = merges[_i].handler
        ? cc_control_parse(pool, merges[_i].handler) : NULL;
    apr_array_header_t *policy = apr_array_make(pool, 4, sizeof(cc_directive));
    apr_array_header_t *out;
    char *words = apr_pstrdup(pool, merges[_i].policy);
    const char *composed;
    int i, max_ages = 0;

    /* "max-age=N" is not a policy word: the module adds it itself */
    if (!strncmp(words, "max-age=", 8)) {
        cc_directive d;
        char *sp = strchr(words, ' ');

        if (sp) {
            *sp = '\0';
        }
        d.name = "max-age";
        d.value = words + 8;
        APR_ARRAY_PUSH(policy, cc_directive) = d;
        words = sp ? sp + 1 : (char *)"";
    }
    if (*words) {
        apr_array_cat(policy, policy_of(words));
    }
    out = cc_control_merge(pool, handler, policy, merges[_i].mode);
    composed = cc_control_compose(pool, out);
    ck_assert_msg(composed && !strcmp(composed, merges[_i].want),
                  "case %d: '%s', want '%s'", _i, composed, merges[_i].want);
    for (i = 0; i < out->nelts; i++) {
        max_ages += !strcmp(APR_ARRAY_IDX(out, i, cc_directive).name,
                            "max-age");
    }
    ck_assert_int_le(max_ages, 1);
}
END_TEST

static cc_typemap *map_of(const char *const *rules)
{
    cc_typemap *map = apr_palloc(pool, sizeof(*map));

    cc_typemap_init(map, pool);
    for (; *rules; rules += 2) {
        if (!strcmp(rules[0], "default")) {
            map->dflt = rules[1];
        }
        else {
            ck_assert(cc_typemap_set(map, pool, rules[0], rules[1]) == NULL);
        }
    }
    return map;
}

START_TEST(typemap)
{
    static const char *const rules[] = {
        "text/css", "css", "image/*", "images", "IMAGE/PNG", "png",
        "default", "dflt", NULL
    };
    cc_typemap *map = map_of(rules);
    cc_typemap empty;

    ck_assert_str_eq(cc_typemap_lookup(map, "text/css"), "css");
    ck_assert_str_eq(cc_typemap_lookup(map, "Text/CSS; charset=utf-8"), "css");
    ck_assert_str_eq(cc_typemap_lookup(map, "image/png"), "png");
    ck_assert_str_eq(cc_typemap_lookup(map, "image/gif"), "images");
    ck_assert_str_eq(cc_typemap_lookup(map, "text/html"), "dflt");
    ck_assert_str_eq(cc_typemap_lookup(map, NULL), "dflt");
    ck_assert_str_eq(cc_typemap_lookup(map, ""), "dflt");
    ck_assert(!cc_typemap_empty(map));
    /* the rule set for exactly that pattern, without falling back */
    ck_assert_str_eq(cc_typemap_get(map, "image/*"), "images");
    ck_assert_str_eq(cc_typemap_get(map, "TEXT/css"), "css");
    ck_assert_ptr_null(cc_typemap_get(map, "image/gif"));
    ck_assert_ptr_null(cc_typemap_get(map, "text/*"));

    cc_typemap_init(&empty, pool);
    ck_assert(cc_typemap_empty(&empty));
    ck_assert_ptr_null(cc_typemap_lookup(&empty, "text/css"));
    ck_assert(cc_typemap_set(&empty, pool, "text", "x") != NULL);
    ck_assert(cc_typemap_set(&empty, pool, "/css", "x") != NULL);
    ck_assert(cc_typemap_set(&empty, pool, "text/", "x") != NULL);
    ck_assert(cc_typemap_set(&empty, pool, "*/*", "x") != NULL);
    ck_assert(cc_typemap_set(&empty, pool, "te xt/css", "x") != NULL);
    ck_assert(cc_typemap_set(&empty, pool, "text/c*ss", "x") != NULL);
    ck_assert(cc_typemap_empty(&empty));
}
END_TEST

/* Precedence, as mod_expires resolves it (docs/conformance.md 5.7 and
 * 6.17): the exact type from the innermost scope that names it,
 * then the major type's wildcard from the innermost scope that names it,
 * then the innermost default; a child's rules overlay its parent's, they
 * do not hide them.
 */
START_TEST(precedence)
{
    static const char *const server[] = {
        "image/*", "server-images", "text/css", "server-css",
        "default", "server-default", NULL
    };
    static const char *const child_adds_type[] = {
        "text/html", "child-html", "image/png", "child-png", NULL
    };
    static const char *const htaccess_default[] = {
        "default", "htaccess-default", "text/*", "htaccess-text", NULL
    };
    cc_typemap_chain s, c, h;

    ck_assert_ptr_null(cc_typemap_resolve(NULL, "image/png"));
    s.map = map_of(server);
    s.outer = NULL;
    c.map = map_of(child_adds_type);
    c.outer = &s;
    h.map = map_of(htaccess_default);
    h.outer = &c;
    /* the child set two types and keeps the parent's rules for others */
    ck_assert_str_eq(cc_typemap_resolve(&c, "image/png"), "child-png");
    ck_assert_str_eq(cc_typemap_resolve(&c, "image/gif"), "server-images");
    ck_assert_str_eq(cc_typemap_resolve(&c, "text/html"), "child-html");
    ck_assert_str_eq(cc_typemap_resolve(&c, "text/css"), "server-css");
    ck_assert_str_eq(cc_typemap_resolve(&c, "application/json"),
                     "server-default");
    /* a default in a deeper scope never beats a rule for the type, exact
     * or wildcard, of any enclosing scope; a deeper wildcard loses to an
     * enclosing exact type
     */
    ck_assert_str_eq(cc_typemap_resolve(&h, "image/gif"), "server-images");
    ck_assert_str_eq(cc_typemap_resolve(&h, "text/css"), "server-css");
    ck_assert_str_eq(cc_typemap_resolve(&h, "text/plain"), "htaccess-text");
    ck_assert_str_eq(cc_typemap_resolve(&h, "application/json"),
                     "htaccess-default");
    ck_assert_str_eq(cc_typemap_resolve(&h, NULL), "htaccess-default");
    /* parameters and case do not count; a type too long for the key is
     * no type at all
     */
    ck_assert_str_eq(cc_typemap_resolve(&h, "Text/CSS; charset=utf-8"),
                     "server-css");
    {
        char *longtype = apr_pcalloc(pool, 400);

        memset(longtype, 'a', 300);
        memcpy(longtype, "text/css", 8);
        ck_assert_str_eq(cc_typemap_resolve(&h, longtype),
                         "htaccess-default");
    }
}
END_TEST

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, lifetime, 0, CC_NELTS(lifetimes));
    tcase_add_test(tc, max_age);
    tcase_add_test(tc, control_parse);
    tcase_add_test(tc, control_many);
    tcase_add_loop_test(tc, control_policy, 0, CC_NELTS(policy_words));
    tcase_add_loop_test(tc, merge, 0, CC_NELTS(merges));
    tcase_add_test(tc, typemap);
    tcase_add_test(tc, precedence);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cc_test_main(policy_suite());
}
