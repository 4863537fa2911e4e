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
 * mod_condcache_file.c: a file's validators, and the decision made for it
 * before the handler runs.  Whether the response will be the file's bytes
 * (which filters change them), the file's tag (and the cache of file
 * digests), the handlers that decide a GET, HEAD or POST of a file just
 * before httpd's default handler and a PUT or DELETE just before
 * mod_dav's, and the filter that puts this module's validators on the
 * default handler's 200.  What happens after the handler is in
 * mod_condcache_final.c; the request state in mod_condcache.c.
 */

#include <string.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "mod_condcache_private.h"

/* this file's log lines are the module's: LogLevel condcache:trace2 */
APLOG_USE_MODULE(condcache);

/* what the filters of a request do to the file's bytes */
typedef enum {
    CONDCACHE_BYTES_FILE,      /* nothing: the response is the file */
    CONDCACHE_BYTES_CODED,     /* a content-coding (mod_deflate, mod_brotli)
                                * that gives the file's tag a suffix */
    CONDCACHE_BYTES_CHANGED    /* anything else (mod_include, ...) */
} condcache_bytes;

/* Digests of files, per (device, inode, size, mtime, ctime): one per
 * child process, bounded, shared by its threads.
 */
#define CONDCACHE_DIGESTS_MAX 4096

typedef struct {
    apr_uint64_t dev;
    apr_uint64_t ino;
    apr_int64_t size;
    apr_int64_t mtime;
    apr_int64_t ctime;
} condcache_file_key;

static struct {
    apr_pool_t *parent;
    apr_pool_t *pool;
    apr_hash_t *map;
#if APR_HAS_THREADS
    apr_thread_mutex_t *mutex;
#endif
} condcache_digests;

static const ap_filter_rec_t *condcache_provider_for(const request_rec *r,
                                       const ap_filter_rec_t *harness);
static condcache_bytes condcache_filter_bytes(const ap_filter_rec_t *frec);
static condcache_bytes condcache_output_bytes(const request_rec *r);
static apr_status_t condcache_digests_reset(void);
static const unsigned char *condcache_file_digest(request_rec *r);
static void condcache_validators(request_rec *r,
                                 const condcache_dir_conf *conf,
                                 int exists, condcache_req *ctx,
                                 cc_precond_in *in);
static int condcache_core_tag_is_ours(request_rec *r,
                                      const condcache_dir_conf *conf);
static int condcache_readable(const request_rec *r);
static void condcache_note_static(request_rec *r, const char *note,
                                  int first);
static void condcache_put_validators(request_rec *r, condcache_req *ctx,
                                     int put, int later);
static condcache_req *condcache_file_state(request_rec *r,
                                           const condcache_dir_conf *conf);
static int condcache_send_304(request_rec *r, const condcache_req *ctx);
static int condcache_dav_decide(request_rec *r);

/* ---------------------------------------------------------------------
 * Will the response be the file's bytes?
 */

/* mod_filter keeps the providers of a filter (AddOutputFilterByType,
 * FilterProvider) in a struct it does not publish; this is its layout in
 * mod_filter.c, the same throughout httpd 2.4.  A provider has either an
 * expression (FilterProvider) or a list of media types
 * (AddOutputFilterByType).
 */
typedef struct condcache_provider condcache_provider;
struct condcache_provider {
    const void *expr;
    const char **types;
    ap_filter_rec_t *frec;
    condcache_provider *next;
};

/* The filter mod_filter's harness will run for this response, matched as
 * mod_filter's filter_lookup() matches it (the media type without its
 * parameters, exactly; the first provider that matches): NULL when none
 * will run (the harness then removes itself and changes nothing), the
 * harness itself when that cannot be known before it runs (an
 * expression, or an httpd this layout is not known for).
 */
