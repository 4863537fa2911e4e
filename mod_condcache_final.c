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
 * mod_condcache_final.c: the last filter.  After the content filters
 * (mod_deflate, mod_brotli) and before mod_cache and the protocol
 * filters, it sees the response as it will leave: it holds handler output
 * for its digest (within CondCacheDigestMaxSize and CondCacheDigestMaxWait,
 * read in mod_condcache_config.c), then evaluates the preconditions on the
 * validators that leave and turns the response into a 304 or a 412 before
 * any byte of the body is sent.  mod_condcache.c and mod_condcache_file.c
 * insert it.
 */

#include <string.h>

#include <apr_poll.h>
#include <apr_strings.h>

#include "mod_condcache_private.h"

/* this file's log lines are the module's: LogLevel condcache:trace2 */
APLOG_USE_MODULE(condcache);

/* the last filter's state */
typedef enum {
    CONDCACHE_FINAL_HOLD,      /* holding the body for its digest */
    CONDCACHE_FINAL_DROP       /* a 304 or a 412 went out: no more body */
} condcache_final_state;

typedef struct {
    condcache_final_state state;
    apr_bucket_brigade *held;  /* what is held back, in order */
    apr_bucket *chunk;         /* the heap bucket being filled */
    char *chunk_next;          /* where its next byte goes */
    apr_off_t chunk_free;      /* and how many more it takes */
    apr_off_t capacity;        /* bytes allocated for chunks so far */
    apr_off_t held_bytes;
    apr_off_t max;
    int chunks;
    int metadata;              /* metadata buckets held */
    cc_digest_ctx *digest;
    apr_time_t deadline;       /* held no longer than this */
} condcache_final_ctx;

/* Held bytes are copied into chunks this module sizes, so that memory
 * follows the bytes and not the buckets they came in (mod_cgid sends an
 * 8 KB heap bucket per pipe read, however few bytes it holds).  Chunks
 * double from 8 KiB up to 1 MiB, and all of them together never exceed
 * CondCacheDigestMaxSize: what a request holds stays within the limit
 * plus a few bucket headers.  The sizes leave room for the
 * allocator's own headers in its 4 KiB steps.
 */
#define CONDCACHE_CHUNK_SIZE(k) ((APR_INT64_C(8192) << (k)) - 128)
#define CONDCACHE_CHUNK_GROWTH  7      /* the largest: 1 MiB */
/* metadata buckets in the middle of a body (other than FLUSH) are rare;
 * past this many the response passes on without a digest
 */
#define CONDCACHE_METADATA_MAX 16

static int condcache_streams(const char *type);
static void condcache_make_412(request_rec *r);
static int condcache_final_decide(request_rec *r, int digested,
                                  apr_off_t length);
static void condcache_drop_data(apr_bucket_brigade *bb);
static apr_status_t condcache_pass_dropped(ap_filter_t *f,
                                           apr_bucket_brigade *bb);
static apr_status_t condcache_final_turn(ap_filter_t *f,
                                         apr_bucket_brigade *bb, int status);
static apr_status_t condcache_final_release(ap_filter_t *f,
                                            apr_bucket_brigade *bb,
                                            const char *why);
static int condcache_room(const condcache_final_ctx *ctx, apr_off_t len);
static void condcache_keep(condcache_final_ctx *ctx, const char *data,
                           apr_size_t len, apr_bucket_alloc_t *ba);
static apr_status_t condcache_await(apr_bucket *e, apr_time_t deadline,
                                    apr_pool_t *p);
static apr_status_t condcache_final_eos(ap_filter_t *f,
                                        apr_bucket_brigade *bb);

/* ---------------------------------------------------------------------
 * The last filter: digests, and decisions on the validators that leave
 */

void condcache_add_final_filter(request_rec *r)
{
    const ap_filter_t *f;

    for (f = r->output_filters; f; f = f->next) {
        if (f->frec == condcache_final_filter_handle) {
            return;
        }
    }
    ap_add_output_filter_handle(condcache_final_filter_handle, NULL, r,
                                r->connection);
}

/* media types that are streams by nature: never held */
static int condcache_streams(const char *type)
{
    static const char *const streams[] = {
        "text/event-stream", "application/x-ndjson",
        "multipart/x-mixed-replace", NULL
    };
    const char *const *s;
    apr_size_t len;

    if (!type) {
        return 0;
    }
    len = strcspn(type, "; \t");
    for (s = streams; *s; s++) {
        if (strlen(*s) == len && !strncasecmp(type, *s, len)) {
            return 1;
        }
    }
    return 0;
}

