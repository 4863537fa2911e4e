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
 * cc_store.c: the validator store's entries, keys and request directives
 * (docs/conformance.md 7).  An entry is a stored response without its
 * body; this file turns it into bytes and back, makes the keys it is
 * stored under, and says whether a request's Cache-Control lets it
 * answer.
 *
 * An entry as stored (integers big-endian):
 *
 *   "CCv" version(1) kind(1) flags(1)
 *   stored(8) expires(8) last_modified(8) length(8) nonce(8)
 *   CC_STORE_FIELDS times: length(2) bytes
 *   check(8): XXH3-64 of all of the above
 *
 * Whatever a provider hands back is checked before it is believed: a value
 * of another version, of another program, cut short or changed on the way
 * is no entry (a miss), never a crash or a wrong answer.
 */

#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include <xxhash.h>

#include "mod_condcache.h"

#define CC_STORE_MAGIC   "CCv"
#define CC_STORE_HEAD    (3 + 1 + 1 + 1 + 5 * 8)
#define CC_STORE_CHECK   8
#define CC_STORE_FIELDS  7
/* 2^40 seconds: some 34,000 years */
#define CC_STORE_TIME_MAX (APR_INT64_C(1) << 40)

static void cc_put64(unsigned char *p, apr_uint64_t v);
static apr_uint64_t cc_get64(const unsigned char *p);
static const char **cc_store_field(cc_store_entry *e, int i);
static int cc_store_field_ok(const unsigned char *s, apr_size_t len);

static void cc_put64(unsigned char *p, apr_uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static apr_uint64_t cc_get64(const unsigned char *p)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* the string fields, in their stored order */
static const char **cc_store_field(cc_store_entry *e, int i)
{
    switch (i) {
    case 0: return &e->key;
    case 1: return &e->etag;
    case 2: return &e->cache_control;
    case 3: return &e->expires_field;
    case 4: return &e->vary;
    case 5: return &e->content_location;
    default: return &e->content_type;
    }
}

/* A field value goes back on the wire as it is: visible characters,
 * spaces and tabs only (RFC 9110 5.5).  Every byte of every entry read
 * passes here: one table lookup and one OR a byte, one test a field.
 */
static int cc_store_field_ok(const unsigned char *s, apr_size_t len)
{
    static const unsigned char bad[256] = {
        1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1,     /* HTAB ok */
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        [0x7f] = 1
    };
    unsigned char any = 0;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        any |= bad[s[i]];
    }
    return !any;
}

apr_size_t cc_store_encode(const cc_store_entry *e, unsigned char *buf,
                           apr_size_t size)
{
    cc_store_entry copy = *e;
    unsigned char *p = buf;
    int i;

    if (size < CC_STORE_HEAD + CC_STORE_CHECK
        || (e->flags & ~CC_STORE_FLAGS_KNOWN)) {
        return 0;
    }
    memcpy(p, CC_STORE_MAGIC, 3);
    p[3] = CC_STORE_VERSION;
    p[4] = (unsigned char)e->kind;
    p[5] = (unsigned char)e->flags;
    cc_put64(p + 6, (apr_uint64_t)e->stored);
    cc_put64(p + 14, (apr_uint64_t)e->expires);
    cc_put64(p + 22, (apr_uint64_t)e->last_modified);
    cc_put64(p + 30, e->length);
    cc_put64(p + 38, e->nonce);
    p += CC_STORE_HEAD;
    for (i = 0; i < CC_STORE_FIELDS; i++) {
        const char *s = *cc_store_field(&copy, i);
        apr_size_t len = s ? strlen(s) : 0;

        if (len > 0xffff
            || (apr_size_t)(buf + size - p) < 2 + len + CC_STORE_CHECK
            || !cc_store_field_ok((const unsigned char *)s, len)) {
            return 0;
        }
        p[0] = (unsigned char)(len >> 8);
        p[1] = (unsigned char)(len & 0xff);
        if (len) {
            memcpy(p + 2, s, len);
        }
        p += 2 + len;
    }
    cc_put64(p, XXH3_64bits(buf, (apr_size_t)(p - buf)));
    return (apr_size_t)(p - buf) + CC_STORE_CHECK;
}

