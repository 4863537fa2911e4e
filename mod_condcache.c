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
 * mod_condcache: validators and conditional requests done right.
 *
 *   CondCache             On|Off                    act in this scope
 *   CondCacheETag         [+|-]INode|MTime|Size|Digest ... | All | None
 *                                                   what a file's tag is
 *                                                   made of (MTime Size)
 *   CondCacheETagSalt     string                    mixed into every tag
 *   CondCacheLastModified On|Off                    send Last-Modified (On)
 *
 *   CondCacheExpiresDefault   "<lifetime>"          freshness of the scope
 *   CondCacheExpiresByType    type "<lifetime>"     type exact or wildcard
 *   CondCacheControl          directive ...         more Cache-Control
 *   CondCacheControlByType    type directive ...
 *   CondCacheControlMerge     Merge|Keep|Replace    the handler's own (Merge)
 *   CondCacheExpires          On|Off                send Expires too (On)
 *   CondCacheFreshnessStatus  code|2xx|3xx|4xx ...  which responses get them
 *   CondCacheFingerprint      regex ["<lifetime>"]  immutable URLs (1 year)
 *
 *   CondCacheDigest           On|Off|Override       digest ETags for handler
 *                                                   output (Off)
 *   CondCacheDigestMaxSize    bytes                 what it buffers (1 MiB)
 *   CondCacheDigestMaxWait    time                  how long it holds (1s)
 *
 * A GET or HEAD of a file is decided in a handler that runs just before
 * httpd's default handler, after authentication, authorization, every
 * fixup and every other handler: only a file the default handler will
 * really send, as it is, gets its validators and the preconditions
 * evaluated exactly as RFC 9110 section 13.2.2 orders them.  A 412 is
 * answered right there, and so is a 304, through the output filters, so
 * that the ones other modules insert (mod_headers, mod_expires) see it as
 * they see httpd's own.  When the request goes on, the preconditions
 * already decided are taken out of the request, so that the default
 * handler's ap_meets_conditions() (which gets some of the RFC's
 * precedence rules wrong, and would compare against the core's FileETag
 * tag) cannot contradict the decision; a filter puts this module's
 * validators back on the response in place of the core's.  PUT and
 * DELETE handled by mod_dav are decided before mod_dav's handler runs.
 *
 * The freshness policy (Cache-Control and Expires) is applied by an output
 * filter, once the handler has said what the response is: its status,
 * media type, Last-Modified and its own Cache-Control.  Rules are kept per
 * scope; the innermost scope with a rule for the response's type wins.
 *
 * A last filter, after the content filters (mod_deflate, mod_brotli) and
 * before mod_cache and the protocol ones, sees the response as it will
 * leave: it gives handler output a strong ETag made of a digest of the
 * bytes (holding at most CondCacheDigestMaxSize of them, for at most
 * CondCacheDigestMaxWait, and streaming whatever it cannot hold), then
 * evaluates the preconditions against the final validators and turns the
 * response into a 304 or a 412 before any byte of the body is sent.  It
 * also decides for a file whose bytes a filter changes (a compressed
 * file's "-gzip" tag, SSI output).
 *
 * This file is httpd glue only; the protocol lives in cc_*.c.
 */

#include <string.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "mod_condcache.h"

module AP_MODULE_DECLARE_DATA condcache_module;

#define CONDCACHE_UNSET (-1)

/* per-directory configuration; every field has an unset state */
typedef struct {
    int enabled;
    int etag_set;        /* absolute CC_ETAG_* bits, or CONDCACHE_UNSET */
    int etag_add;        /* relative +Keyword and -Keyword */
    int etag_del;
    const char *salt;    /* NULL unset, "" no salt */
    int last_modified;
    int merge_mode;      /* cc_merge_mode */
    int send_expires;
    const unsigned char *statuses;   /* bitmap of codes, NULL unset */
    /* the freshness rules of this scope and of every enclosing one, from
     * the outermost to the innermost; a scope adds its own maps once
     */
    cc_typemap *own_lifetimes;       /* -> cc_lifetime */
    cc_typemap *own_controls;        /* -> array of cc_directive */
    apr_array_header_t *lifetimes;   /* const cc_typemap * */
    apr_array_header_t *controls;    /* const cc_typemap * */
    apr_array_header_t *fingerprints;    /* condcache_fingerprint * */
    int digest;                      /* CONDCACHE_DIGEST_* */
    apr_off_t digest_max;            /* CONDCACHE_UNSET or bytes */
    apr_interval_time_t digest_wait; /* CONDCACHE_UNSET or microseconds */
} condcache_dir_conf;

#define CONDCACHE_DIGEST_OFF      0
#define CONDCACHE_DIGEST_ON       1      /* where the handler sent no ETag */
#define CONDCACHE_DIGEST_OVERRIDE 2      /* in place of the handler's */

typedef struct {
    ap_regex_t *regex;
    cc_lifetime lifetime;
} condcache_fingerprint;

#define CONDCACHE_STATUS_BYTES ((600 + 7) / 8)
#define CONDCACHE_HAS_STATUS(map, s) \
    ((s) >= 0 && (s) < 600 && ((map)[(s) / 8] & (1 << ((s) % 8))))

/* Defaults, in one place. */
static const condcache_dir_conf condcache_defaults = {
    0,                              /* CondCache Off */
    CC_ETAG_MTIME | CC_ETAG_SIZE,   /* never the inode: a farm agrees */
    0,
    0,
    "",                             /* no salt */
    1,                              /* CondCacheLastModified On */
    CC_MERGE_MERGE,                 /* CondCacheControlMerge Merge */
    1,                              /* CondCacheExpires On */
    NULL,                           /* condcache_default_statuses */
    NULL, NULL, NULL, NULL, NULL,   /* no freshness rules */
    CONDCACHE_DIGEST_OFF,           /* buffering is the admin's choice */
    1024 * 1024,                    /* CondCacheDigestMaxSize 1 MiB */
    APR_USEC_PER_SEC                /* CondCacheDigestMaxWait 1 second */
};

/* CONFORMANCE.md 5.5: 200, 203, 204, 206 and 3xx (304 among them); filled
 * in at startup
 */
static unsigned char condcache_default_statuses[CONDCACHE_STATUS_BYTES];

#define CONDCACHE_VAL(c, f) \
    ((c)->f != CONDCACHE_UNSET ? (c)->f : condcache_defaults.f)
#define CONDCACHE_MERGE(b, o, f) \
    ((o)->f != CONDCACHE_UNSET ? (o)->f : (b)->f)

/* per-request state */
typedef struct {
    apr_table_t *fields;       /* the request's fields before this module
                                * took its preconditions out: what the
                                * decision reads, and what the log shows */
    const char *etag;          /* the file's tag, NULL for none */
    int has_lm;                /* CondCacheLastModified On, and a file */
    apr_time_t lm;             /* its Last-Modified, whole seconds */
    int put;                   /* CONDCACHE_PUT_*: the validators filter */
    int decided;               /* the preconditions are decided: the last
                                * filter only adds a digest */
} condcache_req;

/* what the validators filter does to the default handler's 200 */
#define CONDCACHE_PUT_FILE    1    /* this module's ETag and Last-Modified */
#define CONDCACHE_PUT_NO_ETAG 2    /* no ETag: a filter changes the bytes */

/* what the filters of a request do to the file's bytes */
typedef enum {
    CONDCACHE_BYTES_FILE,      /* nothing: the response is the file */
    CONDCACHE_BYTES_CODED,     /* a content-coding (mod_deflate, mod_brotli)
                                * that gives the file's tag a suffix */
    CONDCACHE_BYTES_CHANGED    /* anything else (mod_include, ...) */
} condcache_bytes;

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
 * double from 8 KiB up to 1 MiB, and all of them together
 * never exceed CondCacheDigestMaxSize: what a request holds stays within
 * the limit plus a few bucket headers.  The sizes leave room for the
 * allocator's own headers in its 4 KiB steps.
 */
#define CONDCACHE_CHUNK_SIZE(k) ((APR_INT64_C(8192) << (k)) - 128)
#define CONDCACHE_CHUNK_GROWTH  7      /* the largest: 1 MiB */
/* metadata buckets in the middle of a body (other than FLUSH) are rare;
 * past this many the response passes untouched
 */
#define CONDCACHE_METADATA_MAX 16

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

static ap_filter_rec_t *condcache_validators_filter_handle;
static ap_filter_rec_t *condcache_policy_filter_handle;
static ap_filter_rec_t *condcache_final_filter_handle;

static void *condcache_create_dir_conf(apr_pool_t *p, char *dir);
static void *condcache_merge_dir_conf(apr_pool_t *p, void *basev,
                                      void *addv);
static apr_array_header_t *condcache_concat(apr_pool_t *p,
                                            const apr_array_header_t *a,
                                            const apr_array_header_t *b);
static int condcache_etag_bits(const condcache_dir_conf *conf);
static const char *condcache_set_keyword(cmd_parms *cmd, void *dconf,
                                         const char *arg);
static const char *condcache_set_etag(cmd_parms *cmd, void *dconf,
                                      const char *args);
static const char *condcache_set_salt(cmd_parms *cmd, void *dconf,
                                      const char *arg);
static const char *condcache_set_expires_default(cmd_parms *cmd,
                                                 void *dconf,
                                                 const char *spec);
static const char *condcache_set_expires(cmd_parms *cmd, void *dconf,
                                         const char *type,
                                         const char *spec);
static const char *condcache_set_control_default(cmd_parms *cmd,
                                                 void *dconf,
                                                 const char *word);
static const char *condcache_set_control(cmd_parms *cmd, void *dconf,
                                         const char *type,
                                         const char *word);
static const char *condcache_set_statuses(cmd_parms *cmd, void *dconf,
                                          const char *args);
static const char *condcache_set_fingerprint(cmd_parms *cmd, void *dconf,
                                             const char *pattern,
                                             const char *spec);
static const char *condcache_set_digest_max(cmd_parms *cmd, void *dconf,
                                            const char *arg);
static const char *condcache_set_digest_wait(cmd_parms *cmd, void *dconf,
                                             const char *arg);

static int condcache_already_decided(const request_rec *r);
static condcache_req *condcache_req_get(request_rec *r);
static const apr_table_t *condcache_client_fields(const request_rec *r);
static int condcache_read_fields(request_rec *r, const apr_table_t *fields,
                                 cc_precond_in *in);
static void condcache_hide(request_rec *r, condcache_req *ctx, int range);
static void condcache_note(request_rec *r, const char *decision,
                           const char *reason);
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
static int condcache_send_304(request_rec *r, const condcache_req *ctx);
static int condcache_handler_dav(request_rec *r);
static int condcache_handler_file(request_rec *r);
static apr_status_t condcache_validators_filter(ap_filter_t *f,
                                                apr_bucket_brigade *bb);
static int condcache_log_transaction(request_rec *r);

static int condcache_has_policy(const condcache_dir_conf *conf);
static void condcache_apply_policy(request_rec *r,
                                   const condcache_dir_conf *conf);
static apr_status_t condcache_policy_filter(ap_filter_t *f,
                                            apr_bucket_brigade *bb);
static void condcache_insert_filter(request_rec *r);
static void condcache_insert_error_filter(request_rec *r);

static void condcache_add_final_filter(request_rec *r);
static int condcache_streams(const char *type);
static void condcache_make_412(request_rec *r);
static int condcache_final_decide(request_rec *r, int digested);
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
static apr_status_t condcache_final_filter(ap_filter_t *f,
                                           apr_bucket_brigade *bb);
static void condcache_child_init(apr_pool_t *p, server_rec *s);
static void condcache_register_hooks(apr_pool_t *p);

/* ---------------------------------------------------------------------
 * Configuration
 */

static void *condcache_create_dir_conf(apr_pool_t *p, char *dir)
{
    condcache_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)dir;
    conf->enabled = CONDCACHE_UNSET;
    conf->etag_set = CONDCACHE_UNSET;
    conf->last_modified = CONDCACHE_UNSET;
    conf->merge_mode = CONDCACHE_UNSET;
    conf->send_expires = CONDCACHE_UNSET;
    conf->digest = CONDCACHE_UNSET;
    conf->digest_max = CONDCACHE_UNSET;
    conf->digest_wait = CONDCACHE_UNSET;
    return conf;
}

