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
 *
 * A fixups hook, which runs after authentication, authorization and the
 * mapping of the request to a file, gives a static file its validators
 * and evaluates the preconditions exactly as RFC 9110 section 13.2.2
 * orders them.  A 412 is answered right there; a 304 is sent by this
 * module's handler, so that the output filters any other module inserts
 * (mod_headers, mod_expires) see the 304 as they see httpd's own.  When
 * the request goes on, the preconditions already decided are taken out of
 * the request, so that the default handler's ap_meets_conditions() (which
 * gets some of the RFC's precedence rules wrong, and would compare against
 * the core's FileETag tag) cannot contradict the decision; a filter puts
 * this module's validators back on the response in place of the core's.
 *
 * The freshness policy (Cache-Control and Expires) is applied by an output
 * filter, once the handler has said what the response is: its status,
 * media type, Last-Modified and its own Cache-Control.  Rules are kept per
 * scope; the innermost scope with a rule for the response's type wins.
 *
 * A last filter, after the content filters (mod_deflate, mod_brotli) and
 * before mod_cache and the protocol ones, sees the response as it will
 * leave: it gives handler output a strong ETag made of a digest of the
 * bytes (buffering at most CondCacheDigestMaxSize of them, and streaming
 * whatever it cannot hold), then evaluates If-None-Match and
 * If-Modified-Since against the final validators and turns a match into a
 * 304 before any byte of the body is sent.  It also makes the decision for
 * a static file whose response a filter transforms (a compressed file's
 * "-gzip" tag).
 *
 * This file is httpd glue only; the protocol lives in cc_*.c.
 */

#include <string.h>

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
    1024 * 1024                     /* CondCacheDigestMaxSize 1 MiB */
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
    const char *etag;          /* the tag of the current representation */
    int has_lm;                /* CondCacheLastModified On, and a file */
    apr_time_t lm;             /* its Last-Modified, whole seconds */
    int not_modified;          /* condcache_handler sends a 304 */
    cc_range range;            /* what the fixup decided for Range */
    apr_table_t *headers_in;   /* the client's fields, put back for logs */
} condcache_req;

/* the last filter's state */
typedef enum {
    CONDCACHE_FINAL_HOLD,      /* buffering for the digest */
    CONDCACHE_FINAL_304        /* the body is dropped */
} condcache_final_state;

typedef struct {
    condcache_final_state state;
    apr_bucket_brigade *held;  /* what is held back, set aside */
    apr_off_t held_bytes;
    apr_off_t max;
    cc_digest_ctx *digest;
    apr_time_t started;
} condcache_final_ctx;

/* how long a proxied response may keep flushing before it is a stream */
#define CONDCACHE_PROXY_FLUSH apr_time_from_msec(1000)

/* Digests of files, per (device, inode, size, mtime): one per child
 * process, bounded, shared by its threads.
 */
#define CONDCACHE_DIGESTS_MAX 4096