const char *cc_store_decode(apr_pool_t *p, const unsigned char *buf,
                            apr_size_t len, cc_store_entry *e)
{
    const unsigned char *s, *end;
    int i;

    memset(e, 0, sizeof(*e));
    if (len < CC_STORE_HEAD + CC_STORE_CHECK || memcmp(buf, CC_STORE_MAGIC, 3)) {
        return "not an entry";
    }
    if (buf[3] != CC_STORE_VERSION) {
        return "another version";
    }
    end = buf + len - CC_STORE_CHECK;
    if (cc_get64(end) != XXH3_64bits(buf, len - CC_STORE_CHECK)) {
        return "check failed";
    }
    if (buf[4] != CC_STORE_ENTRY && buf[4] != CC_STORE_VARY) {
        return "unknown kind";
    }
    if (buf[5] & ~CC_STORE_FLAGS_KNOWN) {
        return "unknown flags";
    }
    e->kind = (cc_store_kind)buf[4];
    e->flags = buf[5];
    e->stored = (apr_int64_t)cc_get64(buf + 6);
    e->expires = (apr_int64_t)cc_get64(buf + 14);
    e->last_modified = (apr_int64_t)cc_get64(buf + 22);
    e->length = cc_get64(buf + 30);
    e->nonce = cc_get64(buf + 38);
    /* times a server could have written: no arithmetic on them can
     * overflow
     */
    if (e->stored < 0 || e->stored > CC_STORE_TIME_MAX
        || e->expires < e->stored || e->expires > CC_STORE_TIME_MAX
        || e->last_modified < -1 || e->last_modified > CC_STORE_TIME_MAX) {
        return "bad times";
    }
    s = buf + CC_STORE_HEAD;
    for (i = 0; i < CC_STORE_FIELDS; i++) {
        apr_size_t flen;

        if (end - s < 2) {
            return "truncated";
        }
        flen = ((apr_size_t)s[0] << 8) | s[1];
        s += 2;
        if ((apr_size_t)(end - s) < flen) {
            return "truncated";
        }
        if (!cc_store_field_ok(s, flen)) {
            return "bad field";
        }
        *cc_store_field(e, i) = flen ? apr_pstrmemdup(p, (const char *)s, flen)
                                     : NULL;
        s += flen;
    }
    if (s != end) {
        return "trailing bytes";
    }
    return NULL;
}

/* "condcache1:" and the XXH3-128 of the parts, each with its length first
 * (so that "a" "bc" and "ab" "c" are two keys), in hex: a key every
 * provider takes (memcached's are at most 250 bytes, no spaces), the same
 * on every server of a farm, and no user name or cookie in clear
 */
void cc_store_key(apr_pool_t *p, char out[CC_STORE_KEY_LEN],
                  const char *const *parts, int n)
{
    static const char hex[] = "0123456789abcdef";
    apr_size_t total = 0, j;
    unsigned char *buf, *b;
    XXH128_canonical_t c;
    int i;

    for (i = 0; i < n; i++) {
        total += 9 + (parts[i] ? strlen(parts[i]) : 0);
    }
    b = buf = apr_palloc(p, total + 1);
    for (i = 0; i < n; i++) {
        apr_size_t len = parts[i] ? strlen(parts[i]) : 0;

        b[0] = parts[i] ? 1 : 0;
        cc_put64(b + 1, len);
        memcpy(b + 9, parts[i] ? parts[i] : "", len);
        b += 9 + len;
    }
    XXH128_canonicalFromHash(&c, XXH3_128bits(buf, total));
    memcpy(out, CC_STORE_KEY_PREFIX, sizeof(CC_STORE_KEY_PREFIX) - 1);
    out += sizeof(CC_STORE_KEY_PREFIX) - 1;
    for (j = 0; j < sizeof(c.digest); j++) {
        *out++ = hex[c.digest[j] >> 4];
        *out++ = hex[c.digest[j] & 0x0f];
    }
    *out = '\0';
}

/* Accept-Encoding as mod_deflate and mod_brotli read it: each looks for
 * its own token ("gzip", "br") and takes it whatever its q-value, so the
 * requests that get one representation are those naming the same of the
 * two.
 */
const char *cc_store_coding(const char *accept_encoding)
{
    const char *s = accept_encoding;
    int gzip = 0, br = 0;

    while (s && *s) {
        apr_size_t len;

        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        len = strcspn(s, ",; \t");
        if (len == 4 && !strncasecmp(s, "gzip", 4)) {
            gzip = 1;
        }
        else if (len == 2 && !strncasecmp(s, "br", 2)) {
            br = 1;
        }
        s += len;
        s += strcspn(s, ",");
    }
    return br && gzip ? "br,gzip" : br ? "br" : gzip ? "gzip" : "identity";
}

/* The field names of a Vary value, lowercase, one comma between them; NULL
 * for "*" (RFC 9111 4.1: it matches no request) or for a field name that is
 * not a token
 */