/* The 412 of the last filter: a short body of its own, and none of the
 * 200's representation or freshness fields
 */
static const char condcache_412_body[] =
    "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
    "<html><head>\n<title>412 Precondition Failed</title>\n</head><body>\n"
    "<h1>Precondition Failed</h1>\n<p>The precondition on the request "
    "for this URL evaluated to false.</p>\n</body></html>\n";

static void condcache_make_412(request_rec *r)
{
    static const char *const fields[] = {
        "ETag", "Last-Modified", "Content-Encoding", "Content-Language",
        "Content-Length", "Content-Range", "Content-MD5", "Cache-Control",
        "Expires", NULL
    };
    const char *const *name;

    r->status = HTTP_PRECONDITION_FAILED;
    r->status_line = NULL;
    for (name = fields; *name; name++) {
        apr_table_unset(r->headers_out, *name);
        apr_table_unset(r->err_headers_out, *name);
    }
    /* the header filter makes the fields again from these (mod_mime's
     * AddEncoding and AddLanguage), as ap_send_error_response() knows
     */
    r->content_encoding = NULL;
    r->content_languages = NULL;
    ap_set_content_type(r, "text/html; charset=iso-8859-1");
}

/* The client's preconditions for this GET or HEAD, against the response
 * as it stands: a digest tag, a content-coding's "-gzip" tag, the
 * handler's own tag, or none.  Returns 304 or 412 (the response is
 * turned into one), or 0 to send it, with Range applied or dropped: If-
 * Range is compared with the tag of this very response (RFC 9110
 * 13.1.5), not with the file's.  digested: the tag is this filter's
 * digest, which the note says.
 */
static int condcache_final_decide(request_rec *r, int digested,
                                  apr_off_t length)
{
    const condcache_req *rctx = ap_get_module_config(r->request_config,
                                                     &condcache_module);
    const apr_table_t *fields;
    const char *lm, *range;
    cc_precond_in in;
    cc_precond_out out;

    if (rctx && rctx->decided) {
        return 0;
    }
    if (rctx && rctx->store) {
        /* the validators that leave go into the store (and a handler's
         * page without Last-Modified gets one from it) before they are
         * compared with the client's
         */
        condcache_store_record(r, length);
    }
    fields = condcache_client_fields(r);
    memset(&in, 0, sizeof(in));
    if (!condcache_read_fields(r, fields, &in) && !in.has_range) {
        apr_table_setn(r->notes, "condcache", digested ? "200 digest"
                                                       : "200 unconditional");
        return 0;
    }
    in.method = r->header_only ? CC_METHOD_HEAD : CC_METHOD_GET;
    in.exists = 1;
    in.etag = apr_table_get(r->headers_out, "ETag");
    in.date = apr_time_from_sec(apr_time_sec(r->request_time));
    lm = apr_table_get(r->headers_out, "Last-Modified");
    if (lm && cc_date_parse(lm, r->request_time, &in.last_modified)) {
        in.has_last_modified = 1;
        if (in.last_modified > in.date) {
            /* never later than Date (RFC 9110 8.8.2.1) */
            char *date = apr_palloc(r->pool, CC_DATE_LEN);

            in.last_modified = in.date;
            cc_date_format(date, in.date);
            apr_table_setn(r->headers_out, "Last-Modified", date);
        }
    }
    cc_precond_evaluate(&in, &out);

    if (out.status == HTTP_PRECONDITION_FAILED) {
        condcache_note(r, "412", out.reason);
        condcache_make_412(r);
        return HTTP_PRECONDITION_FAILED;
    }
    if (out.status == HTTP_NOT_MODIFIED) {
        condcache_note(r, "304", digested ? "digest-match" : out.reason);
        r->status = HTTP_NOT_MODIFIED;
        r->status_line = NULL;
        /* a 304 carries no representation metadata but what guides a
         * cache (RFC 9110 15.4.5): ETag, Vary, Cache-Control, Expires stay
         */
        apr_table_unset(r->headers_out, "Content-Encoding");
        apr_table_unset(r->headers_out, "Content-Language");
        apr_table_unset(r->headers_out, "Content-Length");
        return HTTP_NOT_MODIFIED;
    }
    /* the byterange filter, after this one, sees Range only where it
     * applies, and If-Range never
     */
    range = out.range == CC_RANGE_APPLY ? apr_table_get(fields, "Range")
                                        : NULL;
    if (range) {
        apr_table_setn(r->headers_in, "Range", range);
    }
    else {
        apr_table_unset(r->headers_in, "Range");
    }
    apr_table_unset(r->headers_in, "If-Range");
    condcache_note(r, "200", digested ? "digest" : out.reason);
    return 0;
}

