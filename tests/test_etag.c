/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/* Entity-tag syntax, comparison and lists: docs/conformance.md 1.1, 1.2,
 * 3.
 */

#include <string.h>

#include "cc_test.h"

static const struct {
    const char *in;
    int ok;
    const char *opaque;
    int weak;
} parse_cases[] = {
    { "\"xyzzy\"",      1, "xyzzy", 0 },
    { "W/\"xyzzy\"",    1, "xyzzy", 1 },
    { "\"\"",           1, "",      0 },   /* empty tag is valid */
    { "W/\"\"",         1, "",      1 },
    { "  \"a\"  ",      1, "a",     0 },
    { "\"a\\b\"",       1, "a\\b",  0 },   /* backslash is an etagc */
    { "\"caf\xc3\xa9\"", 1, "caf\xc3\xa9", 0 }, /* obs-text */
    { "w/\"a\"",        0, NULL,    0 },   /* W/ is case-sensitive */
    { "W/a",            0, NULL,    0 },
    { "xyzzy",          0, NULL,    0 },   /* unquoted */
    { "\"a",            0, NULL,    0 },   /* unterminated */
    { "\"a b\"",        0, NULL,    0 },   /* SP is not an etagc */
    { "\"a\"b",         0, NULL,    0 },   /* trailing text */
    { "\"a\x7f\"",      0, NULL,    0 },   /* DEL */
    { "\"a\tb\"",       0, NULL,    0 },
    { "W/ \"a\"",       0, NULL,    0 },
    { "",               0, NULL,    0 },
    { "\"a\", \"b\"",   0, NULL,    0 },   /* a list is not one tag */
};

START_TEST(parse_one)
{
    cc_etag tag;
    int ok = cc_etag_parse_one(parse_cases[_i].in, &tag);

    ck_assert_msg(ok == parse_cases[_i].ok, "case %d: %s", _i,
                  parse_cases[_i].in);
    if (ok) {
        ck_assert_uint_eq(tag.len, strlen(parse_cases[_i].opaque));
        ck_assert(memcmp(tag.opaque, parse_cases[_i].opaque, tag.len) == 0);
        ck_assert_int_eq(tag.weak, parse_cases[_i].weak);
    }
}
END_TEST

/* docs/conformance.md 1.2, the table of RFC 9110 8.8.3.2 */
static const struct {
    const char *a, *b;
    int strong, weak;
} cmp_cases[] = {
    { "W/\"1\"", "W/\"1\"", 0, 1 },
    { "W/\"1\"", "W/\"2\"", 0, 0 },
    { "W/\"1\"", "\"1\"",   0, 1 },
    { "\"1\"",   "W/\"1\"", 0, 1 },
    { "\"1\"",   "\"1\"",   1, 1 },
    { "\"1\"",   "\"2\"",   0, 0 },
    { "\"\"",    "\"\"",    1, 1 },
    { "\"1\"",   "\"11\"",  0, 0 },
    { "\"a\"",   "\"A\"",   0, 0 },    /* opaque parts are case-sensitive */
};

START_TEST(compare)
{
    cc_etag a, b;

    ck_assert(cc_etag_parse_one(cmp_cases[_i].a, &a));
    ck_assert(cc_etag_parse_one(cmp_cases[_i].b, &b));
    ck_assert_msg(cc_etag_strong_eq(&a, &b) == cmp_cases[_i].strong,
                  "strong %s vs %s", cmp_cases[_i].a, cmp_cases[_i].b);
    ck_assert_msg(cc_etag_weak_eq(&a, &b) == cmp_cases[_i].weak,
                  "weak %s vs %s", cmp_cases[_i].a, cmp_cases[_i].b);
}
END_TEST