const char *cc_store_vary_names(apr_pool_t *p, const char *vary)
{
    char *out = apr_palloc(p, strlen(vary ? vary : "") + 1), *o = out;
    const char *s = vary ? vary : "";

    for (;;) {
        apr_size_t len;

        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        if (!*s) {
            break;
        }
        len = strcspn(s, ", \t");
        if (len == 1 && *s == '*') {
            return NULL;
        }
        if (o != out) {
            *o++ = ',';
        }
        while (len--) {
            if (!apr_isalnum(*s) && !strchr("!#$%&'*+-.^_`|~", *s)) {
                return NULL;
            }
            *o++ = (char)apr_tolower(*s++);
        }
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        if (*s && *s != ',') {
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

/* What selects a representation among those a Vary allows (RFC 9111 4.1):
 * for each name, the request's value ("-" where the field is absent,
 * "=value" else; several lines are one list) with no whitespace around
 * its commas and one space for any other run, Accept-Encoding as the
 * coding it gets.  names: from cc_store_vary_names().
 */
const char *cc_store_selecting(apr_pool_t *p, const char *names,
                               const apr_table_t *fields)
{
    apr_array_header_t *parts = apr_array_make(p, 4, sizeof(const char *));
    const char *s = names;

    while (s && *s) {
        apr_size_t len = strcspn(s, ",");
        const char *name = apr_pstrmemdup(p, s, len);
        const char *value = apr_table_getm(p, fields, name);
        char *norm, *o;
        const char *v;
        int space = 0;

        if (value && !strcmp(name, "accept-encoding")) {
            value = cc_store_coding(value);
        }
        o = norm = apr_palloc(p, value ? strlen(value) + 2 : 2);
        *o++ = value ? '=' : '-';
        for (v = value ? value : ""; *v; v++) {
            if (*v == ' ' || *v == '\t') {
                space = o != norm + 1 && o[-1] != ',';
                continue;
            }
            if (space && *v != ',') {
                *o++ = ' ';
            }
            space = 0;
            *o++ = *v;
        }
        *o = '\0';
        APR_ARRAY_PUSH(parts, const char *) = apr_pstrcat(p, name, norm, NULL);
        s += len;
        if (*s == ',') {
            s++;
        }
    }
    return apr_array_pstrcat(p, parts, '\n');
}

/* The request's own directives (RFC 9111 5.2.1, 5.4).  A malformed value
 * of max-age is read as 0, of min-fresh as a large one, of max-stale as
 * none: each the reading that sends the request to the handler.
 */
void cc_store_request_parse(apr_pool_t *p, const char *cache_control,
                            const char *pragma, cc_store_request *req)
{
    const apr_array_header_t *list;
    const cc_directive *d;
    apr_int64_t v;

    memset(req, 0, sizeof(*req));
    req->max_age = req->min_fresh = req->max_stale = -1;
    if (!cache_control) {
        /* Pragma counts only where Cache-Control is absent (5.4) */
        if (pragma) {
            list = cc_control_parse(p, pragma);
            req->no_cache = cc_control_find(list, "no-cache") != NULL;
        }
        return;
    }
    list = cc_control_parse(p, cache_control);
    req->no_cache = cc_control_find(list, "no-cache") != NULL;
    req->no_store = cc_control_find(list, "no-store") != NULL;
    if ((d = cc_control_find(list, "max-age"))) {
        req->max_age = d->value && cc_delta_parse(d->value, &v) ? v : 0;
    }
    if ((d = cc_control_find(list, "min-fresh"))) {
        req->min_fresh = d->value && cc_delta_parse(d->value, &v)
                         ? v : CC_DELTA_MAX;
    }
    if ((d = cc_control_find(list, "max-stale"))) {
        req->max_stale = !d->value ? CC_DELTA_MAX
                         : cc_delta_parse(d->value, &v) ? v : -1;
    }
}

/* Whether an entry of this age and freshness lifetime may answer the
 * request: NULL if it may, else why not
 */
const char *cc_store_usable(const cc_store_request *req, apr_int64_t age,
                            apr_int64_t lifetime)
{
    apr_int64_t left = lifetime - age;

    if (req->no_cache || req->max_age == 0) {
        return "no-cache";
    }
    if (req->max_age > 0 && age > req->max_age) {
        return "max-age";
    }
    if (req->min_fresh >= 0 && left < req->min_fresh) {
        return "min-fresh";
    }
    if (left <= 0 && (req->max_stale < 0 || -left > req->max_stale)) {
        return "stale";
    }
    return NULL;
}
