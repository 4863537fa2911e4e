/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * Digests and the tags made from them: docs/conformance.md 1.1 (syntax,
 * no backslash), 1.3 and 1.4 (a digest is a strong tag).  The reference
 * values come from xxhsum -H2 (XXH3-128, canonical form).
 */

#include <stdio.h>
#include <string.h>

#include <apr_file_io.h>
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

static const char *hex(const unsigned char *d)
{
    char *out = apr_palloc(pool, 2 * CC_DIGEST_LEN + 1);
    int i;

    for (i = 0; i < CC_DIGEST_LEN; i++) {
        sprintf(out + 2 * i, "%02x", d[i]);
    }
    return out;
}

START_TEST(known_vectors)
{
    unsigned char d[CC_DIGEST_LEN];
    cc_digest_ctx *ctx = cc_digest_create(pool);

    cc_digest_final(ctx, d);
    ck_assert_str_eq(hex(d), "99aa06d3014798d86001c324468d497f");
    ctx = cc_digest_create(pool);
    cc_digest_update(ctx, "abc", 3);
    cc_digest_final(ctx, d);
    ck_assert_str_eq(hex(d), "06b05ab6733a618578af5f94892f3950");
}
END_TEST

/* however the body is cut into buckets, the digest is the same */
START_TEST(incremental)
{
    static unsigned char buf[100000];
    unsigned char whole[CC_DIGEST_LEN], parts[CC_DIGEST_LEN];
    cc_digest_ctx *ctx;
    apr_size_t i, step;

    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char)(i * 7 + i / 251);
    }
    ctx = cc_digest_create(pool);
    cc_digest_update(ctx, buf, sizeof(buf));
    cc_digest_final(ctx, whole);
    for (step = 1; step < sizeof(buf); step = step * 3 + 1) {
        ctx = cc_digest_create(pool);
        for (i = 0; i < sizeof(buf); i += step) {
            cc_digest_update(ctx, buf + i,
                             i + step > sizeof(buf) ? sizeof(buf) - i : step);
        }
        cc_digest_final(ctx, parts);
        ck_assert_msg(!memcmp(whole, parts, CC_DIGEST_LEN), "step %lu",
                      (unsigned long)step);
    }
}
END_TEST

START_TEST(file)
{
    char name[] = "/tmp/cc_digest_XXXXXX";
    unsigned char d[CC_DIGEST_LEN];
    apr_file_t *f;
    apr_size_t n = 3;

    ck_assert(apr_file_mktemp(&f, name, 0, pool) == APR_SUCCESS);
    ck_assert(apr_file_write(f, "abc", &n) == APR_SUCCESS);
    /* the file position is at its end: the digest reads from the start */
    ck_assert(cc_digest_file(f, pool, d) == APR_SUCCESS);
    ck_assert_str_eq(hex(d), "06b05ab6733a618578af5f94892f3950");
    apr_file_close(f);
    apr_file_remove(name, pool);
}
END_TEST

static void digest_of(const char *type, const char *coding, const char *body,
                      unsigned char out[CC_DIGEST_LEN])
{
    cc_digest_ctx *ctx = cc_digest_create(pool);

    cc_digest_field(ctx, type);
    cc_digest_field(ctx, coding);
    cc_digest_update(ctx, body, strlen(body));
    cc_digest_final(ctx, out);
}

/* docs/conformance.md 1.4: metadata is mixed in, and delimited */
START_TEST(metadata)
{
    unsigned char a[CC_DIGEST_LEN], b[CC_DIGEST_LEN];

    digest_of("text/plain", NULL, "body", a);
    digest_of("text/plain", "", "body", b);
    ck_assert(!memcmp(a, b, CC_DIGEST_LEN));         /* none is empty */
    digest_of("text/html", NULL, "body", b);
    ck_assert(memcmp(a, b, CC_DIGEST_LEN));          /* another type */
    digest_of("text/plain", "gzip", "body", b);
    ck_assert(memcmp(a, b, CC_DIGEST_LEN));          /* another coding */
    digest_of("text/plain", NULL, "body!", b);
    ck_assert(memcmp(a, b, CC_DIGEST_LEN));          /* other bytes */
    digest_of("ab", "", "c", a);
    digest_of("a", "b", "c", b);
    ck_assert(memcmp(a, b, CC_DIGEST_LEN));          /* fields delimited */
    /* the layout the Apache::Test suite reproduces with xxhsum: type NUL
     * coding NUL body; here "text/plain\0\0abc"
     */
    digest_of("text/plain", NULL, "abc", a);
    ck_assert_str_eq(hex(a), "b2f0639f514541fbb7b4e3f571512453");
}
END_TEST