/* a followed by b, either may be NULL: lists append */
static apr_array_header_t *condcache_concat(apr_pool_t *p,
                                            const apr_array_header_t *a,
                                            const apr_array_header_t *b)
{
    apr_array_header_t *out;

    if (!a || !b) {
        return (apr_array_header_t *)(a ? a : b);
    }
    out = apr_array_copy(p, a);
    apr_array_cat(out, b);
    return out;
}

static void *condcache_merge_dir_conf(apr_pool_t *p, void *basev,
                                      void *addv)
{
    const condcache_dir_conf *base = basev, *add = addv;
    condcache_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->enabled = CONDCACHE_MERGE(base, add, enabled);
    conf->last_modified = CONDCACHE_MERGE(base, add, last_modified);
    conf->salt = add->salt ? add->salt : base->salt;
    conf->merge_mode = CONDCACHE_MERGE(base, add, merge_mode);
    conf->send_expires = CONDCACHE_MERGE(base, add, send_expires);
    conf->statuses = add->statuses ? add->statuses : base->statuses;
    conf->lifetimes = condcache_concat(p, base->lifetimes, add->lifetimes);
    conf->controls = condcache_concat(p, base->controls, add->controls);
    conf->fingerprints = condcache_concat(p, base->fingerprints,
                                          add->fingerprints);
    conf->digest = CONDCACHE_MERGE(base, add, digest);
    conf->digest_max = CONDCACHE_MERGE(base, add, digest_max);
    conf->digest_wait = CONDCACHE_MERGE(base, add, digest_wait);

    /* CondCacheETag as FileETag: an absolute list replaces the parent's,
     * +Keyword and -Keyword change it.
     */
    if (add->etag_set != CONDCACHE_UNSET) {
        conf->etag_set = add->etag_set;
        conf->etag_add = add->etag_add;
        conf->etag_del = add->etag_del;
    }
    else {
        conf->etag_set = base->etag_set;
        conf->etag_add = (base->etag_add & ~add->etag_del) | add->etag_add;
        conf->etag_del = (base->etag_del & ~add->etag_add) | add->etag_del;
    }
    return conf;
}