static const ap_filter_rec_t *condcache_provider_for(const request_rec *r,
                                       const ap_filter_rec_t *harness)
{
#if MODULE_MAGIC_NUMBER_MAJOR == 20120211
    const condcache_provider *p;
    apr_size_t len = r->content_type ? strcspn(r->content_type, "; \t") : 0;

    for (p = (const void *)harness->providers; p; p = p->next) {
        const char *const *type;

        if (p->expr || !p->types || !p->frec) {
            return harness;
        }
        for (type = p->types; r->content_type && *type; type++) {
            if (!strncmp(*type, r->content_type, len)
                && (*type)[len] == '\0') {
                return p->frec;
            }
        }
    }
    return NULL;
#else
    (void)r;
    return harness;
#endif
}

/* What a filter does to the bytes, by its name: filters that only set
 * header fields, the content-codings that give the tag a suffix of their
 * own (mod_deflate's "-gzip", mod_brotli's "-br"), and every other one,
 * which changes them (mod_include, mod_substitute, one this module does
 * not know).  A harness whose provider is not known by the name it was
 * declared for: AddOutputFilterByType DEFLATE makes "BYTYPE:DEFLATE".
 */
static condcache_bytes condcache_filter_bytes(const ap_filter_rec_t *frec)
{
    static const char *const headers_only[] = {
        "MOD_EXPIRES", "FIXUP_HEADERS_OUT", "CACHE_SAVE", "CACHE_SAVE_SUBREQ",
        "CACHE_REMOVE_URL", "CACHE_INVALIDATE", NULL
    };
    static const char *const codings[] = {
        "DEFLATE", "BROTLI_COMPRESS", NULL
    };
    const char *name = frec->name;
    const char *const *n;

    if (frec->providers && !strncasecmp(name, "BYTYPE:", 7)) {
        name += 7;
    }
    for (n = headers_only; *n; n++) {
        if (!strcasecmp(name, *n)) {
            return CONDCACHE_BYTES_FILE;
        }
    }
    for (n = codings; *n; n++) {
        if (!strcasecmp(name, *n)) {
            return CONDCACHE_BYTES_CODED;
        }
    }
    return CONDCACHE_BYTES_CHANGED;
}

/* Whether the bytes of this response will be the file's, asked once every
 * filter is in place: mod_include's XBitHack and mod_filter's harnesses
 * are added after the fixups, AddOutputFilter and SetOutputFilter before.
 * A harness whose provider does not match this response's type changes
 * nothing (an image under Debian's AddOutputFilterByType DEFLATE
 * text/html ...).
 */
static condcache_bytes condcache_output_bytes(const request_rec *r)
{
    condcache_bytes bytes = CONDCACHE_BYTES_FILE;
    const ap_filter_t *f;

    /* mod_include asks for no 304 (its filter's init, whatever the type
     * its harness matches): its output is made per request
     */
    if (r->no_local_copy) {
        return CONDCACHE_BYTES_CHANGED;
    }
    for (f = r->output_filters; f && f != r->proto_output_filters;
         f = f->next) {
        const ap_filter_rec_t *frec = f->frec;

        if (frec == condcache_validators_filter_handle
            || frec == condcache_sent_filter_handle
            || frec == condcache_policy_filter_handle
            || frec == condcache_final_filter_handle
            || frec->ftype >= AP_FTYPE_PROTOCOL) {
            continue;
        }
        if (frec->providers && !(frec = condcache_provider_for(r, frec))) {
            continue;
        }
        switch (condcache_filter_bytes(frec)) {
        case CONDCACHE_BYTES_CHANGED:
            return CONDCACHE_BYTES_CHANGED;
        case CONDCACHE_BYTES_CODED:
            bytes = CONDCACHE_BYTES_CODED;
            break;
        default:
            break;
        }
    }
    return bytes;
}


/* ---------------------------------------------------------------------
 * Validators of files
 */

static apr_status_t condcache_digests_reset(void)
{
    apr_status_t rv = APR_SUCCESS;

    if (condcache_digests.pool) {
        apr_pool_destroy(condcache_digests.pool);
    }
    rv = apr_pool_create(&condcache_digests.pool, condcache_digests.parent);
    if (rv == APR_SUCCESS) {
        condcache_digests.map = apr_hash_make(condcache_digests.pool);
    }
    else {
        condcache_digests.pool = NULL;
        condcache_digests.map = NULL;
    }
    return rv;
}