typedef struct {
    apr_uint64_t dev;
    apr_uint64_t ino;
    apr_int64_t size;
    apr_int64_t mtime;
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
static apr_array_header_t *condcache_concat(apr_pool_t *p,
                                            const apr_array_header_t *a,
                                            const apr_array_header_t *b);
static int condcache_has_policy(const condcache_dir_conf *conf);
static void condcache_apply_policy(request_rec *r,
                                   const condcache_dir_conf *conf);
static apr_status_t condcache_policy_filter(ap_filter_t *f,
                                            apr_bucket_brigade *bb);
static void condcache_insert_filter(request_rec *r);
static void condcache_insert_error_filter(request_rec *r);
static const char *condcache_set_digest_max(cmd_parms *cmd, void *dconf,
                                            const char *arg);
static int condcache_transformed(const request_rec *r);
static void condcache_add_final_filter(request_rec *r);
static int condcache_final_evaluate(request_rec *r, const char *reason);
static void condcache_drop_data(apr_bucket_brigade *bb);
static apr_status_t condcache_pass_304(ap_filter_t *f,
                                       apr_bucket_brigade *bb);
static apr_status_t condcache_final_pass(ap_filter_t *f,
                                         apr_bucket_brigade *bb,
                                         const char *why);
static apr_status_t condcache_final_filter(ap_filter_t *f,
                                           apr_bucket_brigade *bb);
static int condcache_etag_bits(const condcache_dir_conf *conf);
static int condcache_already_decided(const request_rec *r);
static int condcache_serves_file(request_rec *r);
static const char *condcache_pass(request_rec *r, cc_method *method,
                                  int *exists, int *sends_file);
static const unsigned char *condcache_file_digest(request_rec *r);
static void condcache_validators(request_rec *r,
                                 const condcache_dir_conf *conf,
                                 int exists, condcache_req *ctx,
                                 cc_precond_in *in);
static void condcache_strip(request_rec *r, condcache_req *ctx,
                            cc_range range);
static void condcache_note(request_rec *r, const char *decision,
                           const char *reason);
static int condcache_core_tag_is_ours(request_rec *r,
                                      const condcache_dir_conf *conf);
static int condcache_read_fields(request_rec *r, cc_precond_in *in);
static int condcache_fixups(request_rec *r);
static int condcache_handler(request_rec *r);
static apr_status_t condcache_validators_filter(ap_filter_t *f,
                                                apr_bucket_brigade *bb);
static int condcache_log_transaction(request_rec *r);
static apr_status_t condcache_digests_reset(void);
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
    { NULL }
};

/* ---------------------------------------------------------------------
 * Which requests the fixup decides
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

/* The response will be the file's bytes, sent by the default handler:
 * no other handler (CGI, PHP, mod_lua, a proxy), not a legacy handler
 * named by a magic media type, and no filter that rewrites the content
 * known at this point (AddOutputFilter, SetOutputFilter).
 */
static int condcache_serves_file(request_rec *r)
{
    core_dir_config *core = ap_get_core_module_config(r->per_dir_config);
    const char *type = r->content_type;
    ap_filter_t *f;

    if (r->handler && *r->handler && strcmp(r->handler, "default-handler")
        && strcmp(r->handler, "dav-handler")) {
        return 0;
    }
    if (!r->handler && type) {
        switch (*type) {
        case 'a': case 'A':
            if (!strncasecmp(type, "application/x-httpd-", 20)) {
                return 0;
            }
            break;
        case 'h': case 'H':
            if (!strncasecmp(type, "httpd/", 6)) {
                return 0;
            }
            break;
        case 't': case 'T':
            if (!strncasecmp(type, "text/x-server-parsed-html", 25)) {
                return 0;
            }
            break;
        default:
            break;
        }
    }
    if (core->output_filters && *core->output_filters) {
        /* SetOutputFilter: a resource filter rewrites the file; a
         * content-set one (DEFLATE) is the last filter's business
         */
        char *names = apr_pstrdup(r->pool, core->output_filters), *last;
        const char *name;

        for (name = apr_strtok(names, ";", &last); name;
             name = apr_strtok(NULL, ";", &last)) {
            ap_filter_rec_t *frec = ap_get_output_filter_handle(name);

            if (!frec || frec->ftype < AP_FTYPE_CONTENT_SET) {
                return 0;
            }
        }
    }
    for (f = r->output_filters; f && f != r->proto_output_filters;
         f = f->next) {
        if (f->frec->ftype < AP_FTYPE_CONTENT_SET
            && f->frec != condcache_validators_filter_handle) {
            return 0;
        }
    }
    return 1;
}

/* NULL when the preconditions of this request are the fixup's to decide,
 * else why not.  *sends_file tells that the default handler will answer
 * with the file's bytes (and so with this module's validators).
 */
