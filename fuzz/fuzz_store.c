/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * fuzz_store: the validator store's entries, Vary selection and the
 * client's directives, cc_store.c (docs/conformance.md 7).
 *
 * Input: a first byte that says what is fuzzed, then:
 *   0  bytes a provider handed back, decoded as an entry
 *   1  fields of an entry, split on '\n', encoded then decoded
 *   2  eight bytes of age, eight of lifetime, then the request's
 *      Cache-Control and Pragma, split on '\n'
 *   3  a Vary value, then request fields "name:value", split on '\n'
 *
 * Asserts:
 *   - whatever the bytes, decoding never reads past them; what decodes is
 *     an entry whose fields are fit for a header (no control character
 *     but tab), whose times are in order, and which encodes back to the
 *     very same bytes;
 *   - an entry that encodes decodes to the same fields, and no shorter
 *     prefix of its bytes, nor any single changed byte, decodes at all;
 *   - no-cache, max-age=0 and Pragma: no-cache alone always send the
 *     request to the handler; without directives an entry answers exactly
 *     while its age is below its lifetime;
 *   - Vary names are lowercase tokens joined by single commas, or none
 *     (for "*" or a malformed list), and selection never fails.
 */

#include "fuzz.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

static void check_decoded(const cc_store_entry *e, const uint8_t *data,
                          size_t size, apr_pool_t *p);
static const char *field_or_null(const char *s);
static int same(const char *a, const char *b);

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* an empty field is stored as none */
static const char *field_or_null(const char *s)
{
    return s && *s ? s : NULL;
}

static void check_decoded(const cc_store_entry *e, const uint8_t *data,
                          size_t size, apr_pool_t *p)
{
    const char *const fields[] = {
        e->key, e->etag, e->cache_control, e->expires_field, e->vary,
        e->content_location, e->content_type
    };
    unsigned char *again = apr_palloc(p, size + 1);
    size_t i;
    const char *s;

    CC_FUZZ_CHECK(e->kind == CC_STORE_ENTRY || e->kind == CC_STORE_VARY);
    CC_FUZZ_CHECK(!(e->flags & ~CC_STORE_FLAGS_KNOWN));
    CC_FUZZ_CHECK(e->stored >= 0 && e->expires >= e->stored);
    CC_FUZZ_CHECK(e->expires <= APR_INT64_C(1) << 40);
    CC_FUZZ_CHECK(e->last_modified >= -1
                  && e->last_modified <= APR_INT64_C(1) << 40);
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        for (s = fields[i]; s && *s; s++) {
            CC_FUZZ_CHECK((unsigned char)*s >= 0x20 || *s == '\t');
            CC_FUZZ_CHECK(*s != 0x7f);
        }
        CC_FUZZ_CHECK(!fields[i] || *fields[i]);
    }
    CC_FUZZ_CHECK(cc_store_encode(e, again, size + 1) == size);
    CC_FUZZ_CHECK(memcmp(again, data, size) == 0);
}

static void fuzz_decode(const uint8_t *data, size_t size, apr_pool_t *p)
{
    /* a block of its own size: ASan sees a read past it */
    uint8_t *copy = malloc(size ? size : 1);
    cc_store_entry e;

    memcpy(copy, data, size);
    if (!cc_store_decode(p, copy, size, &e)) {
        check_decoded(&e, copy, size, p);
    }
    free(copy);
}