static void check_syntax(const char *tag)
{
    cc_etag parsed;

    ck_assert_msg(cc_etag_parse_one(tag, &parsed), "bad tag %s", tag);
    ck_assert_msg(!strchr(tag + 1, '\\'), "backslash in %s", tag);
}

START_TEST(tags)
{
    static const unsigned char digest[CC_DIGEST_LEN] = {
        0x06, 0xb0, 0x5a, 0xb6, 0x73, 0x3a, 0x61, 0x85,
        0x78, 0xaf, 0x5f, 0x94, 0x89, 0x2f, 0x39, 0x50
    };
    cc_etag_fields f;
    const char *plain, *salted, *salted2;

    memset(&f, 0, sizeof(f));
    f.inode = 0x1234;
    f.size = 42;
    f.mtime = APR_INT64_C(0x5e3c0a1b2c3d4);
    f.digest = digest;

    ck_assert_ptr_null(cc_etag_make(pool, &f));          /* None */

    f.bits = CC_ETAG_MTIME | CC_ETAG_SIZE;
    plain = cc_etag_make(pool, &f);
    ck_assert_str_eq(plain, "\"2a-5e3c0a1b2c3d4\"");
    check_syntax(plain);

    f.bits = CC_ETAG_ALL;
    ck_assert_str_eq(cc_etag_make(pool, &f), "\"1234-2a-5e3c0a1b2c3d4\"");
    f.bits = CC_ETAG_SIZE;
    ck_assert_str_eq(cc_etag_make(pool, &f), "\"2a\"");

    /* a digest stands for the bytes: the other parts add nothing */
    f.bits = CC_ETAG_DIGEST | CC_ETAG_MTIME;
    ck_assert_str_eq(cc_etag_make(pool, &f),
                     "\"06b05ab6733a618578af5f94892f3950\"");

    f.weak = 1;
    f.bits = CC_ETAG_MTIME | CC_ETAG_SIZE;
    ck_assert_str_eq(cc_etag_make(pool, &f), "W/\"2a-5e3c0a1b2c3d4\"");
    check_syntax(cc_etag_make(pool, &f));
    f.weak = 0;

    /* the salt changes every tag, and a different salt differently */
    f.salt = "release-2026-11";
    salted = cc_etag_make(pool, &f);
    check_syntax(salted);
    ck_assert_str_ne(salted, plain);
    ck_assert(!strncmp(salted, "\"2a-5e3c0a1b2c3d4-", 18));
    f.salt = "release-2026-12";
    salted2 = cc_etag_make(pool, &f);
    ck_assert_str_ne(salted2, salted);
    f.salt = "\"quoted\\ salt\"";
    check_syntax(cc_etag_make(pool, &f));
    f.bits = CC_ETAG_DIGEST;
    check_syntax(cc_etag_make(pool, &f));
}
END_TEST

/* two negotiated variants of the same size and time never share a tag,
 * whether the tag is made of the file's metadata or of its bytes
 */
START_TEST(variants)
{
    static const unsigned char digest[CC_DIGEST_LEN] = { 0 };
    const unsigned int kinds[] = { CC_ETAG_MTIME | CC_ETAG_SIZE,
                                   CC_ETAG_DIGEST };
    cc_etag_fields f;
    apr_size_t i;

    memset(&f, 0, sizeof(f));
    f.size = 25;
    f.mtime = APR_INT64_C(0x60dd710212000);
    f.digest = digest;
    for (i = 0; i < CC_NELTS(kinds); i++) {
        const char *plain, *en, *fr, *salted_en;

        f.bits = kinds[i];
        f.salt = NULL;
        f.variant = NULL;
        plain = cc_etag_make(pool, &f);
        f.variant = "index.html.en";
        en = cc_etag_make(pool, &f);
        f.variant = "index.html.fr";
        fr = cc_etag_make(pool, &f);
        check_syntax(en);
        check_syntax(fr);
        ck_assert_str_ne(en, fr);
        ck_assert_str_ne(en, plain);
        /* the same variant gives the same tag, and the salt still counts */
        f.variant = "index.html.en";
        ck_assert_str_eq(cc_etag_make(pool, &f), en);
        f.salt = "release-9";
        salted_en = cc_etag_make(pool, &f);
        check_syntax(salted_en);
        ck_assert_str_ne(salted_en, en);
    }
}
END_TEST

static Suite *digest_suite(void)
{
    Suite *s = suite_create("digest");
    TCase *tc = tcase_create("digest");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, known_vectors);
    tcase_add_test(tc, incremental);
    tcase_add_test(tc, file);
    tcase_add_test(tc, metadata);
    tcase_add_test(tc, tags);
    tcase_add_test(tc, variants);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return cc_test_main(digest_suite());
}