static const char *condcache_pass(request_rec *r, cc_method *method,
                                  int *exists, int *sends_file)
{
    *exists = r->finfo.filetype == APR_REG;
    *sends_file = 0;

    switch (r->method_number) {
    case M_GET:
    case M_POST:
        /* GET, HEAD, and POST, which the default handler answers with the
         * file too; it answers the other methods with 405 before it looks
         * at any precondition
         */
        if (!*exists) {
            return "not-a-file";
        }
        if (!condcache_serves_file(r)) {
            return "not-static";
        }
        *method = r->method_number == M_POST ? CC_METHOD_OTHER
                  : r->header_only ? CC_METHOD_HEAD : CC_METHOD_GET;
        *sends_file = 1;
        return NULL;
    case M_PUT:
    case M_DELETE:
        /* mod_dav writes the file: its validators are known before the
         * method runs (RFC 9110 13.2.1).  A DELETE of nothing is a 404
         * and a PUT into a missing directory a 409: ignore both.
         */
        *method = CC_METHOD_OTHER;
        if (!r->handler || strcmp(r->handler, "dav-handler")) {
            return "method";
        }
        if (*exists) {
            return NULL;
        }
        if (r->method_number == M_PUT && r->finfo.filetype == APR_NOFILE
            && r->filename) {
            apr_finfo_t dir;
            char *parent = ap_make_dirstr_parent(r->pool, r->filename);

            if (apr_stat(&dir, parent, APR_FINFO_TYPE, r->pool)
                    == APR_SUCCESS && dir.filetype == APR_DIR) {
                return NULL;
            }
        }
        return "not-a-file";
    default:
        return "method";
    }
}

/* ---------------------------------------------------------------------
 * Validators
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
 * file cannot be read or changed while it was read.
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
            rv = apr_file_info_get(&after, APR_FINFO_SIZE | APR_FINFO_MTIME,
                                   f);
        }
        apr_file_close(f);
    }
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                      "CC00001: cannot read %s for its digest", r->filename);
        return NULL;
    }
    if (after.size != r->finfo.size || after.mtime != r->finfo.mtime) {
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
 * out, where httpd versions differ on when a tag turns weak.
 */
static int condcache_core_tag_is_ours(request_rec *r,
                                      const condcache_dir_conf *conf)
{
    static volatile int checked;    /* 0 not yet, 1 the same, -1 not */
    const core_dir_config *core;
    int bits = condcache_etag_bits(conf), want = 0, cbits;

    if (!bits || (bits & CC_ETAG_DIGEST) || (conf->salt && *conf->salt)
        || !CONDCACHE_VAL(conf, last_modified) || checked < 0
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

/* The preconditions of the request, in one pass over its fields; the
 * values only of those present (several lines joined).  Returns whether
 * any If-* field is there.
 */
static int condcache_read_fields(request_rec *r, cc_precond_in *in)
{
    const apr_array_header_t *fields = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)fields->elts;
    int i, conditional = 0;

    for (i = 0; i < fields->nelts; i++) {
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
        in->if_match = apr_table_getm(r->pool, r->headers_in, "If-Match");
        in->if_none_match = apr_table_getm(r->pool, r->headers_in,
                                           "If-None-Match");
        in->if_modified_since = apr_table_getm(r->pool, r->headers_in,
                                               "If-Modified-Since");
        in->if_unmodified_since = apr_table_getm(r->pool, r->headers_in,
                                                 "If-Unmodified-Since");
        in->if_range = apr_table_getm(r->pool, r->headers_in, "If-Range");
    }
    return conditional && (in->if_match || in->if_none_match
                           || in->if_modified_since
                           || in->if_unmodified_since || in->if_range);
}

/* ---------------------------------------------------------------------
 * The fixup: decide before the handler runs
 */

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

/* Take out the preconditions already decided, and resolve If-Range, so
 * that no later check (ap_meets_conditions, the byterange filter, mod_dav)
 * sees them.  The client's fields are put back before the request is
 * logged.
 */
static void condcache_strip(request_rec *r, condcache_req *ctx,
                            cc_range range)
{
    static const char *const fields[] = {
        "If-Match", "If-None-Match", "If-Modified-Since",
        "If-Unmodified-Since", "If-Range"
    };
    apr_size_t i;

    ctx->headers_in = r->headers_in;
    r->headers_in = apr_table_copy(r->pool, r->headers_in);
    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        apr_table_unset(r->headers_in, fields[i]);
    }
    if (range == CC_RANGE_IGNORE) {
        apr_table_unset(r->headers_in, "Range");
    }
}

