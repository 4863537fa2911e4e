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
 * cc_digest.c: the body digest (XXH3-128 from libxxhash) and the entity
 * tags mod_condcache generates.  A generated tag holds only lowercase hex
 * digits and '-', so it never needs escaping and never holds a backslash
 * (docs/conformance.md 1.1).
 */

#include <string.h>

#include <apr_strings.h>
#include <apr_file_io.h>

#include <xxhash.h>
#ifdef CC_XXH_DISPATCH
/* libxxhash's run-time choice of SSE2, AVX2 or AVX-512 on x86 */
#include <xxh_x86dispatch.h>
#endif

#include "mod_condcache.h"

#define CC_READ_CHUNK (64 * 1024)

struct cc_digest_ctx {
    XXH3_state_t *state;
};

static apr_status_t cc_digest_cleanup(void *data);
static void cc_hex(char *out, const unsigned char *in, apr_size_t len);
static char *cc_hex64(char *out, apr_uint64_t v);
static char *cc_hash_part(char *out, const char *s);

static apr_status_t cc_digest_cleanup(void *data)
{
    XXH3_freeState(data);
    return APR_SUCCESS;
}

cc_digest_ctx *cc_digest_create(apr_pool_t *p)
{
    cc_digest_ctx *ctx = apr_palloc(p, sizeof(*ctx));

    ctx->state = XXH3_createState();
    if (!ctx->state) {
        return NULL;
    }
    apr_pool_cleanup_register(p, ctx->state, cc_digest_cleanup,
                              apr_pool_cleanup_null);
    XXH3_128bits_reset(ctx->state);
    return ctx;
}

void cc_digest_update(cc_digest_ctx *ctx, const void *data, apr_size_t len)
{
    XXH3_128bits_update(ctx->state, data, len);
}

void cc_digest_field(cc_digest_ctx *ctx, const char *value)
{
    if (value) {
        XXH3_128bits_update(ctx->state, value, strlen(value));
    }
    XXH3_128bits_update(ctx->state, "", 1);
}

void cc_digest_final(cc_digest_ctx *ctx, unsigned char out[CC_DIGEST_LEN])
{
    XXH128_canonical_t c;

    XXH128_canonicalFromHash(&c, XXH3_128bits_digest(ctx->state));
    memcpy(out, c.digest, CC_DIGEST_LEN);
}

apr_status_t cc_digest_file(apr_file_t *f, apr_pool_t *p,
                            unsigned char out[CC_DIGEST_LEN])
{
    apr_pool_t *tmp;
    cc_digest_ctx *ctx;
    char *buf;
    apr_off_t start = 0;
    apr_status_t rv;

    rv = apr_pool_create(&tmp, p);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ctx = cc_digest_create(tmp);
    buf = apr_palloc(tmp, CC_READ_CHUNK);
    rv = ctx ? apr_file_seek(f, APR_SET, &start) : APR_ENOMEM;
    while (rv == APR_SUCCESS) {
        apr_size_t n = CC_READ_CHUNK;

        rv = apr_file_read(f, buf, &n);
        if (n) {
            cc_digest_update(ctx, buf, n);
        }
    }
    if (rv == APR_EOF) {
        cc_digest_final(ctx, out);
        rv = APR_SUCCESS;
    }
    apr_pool_destroy(tmp);
    return rv;
}

static void cc_hex(char *out, const unsigned char *in, apr_size_t len)
{
    static const char hex[] = "0123456789abcdef";
    apr_size_t i;

    for (i = 0; i < len; i++) {
        *out++ = hex[in[i] >> 4];
        *out++ = hex[in[i] & 0x0f];
    }
    *out = '\0';
}

/* lowercase hex without leading zeros, as httpd's own tags have it */
static char *cc_hex64(char *out, apr_uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
    char buf[16];
    int n = 0;

    do {
        buf[n++] = hex[v & 0x0f];
        v >>= 4;
    } while (v);
    while (n) {
        *out++ = buf[--n];
    }
    return out;
}

/* "-" and the XXH3-64 of a string in 16 hex digits, zeros kept */
static char *cc_hash_part(char *out, const char *s)
{
    apr_uint64_t h = XXH3_64bits(s, strlen(s));
    int i;

    *out++ = '-';
    for (i = 60; i >= 0; i -= 4) {
        *out++ = "0123456789abcdef"[(h >> i) & 0x0f];
    }
    return out;
}

const char *cc_etag_make(apr_pool_t *p, const cc_etag_fields *fields)
{
    /* W/ " inode-size-mtime or a digest, -salt, -variant " NUL */
    char *tag = apr_palloc(p, 2 + 1 + 3 * 17 + 2 * CC_DIGEST_LEN + 2 * 17
                              + 2);
    char *next = tag;
    int parts = 0;

    if (fields->weak) {
        *next++ = 'W';
        *next++ = '/';
    }
    *next++ = '"';
    if (fields->bits & CC_ETAG_DIGEST) {
        cc_hex(next, fields->digest, CC_DIGEST_LEN);
        next += 2 * CC_DIGEST_LEN;
        parts++;
    }
    else {
        if (fields->bits & CC_ETAG_INODE) {
            next = cc_hex64(next, (apr_uint64_t)fields->inode);
            parts++;
        }
        if (fields->bits & CC_ETAG_SIZE) {
            if (parts++) {
                *next++ = '-';
            }
            next = cc_hex64(next, (apr_uint64_t)fields->size);
        }
        if (fields->bits & CC_ETAG_MTIME) {
            if (parts++) {
                *next++ = '-';
            }
            next = cc_hex64(next, (apr_uint64_t)fields->mtime);
        }
    }
    if (!parts) {
        return NULL;
    }
    if (fields->salt) {
        next = cc_hash_part(next, fields->salt);
    }
    if (fields->variant) {
        next = cc_hash_part(next, fields->variant);
    }
    *next++ = '"';
    *next = '\0';
    return tag;
}
