/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * test_store.c: the validator store's entries (encoding, and what a
 * foreign, truncated or corrupt value gives), its keys, the selection of
 * a representation by Vary, and the request's own directives
 * (docs/conformance.md 7).
 */

#include <string.h>

#include <apr_strings.h>

#include "cc_test.h"

static apr_pool_t *pool;

static void setup(void)
{
    apr_pool_create(&pool, NULL);
}

static void teardown(void)
{
    apr_pool_destroy(pool);
}

static void sample(cc_store_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->kind = CC_STORE_ENTRY;
    e->flags = CC_STORE_MUST_REVALIDATE;
    e->stored = 1764849600;
    e->expires = 1764849600 + 600;
    e->last_modified = 1764840000;
    e->length = 5120;
    e->nonce = APR_UINT64_C(0x0123456789abcdef);
    e->key = "condcache1:00112233445566778899aabbccddeeff";
    e->etag = "\"d-0123456789abcdef0123456789abcdef\"";
    e->cache_control = "private, max-age=0";
    e->vary = "Accept-Encoding";
    e->content_type = "text/html; charset=utf-8";
}

START_TEST(round_trip)
{
    unsigned char buf[CC_STORE_MAX];
    cc_store_entry e, d;
    apr_size_t len;

    sample(&e);
    len = cc_store_encode(&e, buf, sizeof(buf));
    ck_assert_uint_gt(len, 0);
    ck_assert_ptr_null(cc_store_decode(pool, buf, len, &d));
    ck_assert_int_eq(d.kind, CC_STORE_ENTRY);
    ck_assert_uint_eq(d.flags, CC_STORE_MUST_REVALIDATE);
    ck_assert(d.stored == e.stored && d.expires == e.expires);
    ck_assert(d.last_modified == e.last_modified);
    ck_assert(d.length == e.length && d.nonce == e.nonce);
    ck_assert_str_eq(d.key, e.key);
    ck_assert_str_eq(d.etag, e.etag);
    ck_assert_str_eq(d.cache_control, e.cache_control);
    ck_assert_str_eq(d.vary, e.vary);
    ck_assert_str_eq(d.content_type, e.content_type);
    /* absent fields come back absent */
    ck_assert_ptr_null(d.expires_field);
    ck_assert_ptr_null(d.content_location);
}
END_TEST

START_TEST(no_last_modified)
{
    unsigned char buf[CC_STORE_MAX];
    cc_store_entry e, d;
    apr_size_t len;

    sample(&e);
    e.last_modified = -1;
    len = cc_store_encode(&e, buf, sizeof(buf));
    ck_assert_ptr_null(cc_store_decode(pool, buf, len, &d));
    ck_assert(d.last_modified == -1);
}
END_TEST

/* every prefix of a valid entry is a miss, never an entry */
START_TEST(truncated)
{
    unsigned char buf[CC_STORE_MAX];
    cc_store_entry e, d;
    apr_size_t len, cut;

    sample(&e);
    len = cc_store_encode(&e, buf, sizeof(buf));
    for (cut = 0; cut < len; cut++) {
        ck_assert_ptr_nonnull(cc_store_decode(pool, buf, cut, &d));
    }
    /* and a byte more is not one either */
    buf[len] = 'x';
    ck_assert_ptr_nonnull(cc_store_decode(pool, buf, len + 1, &d));
}
END_TEST

/* any single byte changed anywhere: a miss */
START_TEST(corrupt)
{
    unsigned char buf[CC_STORE_MAX];
    cc_store_entry e, d;
    apr_size_t len, i;

    sample(&e);
    len = cc_store_encode(&e, buf, sizeof(buf));
    for (i = 0; i < len; i++) {
        buf[i] ^= 0x20;
        ck_assert_ptr_nonnull(cc_store_decode(pool, buf, len, &d));
        buf[i] ^= 0x20;
    }
    ck_assert_ptr_null(cc_store_decode(pool, buf, len, &d));
}
END_TEST