static int condcache_fixups(request_rec *r)
{
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);
    condcache_req *ctx;
    cc_precond_in in;
    cc_precond_out out;
    const char *why;
    int exists, sends_file;

    if (!CONDCACHE_VAL(conf, enabled) || condcache_already_decided(r)) {
        return DECLINED;
    }
    memset(&in, 0, sizeof(in));
    why = condcache_pass(r, &in.method, &exists, &sends_file);
    if (why) {
        condcache_note(r, "pass", why);
        return DECLINED;
    }

    ctx = apr_pcalloc(r->pool, sizeof(*ctx));
    ap_set_module_config(r->request_config, &condcache_module, ctx);

    if (!condcache_read_fields(r, &in)) {
        /* nothing to decide; the response needs this module's validators
         * only where they are not httpd's own
         */
        apr_table_setn(r->notes, "condcache", sends_file
                       ? "200 unconditional" : "proceed unconditional");
        if (sends_file && !condcache_core_tag_is_ours(r, conf)) {
            condcache_validators(r, conf, exists, ctx, &in);
            ap_add_output_filter_handle(condcache_validators_filter_handle,
                                        ctx, r, r->connection);
        }
        return OK;
    }

    condcache_validators(r, conf, exists, ctx, &in);
    cc_precond_evaluate(&in, &out);

    if (out.status == HTTP_PRECONDITION_FAILED) {
        condcache_note(r, "412", out.reason);
        return HTTP_PRECONDITION_FAILED;
    }
    ctx->range = out.range;
    if (out.status == HTTP_NOT_MODIFIED) {
        /* the 304 carries the validators the 200 would carry */
        if (ctx->etag) {
            apr_table_setn(r->headers_out, "ETag", ctx->etag);
        }
        if (ctx->has_lm) {
            char *date = apr_palloc(r->pool, CC_DATE_LEN);

            cc_date_format(date, ctx->lm);
            apr_table_setn(r->headers_out, "Last-Modified", date);
        }
        condcache_note(r, "304", out.reason);
        ctx->not_modified = 1;
        return OK;
    }
    condcache_note(r, sends_file ? "200" : "proceed", out.reason);
    condcache_strip(r, ctx, out.range);
    if (sends_file) {
        /* the response to a write must not carry the validators of the
         * state it replaces: only the file's own response gets them
         */
        ap_add_output_filter_handle(condcache_validators_filter_handle, ctx,
                                    r, r->connection);
    }
    return OK;
}

/* ---------------------------------------------------------------------
 * The 304, and the validators of the 200
 */

/* Sends the 304 the fixup decided on, the way the default handler sends
 * its own: through the output filters, so that the ones inserted for this
 * request (mod_expires, mod_headers) give it the 200's header fields.
 */