/* A child's cache of file digests, made when it starts */
void condcache_digests_init(apr_pool_t *p, server_rec *s)
{
    condcache_digests.parent = p;
    if (condcache_digests_reset() != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "CC00003: no memory for the digest cache");
    }
#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&condcache_digests.mutex,
                                APR_THREAD_MUTEX_DEFAULT, p)
            != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "CC00004: cannot create the digest cache mutex");
        condcache_digests.map = NULL;
    }
#endif
}

/* The digest of r->filename, from the cache or read once; NULL when the
 * file cannot be read or changed while it was read.  The key trusts what
 * no user-space tool can set back: the ctime changes with every write
 * and every utime(), so a file rewritten with its old size and mtime
 * (cp -p, rsync -t --inplace, tar) gets a new digest.
 */
static const unsigned char *condcache_file_digest(request_rec *r)
{
    condcache_file_key key;
    unsigned char *digest = NULL, *stored;
    condcache_file_key *stored_key;
    apr_file_t *f;
    apr_finfo_t after;
    apr_status_t rv;

    memset(&key, 0, sizeof(key));
    key.dev = (apr_uint64_t)r->finfo.device;
    key.ino = (apr_uint64_t)r->finfo.inode;
    key.size = r->finfo.size;
    key.mtime = r->finfo.mtime;
    key.ctime = r->finfo.ctime;

#if APR_HAS_THREADS
    if (condcache_digests.mutex) {
        apr_thread_mutex_lock(condcache_digests.mutex);
    }
#endif
    if (condcache_digests.map) {
        stored = apr_hash_get(condcache_digests.map, &key, sizeof(key));
        if (stored) {
            digest = apr_pmemdup(r->pool, stored, CC_DIGEST_LEN);
        }
    }
#if APR_HAS_THREADS
    if (condcache_digests.mutex) {
        apr_thread_mutex_unlock(condcache_digests.mutex);
    }
#endif
    if (digest) {
        return digest;
    }

    digest = apr_palloc(r->pool, CC_DIGEST_LEN);
    rv = apr_file_open(&f, r->filename, APR_FOPEN_READ | APR_FOPEN_BINARY,
                       0, r->pool);
    if (rv == APR_SUCCESS) {
        rv = cc_digest_file(f, r->pool, digest);
        if (rv == APR_SUCCESS) {
            rv = apr_file_info_get(&after, APR_FINFO_SIZE | APR_FINFO_MTIME
                                           | APR_FINFO_CTIME, f);
        }
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                      "CC00001: cannot read %s for its digest", r->filename);
        return NULL;
    }
    if (after.size != r->finfo.size || after.mtime != r->finfo.mtime
        || after.ctime != r->finfo.ctime) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "CC00002: %s changed while its digest was taken",
                      r->filename);
        return NULL;
    }
    if (APLOGrtrace2(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r,
                      "condcache: digest of %s computed", r->filename);
    }

#if APR_HAS_THREADS
    if (condcache_digests.mutex) {
        apr_thread_mutex_lock(condcache_digests.mutex);
    }
#endif
    if (condcache_digests.map
        && apr_hash_count(condcache_digests.map) >= CONDCACHE_DIGESTS_MAX) {
        condcache_digests_reset();
    }
    if (condcache_digests.map) {
        stored_key = apr_pmemdup(condcache_digests.pool, &key, sizeof(key));
        stored = apr_pmemdup(condcache_digests.pool, digest, CC_DIGEST_LEN);
        apr_hash_set(condcache_digests.map, stored_key, sizeof(key), stored);
    }
#if APR_HAS_THREADS
    if (condcache_digests.mutex) {
        apr_thread_mutex_unlock(condcache_digests.mutex);
    }
#endif
    return digest;
}

/* The validators of the file r maps to, into ctx and the evaluator's
 * input.  Last-Modified is clamped to Date and cut to whole seconds
 * (RFC 9110 8.8.2.1).
 */