START_TEST(other_version)
{
    unsigned char buf[CC_STORE_MAX];
    cc_store_entry e, d;
    apr_size_t len;

    sample(&e);
    len = cc_store_encode(&e, buf, sizeof(buf));
    buf[3] = CC_STORE_VERSION + 1;
    ck_assert_str_eq(cc_store_decode(pool, buf, len, &d), "another version");
}
END_TEST

/* what another program left under the key: text, a mod_ssl session, an
 * empty value
 */
START_TEST(garbage)
{
    static const char *const values[] = {
        "", "C", "CCv", "hello world", "\"abc\"",
        "CCv\x01\x01 this is not an entry at all, but long enough to look "
        "like one to a reader that trusts lengths"
    };
    cc_store_entry d;
    apr_size_t i;
    unsigned char big[CC_STORE_MAX];

    for (i = 0; i < CC_NELTS(values); i++) {
        ck_assert_ptr_nonnull(cc_store_decode(
            pool, (const unsigned char *)values[i], strlen(values[i]), &d));
    }
    memset(big, 0xff, sizeof(big));
    memcpy(big, "CCv\x01\x01", 5);
    ck_assert_ptr_nonnull(cc_store_decode(pool, big, sizeof(big), &d));
}
END_TEST

/* a field that would break the 304's header is never stored */
START_TEST(unsafe_field)
{
    unsigned char buf[CC_STORE_MAX];
    cc_store_entry e;

    sample(&e);
    e.cache_control = "max-age=60\r\nSet-Cookie: x=1";
    ck_assert_uint_eq(cc_store_encode(&e, buf, sizeof(buf)), 0);
    sample(&e);
    ck_assert_uint_eq(cc_store_encode(&e, buf, 40), 0);
}
END_TEST

/* flags this version does not know: no entry it can read */
START_TEST(unknown_flags)
{
    unsigned char buf[CC_STORE_MAX];
    cc_store_entry e, d;
    apr_size_t len;

    sample(&e);
    e.flags = 0x80;
    ck_assert_uint_eq(cc_store_encode(&e, buf, sizeof(buf)), 0);
    e.flags = CC_STORE_INVALIDATED;
    len = cc_store_encode(&e, buf, sizeof(buf));
    ck_assert_ptr_null(cc_store_decode(pool, buf, len, &d));
    ck_assert_uint_eq(d.flags, CC_STORE_INVALIDATED);
}
END_TEST