static int condcache_etag_bits(const condcache_dir_conf *conf)
{
    return (CONDCACHE_VAL(conf, etag_set) | conf->etag_add)
           & ~conf->etag_del;
}

/* A directive that takes one keyword of a few (On|Off, Merge|Keep|Replace,
 * ...) into an int of the config; ap_set_flag_slot() would not say which
 * value it refused.
 */
typedef struct {
    apr_size_t offset;
    const char *expected;            /* for the message */
    const char *names[4];
    int values[4];
} condcache_keywords;

static const condcache_keywords condcache_kw_enabled = {
    APR_OFFSETOF(condcache_dir_conf, enabled), "neither On nor Off",
    { "On", "Off" }, { 1, 0 }
};
static const condcache_keywords condcache_kw_last_modified = {
    APR_OFFSETOF(condcache_dir_conf, last_modified), "neither On nor Off",
    { "On", "Off" }, { 1, 0 }
};
static const condcache_keywords condcache_kw_send_expires = {
    APR_OFFSETOF(condcache_dir_conf, send_expires), "neither On nor Off",
    { "On", "Off" }, { 1, 0 }
};
static const condcache_keywords condcache_kw_merge = {
    APR_OFFSETOF(condcache_dir_conf, merge_mode),
    "not Merge, Keep or Replace",
    { "Merge", "Keep", "Replace" },
    { CC_MERGE_MERGE, CC_MERGE_KEEP, CC_MERGE_REPLACE }
};
static const condcache_keywords condcache_kw_digest = {
    APR_OFFSETOF(condcache_dir_conf, digest), "not On, Off or Override",
    { "On", "Off", "Override" },
    { CONDCACHE_DIGEST_ON, CONDCACHE_DIGEST_OFF, CONDCACHE_DIGEST_OVERRIDE }
};

static const char *condcache_set_keyword(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    const condcache_keywords *kw = cmd->info;
    int i;

    for (i = 0; i < 4 && kw->names[i]; i++) {
        if (!strcasecmp(arg, kw->names[i])) {
            *(int *)((char *)dconf + kw->offset) = kw->values[i];
            return NULL;
        }
    }
    return apr_psprintf(cmd->pool, "%s: '%s' is %s", cmd->cmd->name, arg,
                        kw->expected);
}

static const struct {
    const char *name;
    int bits;
} condcache_etag_keywords[] = {
    { "INode",  CC_ETAG_INODE },
    { "MTime",  CC_ETAG_MTIME },
    { "Size",   CC_ETAG_SIZE },
    { "Digest", CC_ETAG_DIGEST },
    { "All",    CC_ETAG_ALL },
    { "None",   0 },
};

static const char *condcache_set_etag(cmd_parms *cmd, void *dconf,
                                      const char *args)
{
    condcache_dir_conf *conf = dconf;
    int set = 0, add = 0, del = 0;
    const char *absolute = NULL, *relative = NULL, *none = NULL, *word;

    while (*(word = ap_getword_conf(cmd->temp_pool, &args)) != '\0') {
        const char *name = word;
        apr_size_t i;
        int *target = &set;

        if (*word == '+' || *word == '-') {
            target = *word == '+' ? &add : &del;
            name++;
            relative = word;
        }
        for (i = 0; i < sizeof(condcache_etag_keywords)
                        / sizeof(condcache_etag_keywords[0]); i++) {
            if (!strcasecmp(name, condcache_etag_keywords[i].name)) {
                break;
            }
        }
        if (i == sizeof(condcache_etag_keywords)
                 / sizeof(condcache_etag_keywords[0])) {
            return apr_psprintf(cmd->pool, "%s: unknown keyword '%s' "
                                "(INode, MTime, Size, Digest, All or None, "
                                "each optionally with + or -)",
                                cmd->cmd->name, word);
        }
        if (!strcasecmp(name, "None")) {
            if (target != &set) {
                return apr_psprintf(cmd->pool, "%s: '%s' cannot be "
                                    "relative", cmd->cmd->name, word);
            }
            none = word;
        }
        else if (target == &set) {
            absolute = word;
        }
        *target |= condcache_etag_keywords[i].bits;
    }
    if (!absolute && !relative && !none) {
        return apr_psprintf(cmd->pool, "%s needs at least one keyword",
                            cmd->cmd->name);
    }
    if ((absolute || none) && relative) {
        return apr_psprintf(cmd->pool, "%s: '%s' and '%s' cannot be mixed "
                            "(all keywords take + or -, or none does)",
                            cmd->cmd->name, absolute ? absolute : none,
                            relative);
    }
    if (none && absolute) {
        return apr_psprintf(cmd->pool, "%s: '%s' cannot be combined with "
                            "'%s'", cmd->cmd->name, none, absolute);
    }
    conf->etag_set = absolute || none ? set : CONDCACHE_UNSET;
    conf->etag_add = add;
    conf->etag_del = del;
    return NULL;
}