/* a 304 or a 412 has no body of the handler's: keep EOS and the other
 * metadata only
 */
static void condcache_drop_data(apr_bucket_brigade *bb)
{
    apr_bucket *e = APR_BRIGADE_FIRST(bb);

    while (e != APR_BRIGADE_SENTINEL(bb)) {
        apr_bucket *next = APR_BUCKET_NEXT(e);

        if (!APR_BUCKET_IS_METADATA(e)) {
            apr_bucket_delete(e);
        }
        e = next;
    }
}

/* What is left of the response once it became a 304 or a 412 (the
 * handler's bytes are dropped).  Once its EOS is down, a FLUSH on the
 * connection: the core would hold a response this small until the
 * request is over (the HTTP header filter drops a FLUSH that follows a
 * 304's headers), and the handler's work is done, so the client can have
 * it now.
 */
static apr_status_t condcache_pass_dropped(ap_filter_t *f,
                                           apr_bucket_brigade *bb)
{
    conn_rec *c = f->c;
    int eos;
    apr_status_t rv;

    if (APR_BRIGADE_EMPTY(bb)) {
        return APR_SUCCESS;
    }
    eos = APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(bb));
    if (eos) {
        ap_remove_output_filter(f);
    }
    rv = ap_pass_brigade(f->next, bb);
    if (rv != APR_SUCCESS || !eos) {
        return rv;
    }
    apr_brigade_cleanup(bb);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(c->bucket_alloc));
    return ap_pass_brigade(c->output_filters, bb);
}

/* The response became a 304 or a 412: no byte of the handler's leaves */
static apr_status_t condcache_final_turn(ap_filter_t *f,
                                         apr_bucket_brigade *bb, int status)
{
    condcache_final_ctx *ctx = f->ctx;

    ctx->state = CONDCACHE_FINAL_DROP;
    condcache_drop_data(bb);
    if (status == HTTP_PRECONDITION_FAILED) {
        APR_BRIGADE_INSERT_HEAD(bb, apr_bucket_immortal_create(
                                    condcache_412_body,
                                    sizeof(condcache_412_body) - 1,
                                    f->c->bucket_alloc));
    }
    return condcache_pass_dropped(f, bb);
}

/* Hand on what is held and what came, without a digest: the response is
 * a stream, or holding it stopped (why: too-large, flush, slow, ...).
 * The preconditions are decided on the validators it has without one.
 */
