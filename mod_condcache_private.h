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
 * mod_condcache_private.h: what the httpd glue files of mod_condcache
 * share: the per-directory configuration, the per-request state, the
 * filter handles and the functions one file calls in another.
 *
 *   mod_condcache.c         the module record, its hooks, the request state
 *   mod_condcache_config.c  the directives, their defaults and their merge
 *   mod_condcache_file.c    a file's validators, and the decision made
 *                           before the handler runs
 *   mod_condcache_policy.c  the freshness policy and its filter
 *   mod_condcache_final.c   the last filter: digests, and decisions on the
 *                           validators that leave
 *   mod_condcache_store.c   the validator store: keys, the answer
 *                           before the handler
 *   mod_condcache_record.c  what a response does to the store
 *   mod_condcache_socache.c its engine, behind httpd's socache providers
 *
 * The protocol itself is in the APR-only units, mod_condcache.h.
 */

#ifndef MOD_CONDCACHE_PRIVATE_H
#define MOD_CONDCACHE_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

extern module AP_MODULE_DECLARE_DATA condcache_module;

/* Everything else is the module's own: hidden from the rest of httpd, so
 * that its files call one another directly, not through the dynamic
 * linker's tables (and no other module can clash with a name).
 */
#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility push(hidden)
#endif

#include "mod_condcache.h"

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
    /* the freshness rules of this scope, and the chains of this scope's
     * and every enclosing scope's, the innermost first
     */
    cc_typemap *own_lifetimes;       /* -> cc_lifetime */
    cc_typemap *own_controls;        /* -> condcache_controls */
    const cc_typemap_chain *lifetimes;
    const cc_typemap_chain *controls;
    apr_array_header_t *fingerprints;    /* condcache_fingerprint * */
    int digest;                      /* CONDCACHE_DIGEST_* */
    apr_off_t digest_max;            /* CONDCACHE_UNSET or bytes */
    apr_interval_time_t digest_wait; /* CONDCACHE_UNSET or microseconds */
    /* the validator store: how long an entry answers (seconds,
     * CONDCACHE_UNSET or CONDCACHE_STORE_OFF), the client's directives
     * ignored, who a private entry is for (condcache_identity, NULL unset)
     */
    apr_int64_t store_lifetime;
    int store_ignore_cc;
    apr_array_header_t *store_user;
    int touched;                     /* a directive set something here */
} condcache_dir_conf;

#define CONDCACHE_STORE_OFF (-2)

#define CONDCACHE_DIGEST_OFF      0
#define CONDCACHE_DIGEST_ON       1      /* where the handler sent no ETag */
#define CONDCACHE_DIGEST_OVERRIDE 2      /* in place of the handler's */

typedef struct {
    ap_regex_t *regex;
    cc_lifetime lifetime;
} condcache_fingerprint;

/* the Cache-Control directives of a CondCacheControl(ByType) rule, and
 * the field they compose to when the handler sent none (composed once,
 * when the configuration is read)
 */
typedef struct {
    apr_array_header_t *list;        /* cc_directive */
    const char *field;
    /* the same without s-maxage, for a merge beside a handler's Expires,
     * which is its lifetime for every cache (RFC 9111 5.2.2.10: s-maxage
     * would override it for shared caches)
     */
    apr_array_header_t *list_beside_expires;
    const char *field_beside_expires;
} condcache_controls;

#define CONDCACHE_STATUS_BYTES ((600 + 7) / 8)
#define CONDCACHE_HAS_STATUS(map, s) \
    ((s) >= 0 && (s) < 600 && ((map)[(s) / 8] & (1 << ((s) % 8))))

/* Defaults, in one place (mod_condcache_config.c). */
extern const condcache_dir_conf condcache_defaults;

#define CONDCACHE_VAL(c, f) \
    ((c)->f != CONDCACHE_UNSET ? (c)->f : condcache_defaults.f)
#define CONDCACHE_MERGE(b, o, f) \
    ((o)->f != CONDCACHE_UNSET ? (o)->f : (b)->f)

/* what a request knows of the validator store (mod_condcache_store.c,
 * mod_condcache_record.c)
 */