static void condcache_validators(request_rec *r,
                                 const condcache_dir_conf *conf,
                                 int exists, condcache_req *ctx,
                                 cc_precond_in *in)
{
    cc_etag_fields fields;
    apr_time_t mtime;

    in->exists = exists;
    in->date = apr_time_from_sec(apr_time_sec(r->request_time));
    in->etag = NULL;
    in->has_last_modified = 0;
    if (!exists) {
        return;
    }

    mtime = r->finfo.mtime < r->request_time ? r->finfo.mtime
                                             : r->request_time;
    if (CONDCACHE_VAL(conf, last_modified)) {
        in->has_last_modified = ctx->has_lm = 1;
        in->last_modified = ctx->lm = apr_time_from_sec(apr_time_sec(mtime));
    }

    memset(&fields, 0, sizeof(fields));
    fields.bits = (unsigned int)condcache_etag_bits(r, conf);
    fields.inode = r->finfo.inode;
    fields.size = r->finfo.size;
    fields.mtime = r->finfo.mtime;
    fields.salt = conf->salt && *conf->salt ? conf->salt : NULL;
    if (r->vlist_validator) {
        /* a variant chosen by content negotiation: two variants never
         * share a tag, whatever their size and time (httpd mixes the
         * variant list's validator into its tags for the same reason;
         * the variant's name does it and is the same on every server)
         */
        fields.variant = apr_filepath_name_get(r->filename);
    }
    if (fields.bits & CC_ETAG_DIGEST) {
        fields.digest = condcache_file_digest(r);
        if (!fields.digest) {
            return;
        }
    }
    else if (fields.bits & CC_ETAG_MTIME) {
        /* as httpd's ap_make_etag(): a file changed within the last
         * second may change again with the same mtime, so its tag is weak
         */
        fields.weak = r->request_time - r->finfo.mtime
                      < apr_time_from_sec(1);
    }
    ctx->etag = cc_etag_make(r->pool, &fields);
    in->etag = ctx->etag;
}

/* Whether httpd's own tag for this file (FileETag, which the default
 * handler sets) is the one this module would give it, and its
 * Last-Modified the same: then an unconditional request needs nothing of
 * this module.  The format is httpd's, so it is compared once per process
 * before it is relied on; a file changed in the last two seconds is left
 * out, where httpd versions differ on when a tag turns weak, and so is a
 * negotiated variant, whose tag httpd makes of more.
 */
static int condcache_core_tag_is_ours(request_rec *r,
                                      const condcache_dir_conf *conf)
{
    static volatile int checked;    /* 0 not yet, 1 the same, -1 not */
    const core_dir_config *core;
    int bits, want = 0, cbits;

    if ((conf->salt && *conf->salt) || !CONDCACHE_VAL(conf, last_modified)
        || checked < 0 || r->vlist_validator
        || r->request_time - r->finfo.mtime <= apr_time_from_sec(2)) {
        return 0;
    }
    core = ap_get_core_module_config(r->per_dir_config);
    cbits = (core->etag_bits & ~core->etag_remove) | core->etag_add;
    /* without a CondCacheETag, the module's components are FileETag's */
    bits = conf->etag_set == CONDCACHE_UNSET && !conf->etag_add
           && !conf->etag_del ? -1 : condcache_etag_bits(r, conf);
    if (!bits || (bits > 0 && (bits & CC_ETAG_DIGEST))) {
        return 0;
    }
#ifdef ETAG_DIGEST
    if (cbits & ETAG_DIGEST) {
        return 0;
    }
#endif
    if (cbits & ETAG_NONE) {
        return 0;
    }
    if (cbits == ETAG_UNSET) {
        cbits = ETAG_BACKWARD;
    }
    /* without a CondCacheETag, FileETag's components are the module's by
     * design; else they must be the same
     */
    if (bits > 0) {
        want = ((bits & CC_ETAG_INODE) ? ETAG_INODE : 0)
               | ((bits & CC_ETAG_MTIME) ? ETAG_MTIME : 0)
               | ((bits & CC_ETAG_SIZE) ? ETAG_SIZE : 0);
        if (cbits != want) {
            return 0;
        }
    }
    if (!checked) {
        cc_etag_fields fields;
        apr_time_t mtime = r->mtime;
        const char *theirs, *ours;

        if (bits < 0) {
            bits = ((cbits & ETAG_INODE) ? CC_ETAG_INODE : 0)
                   | ((cbits & ETAG_MTIME) ? CC_ETAG_MTIME : 0)
                   | ((cbits & ETAG_SIZE) ? CC_ETAG_SIZE : 0);
        }

        ap_update_mtime(r, r->finfo.mtime);
        theirs = ap_make_etag(r, 0);
        r->mtime = mtime;
        memset(&fields, 0, sizeof(fields));
        fields.bits = (unsigned int)bits;
        fields.inode = r->finfo.inode;
        fields.size = r->finfo.size;
        fields.mtime = r->finfo.mtime;
        ours = cc_etag_make(r->pool, &fields);
        checked = ours && !strcmp(theirs, ours) ? 1 : -1;
        if (checked < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "CC00006: httpd "
                          "makes the tag %s where this module makes %s: "
                          "every response gets this module's", theirs,
                          ours ? ours : "none");
        }
    }
    return checked > 0;
}