START_TEST(too_large)
{
    unsigned char buf[CC_STORE_MAX];
    cc_store_entry e;
    char *big = apr_palloc(pool, CC_STORE_MAX);

    memset(big, 'a', CC_STORE_MAX - 1);
    big[CC_STORE_MAX - 1] = '\0';
    sample(&e);
    e.cache_control = big;
    ck_assert_uint_eq(cc_store_encode(&e, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(keys)
{
    char a[CC_STORE_KEY_LEN], b[CC_STORE_KEY_LEN];
    const char *p1[] = { "http", "www.example.com", "80", "/a", "x=1", NULL };
    const char *p2[] = { "http", "www.example.com", "80", "/a", "x=1", "" };
    const char *p3[] = { "http", "www.example.com", "80", "/ax", "=1", NULL };
    const char *p4[] = { "https", "www.example.com", "80", "/a", "x=1", NULL };
    const char *p5[] = { "http", "www.example.com", "80", "/a", "x=1", "bob" };
    const char *p6[] = { "http", "www.example.com", "80", "/a", "x=1", "eve" };

    cc_store_key(pool, a, p1, 6);
    ck_assert_uint_eq(strlen(a), CC_STORE_KEY_LEN - 1);
    ck_assert(!strncmp(a, CC_STORE_KEY_PREFIX, strlen(CC_STORE_KEY_PREFIX)));
    ck_assert_uint_eq(strspn(a + strlen(CC_STORE_KEY_PREFIX),
                             "0123456789abcdef"), 32);
    /* the same parts, the same key (every server of a farm) */
    cc_store_key(pool, b, p1, 6);
    ck_assert_str_eq(a, b);
    /* no user and an empty one are two keys; so are moved boundaries */
    cc_store_key(pool, b, p2, 6);
    ck_assert_str_ne(a, b);
    cc_store_key(pool, b, p3, 6);
    ck_assert_str_ne(a, b);
    cc_store_key(pool, b, p4, 6);
    ck_assert_str_ne(a, b);
    cc_store_key(pool, a, p5, 6);
    cc_store_key(pool, b, p6, 6);
    ck_assert_str_ne(a, b);
    /* a known value: the key must not change between releases unless
     * CC_STORE_KEY_PREFIX does
     */
    cc_store_key(pool, a, p1, 6);
    cc_store_key(pool, b, p1, 5);
    ck_assert_str_ne(a, b);
}
END_TEST

static const struct {
    const char *ae;
    const char *coding;
} codings[] = {
    { NULL,                       "identity" },
    { "",                         "identity" },
    { "identity",                 "identity" },
    { "gzip",                     "gzip" },
    { "GZIP",                     "gzip" },
    { "gzip, deflate",            "gzip" },
    { "deflate, gzip;q=0.5",      "gzip" },
    { "gzip;q=0",                 "gzip" },     /* mod_deflate's reading */
    { "x-gzip",                   "identity" },
    { "gzipx",                    "identity" },
    { "br",                       "br" },
    { "gzip, deflate, br, zstd",  "br,gzip" },
    { " br ; q=1 ,gzip",          "br,gzip" },
    { "brotli",                   "identity" },
    { "*",                        "identity" },
};

START_TEST(coding)
{
    ck_assert_str_eq(cc_store_coding(codings[_i].ae), codings[_i].coding);
}
END_TEST

START_TEST(vary_names)
{
    ck_assert_str_eq(cc_store_vary_names(pool, "Accept-Encoding"),
                     "accept-encoding");
    ck_assert_str_eq(cc_store_vary_names(pool, " Accept-Encoding ,Cookie,, "),
                     "accept-encoding,cookie");
    ck_assert_str_eq(cc_store_vary_names(pool, ""), "");
    ck_assert_str_eq(cc_store_vary_names(pool, NULL), "");
    ck_assert_ptr_null(cc_store_vary_names(pool, "*"));
    ck_assert_ptr_null(cc_store_vary_names(pool, "Cookie, *"));
    ck_assert_ptr_null(cc_store_vary_names(pool, "Cookie Accept"));
    ck_assert_ptr_null(cc_store_vary_names(pool, "Coo\"kie"));
}
END_TEST

START_TEST(selecting)
{
    apr_table_t *a = apr_table_make(pool, 4), *b = apr_table_make(pool, 4);
    const char *names = "accept-encoding,accept-language";

    apr_table_set(a, "Accept-Encoding", "gzip, deflate, br");
    apr_table_set(a, "Accept-Language", "en,  fr");
    apr_table_set(b, "Accept-Encoding", "br;q=1, gzip;q=0.8");
    apr_table_set(b, "Accept-Language", " en ,fr ");
    /* normalized: the same coding, the same list */
    ck_assert_str_eq(cc_store_selecting(pool, names, a),
                     cc_store_selecting(pool, names, b));
    ck_assert_str_eq(cc_store_selecting(pool, names, a),
                     "accept-encoding=br,gzip\naccept-language=en,fr");
    /* another coding, another representation */
    apr_table_set(b, "Accept-Encoding", "gzip");
    ck_assert_str_ne(cc_store_selecting(pool, names, a),
                     cc_store_selecting(pool, names, b));
    /* absent and empty differ */
    apr_table_unset(b, "Accept-Encoding");
    ck_assert_str_eq(cc_store_selecting(pool, names, b),
                     "accept-encoding-\naccept-language=en,fr");
    apr_table_set(b, "Accept-Encoding", "");
    ck_assert_str_eq(cc_store_selecting(pool, names, b),
                     "accept-encoding=identity\naccept-language=en,fr");
    /* several lines of one field are one list */
    apr_table_add(b, "Accept-Language", "de");
    ck_assert_str_eq(cc_store_selecting(pool, "accept-language", b),
                     "accept-language=en,fr,de");
    ck_assert_str_eq(cc_store_selecting(pool, "", b), "");
}
END_TEST

#define NONE (-1)
static const struct {
    const char *cc;
    const char *pragma;
    apr_int64_t age, lifetime;
    const char *why;          /* NULL: the entry answers */
    int no_store;
} requests[] = {
    { NULL, NULL,                         10, 600, NULL, 0 },
    { NULL, NULL,                        599, 600, NULL, 0 },
    { NULL, NULL,                        600, 600, "stale", 0 },
    { NULL, NULL,                       9999, 600, "stale", 0 },
    { NULL, NULL,                          0,   0, "stale", 0 },
    /* a reload: old browsers' Pragma, newer ones' max-age=0 (5.4, 5.2.1) */
    { NULL, "no-cache",                   10, 600, "no-cache", 0 },
    { "max-age=0", NULL,                  0, 600, "no-cache", 0 },
    { "no-cache", NULL,                   10, 600, "no-cache", 0 },
    { "No-Cache", NULL,                   10, 600, "no-cache", 0 },
    /* Pragma only where Cache-Control is absent */
    { "max-age=60", "no-cache",           10, 600, NULL, 0 },
    { NULL, "foo",                        10, 600, NULL, 0 },
    { "max-age=60", NULL,                 60, 600, NULL, 0 },
    { "max-age=60", NULL,                 61, 600, "max-age", 0 },
    { "max-age=abc", NULL,                 1, 600, "no-cache", 0 },
    { "max-age", NULL,                     1, 600, "no-cache", 0 },
    { "min-fresh=100", NULL,             500, 600, NULL, 0 },
    { "min-fresh=100", NULL,             501, 600, "min-fresh", 0 },
    { "min-fresh=x", NULL,                 1, 600, "min-fresh", 0 },
    /* max-stale lets an entry answer past its lifetime */
    { "max-stale=100", NULL,             700, 600, NULL, 0 },
    { "max-stale=100", NULL,             701, 600, "stale", 0 },
    { "max-stale", NULL,              999999, 600, NULL, 0 },
    { "max-stale=x", NULL,               601, 600, "stale", 0 },
    { "max-stale, max-age=10", NULL,      11, 600, "max-age", 0 },
    /* no-store: the entry may answer; the response is not stored */
    { "no-store", NULL,                   10, 600, NULL, 1 },
    { "max-age=60, no-store", NULL,       10, 600, NULL, 1 },
    { "only-if-cached", NULL,             10, 600, NULL, 0 },
    { "", NULL,                           10, 600, NULL, 0 },
    { ",,,", NULL,                        10, 600, NULL, 0 },
};

START_TEST(request)
{
    cc_store_request req;
    const char *why;

    cc_store_request_parse(pool, requests[_i].cc, requests[_i].pragma, &req);
    why = cc_store_usable(&req, requests[_i].age, requests[_i].lifetime);
    if (requests[_i].why) {
        ck_assert_msg(why && !strcmp(why, requests[_i].why),
                      "row %d: %s, expected %s", _i, why ? why : "usable",
                      requests[_i].why);
    }
    else {
        ck_assert_msg(!why, "row %d: %s", _i, why);
    }
    ck_assert_int_eq(req.no_store, requests[_i].no_store);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, no_last_modified);
    tcase_add_test(tc, truncated);
    tcase_add_test(tc, corrupt);
    tcase_add_test(tc, other_version);
    tcase_add_test(tc, garbage);
    tcase_add_test(tc, unsafe_field);
    tcase_add_test(tc, unknown_flags);
    tcase_add_test(tc, too_large);
    tcase_add_test(tc, keys);
    tcase_add_loop_test(tc, coding, 0, CC_NELTS(codings));
    tcase_add_test(tc, vary_names);
    tcase_add_test(tc, selecting);
    tcase_add_loop_test(tc, request, 0, CC_NELTS(requests));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cc_test_main(store_suite());
}