static const char *condcache_set_salt(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    condcache_dir_conf *conf = dconf;

    (void)cmd;
    conf->salt = arg;
    return NULL;
}

static const char *condcache_set_expires_default(cmd_parms *cmd,
                                                 void *dconf,
                                                 const char *spec)
{
    return condcache_set_expires(cmd, dconf, NULL, spec);
}

/* CondCacheExpiresByType <type> "<lifetime>"; type NULL for the default */
static const char *condcache_set_expires(cmd_parms *cmd, void *dconf,
                                         const char *type, const char *spec)
{
    condcache_dir_conf *conf = dconf;
    cc_lifetime *lt = apr_palloc(cmd->pool, sizeof(*lt));
    const char *err;

    err = cc_lifetime_parse(cmd->temp_pool, spec, lt);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: '%s': %s", cmd->cmd->name, spec,
                            err);
    }
    if (!conf->own_lifetimes) {
        conf->own_lifetimes = apr_palloc(cmd->pool,
                                         sizeof(*conf->own_lifetimes));
        cc_typemap_init(conf->own_lifetimes, cmd->pool);
        conf->lifetimes = apr_array_make(cmd->pool, 1,
                                         sizeof(const cc_typemap *));
        APR_ARRAY_PUSH(conf->lifetimes, const cc_typemap *) =
            conf->own_lifetimes;
    }
    if (!type) {
        conf->own_lifetimes->dflt = lt;
        return NULL;
    }
    err = cc_typemap_set(conf->own_lifetimes, cmd->pool, type, lt);
    return err ? apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err)
               : NULL;
}

static const char *condcache_set_control_default(cmd_parms *cmd,
                                                 void *dconf,
                                                 const char *word)
{
    return condcache_set_control(cmd, dconf, NULL, word);
}

/* CondCacheControlByType <type> directive ...: each call adds one; type
 * NULL for CondCacheControl
 */
static const char *condcache_set_control(cmd_parms *cmd, void *dconf,
                                         const char *type, const char *word)
{
    condcache_dir_conf *conf = dconf;
    apr_array_header_t *list;
    cc_directive d;
    const char *err;

    err = cc_control_policy_parse(cmd->pool, word, &d);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    if (!conf->own_controls) {
        conf->own_controls = apr_palloc(cmd->pool,
                                        sizeof(*conf->own_controls));
        cc_typemap_init(conf->own_controls, cmd->pool);
        conf->controls = apr_array_make(cmd->pool, 1,
                                        sizeof(const cc_typemap *));
        APR_ARRAY_PUSH(conf->controls, const cc_typemap *) =
            conf->own_controls;
    }
    list = (apr_array_header_t *)(type
                                  ? cc_typemap_get(conf->own_controls, type)
                                  : conf->own_controls->dflt);
    if (!list) {
        list = apr_array_make(cmd->pool, 4, sizeof(cc_directive));
        if (!type) {
            conf->own_controls->dflt = list;
        }
        else if ((err = cc_typemap_set(conf->own_controls, cmd->pool, type,
                                       list)) != NULL) {
            return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
        }
    }
    if (!cc_control_find(list, d.name)) {
        APR_ARRAY_PUSH(list, cc_directive) = d;
    }
    return NULL;
}

/* CondCacheFreshnessStatus 200 203 3xx 404 ...: the whole list */
static const char *condcache_set_statuses(cmd_parms *cmd, void *dconf,
                                          const char *args)
{
    condcache_dir_conf *conf = dconf;
    unsigned char *map = apr_pcalloc(cmd->pool, CONDCACHE_STATUS_BYTES);
    const char *word;
    int any = 0;

    while (*(word = ap_getword_conf(cmd->temp_pool, &args)) != '\0') {
        int lo, hi, code;

        if (strlen(word) == 3 && apr_isdigit(word[0])
            && (word[1] == 'x' || word[1] == 'X')
            && (word[2] == 'x' || word[2] == 'X')) {
            lo = (word[0] - '0') * 100;
            hi = lo + 99;
        }
        else if (strlen(word) == 3 && apr_isdigit(word[0])
                 && apr_isdigit(word[1]) && apr_isdigit(word[2])) {
            lo = hi = atoi(word);
        }
        else {
            return apr_psprintf(cmd->pool, "%s: '%s' is not a status code "
                                "(such as 200 or 404) or a class (3xx)",
                                cmd->cmd->name, word);
        }
        if (lo < 200 || lo >= 500) {
            return apr_psprintf(cmd->pool, "%s: '%s': only 2xx, 3xx and 4xx "
                                "responses can get freshness headers",
                                cmd->cmd->name, word);
        }
        for (code = lo; code <= hi; code++) {
            map[code / 8] |= (unsigned char)(1 << (code % 8));
        }
        any = 1;
    }
    if (!any) {
        return apr_psprintf(cmd->pool, "%s needs at least one status",
                            cmd->cmd->name);
    }
    conf->statuses = map;
    return NULL;
}

/* CondCacheFingerprint regex ["<lifetime>"] */
static const char *condcache_set_fingerprint(cmd_parms *cmd, void *dconf,
                                             const char *pattern,
                                             const char *spec)
{
    condcache_dir_conf *conf = dconf;
    condcache_fingerprint *fp = apr_palloc(cmd->pool, sizeof(*fp));
    const char *err;

    fp->regex = ap_pregcomp(cmd->pool, pattern, AP_REG_EXTENDED);
    if (!fp->regex) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid regular "
                            "expression", cmd->cmd->name, pattern);
    }
    if (!spec) {
        spec = "access plus 1 year";
    }
    err = cc_lifetime_parse(cmd->temp_pool, spec, &fp->lifetime);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: '%s': %s", cmd->cmd->name, spec,
                            err);
    }
    if (!conf->fingerprints) {
        conf->fingerprints = apr_array_make(cmd->pool, 1,
                                            sizeof(condcache_fingerprint *));
    }
    APR_ARRAY_PUSH(conf->fingerprints, condcache_fingerprint *) = fp;
    return NULL;
}

static const char *condcache_set_digest_max(cmd_parms *cmd, void *dconf,
                                            const char *arg)
{
    condcache_dir_conf *conf = dconf;
    apr_int64_t bytes;

    /* a whole number of bytes, at most 1 GiB: the bound is per request */
    if (!cc_delta_parse(arg, &bytes) || bytes > 1024 * 1024 * 1024) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of bytes "
                            "from 0 to 1073741824", cmd->cmd->name, arg);
    }
    conf->digest_max = (apr_off_t)bytes;
    return NULL;
}