/* ---------------------------------------------------------------------
 * Decisions before the handler
 */

/* A file the server cannot read gets the default handler's 403, never a
 * 304 or a 412 that would tell its validators.  access() asks what the
 * default handler's open would find, as the server's user, without
 * opening the file.
 */
static int condcache_readable(const request_rec *r)
{
    return access(r->filename, R_OK) == 0;
}

/* The 304, sent the way the default handler sends its own: through the
 * output filters, so that the ones inserted for this request (mod_expires,
 * mod_headers, the freshness policy) give it the 200's header fields.
 */
static int condcache_send_304(request_rec *r, const condcache_req *ctx)
{
    apr_bucket_brigade *bb;
    int rv;

    if (ctx->etag) {
        apr_table_setn(r->headers_out, "ETag", ctx->etag);
    }
    if (ctx->has_lm) {
        char *date = apr_palloc(r->pool, CC_DATE_LEN);

        cc_date_format(date, ctx->lm);
        apr_table_setn(r->headers_out, "Last-Modified", date);
    }
    rv = ap_discard_request_body(r);
    if (rv != OK) {
        return rv;
    }
    r->status = HTTP_NOT_MODIFIED;
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade_fchk(r, bb, "condcache: sending a 304");
}

/* PUT and DELETE by mod_dav: the file's validators are known before the
 * method runs (RFC 9110 13.2.1).  A DELETE of nothing is a 404 and a PUT
 * into a missing directory a 409: both are left alone.  Runs before
 * mod_dav's handler, after every fixup.
 */
int condcache_handler_dav(request_rec *r)
{
    /* on every request: out at once for all but PUT and DELETE */
    if (r->method_number != M_PUT && r->method_number != M_DELETE) {
        return DECLINED;
    }
    return condcache_dav_decide(r);
}

static int condcache_dav_decide(request_rec *r)
{
    const condcache_dir_conf *conf;
    condcache_req *ctx;
    cc_precond_in in;
    cc_precond_out out;
    int exists = r->finfo.filetype == APR_REG;

    conf = ap_get_module_config(r->per_dir_config, &condcache_module);
    if (!CONDCACHE_VAL(conf, enabled) || CONDCACHE_ALREADY_DECIDED(r)) {
        return DECLINED;
    }
    if (!r->handler || strcmp(r->handler, "dav-handler")) {
        return DECLINED;
    }
    if (!exists) {
        apr_finfo_t dir;

        if (r->method_number != M_PUT || r->finfo.filetype != APR_NOFILE
            || !r->filename
            || apr_stat(&dir, ap_make_dirstr_parent(r->pool, r->filename),
                        APR_FINFO_TYPE, r->pool) != APR_SUCCESS
            || dir.filetype != APR_DIR) {
            condcache_note(r, "pass", "not-a-file");
            return DECLINED;
        }
    }
    memset(&in, 0, sizeof(in));
    in.method = CC_METHOD_OTHER;
    if (!condcache_read_fields(r, condcache_client_fields(r), &in)) {
        apr_table_setn(r->notes, "condcache", "proceed unconditional");
        return DECLINED;
    }
    ctx = condcache_req_get(r);
    condcache_validators(r, conf, exists, ctx, &in);
    cc_precond_evaluate(&in, &out);
    if (out.status == HTTP_PRECONDITION_FAILED) {
        condcache_note(r, "412", out.reason);
        return HTTP_PRECONDITION_FAILED;
    }
    condcache_note(r, "proceed", out.reason);
    condcache_hide(r, ctx, 0);
    return DECLINED;
}