static int condcache_handler(request_rec *r)
{
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);
    apr_bucket_brigade *bb;
    int rv;

    if (!ctx || !ctx->not_modified) {
        return DECLINED;
    }
    if (condcache_transformed(r)) {
        /* a compressed response has another tag ("-gzip") and a Vary:
         * leave the decision to the last filter, on the final validators
         */
        ctx->not_modified = 0;
        condcache_note(r, "200", "transformed");
        condcache_strip(r, ctx, ctx->range);
        ap_add_output_filter_handle(condcache_validators_filter_handle, ctx,
                                    r, r->connection);
        condcache_add_final_filter(r);
        return DECLINED;
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

/* Filters that only set header fields leave a file's bytes and validators
 * as they are; any other filter before the protocol ones may transform
 * them (mod_deflate, mod_brotli, mod_filter's chains, mod_substitute).
 */
static int condcache_transformed(const request_rec *r)
{
    static const char *const header_only[] = {
        "MOD_EXPIRES", "FIXUP_HEADERS_OUT", "CACHE_SAVE", "CACHE_SAVE_SUBREQ",
        "CACHE_REMOVE_URL", "CACHE_INVALIDATE", NULL
    };
    const ap_filter_t *f;

    for (f = r->output_filters; f && f != r->proto_output_filters;
         f = f->next) {
        const char *const *name;

        if (f->frec == condcache_validators_filter_handle
            || f->frec == condcache_policy_filter_handle
            || f->frec == condcache_final_filter_handle
            || f->frec->ftype >= AP_FTYPE_PROTOCOL) {
            continue;
        }
        for (name = header_only; *name; name++) {
            if (!strcasecmp(f->frec->name, *name)) {
                break;
            }
        }
        if (!*name) {
            return 1;
        }
    }
    return 0;
}

/* The default handler set the core's ETag (FileETag) and Last-Modified:
 * put this module's back, before any content filter (mod_include,
 * mod_deflate) sees the response, exactly as if the handler had set them.
 */
static apr_status_t condcache_validators_filter(ap_filter_t *f,
                                                apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    condcache_req *ctx = f->ctx;

    if (r->status == HTTP_OK) {
        if (ctx->etag) {
            apr_table_setn(r->headers_out, "ETag", ctx->etag);
            apr_table_unset(r->notes, "no-etag");
        }
        else {
            apr_table_unset(r->headers_out, "ETag");
        }
        /* the default handler's Last-Modified is this module's: the
         * file's mtime, never later than Date, in whole seconds
         */
        if (!ctx->has_lm) {
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

        if (ctx && ctx->headers_in) {
            rr->headers_in = ctx->headers_in;
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
    condcache_req *ctx;

    if (r->main || !CONDCACHE_VAL(conf, enabled)) {
        return;
    }
    if (condcache_has_policy(conf)) {
        ap_add_output_filter_handle(condcache_policy_filter_handle, NULL, r,
                                    r->connection);
    }
    if (r->method_number != M_GET || condcache_already_decided(r)) {
        return;
    }
    ctx = ap_get_module_config(r->request_config, &condcache_module);
    /* handler output, for its digest; a conditional request for a file
     * whose response a filter transforms, for its final tag
     */
    if (CONDCACHE_VAL(conf, digest) != CONDCACHE_DIGEST_OFF
        || (ctx && ctx->headers_in && condcache_transformed(r))) {
        condcache_add_final_filter(r);
    }
    if (CONDCACHE_VAL(conf, digest) == CONDCACHE_DIGEST_OVERRIDE
        && !(ctx && ctx->headers_in)) {
        /* the handler's validators are replaced, so the handler (mod_cgi
         * runs ap_meets_conditions() on a script's ETag) must not answer
         * If-None-Match or If-Modified-Since with them: the last filter
         * does, on the digest
         */
        if (!ctx) {
            ctx = apr_pcalloc(r->pool, sizeof(*ctx));
            ap_set_module_config(r->request_config, &condcache_module, ctx);
        }
        ctx->headers_in = r->headers_in;
        r->headers_in = apr_table_copy(r->pool, r->headers_in);
        apr_table_unset(r->headers_in, "If-None-Match");
        apr_table_unset(r->headers_in, "If-Modified-Since");
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
 * The last filter: digests, and decisions on the final validators
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

/* If-None-Match and If-Modified-Since against the response's validators
 * as they stand; on a match the response becomes a 304.  The client's
 * fields are the ones it sent, even where the fixup took them out.
 */
static int condcache_final_evaluate(request_rec *r, const char *reason)
{
    const condcache_req *rctx = ap_get_module_config(r->request_config,
                                                     &condcache_module);
    const apr_table_t *fields = rctx && rctx->headers_in ? rctx->headers_in
                                                         : r->headers_in;
    const char *lm;
    cc_precond_in in;
    cc_precond_out out;

    memset(&in, 0, sizeof(in));
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
    in.if_none_match = apr_table_getm(r->pool, fields, "If-None-Match");
    in.if_modified_since = apr_table_getm(r->pool, fields,
                                          "If-Modified-Since");
    if (in.if_none_match || in.if_modified_since) {
        cc_precond_evaluate(&in, &out);
    }
    else {
        out.status = HTTP_OK;
        out.reason = "unconditional";
    }
    if (out.status != HTTP_NOT_MODIFIED) {
        condcache_note(r, "200", reason && !strcmp(reason, "digest-match")
                                 ? "digest" : out.reason);
        return 0;
    }
    condcache_note(r, "304", reason ? reason : out.reason);
    r->status = HTTP_NOT_MODIFIED;
    r->status_line = NULL;
    /* a 304 carries no representation metadata but what guides a cache
     * (RFC 9110 15.4.5): ETag, Vary, Cache-Control, Expires stay
     */
    apr_table_unset(r->headers_out, "Content-Encoding");
    apr_table_unset(r->headers_out, "Content-Language");
    apr_table_unset(r->headers_out, "Content-Length");
    return 1;
}

/* a 304 has no body: keep EOS and the other metadata only */
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

/* The 304 instead of the body.  Once its EOS is down, a FLUSH on the
 * connection: the core would hold a response this small until the request
 * is over (the HTTP header filter drops a FLUSH that follows a 304's
 * headers), and the handler's work is done, so the client can have it now.
 */
static apr_status_t condcache_pass_304(ap_filter_t *f,
                                       apr_bucket_brigade *bb)
{
    conn_rec *c = f->c;
    int eos;
    apr_status_t rv;

    condcache_drop_data(bb);
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

/* Give up: what is held and what came, untouched, and no more filtering.
 * why NULL: the response is not this filter's (a 304 already, a 206).
 */
static apr_status_t condcache_final_pass(ap_filter_t *f,
                                         apr_bucket_brigade *bb,
                                         const char *why)
{
    condcache_final_ctx *ctx = f->ctx;

    if (why) {
        condcache_note(f->r, "pass", why);
    }
    ap_remove_output_filter(f);
    if (ctx && ctx->held && !APR_BRIGADE_EMPTY(ctx->held)) {
        APR_BRIGADE_PREPEND(bb, ctx->held);
    }
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
        int mode = CONDCACHE_VAL(conf, digest);

        if (r->status != HTTP_OK
            || apr_table_get(r->headers_out, "Content-Range")) {
            return condcache_final_pass(f, bb, NULL);
        }
        f->ctx = ctx = apr_pcalloc(r->pool, sizeof(*ctx));
        ctx->started = apr_time_now();
        if (r->content_type
            && !strncasecmp(r->content_type, "text/event-stream", 17)) {
            return condcache_final_pass(f, bb, "event-stream");
        }
        /* a tag the core will drop ("no-etag": mod_include's output, a
         * FileETag None) is no tag the handler sent
         */
        if (mode == CONDCACHE_DIGEST_OVERRIDE
            || (mode == CONDCACHE_DIGEST_ON
                && (!apr_table_get(r->headers_out, "ETag")
                    || apr_table_get(r->notes, "no-etag")))) {
            /* the digest covers the bytes and what they are: the same
             * bytes as another type or coding are another representation
             */
            ctx->state = CONDCACHE_FINAL_HOLD;
            ctx->held = apr_brigade_create(r->pool, f->c->bucket_alloc);
            ctx->max = CONDCACHE_VAL(conf, digest_max);
            ctx->digest = cc_digest_create(r->pool);
            if (!ctx->digest) {
                return condcache_final_pass(f, bb, "no-memory");
            }
            cc_digest_field(ctx->digest, r->content_type);
            cc_digest_field(ctx->digest,
                            apr_table_get(r->headers_out,
                                          "Content-Encoding"));
        }
        else if (condcache_final_evaluate(r, NULL)) {
            ctx->state = CONDCACHE_FINAL_304;
        }
        else {
            return condcache_final_pass(f, bb, NULL);
        }
    }

    if (ctx->state == CONDCACHE_FINAL_304) {
        return condcache_pass_304(f, bb);
    }

    while (!APR_BRIGADE_EMPTY(bb)) {
        apr_bucket *e = APR_BRIGADE_FIRST(bb);
        const char *data;
        apr_size_t len;

        if (APR_BUCKET_IS_EOS(e)) {
            const condcache_dir_conf *conf =
                ap_get_module_config(r->per_dir_config, &condcache_module);
            unsigned char digest[CC_DIGEST_LEN];
            cc_etag_fields fields;

            if (r->header_only && ctx->held_bytes == 0) {
                /* a HEAD whose handler sent no body: its digest would
                 * not be the GET's
                 */
                return condcache_final_pass(f, bb, "head-no-body");
            }
            cc_digest_final(ctx->digest, digest);
            memset(&fields, 0, sizeof(fields));
            fields.bits = CC_ETAG_DIGEST;
            fields.digest = digest;
            fields.salt = conf->salt && *conf->salt ? conf->salt : NULL;
            apr_table_setn(r->headers_out, "ETag",
                           cc_etag_make(r->pool, &fields));
            /* mod_include asks the core to drop the tag of the file; this
             * one is the tag of the bytes sent
             */
            apr_table_unset(r->notes, "no-etag");
            APR_BRIGADE_PREPEND(bb, ctx->held);
            if (condcache_final_evaluate(r, "digest-match")) {
                return condcache_pass_304(f, bb);
            }
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
        if (APR_BUCKET_IS_FLUSH(e)
            && (r->proxyreq == PROXYREQ_NONE
                || apr_time_now() - ctx->started > CONDCACHE_PROXY_FLUSH)) {
            /* a handler that flushes streams (server-sent events, long
             * polling): let it flow.  mod_proxy flushes whenever its
             * backend is not ready yet; that is a stream only when it
             * goes on for a while.
             */
            return condcache_final_pass(f, bb, "flush");
        }
        if (AP_BUCKET_IS_ERROR(e)) {
            return condcache_final_pass(f, bb, "error");
        }
        if (!APR_BUCKET_IS_METADATA(e)) {
            if (e->length != (apr_size_t)-1
                && ctx->held_bytes + (apr_off_t)e->length > ctx->max) {
                return condcache_final_pass(f, bb, "too-large");
            }
            rv = apr_bucket_read(e, &data, &len, APR_BLOCK_READ);
            if (rv != APR_SUCCESS) {
                ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, "CC00005: "
                              "reading the response for its digest");
                return condcache_final_pass(f, bb, "read-error");
            }
            if (ctx->held_bytes + (apr_off_t)len > ctx->max) {
                return condcache_final_pass(f, bb, "too-large");
            }
            cc_digest_update(ctx->digest, data, len);
            ctx->held_bytes += (apr_off_t)len;
        }
        APR_BUCKET_REMOVE(e);
        rv = apr_bucket_setaside(e, r->pool);
        if (rv != APR_SUCCESS && rv != APR_ENOTIMPL) {
            APR_BRIGADE_INSERT_HEAD(bb, e);
            return condcache_final_pass(f, bb, "setaside-error");
        }
        APR_BRIGADE_INSERT_TAIL(ctx->held, e);
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
    /* after mod_dir has mapped a directory to its index file, and after
     * mod_dav has claimed the request; fixups run after authorization
     */
    static const char *const before_us[] = { "mod_dir.c", "mod_dav.c",
                                             NULL };
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

    ap_hook_fixups(condcache_fixups, before_us, NULL, APR_HOOK_LAST);
    ap_hook_handler(condcache_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
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
    /* a content-set filter inserted last (insert_filter REALLY_LAST):
     * after the compressors of the same type (mod_deflate, mod_brotli),
     * before mod_cache's CACHE_SAVE (CONTENT_SET + 1), so that a cached
     * 200 keeps its digest tag, and before the protocol filters
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