static apr_status_t condcache_final_release(ap_filter_t *f,
                                            apr_bucket_brigade *bb,
                                            const char *why)
{
    condcache_final_ctx *ctx = f->ctx;
    int status;

    if (ctx->held && !APR_BRIGADE_EMPTY(ctx->held)) {
        APR_BRIGADE_PREPEND(bb, ctx->held);
    }
    status = condcache_final_decide(f->r, 0, -1);
    if (status) {
        return condcache_final_turn(f, bb, status);
    }
    condcache_note(f->r, "pass", why);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* Room for len more bytes within CondCacheDigestMaxSize: in the chunk
 * being filled and in chunks not allocated yet
 */
static int condcache_room(const condcache_final_ctx *ctx, apr_off_t len)
{
    return len <= ctx->chunk_free + (ctx->max - ctx->capacity);
}

/* Copy bytes into the held chunks (condcache_room() said they fit) */
static void condcache_keep(condcache_final_ctx *ctx, const char *data,
                           apr_size_t len, apr_bucket_alloc_t *ba)
{
    while (len) {
        apr_size_t n;

        if (!ctx->chunk_free) {
            apr_off_t size = CONDCACHE_CHUNK_SIZE(
                ctx->chunks < CONDCACHE_CHUNK_GROWTH ? ctx->chunks
                                                     : CONDCACHE_CHUNK_GROWTH);

            if (size > ctx->max - ctx->capacity) {
                size = ctx->max - ctx->capacity;
            }
            ctx->chunk_next = apr_bucket_alloc((apr_size_t)size, ba);
            ctx->chunk = apr_bucket_heap_create(ctx->chunk_next,
                                                (apr_size_t)size,
                                                apr_bucket_free, ba);
            ctx->chunk->length = 0;
            APR_BRIGADE_INSERT_TAIL(ctx->held, ctx->chunk);
            ctx->chunk_free = size;
            ctx->capacity += size;
            ctx->chunks++;
        }
        n = (apr_off_t)len < ctx->chunk_free ? len
                                             : (apr_size_t)ctx->chunk_free;
        memcpy(ctx->chunk_next, data, n);
        ctx->chunk_next += n;
        ctx->chunk->length += n;
        ctx->chunk_free -= (apr_off_t)n;
        ctx->held_bytes += (apr_off_t)n;
        data += n;
        len -= n;
    }
}

/* Wait, at most until the deadline, for a bucket that would block:
 * APR_SUCCESS to read it again, APR_TIMEUP when time is up.  A pipe
 * (mod_cgid) or a socket is polled; any other kind (mod_cgi's own) is
 * tried again every few milliseconds.
 */
static apr_status_t condcache_await(apr_bucket *e, apr_time_t deadline,
                                    apr_pool_t *p)
{
    apr_interval_time_t left = deadline - apr_time_now();
    apr_pollfd_t pfd;
    apr_int32_t n;
    apr_status_t rv;

    if (left <= 0) {
        return APR_TIMEUP;
    }
    memset(&pfd, 0, sizeof(pfd));
    pfd.p = p;
    pfd.reqevents = APR_POLLIN;
    if (APR_BUCKET_IS_PIPE(e)) {
        pfd.desc_type = APR_POLL_FILE;
        pfd.desc.f = e->data;
    }
    else if (APR_BUCKET_IS_SOCKET(e)) {
        pfd.desc_type = APR_POLL_SOCKET;
        pfd.desc.s = e->data;
    }
    else {
        apr_sleep(left < apr_time_from_msec(10) ? left
                                                : apr_time_from_msec(10));
        return APR_SUCCESS;
    }
    rv = apr_poll(&pfd, 1, &n, left);
    return APR_STATUS_IS_TIMEUP(rv) ? APR_TIMEUP : APR_SUCCESS;
}

/* The whole body is held: its digest is its tag */
static apr_status_t condcache_final_eos(ap_filter_t *f,
                                        apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    condcache_final_ctx *ctx = f->ctx;
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);
    unsigned char digest[CC_DIGEST_LEN];
    cc_etag_fields fields;
    int status;

    if (r->header_only && ctx->held_bytes == 0) {
        /* a HEAD whose handler sent no body: its digest would not be the
         * GET's
         */
        return condcache_final_release(f, bb, "head-no-body");
    }
    cc_digest_final(ctx->digest, digest);
    memset(&fields, 0, sizeof(fields));
    fields.bits = CC_ETAG_DIGEST;
    fields.digest = digest;
    fields.salt = conf->salt && *conf->salt ? conf->salt : NULL;
    apr_table_setn(r->headers_out, "ETag", cc_etag_make(r->pool, &fields));
    /* mod_include asks the core to drop the tag of the file; this one is
     * the tag of the bytes sent
     */
    apr_table_unset(r->notes, "no-etag");
    APR_BRIGADE_PREPEND(bb, ctx->held);
    status = condcache_final_decide(r, 1, ctx->held_bytes);
    if (status) {
        return condcache_final_turn(f, bb, status);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

apr_status_t condcache_final_filter(ap_filter_t *f,
                                           apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    condcache_final_ctx *ctx = f->ctx;
    apr_status_t rv;
    int first = !ctx;

    if (!ctx) {
        const condcache_dir_conf *conf =
            ap_get_module_config(r->per_dir_config, &condcache_module);
        int mode = CONDCACHE_VAL(conf, digest), status;

        if (condcache_store_first(r)) {
            /* a 304 from the store, or a write: nothing to decide */
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        if (r->status != HTTP_OK
            || apr_table_get(r->headers_out, "Content-Range")) {
            /* preconditions are for a 200 (RFC 9110 13.2.1) */
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        if (condcache_streams(r->content_type)) {
            return condcache_final_release(f, bb, "stream");
        }
        /* a tag the core will drop ("no-etag": mod_include's output, a
         * FileETag None) is no tag the handler sent
         */
        if (mode == CONDCACHE_DIGEST_OFF
            || (mode == CONDCACHE_DIGEST_ON
                && apr_table_get(r->headers_out, "ETag")
                && !apr_table_get(r->notes, "no-etag"))) {
            status = condcache_final_decide(r, 0, -1);
            if (status) {
                return condcache_final_turn(f, bb, status);
            }
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        /* the digest covers the bytes and what they are: the same bytes
         * as another type or coding are another representation
         */
        ctx->state = CONDCACHE_FINAL_HOLD;
        ctx->held = apr_brigade_create(r->pool, f->c->bucket_alloc);
        ctx->max = CONDCACHE_VAL(conf, digest_max);
        ctx->deadline = apr_time_now() + CONDCACHE_VAL(conf, digest_wait);
        ctx->digest = cc_digest_create(r->pool);
        if (!ctx->digest) {
            return condcache_final_release(f, bb, "no-memory");
        }
        cc_digest_field(ctx->digest, r->content_type);
        cc_digest_field(ctx->digest,
                        apr_table_get(r->headers_out, "Content-Encoding"));
    }

    if (ctx->state == CONDCACHE_FINAL_DROP) {
        condcache_drop_data(bb);
        return condcache_pass_dropped(f, bb);
    }

    while (!APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *e = APR_BRIGADE_FIRST(bb);
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_EOS(e)) {
            return condcache_final_eos(f, bb);
        }
        if (AP_BUCKET_IS_ERROR(e)) {
            /* the response becomes an error: untouched, undecided */
            condcache_note(r, "pass", "error");
            APR_BRIGADE_PREPEND(bb, ctx->held);
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        if (!first && apr_time_now() > ctx->deadline) {
            /* held as long as CondCacheDigestMaxWait allows: the client
             * has waited long enough for the first byte.  What the
             * handler passed in its first brigade was written before
             * the wait began (CondCacheDigestMaxWait 0 holds that much)
             */
            return condcache_final_release(f, bb, "slow");
        }
        if (APR_BUCKET_IS_FLUSH(e)) {
            /* a handler that flushes streams (server-sent events, long
             * polling): let it flow.  mod_proxy flushes whenever its
             * backend is not ready yet: that is a stream only when it
             * goes on past the wait.
             */
            if (r->proxyreq == PROXYREQ_NONE) {
                return condcache_final_release(f, bb, "flush");
            }
            apr_bucket_delete(e);
            continue;
        }
        if (APR_BUCKET_IS_METADATA(e)) {
            if (++ctx->metadata > CONDCACHE_METADATA_MAX) {
                return condcache_final_release(f, bb, "metadata");
            }
            APR_BUCKET_REMOVE(e);
            rv = apr_bucket_setaside(e, r->pool);
            if (rv != APR_SUCCESS && rv != APR_ENOTIMPL) {
                APR_BRIGADE_INSERT_HEAD(bb, e);
                return condcache_final_release(f, bb, "setaside-error");
            }
            APR_BRIGADE_INSERT_TAIL(ctx->held, e);
            ctx->chunk_free = 0;         /* later bytes go after it */
            continue;
        }
        if (e->length != (apr_size_t)-1
            && !condcache_room(ctx, (apr_off_t)e->length)) {
            return condcache_final_release(f, bb, "too-large");
        }
        rv = apr_bucket_read(e, &data, &len, APR_NONBLOCK_READ);
        if (APR_STATUS_IS_EAGAIN(rv)) {
            /* the handler has not written more yet (mod_cgid's pipe) */
            if (condcache_await(e, ctx->deadline, r->pool) == APR_TIMEUP) {
                return condcache_final_release(f, bb, "slow");
            }
            continue;
        }
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, "CC00005: "
                          "reading the response for its digest");
            return condcache_final_release(f, bb, "read-error");
        }
        if (!condcache_room(ctx, (apr_off_t)len)) {
            return condcache_final_release(f, bb, "too-large");
        }
        cc_digest_update(ctx->digest, data, len);
        condcache_keep(ctx, data, len, f->c->bucket_alloc);
        apr_bucket_delete(e);
    }
    return APR_SUCCESS;
}