/* a note that is a constant, the cheapest way there is (every
 * unconditional request of a file gets one)
 */
static void condcache_note_static(request_rec *r, const char *note,
                                  int first)
{
    if (first) {
        apr_table_addn(r->notes, "condcache", note);
    }
    else {
        apr_table_setn(r->notes, "condcache", note);
    }
}

/* The request's state for a response that is the file, whole or coded:
 * its Last-Modified is known here (the freshness policy counts from it)
 */
static condcache_req *condcache_file_state(request_rec *r,
                                           const condcache_dir_conf *conf)
{
    condcache_req *ctx = condcache_req_get(r);

    ctx->file = 1;
    if (CONDCACHE_VAL(conf, last_modified)) {
        ctx->has_lm = 1;
        ctx->lm = apr_time_from_sec(apr_time_sec(
                      r->finfo.mtime < r->request_time ? r->finfo.mtime
                                                       : r->request_time));
    }
    return ctx;
}

/* The validators filter puts this module's validators on the 200 (or
 * takes the file's tag away); later: the client's preconditions are the
 * last filter's to decide, on what leaves
 */
static void condcache_put_validators(request_rec *r, condcache_req *ctx,
                                     int put, int later)
{
    ctx->put = put;
    ap_add_output_filter_handle(condcache_validators_filter_handle, ctx, r,
                                r->connection);
    if (later) {
        condcache_hide(r, ctx, 1);
        condcache_add_final_filter(r);
    }
}

/* GET, HEAD and POST of a file, just before the default handler sends it
 * (every other handler has declined).  The default handler answers a path
 * after the file name with a 404 unless AcceptPathInfo says otherwise.
 */