/* CondCacheDigestMaxWait: seconds, or a number with one of httpd's units
 * (250ms, 2s, 1mi, 1h); ap_timeout_parameter_parse() alone would take
 * "soon" for 0 seconds
 */
static const char *condcache_set_digest_wait(cmd_parms *cmd, void *dconf,
                                             const char *arg)
{
    condcache_dir_conf *conf = dconf;
    apr_interval_time_t wait;
    const char *unit = arg;

    while (apr_isdigit(*unit)) {
        unit++;
    }
    if (unit == arg
        || (*unit && strcmp(unit, "s") && strcmp(unit, "ms")
            && strcmp(unit, "mi") && strcmp(unit, "h"))
        || ap_timeout_parameter_parse(arg, &wait, "s") != APR_SUCCESS
        || wait > apr_time_from_sec(3600)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a time from 0 to "
                            "3600 seconds (such as 2, 500ms)",
                            cmd->cmd->name, arg);
    }
    conf->digest_wait = wait;
    return NULL;
}

static const command_rec condcache_cmds[] = {
    AP_INIT_TAKE1("CondCache", condcache_set_keyword,
                  (void *)&condcache_kw_enabled,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Answer conditional requests and set validators in this "
                  "scope"),
    AP_INIT_RAW_ARGS("CondCacheETag", condcache_set_etag, NULL,
                     RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                     "What the entity-tag of a file is made of: INode, "
                     "MTime, Size, Digest, All or None"),
    AP_INIT_TAKE1("CondCacheETagSalt", condcache_set_salt, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "A string mixed into every entity-tag of the scope"),
    AP_INIT_TAKE1("CondCacheLastModified", condcache_set_keyword,
                  (void *)&condcache_kw_last_modified,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Send Last-Modified, never later than Date"),
    AP_INIT_TAKE1("CondCacheExpiresDefault", condcache_set_expires_default,
                  NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "The lifetime of the responses of the scope"),
    AP_INIT_TAKE2("CondCacheExpiresByType", condcache_set_expires, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "The lifetime of the responses of a media type"),
    AP_INIT_ITERATE("CondCacheControl", condcache_set_control_default, NULL,
                    RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                    "Cache-Control directives for the responses of the "
                    "scope"),
    AP_INIT_ITERATE2("CondCacheControlByType", condcache_set_control, NULL,
                     RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                     "Cache-Control directives for the responses of a "
                     "media type"),
    AP_INIT_TAKE1("CondCacheControlMerge", condcache_set_keyword,
                  (void *)&condcache_kw_merge,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "What to do with the handler's own Cache-Control: Merge, "
                  "Keep or Replace"),
    AP_INIT_TAKE1("CondCacheExpires", condcache_set_keyword,
                  (void *)&condcache_kw_send_expires,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Send Expires beside max-age"),
    AP_INIT_RAW_ARGS("CondCacheFreshnessStatus", condcache_set_statuses,
                     NULL, RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                     "The response statuses that get freshness headers"),
    AP_INIT_TAKE12("CondCacheFingerprint", condcache_set_fingerprint, NULL,
                   RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                   "A regular expression for fingerprinted URLs, which get "
                   "a long lifetime and immutable"),
    AP_INIT_TAKE1("CondCacheDigest", condcache_set_keyword,
                  (void *)&condcache_kw_digest,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Give handler output a digest ETag: On, Off or Override"),
    AP_INIT_TAKE1("CondCacheDigestMaxSize", condcache_set_digest_max, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "The most bytes of a response held back for its digest"),
    AP_INIT_TAKE1("CondCacheDigestMaxWait", condcache_set_digest_wait, NULL,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "The longest a response is held back for its digest"),
    { NULL }
};

/* ---------------------------------------------------------------------
 * Which requests are decided, and where
 *
 * A GET, HEAD or POST of a file gets its decision in a handler that runs
 * just before httpd's default handler: every other handler has declined
 * by then (a CGI, PHP, mod_actions' Action for the file's type), every
 * fixup has run, whatever the order the modules were loaded in (mod_headers'
 * RequestHeader, mod_include's XBitHack, mod_rewrite), and every filter
 * of the response is in place.  PUT and DELETE handled by mod_dav get
 * theirs in a handler that runs before mod_dav's.  Handler output, and a
 * file whose bytes a filter changes, are decided by the last filter, on
 * the validators the response leaves with.
 */

/* RFC 9110 13.2.1 and CONFORMANCE.md 2.4: a subrequest, an error document
 * or a request whose preconditions an earlier request of the same chain
 * already evaluated does not evaluate them again.
 */
static int condcache_already_decided(const request_rec *r)
{
    const request_rec *p;

    if (r->main) {
        return 1;
    }
    for (p = r->prev; p; p = p->prev) {
        const char *note = apr_table_get(p->notes, "condcache");

        /* an error document, or a request that decided ("pass" is not a
         * decision: mod_rewrite's front controllers redirect from there)
         */
        if (p->status != HTTP_OK || (note && strncmp(note, "pass ", 5))) {
            return 1;
        }
    }
    return 0;
}

static condcache_req *condcache_req_get(request_rec *r)
{
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);

    if (!ctx) {
        ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        ap_set_module_config(r->request_config, &condcache_module, ctx);
    }
    return ctx;
}

/* The request's fields as the client sent them.  An internal redirect
 * inherits the table this module took the preconditions out of, so the
 * earliest request of the chain that kept the original holds them.
 */
static const apr_table_t *condcache_client_fields(const request_rec *r)
{
    const apr_table_t *fields = r->headers_in;
    const request_rec *rr;

    for (rr = r; rr; rr = rr->prev) {
        const condcache_req *ctx = ap_get_module_config(rr->request_config,
                                                        &condcache_module);

        if (ctx && ctx->fields) {
            fields = ctx->fields;
        }
    }
    return fields;
}

/* The preconditions of the request, in one pass over its fields; the
 * values only of those present (several lines joined).  Returns whether
 * any If-* field is there.
 */
static int condcache_read_fields(request_rec *r, const apr_table_t *fields,
                                 cc_precond_in *in)
{
    const apr_array_header_t *elts = apr_table_elts(fields);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts;
    int i, conditional = 0;

    for (i = 0; i < elts->nelts; i++) {
        const char *k = e[i].key;

        if (!k) {
            continue;
        }
        if ((k[0] == 'I' || k[0] == 'i') && (k[1] == 'f' || k[1] == 'F')
            && k[2] == '-') {
            conditional = 1;
        }
        else if ((k[0] == 'R' || k[0] == 'r') && !strcasecmp(k, "Range")) {
            in->has_range = 1;
        }
    }
    if (conditional) {
        in->if_match = apr_table_getm(r->pool, fields, "If-Match");
        in->if_none_match = apr_table_getm(r->pool, fields, "If-None-Match");
        in->if_modified_since = apr_table_getm(r->pool, fields,
                                               "If-Modified-Since");
        in->if_unmodified_since = apr_table_getm(r->pool, fields,
                                                 "If-Unmodified-Since");
        in->if_range = apr_table_getm(r->pool, fields, "If-Range");
    }
    return conditional && (in->if_match || in->if_none_match
                           || in->if_modified_since
                           || in->if_unmodified_since || in->if_range);
}

/* Take the preconditions (and Range, where this module decides it) out
 * of the request, so that nothing after this module answers them again
 * with other validators or other rules: the default handler's
 * ap_meets_conditions(), mod_cgi's, mod_dav's, the byterange filter.
 * The log shows the fields as sent.
 */
static void condcache_hide(request_rec *r, condcache_req *ctx, int range)
{
    static const char *const fields[] = {
        "If-Match", "If-None-Match", "If-Modified-Since",
        "If-Unmodified-Since", "If-Range"
    };
    apr_size_t i;

    if (!ctx->fields) {
        ctx->fields = r->headers_in;
        r->headers_in = apr_table_copy(r->pool, r->headers_in);
    }
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        apr_table_unset(r->headers_in, fields[i]);
    }
    if (range) {
        apr_table_unset(r->headers_in, "Range");
    }
}

static void condcache_note(request_rec *r, const char *decision,
                           const char *reason)
{
    apr_size_t dlen = strlen(decision), rlen = strlen(reason);
    char *note = apr_palloc(r->pool, dlen + 1 + rlen + 1);

    /* "304 inm-weak-match": on every request, so no apr_pstrcat */
    memcpy(note, decision, dlen);
    note[dlen] = ' ';
    memcpy(note + dlen + 1, reason, rlen + 1);

    apr_table_setn(r->notes, "condcache", note);
    if (APLOGrtrace1(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "condcache: %s %s: %s", r->method, r->uri, note);
    }
}

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
    fields.bits = (unsigned int)condcache_etag_bits(conf);
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
    int bits = condcache_etag_bits(conf), want = 0, cbits;

    if (!bits || (bits & CC_ETAG_DIGEST) || (conf->salt && *conf->salt)
        || !CONDCACHE_VAL(conf, last_modified) || checked < 0
        || r->vlist_validator
        || r->request_time - r->finfo.mtime <= apr_time_from_sec(2)) {
        return 0;
    }
    core = ap_get_core_module_config(r->per_dir_config);
    cbits = (core->etag_bits & ~core->etag_remove) | core->etag_add;
    if (cbits & (ETAG_NONE | ETAG_DIGEST)) {
        return 0;
    }
    if (cbits == ETAG_UNSET) {
        cbits = ETAG_BACKWARD;
    }
    want = ((bits & CC_ETAG_INODE) ? ETAG_INODE : 0)
           | ((bits & CC_ETAG_MTIME) ? ETAG_MTIME : 0)
           | ((bits & CC_ETAG_SIZE) ? ETAG_SIZE : 0);
    if (cbits != want) {
        return 0;
    }
    if (!checked) {
        cc_etag_fields fields;
        apr_time_t mtime = r->mtime;
        const char *theirs, *ours;

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
static int condcache_handler_dav(request_rec *r)
{
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);
    condcache_req *ctx;
    cc_precond_in in;
    cc_precond_out out;
    int exists = r->finfo.filetype == APR_REG;

    if ((r->method_number != M_PUT && r->method_number != M_DELETE)
        || !CONDCACHE_VAL(conf, enabled) || condcache_already_decided(r)) {
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

/* GET, HEAD and POST of a file, just before the default handler sends it
 * (every other handler has declined).  The default handler answers a path
 * after the file name with a 404 unless AcceptPathInfo says otherwise.
 */
static int condcache_handler_file(request_rec *r)
{
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);
    condcache_req *ctx;
    cc_precond_in in;
    cc_precond_out out;
    condcache_bytes bytes;
    int conditional, digest;

    if ((r->method_number != M_GET && r->method_number != M_POST)
        || !CONDCACHE_VAL(conf, enabled) || condcache_already_decided(r)) {
        return DECLINED;
    }
    if (r->finfo.filetype != APR_REG) {
        condcache_note(r, "pass", "not-a-file");
        return DECLINED;
    }
    if (r->path_info && *r->path_info
        && r->used_path_info != AP_REQ_ACCEPT_PATH_INFO) {
        condcache_note(r, "pass", "path-info");
        return DECLINED;
    }

    ctx = condcache_req_get(r);
    memset(&in, 0, sizeof(in));
    in.method = r->method_number == M_POST ? CC_METHOD_OTHER
                : r->header_only ? CC_METHOD_HEAD : CC_METHOD_GET;
    conditional = condcache_read_fields(r, condcache_client_fields(r), &in);
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
        condcache_note(r, "pass", "not-static");
        if (in.method == CC_METHOD_OTHER
            || (r->no_local_copy && digest == CONDCACHE_DIGEST_OFF)) {
            return DECLINED;
        }
        ctx->put = CONDCACHE_PUT_NO_ETAG;
        ap_add_output_filter_handle(condcache_validators_filter_handle, ctx,
                                    r, r->connection);
        if (conditional) {
            condcache_hide(r, ctx, 1);
            condcache_add_final_filter(r);
        }
        return DECLINED;
    }
    if (bytes == CONDCACHE_BYTES_CODED) {
        /* mod_deflate gives the tag its "-gzip", and Vary: the last
         * filter decides on the tag the response leaves with
         */
        if (in.method == CC_METHOD_OTHER) {
            condcache_note(r, "pass", "not-static");
            return DECLINED;
        }
        condcache_validators(r, conf, 1, ctx, &in);
        ctx->put = CONDCACHE_PUT_FILE;
        ap_add_output_filter_handle(condcache_validators_filter_handle, ctx,
                                    r, r->connection);
        if (conditional) {
            condcache_hide(r, ctx, 1);
            condcache_add_final_filter(r);
        }
        else {
            apr_table_setn(r->notes, "condcache", "200 unconditional");
            ctx->decided = 1;
        }
        return DECLINED;
    }

    /* the response is the file: decide now */
    ctx->decided = 1;
    if (!conditional) {
        /* the response needs this module's validators only where they
         * are not httpd's own
         */
        apr_table_setn(r->notes, "condcache", "200 unconditional");
        if (!condcache_core_tag_is_ours(r, conf)) {
            condcache_validators(r, conf, 1, ctx, &in);
            ctx->put = CONDCACHE_PUT_FILE;
            ap_add_output_filter_handle(condcache_validators_filter_handle,
                                        ctx, r, r->connection);
        }
        return DECLINED;
    }
    condcache_validators(r, conf, 1, ctx, &in);
    cc_precond_evaluate(&in, &out);
    if (out.status && !condcache_readable(r)) {
        condcache_note(r, "pass", "unreadable");
        return DECLINED;
    }
    if (out.status == HTTP_PRECONDITION_FAILED) {
        condcache_note(r, "412", out.reason);
        return HTTP_PRECONDITION_FAILED;
    }
    if (out.status == HTTP_NOT_MODIFIED) {
        condcache_note(r, "304", out.reason);
        return condcache_send_304(r, ctx);
    }
    condcache_note(r, "200", out.reason);
    condcache_hide(r, ctx, out.range == CC_RANGE_IGNORE);
    ctx->put = CONDCACHE_PUT_FILE;
    ap_add_output_filter_handle(condcache_validators_filter_handle, ctx, r,
                                r->connection);
    return DECLINED;
}

/* ---------------------------------------------------------------------
 * The validators of the 200
 */

/* The default handler set the core's ETag (FileETag) and Last-Modified:
 * put this module's in their place, or take the tag away where a filter
 * changes the bytes, before any content filter (mod_include, mod_deflate)
 * sees the response, exactly as if the handler had set them.  A filter
 * that asks for no tag ("no-etag": mod_include) is heard.
 */
static apr_status_t condcache_validators_filter(ap_filter_t *f,
                                                apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    const condcache_req *ctx = f->ctx;

    if (r->status == HTTP_OK) {
        if (ctx->put == CONDCACHE_PUT_FILE && ctx->etag
            && !apr_table_get(r->notes, "no-etag")) {
            apr_table_setn(r->headers_out, "ETag", ctx->etag);
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

/* The log shows the request as the client sent it. */
static int condcache_log_transaction(request_rec *r)
{
    request_rec *rr;

    for (rr = r; rr; rr = rr->next) {
        condcache_req *ctx = ap_get_module_config(rr->request_config,
                                                  &condcache_module);

        if (ctx && ctx->fields) {
            rr->headers_in = ctx->fields;
        }
    }
    return DECLINED;
}

/* ---------------------------------------------------------------------
 * The freshness policy
 */

static int condcache_has_policy(const condcache_dir_conf *conf)
{
    return conf->lifetimes || conf->controls || conf->fingerprints;
}

/* Compose Cache-Control and Expires for the response as it stands: its
 * status, its media type (for a 304, the type of the 200 it stands for),
 * its Last-Modified and the handler's own Cache-Control.
 */
static void condcache_apply_policy(request_rec *r,
                                   const condcache_dir_conf *conf)
{
    const unsigned char *statuses = conf->statuses ? conf->statuses
                                    : condcache_default_statuses;
    const cc_lifetime *lt = NULL;
    const apr_array_header_t *control;
    apr_array_header_t *policy, *merged;
    const cc_directive *max_age;
    const char *sent, *more, *field;
    apr_time_t lm = 0;
    apr_int64_t delta;
    int i, immutable = 0, has_lm;
    cc_merge_mode mode = (cc_merge_mode)CONDCACHE_VAL(conf, merge_mode);

    if (!CONDCACHE_HAS_STATUS(statuses, r->status)) {
        return;
    }
    /* a fingerprinted URL is immutable whatever its type */
    for (i = conf->fingerprints ? conf->fingerprints->nelts - 1 : -1;
         i >= 0 && !lt; i--) {
        const condcache_fingerprint *fp =
            APR_ARRAY_IDX(conf->fingerprints, i, condcache_fingerprint *);

        if (!ap_regexec(fp->regex, r->uri, 0, NULL, 0)) {
            lt = &fp->lifetime;
            immutable = 1;
        }
    }
    if (!lt) {
        lt = cc_typemap_resolve(conf->lifetimes, r->content_type);
    }
    control = cc_typemap_resolve(conf->controls, r->content_type);
    if (!lt && !control) {
        return;
    }

    /* the handler's own, from both tables (mod_cgi and "Header always"
     * put fields in err_headers_out)
     */
    sent = apr_table_getm(r->pool, r->headers_out, "Cache-Control");
    more = apr_table_getm(r->pool, r->err_headers_out, "Cache-Control");
    if (more) {
        sent = sent ? apr_pstrcat(r->pool, sent, ", ", more, NULL) : more;
    }
    if (mode == CC_MERGE_KEEP
        && (sent || apr_table_get(r->headers_out, "Expires")
            || apr_table_get(r->err_headers_out, "Expires"))) {
        if (APLOGrtrace1(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "condcache: "
                          "freshness of %s left to the handler", r->uri);
        }
        return;
    }

    policy = apr_array_make(r->pool, 8, sizeof(cc_directive));
    if (lt) {
        cc_directive *d = apr_array_push(policy);

        field = apr_table_get(r->headers_out, "Last-Modified");
        has_lm = field && cc_date_parse(field, r->request_time, &lm);
        if (lt->base == CC_BASE_MODIFICATION && !has_lm
            && APLOGrtrace1(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "condcache: %s "
                          "has no Last-Modified: its lifetime counts from "
                          "the request", r->uri);
        }
        d->name = "max-age";
        d->value = apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                                cc_lifetime_max_age(lt, r->request_time,
                                                    has_lm, lm));
    }
    if (control) {
        apr_array_cat(policy, control);
    }
    if (immutable && !cc_control_find(policy, "immutable")) {
        cc_directive *d = apr_array_push(policy);

        d->name = "immutable";
        d->value = NULL;
    }

    merged = cc_control_merge(r->pool,
                              sent ? cc_control_parse(r->pool, sent) : NULL,
                              policy, mode);
    field = cc_control_compose(r->pool, merged);
    apr_table_unset(r->err_headers_out, "Cache-Control");
    if (field) {
        apr_table_setn(r->headers_out, "Cache-Control", field);
    }
    else {
        apr_table_unset(r->headers_out, "Cache-Control");
    }

    /* Expires agrees with max-age: Date + max-age (RFC 9111 5.3) */
    max_age = cc_control_find(merged, "max-age");
    if (max_age && max_age->value && cc_delta_parse(max_age->value, &delta)) {
        apr_table_unset(r->err_headers_out, "Expires");
        if (CONDCACHE_VAL(conf, send_expires)) {
            char *date = apr_palloc(r->pool, CC_DATE_LEN);

            cc_date_format(date, apr_time_from_sec(
                               apr_time_sec(r->request_time) + delta));
            apr_table_setn(r->headers_out, "Expires", date);
        }
        else {
            apr_table_unset(r->headers_out, "Expires");
        }
    }
    if (APLOGrtrace1(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "condcache: freshness "
                      "of %s (%d, %s): Cache-Control: %s", r->uri, r->status,
                      r->content_type ? r->content_type : "no type",
                      field ? field : "(none)");
    }
}

static apr_status_t condcache_policy_filter(ap_filter_t *f,
                                            apr_bucket_brigade *bb)
{
    condcache_apply_policy(f->r, ap_get_module_config(f->r->per_dir_config,
                                                      &condcache_module));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* insert_filter, last, so that it sees every other module's filters */
static void condcache_insert_filter(request_rec *r)
{
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);
    cc_precond_in in;

    if (r->main || !CONDCACHE_VAL(conf, enabled)) {
        return;
    }
    if (condcache_has_policy(conf)) {
        ap_add_output_filter_handle(condcache_policy_filter_handle, NULL, r,
                                    r->connection);
    }
    if (condcache_already_decided(r)) {
        return;
    }
    /* until a handler of this module or the last filter decides */
    apr_table_setn(r->notes, "condcache",
                   r->method_number == M_GET || r->method_number == M_POST
                   ? "pass not-static" : "pass method");
    if (r->method_number != M_GET
        || CONDCACHE_VAL(conf, digest) == CONDCACHE_DIGEST_OFF) {
        return;
    }
    /* Handler output gets its digest from the last filter, which also
     * answers the preconditions on it.  The handler must not answer them
     * first with other validators (mod_cgi runs ap_meets_conditions() on
     * a script's fields, and fails If-Match for a script without an ETag)
     * nor Range on bytes whose tag is not known yet: it sees none of
     * them.
     */
    condcache_add_final_filter(r);
    memset(&in, 0, sizeof(in));
    if (condcache_read_fields(r, r->headers_in, &in) || in.has_range) {
        condcache_hide(r, condcache_req_get(r), 1);
    }
}

/* insert_error_filter: the responses httpd makes itself (redirects,
 * errors) get the freshness policy, and nothing else
 */
static void condcache_insert_error_filter(request_rec *r)
{
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);

    if (!r->main && CONDCACHE_VAL(conf, enabled)
        && condcache_has_policy(conf)) {
        ap_add_output_filter_handle(condcache_policy_filter_handle, NULL, r,
                                    r->connection);
    }
}

/* ---------------------------------------------------------------------
 * The last filter: digests, and decisions on the validators that leave
 */

static void condcache_add_final_filter(request_rec *r)
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
static int condcache_final_decide(request_rec *r, int digested)
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
    status = condcache_final_decide(f->r, 0);
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
    status = condcache_final_decide(r, 1);
    if (status) {
        return condcache_final_turn(f, bb, status);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static apr_status_t condcache_final_filter(ap_filter_t *f,
                                           apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    condcache_final_ctx *ctx = f->ctx;
    apr_status_t rv;

    if (!ctx) {
        const condcache_dir_conf *conf =
            ap_get_module_config(r->per_dir_config, &condcache_module);
        int mode = CONDCACHE_VAL(conf, digest), status;

        if (r->status != HTTP_OK
            || apr_table_get(r->headers_out, "Content-Range")) {
            /* preconditions are for a 200 (CONFORMANCE.md 2.2) */
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
            status = condcache_final_decide(r, 0);
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
        if (apr_time_now() > ctx->deadline) {
            /* held as long as CondCacheDigestMaxWait allows: the client
             * has waited long enough for the first byte
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

/* ---------------------------------------------------------------------
 * Hooks
 */

static void condcache_child_init(apr_pool_t *p, server_rec *s)
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

static void condcache_register_hooks(apr_pool_t *p)
{
    static const int fresh[] = { 200, 203, 204, 206 };
    apr_size_t i;
    int code;

    (void)p;
    for (i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++) {
        condcache_default_statuses[fresh[i] / 8] |=
            (unsigned char)(1 << (fresh[i] % 8));
    }
    for (code = 300; code < 400; code++) {
        condcache_default_statuses[code / 8] |=
            (unsigned char)(1 << (code % 8));
    }

    ap_hook_handler(condcache_handler_dav, NULL, NULL, APR_HOOK_REALLY_FIRST);
    /* the file's decision just before the default handler (REALLY_LAST),
     * after every other handler declined (mod_actions runs LAST)
     */
    ap_hook_handler(condcache_handler_file, NULL, NULL,
                    APR_HOOK_REALLY_LAST - 1);
    ap_hook_log_transaction(condcache_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);
    ap_hook_child_init(condcache_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(condcache_insert_filter, NULL, NULL,
                          APR_HOOK_REALLY_LAST);
    ap_hook_insert_error_filter(condcache_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    condcache_validators_filter_handle =
        ap_register_output_filter("CONDCACHE_VALIDATORS",
                                  condcache_validators_filter, NULL,
                                  (ap_filter_type)(AP_FTYPE_RESOURCE - 1));
    condcache_policy_filter_handle =
        ap_register_output_filter("CONDCACHE_POLICY",
                                  condcache_policy_filter, NULL,
                                  (ap_filter_type)(AP_FTYPE_CONTENT_SET - 1));
    /* a content-set filter inserted last (insert_filter REALLY_LAST, or by
     * the file's handler): after the compressors of the same type
     * (mod_deflate, mod_brotli), before mod_cache's CACHE_SAVE
     * (CONTENT_SET + 1), so that a cached 200 keeps its digest tag, and
     * before the protocol filters
     */
    condcache_final_filter_handle =
        ap_register_output_filter("CONDCACHE_FINAL", condcache_final_filter,
                                  NULL, AP_FTYPE_CONTENT_SET);
}

AP_DECLARE_MODULE(condcache) = {
    STANDARD20_MODULE_STUFF,
    condcache_create_dir_conf,
    condcache_merge_dir_conf,
    NULL,
    NULL,
    condcache_cmds,
    condcache_register_hooks,
    AP_MODULE_FLAG_NONE
};