typedef struct condcache_store_req condcache_store_req;
struct condcache_store_req {
    const char *path;                /* the client's path and query */
    const char *query;
    const char *uri_key;             /* the URI's record */
    const char *identity;            /* the user, NULL for none */
    const cc_store_entry *uri;       /* its record, as looked up */
    int uri_looked;
    const char *entry_key;
    const cc_store_entry *entry;     /* the representation's entry */
    int entry_looked;
    const cc_store_entry *answered;  /* a 304 went out with these */
    const cc_store_entry *before;    /* the URI's record before the handler */
    int before_looked;
    int local;                       /* no entry answers this request: the
                                      * server's mirror may stand for the
                                      * store (condcache_socache_get()) */
    cc_store_request directives;     /* the client's own */
    apr_time_t deadline;             /* the longest it waits for the store */
    apr_int64_t started;             /* seconds: when the request began */
    int unsafe;                      /* a write (as the client sent it) */
    int invalidated;
};


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
    int file;                  /* the response is the file's bytes, with
                                * its Last-Modified: lm when has_lm */
    /* the handler's own freshness fields, as the first filter saw them:
     * before mod_expires or mod_headers add theirs (sent_taken)
     */
    int sent_taken;
    const char *sent_control;
    const char *sent_expires;
    condcache_store_req *store;   /* the store serves this request */
    void *store_job;              /* its buffer for the store's calls */
    const char *freshness;        /* what the policy did to the handler's
                                   * Cache-Control and Expires (trace1) */
} condcache_req;

/* what the validators filter does to the default handler's 200 */
#define CONDCACHE_PUT_FILE    1    /* this module's ETag and Last-Modified */
#define CONDCACHE_PUT_NO_ETAG 2    /* no ETag: a filter changes the bytes */

extern ap_filter_rec_t *condcache_validators_filter_handle;
extern ap_filter_rec_t *condcache_sent_filter_handle;
extern ap_filter_rec_t *condcache_policy_filter_handle;
extern ap_filter_rec_t *condcache_final_filter_handle;

/* mod_condcache_config.c */
extern const command_rec condcache_cmds[];
void condcache_check_config(apr_pool_t *p, server_rec *s);
void *condcache_create_dir_conf(apr_pool_t *p, char *dir);
void *condcache_merge_dir_conf(apr_pool_t *p, void *basev,
                               void *addv);
int condcache_etag_bits(const request_rec *r, const condcache_dir_conf *conf);

/* mod_condcache.c: the request state */
int condcache_already_decided(const request_rec *r);
/* the same, without a call for a request that is not a subrequest and
 * not an internal redirect (nearly all of them)
 */
#define CONDCACHE_ALREADY_DECIDED(r) \
    ((r)->main || ((r)->prev && condcache_already_decided(r)))
condcache_req *condcache_req_get(request_rec *r);
const apr_table_t *condcache_client_fields(const request_rec *r);
/* the same, without a call for a request that is no internal redirect
 * and whose fields this module did not touch yet
 */
#define CONDCACHE_CLIENT_FIELDS(r) \
    ((r)->prev || ap_get_module_config((r)->request_config, \
                                       &condcache_module) \
     ? condcache_client_fields(r) : (r)->headers_in)
int condcache_read_fields(request_rec *r, const apr_table_t *fields,
                          cc_precond_in *in);
void condcache_hide(request_rec *r, condcache_req *ctx, int range);
void condcache_note(request_rec *r, const char *decision,
                    const char *reason);
void condcache_note_add(request_rec *r, const char *decision,
                        const char *reason, int first);

/* a request mod_proxy takes: by ProxyPass (r->proxyreq, set when the
 * URL is translated) or by SetHandler "proxy:..." (set only once
 * mod_proxy's handler runs)
 */
#define CONDCACHE_PROXIED(r) \
    ((r)->proxyreq != PROXYREQ_NONE \
     || ((r)->handler && !strncmp((r)->handler, "proxy:", 6)))

/* mod_condcache_file.c */
int condcache_handler_dav(request_rec *r);
int condcache_handler_file(request_rec *r);
apr_status_t condcache_validators_filter(ap_filter_t *f,
                                         apr_bucket_brigade *bb);