int condcache_handler_file(request_rec *r)
{
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);
    condcache_req *ctx;
    cc_precond_in in;
    cc_precond_out out;
    condcache_bytes bytes;
    int conditional, digest;

    int first;

    if ((r->method_number != M_GET && r->method_number != M_POST)
        || !CONDCACHE_VAL(conf, enabled) || CONDCACHE_ALREADY_DECIDED(r)) {
        return DECLINED;
    }
    /* httpd named the handler after the media type: no handler was named
     * in the configuration, and insert_filter left no note
     */
    first = r->handler == r->content_type;
    if (r->finfo.filetype != APR_REG) {
        condcache_note_add(r, "pass", "not-a-file", first);
        return DECLINED;
    }
    if (r->path_info && *r->path_info
        && r->used_path_info != AP_REQ_ACCEPT_PATH_INFO) {
        condcache_note_add(r, "pass", "path-info", first);
        return DECLINED;
    }

    /* condcache_read_fields() fills the request's part of the input,
     * condcache_validators() the file's
     */
    in.method = r->method_number == M_POST ? CC_METHOD_OTHER
                : r->header_only ? CC_METHOD_HEAD : CC_METHOD_GET;
    conditional = condcache_read_fields(r, CONDCACHE_CLIENT_FIELDS(r), &in);
    digest = CONDCACHE_VAL(conf, digest);
    bytes = condcache_output_bytes(r);

    if (bytes == CONDCACHE_BYTES_CHANGED
        || (digest == CONDCACHE_DIGEST_OVERRIDE
            && in.method != CC_METHOD_OTHER)) {
        /* not the file's bytes: its tag must not describe them.  Where
         * mod_include asked for no 304 and no digest is made, the request
         * is left as httpd would leave it; else the last filter decides,
         * on a digest or on what validators remain
         */
        condcache_note_add(r, "pass", "not-static", first);
        if (in.method == CC_METHOD_OTHER
            || (r->no_local_copy && digest == CONDCACHE_DIGEST_OFF)) {
            return DECLINED;
        }
        condcache_put_validators(r, condcache_req_get(r),
                                 CONDCACHE_PUT_NO_ETAG, conditional);
        return DECLINED;
    }
    if (bytes == CONDCACHE_BYTES_CODED) {
        /* mod_deflate gives the tag its "-gzip", and Vary: the last
         * filter decides on the tag the response leaves with
         */
        if (in.method == CC_METHOD_OTHER) {
            condcache_note_add(r, "pass", "not-static", first);
            return DECLINED;
        }
        ctx = condcache_file_state(r, conf);
        condcache_validators(r, conf, 1, ctx, &in);
        condcache_put_validators(r, ctx, CONDCACHE_PUT_FILE, conditional);
        if (!conditional) {
            condcache_note_static(r, "200 unconditional", first);
            ctx->decided = 1;
        }
        return DECLINED;
    }

    /* the response is the file: decide now */
    if (!conditional) {
        /* the response needs this module's validators only where they
         * are not httpd's own, and this module's state only for them and
         * for the freshness policy (on every request: nothing more)
         */
        int ours = condcache_core_tag_is_ours(r, conf);

        condcache_note_static(r, "200 unconditional", first);
        if (!ours || CONDCACHE_HAS_POLICY(conf)) {
            ctx = condcache_file_state(r, conf);
            ctx->decided = 1;
            if (!ours) {
                condcache_validators(r, conf, 1, ctx, &in);
                condcache_put_validators(r, ctx, CONDCACHE_PUT_FILE, 0);
            }
        }
        return DECLINED;
    }
    ctx = condcache_file_state(r, conf);
    ctx->decided = 1;
    condcache_validators(r, conf, 1, ctx, &in);
    cc_precond_evaluate(&in, &out);
    if (out.status && !condcache_readable(r)) {
        condcache_note_add(r, "pass", "unreadable", first);
        return DECLINED;
    }
    if (out.status == HTTP_PRECONDITION_FAILED) {
        condcache_note_add(r, "412", out.reason, first);
        return HTTP_PRECONDITION_FAILED;
    }
    if (out.status == HTTP_NOT_MODIFIED) {
        condcache_note_add(r, "304", out.reason, first);
        return condcache_send_304(r, ctx);
    }
    condcache_note_add(r, "200", out.reason, first);
    condcache_hide(r, ctx, out.range == CC_RANGE_IGNORE);
    condcache_put_validators(r, ctx, CONDCACHE_PUT_FILE, 0);
    return DECLINED;
}


/* ---------------------------------------------------------------------
 * The validators of the 200
 */

/* The default handler set the core's ETag (FileETag) and Last-Modified:
 * put this module's in their place, or take the tag away where a filter
 * changes the bytes, before any content filter (mod_include, mod_deflate)
 * sees the response, exactly as if the handler had set them.
 */
apr_status_t condcache_validators_filter(ap_filter_t *f,
                                                apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const condcache_req *ctx = f->ctx;

    if (r->status == HTTP_OK) {
        if (ctx->put == CONDCACHE_PUT_FILE && ctx->etag) {
            /* the response is the file's bytes, so a "no-etag" here is
             * the core's, for a FileETag None that a CondCacheETag of
             * this scope or an enclosing one overrides (mod_include,
             * which also asks for no tag, changes the bytes: no
             * CONDCACHE_PUT_FILE then)
             */
            apr_table_setn(r->headers_out, "ETag", ctx->etag);
            apr_table_unset(r->notes, "no-etag");
        }
        else {
            apr_table_unset(r->headers_out, "ETag");
        }
        /* the default handler's Last-Modified is this module's: the
         * file's mtime, never later than Date, in whole seconds
         */
        if (ctx->put == CONDCACHE_PUT_FILE && !ctx->has_lm) {
            apr_table_unset(r->headers_out, "Last-Modified");
        }
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}