static const struct {
    const char *list;
    const char *current;    /* NULL: no current tag */
    int strong;
    cc_list_result want;
} list_cases[] = {
    { NULL,                      "\"a\"",   1, CC_LIST_ABSENT },
    /* a field that names no tag: present, and empty */
    { "",                        "\"a\"",   1, CC_LIST_EMPTY },
    { " , ,, ",                  "\"a\"",   0, CC_LIST_EMPTY },
    { ",",                       "\"a\"",   1, CC_LIST_EMPTY },
    { "*",                       "\"a\"",   1, CC_LIST_STAR },
    { " * ",                     NULL,      0, CC_LIST_STAR },
    { "\"a\"",                   "\"a\"",   1, CC_LIST_MATCH },
    { "\"b\", \"a\"",            "\"a\"",   1, CC_LIST_MATCH },
    /* the scan goes on past a weak member (docs/conformance.md 6.1) */
    { "W/\"a\", \"a\"",          "\"a\"",   1, CC_LIST_MATCH },
    { "W/\"a\"",                 "\"a\"",   1, CC_LIST_NOMATCH },
    { "W/\"a\"",                 "\"a\"",   0, CC_LIST_MATCH },
    { "\"a\"",                   "W/\"a\"", 1, CC_LIST_NOMATCH },
    { "\"a\"",                   "W/\"a\"", 0, CC_LIST_MATCH },
    { ",\"x\",,  \"a\" ,",       "\"a\"",   0, CC_LIST_MATCH },
    { "\"x\"\t,\t\"a\"",         "\"a\"",   0, CC_LIST_MATCH },
    { "\"x\", \"y\"",            "\"a\"",   0, CC_LIST_NOMATCH },
    { "\"a\"",                   NULL,      0, CC_LIST_NOMATCH },
    /* "*" mixed with tags is invalid and matches nothing */
    { "*, \"a\"",                "\"a\"",   1, CC_LIST_INVALID },
    { "\"a\", *",                "\"a\"",   0, CC_LIST_INVALID },
    { "*, *",                    "\"a\"",   0, CC_LIST_INVALID },
    /* malformed members */
    { "a",                       "\"a\"",   0, CC_LIST_INVALID },
    { "\"a\" \"b\"",             "\"a\"",   0, CC_LIST_INVALID },
    { "\"a\", b",                "\"a\"",   0, CC_LIST_INVALID },
    { "\"a",                     "\"a\"",   0, CC_LIST_INVALID },
    { "**",                      "\"a\"",   0, CC_LIST_INVALID },
};

START_TEST(list)
{
    cc_etag cur;
    const cc_etag *curp = NULL;

    if (list_cases[_i].current) {
        ck_assert(cc_etag_parse_one(list_cases[_i].current, &cur));
        curp = &cur;
    }
    ck_assert_msg(cc_etag_list_match(list_cases[_i].list, curp,
                                     list_cases[_i].strong)
                  == list_cases[_i].want, "case %d: %s", _i,
                  list_cases[_i].list ? list_cases[_i].list : "(null)");
}
END_TEST

/* A long list is scanned to its end without trouble. */
START_TEST(long_list)
{
    static char buf[64 * 1024];
    apr_size_t n = 0;
    cc_etag cur;

    while (n + 8 < sizeof(buf) - 8) {
        memcpy(buf + n, "\"zz\", ", 6);
        n += 6;
    }
    memcpy(buf + n, "\"a\"", 4);
    ck_assert(cc_etag_parse_one("\"a\"", &cur));
    ck_assert_int_eq(cc_etag_list_match(buf, &cur, 0), CC_LIST_MATCH);
    buf[n] = '\0';
    ck_assert_int_eq(cc_etag_list_match(buf, &cur, 0), CC_LIST_NOMATCH);
}
END_TEST

static Suite *etag_suite(void)
{
    Suite *s = suite_create("etag");
    TCase *tc = tcase_create("etag");

    tcase_add_loop_test(tc, parse_one, 0, CC_NELTS(parse_cases));
    tcase_add_loop_test(tc, compare, 0, CC_NELTS(cmp_cases));
    tcase_add_loop_test(tc, list, 0, CC_NELTS(list_cases));
    tcase_add_test(tc, long_list);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cc_test_main(etag_suite());
}