static void fuzz_encode(const uint8_t *data, size_t size, apr_pool_t *p)
{
    cc_fuzz_pieces ps;
    cc_store_entry e, d;
    unsigned char buf[CC_STORE_MAX];
    apr_size_t len, cut;
    const apr_int64_t *t;
    apr_int64_t times[3] = { 0, 0, -1 };

    t = times;
    cc_fuzz_split(&ps, data, size, '\n', 8);
    memset(&e, 0, sizeof(e));
    e.kind = size && (data[0] & 1) ? CC_STORE_VARY : CC_STORE_ENTRY;
    if (ps.piece[7]) {
        times[0] = apr_atoi64(ps.piece[7]) % (APR_INT64_C(1) << 39);
        times[1] = times[0] + (apr_int64_t)strlen(ps.piece[7]);
        times[2] = times[0] - 1;
    }
    e.stored = t[0] < 0 ? 0 : t[0];
    e.expires = t[1] < e.stored || t[1] > APR_INT64_C(1) << 40 ? e.stored
                                                                 : t[1];
    e.last_modified = t[2] < -1 || t[2] > APR_INT64_C(1) << 40 ? -1 : t[2];
    e.flags = size && (data[0] & 2) ? CC_STORE_MUST_REVALIDATE : 0;
    e.length = size;
    e.nonce = (apr_uint64_t)size * 2654435761u;
    e.key = field_or_null(ps.piece[0]);
    e.etag = field_or_null(ps.piece[1]);
    e.cache_control = field_or_null(ps.piece[2]);
    e.expires_field = field_or_null(ps.piece[3]);
    e.vary = field_or_null(ps.piece[4]);
    e.content_location = field_or_null(ps.piece[5]);
    e.content_type = field_or_null(ps.piece[6]);
    len = cc_store_encode(&e, buf, sizeof(buf));
    if (len) {
        CC_FUZZ_CHECK(!cc_store_decode(p, buf, len, &d));
        CC_FUZZ_CHECK(d.kind == e.kind && d.flags == e.flags
                      && d.stored == e.stored
                      && d.expires == e.expires
                      && d.last_modified == e.last_modified
                      && d.length == e.length && d.nonce == e.nonce);
        CC_FUZZ_CHECK(same(d.key, e.key) && same(d.etag, e.etag)
                      && same(d.cache_control, e.cache_control)
                      && same(d.expires_field, e.expires_field)
                      && same(d.vary, e.vary)
                      && same(d.content_location, e.content_location)
                      && same(d.content_type, e.content_type));
        for (cut = 0; cut < len; cut += 1 + cut / 4) {
            CC_FUZZ_CHECK(cc_store_decode(p, buf, cut, &d) != NULL);
        }
        cut = size % len;
        buf[cut] ^= (unsigned char)(1 + size % 255);
        CC_FUZZ_CHECK(cc_store_decode(p, buf, len, &d) != NULL);
    }
    cc_fuzz_free(&ps);
}

static void fuzz_request(const uint8_t *data, size_t size, apr_pool_t *p)
{
    apr_int64_t age = cc_fuzz_int64(&data, &size);
    apr_int64_t lifetime = cc_fuzz_int64(&data, &size);
    cc_fuzz_pieces ps;
    cc_store_request req;
    const char *why;

    /* ages and lifetimes as the glue makes them: seconds, within ±2^40 */
    age %= APR_INT64_C(1) << 40;
    lifetime = (apr_int64_t)((apr_uint64_t)lifetime % CC_DELTA_MAX);
    cc_fuzz_split(&ps, data, size, '\n', 2);
    cc_store_request_parse(p, ps.piece[0], ps.n > 1 ? ps.piece[1] : NULL,
                           &req);
    why = cc_store_usable(&req, age, lifetime);
    if (req.no_cache || req.max_age == 0) {
        CC_FUZZ_CHECK(why && !strcmp(why, "no-cache"));
    }
    cc_store_request_parse(p, NULL, NULL, &req);
    CC_FUZZ_CHECK(!req.no_cache && !req.no_store && req.max_age == -1);
    why = cc_store_usable(&req, age, lifetime);
    CC_FUZZ_CHECK((why == NULL) == (age < lifetime));
    cc_fuzz_free(&ps);
}

static void fuzz_vary(const uint8_t *data, size_t size, apr_pool_t *p)
{
    cc_fuzz_pieces ps;
    apr_table_t *fields = apr_table_make(p, 8);
    const char *names, *s;
    int i;

    cc_fuzz_split(&ps, data, size, '\n', CC_FUZZ_MAX_PIECES);
    for (i = 1; i < ps.n; i++) {
        char *colon = strchr(ps.piece[i], ':');

        if (colon && colon != ps.piece[i]) {
            *colon = '\0';
            apr_table_add(fields, ps.piece[i], colon + 1);
        }
    }
    names = cc_store_vary_names(p, ps.piece[0]);
    if (names) {
        for (s = names; *s; s++) {
            CC_FUZZ_CHECK(*s == ',' || (!apr_isupper(*s) && *s > 0x20
                                        && *s < 0x7f));
            CC_FUZZ_CHECK(*s != ',' || (s != names && s[1] && s[1] != ','));
        }
        CC_FUZZ_CHECK(cc_store_selecting(p, names, fields) != NULL);
    }
    cc_fuzz_free(&ps);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p;

    if (!size) {
        return 0;
    }
    p = cc_fuzz_pool();
    switch (data[0] % 4) {
    case 0:
        fuzz_decode(data + 1, size - 1, p);
        break;
    case 1:
        fuzz_encode(data + 1, size - 1, p);
        break;
    case 2:
        fuzz_request(data + 1, size - 1, p);
        break;
    default:
        fuzz_vary(data + 1, size - 1, p);
        break;
    }
    apr_pool_destroy(p);
    return 0;
}