void condcache_digests_init(apr_pool_t *p, server_rec *s);

/* mod_condcache_policy.c */
void condcache_policy_init(void);
void condcache_policy_post_config(void);
void condcache_insert_policy(request_rec *r, int error);
apr_status_t condcache_sent_filter(ap_filter_t *f, apr_bucket_brigade *bb);
int condcache_has_policy(const condcache_dir_conf *conf);
#define CONDCACHE_HAS_POLICY(c) \
    ((c)->lifetimes || (c)->controls || (c)->fingerprints)
apr_status_t condcache_policy_filter(ap_filter_t *f,
                                     apr_bucket_brigade *bb);

/* mod_condcache_final.c */
void condcache_add_final_filter(request_rec *r);
apr_status_t condcache_final_filter(ap_filter_t *f,
                                    apr_bucket_brigade *bb);

/* mod_condcache_socache.c: the store's engine */
typedef enum {
    CONDCACHE_COUNT_HITS,          /* 304s from the store */
    CONDCACHE_COUNT_MISSES,        /* lookups that found nothing usable */
    CONDCACHE_COUNT_REFUSED,       /* entries the client or time refused */
    CONDCACHE_COUNT_FAILED,        /* 412s from the store */
    CONDCACHE_COUNT_SAVED_BYTES    /* the bodies those 304s stood for */
} condcache_count;

const char *condcache_set_store(cmd_parms *cmd, void *dconf,
                                const char *arg);
const char *condcache_set_store_timeout(cmd_parms *cmd, void *dconf,
                                        const char *arg);
void condcache_socache_pre_config(apr_pool_t *pconf);
int condcache_socache_post_config(apr_pool_t *pconf, server_rec *s);
void condcache_socache_child_init(apr_pool_t *pchild, server_rec *s);
void condcache_socache_register_hooks(void);
int condcache_socache_ready(void);
int condcache_socache_answers(void);
void condcache_socache_count(condcache_count which, apr_uint64_t n);
/* The entry of that kind under the key: NULL for none, for a store that
 * failed, and for what is no entry of this module.  Each call waits until
 * *deadline at most, which the request's first call sets (to now and
 * CondCacheStoreTimeout).  local: the server's mirror of a store on the
 * network may answer.  must: an invalidation, made even when the request
 * stops waiting, and kept until the store takes it.
 */
const cc_store_entry *condcache_socache_get(request_rec *r, const char *key,
                                            cc_store_kind kind,
                                            apr_time_t *deadline, int local);
int condcache_socache_put(request_rec *r, const cc_store_entry *e,
                          apr_int64_t lifetime, apr_time_t *deadline,
                          int must);
void condcache_socache_del(request_rec *r, const char *key,
                           apr_time_t *deadline);

/* mod_condcache_store.c: the store's keys, the answer before the handler;
 * mod_condcache_record.c: what a response does to it
 */
const char *condcache_set_store_lifetime(cmd_parms *cmd, void *dconf,
                                         const char *arg);
const char *condcache_set_store_user(cmd_parms *cmd, void *dconf,
                                     const char *arg);
int condcache_store_applies(request_rec *r, const condcache_dir_conf *conf);
const char *condcache_store_uri_key(request_rec *r, const char *path,
                                    const char *query);
const char *condcache_store_entry_key(request_rec *r,
                                      const condcache_store_req *st,
                                      const cc_store_entry *uri);
const cc_store_entry *condcache_store_uri(request_rec *r,
                                          condcache_store_req *st, int again);
const cc_store_entry *condcache_store_lookup(request_rec *r,
                                             condcache_store_req *st);
int condcache_store_plain(const condcache_store_req *st,
                          const cc_store_entry *uri);
int condcache_store_serves(const request_rec *r);
int condcache_handler_store(request_rec *r);
int condcache_store_first(request_rec *r);
void condcache_store_record(request_rec *r, apr_off_t length);
void condcache_store_invalidate(request_rec *r, int status);

#if defined(__GNUC__) && __GNUC__ >= 4
#pragma GCC visibility pop
#endif

#endif /* MOD_CONDCACHE_PRIVATE_H */
