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
 * mod_condcache_store.c: the validator store (docs/conformance.md 7): its
 * keys, and the answer before the handler.
 *
 *   CondCacheStoreLifetime "<lifetime>"|Off    how long an entry answers
 *                                              for the handler (Off)
 *   CondCacheStoreUser     REMOTE_USER|header:Name|cookie:Name ...
 *                                              who a private entry is for
 *   CondCacheStoreIgnoreCacheControl On|Off    the client's directives
 *
 * A store of validators, not of bodies (the engine, behind httpd's socache
 * providers, is mod_condcache_socache.c; what a response does to it,
 * mod_condcache_record.c).  The last filter records the
 * validators a 200 to GET leaves with; a handler that runs before every
 * other one, after authentication and authorization, answers a
 * conditional GET or HEAD from a live entry with a 304 (the handler never
 * runs), and a write whose If-Match or If-Unmodified-Since fails with a
 * 412.  A write that succeeds removes its URI's entries (RFC 9111 4.4)
 * before its response leaves.
 *
 * Every entry of a URI hangs off one record, the URI's, which holds a
 * random generation and the names its responses Vary by; an entry's key is
 * made of the URI's key, that generation, the user and the request's
 * values of those names.  Removing the URI's record is removing every
 * user's and every representation's entry at once, on every server that
 * shares the store.
 */

#include <string.h>

#include <apr_strings.h>

#include "util_cookies.h"

#include "mod_condcache_private.h"

APLOG_USE_MODULE(condcache);

typedef struct {
    int kind;                        /* CONDCACHE_ID_* */
    const char *name;
} condcache_identity;

#define CONDCACHE_ID_USER   0
#define CONDCACHE_ID_HEADER 1
#define CONDCACHE_ID_COOKIE 2

static const char *condcache_store_identity(request_rec *r,
                                            const condcache_dir_conf *conf);
static int condcache_store_send_304(request_rec *r, condcache_store_req *st,
                                    const cc_store_entry *e);
static const char *condcache_store_fresh(request_rec *r,
                                         const cc_store_request *asked,
                                         const cc_store_entry *e,
                                         apr_int64_t lifetime);
static int condcache_unsafe(const request_rec *r);
static int condcache_store_leave(request_rec *r, const cc_precond_in *in,
                                 int conditional);

/* ---------------------------------------------------------------------
 * Directives
 */

const char *condcache_set_store_lifetime(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    condcache_dir_conf *conf = dconf;
    cc_lifetime lt;
    const char *err;

    conf->touched = 1;
    if (!strcasecmp(arg, "Off")) {
        conf->store_lifetime = CONDCACHE_STORE_OFF;
        return NULL;
    }
    err = cc_lifetime_parse(cmd->pool, arg, &lt);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    if (lt.base != CC_BASE_ACCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s': an entry's lifetime counts "
                            "from when it was stored (access), not from "
                            "Last-Modified", cmd->cmd->name, arg);
    }
    conf->store_lifetime = lt.seconds;
    return NULL;
}

const char *condcache_set_store_user(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    condcache_dir_conf *conf = dconf;
    condcache_identity *id;

    conf->touched = 1;
    if (!conf->store_user) {
        conf->store_user = apr_array_make(cmd->pool, 2,
                                          sizeof(condcache_identity));
    }
    id = apr_array_push(conf->store_user);
    if (!strcasecmp(arg, "REMOTE_USER")) {
        id->kind = CONDCACHE_ID_USER;
        id->name = NULL;
    }
    else if (!strncasecmp(arg, "header:", 7) && arg[7]) {
        id->kind = CONDCACHE_ID_HEADER;
        id->name = arg + 7;
    }
    else if (!strncasecmp(arg, "cookie:", 7) && arg[7]) {
        id->kind = CONDCACHE_ID_COOKIE;
        id->name = arg + 7;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: '%s' is not REMOTE_USER, "
                            "header:Name or cookie:Name", cmd->cmd->name,
                            arg);
    }
    return NULL;
}

/* ---------------------------------------------------------------------
 * Keys
 */

/* The key of a URI: the virtual host (scheme, ServerName and port as
 * configured), the host and port the request named (a virtual host may
 * serve several: mod_vhost_alias, an application that reads Host), the
 * path and the query as the client sent them.  Every server of a farm
 * with the same ServerName, asked for the same Host, makes the same key.
 */
const char *condcache_store_uri_key(request_rec *r, const char *path,
                                    const char *query)
{
    const char *parts[7];
    char *key = apr_palloc(r->pool, CC_STORE_KEY_LEN);
    char *host = apr_pstrdup(r->pool, r->hostname ? r->hostname : "");

    ap_str_tolower(host);
    parts[0] = ap_http_scheme(r);
    parts[1] = r->server->server_hostname;
    parts[2] = apr_itoa(r->pool, r->server->port ? r->server->port
                                                 : ap_default_port(r));
    parts[3] = host;
    parts[4] = apr_itoa(r->pool, ap_get_server_port(r));
    parts[5] = path ? path : "/";
    parts[6] = query;
    cc_store_key(r->pool, key, parts, 7);
    return key;
}

/* Who the request is for: the authenticated user whenever there is one,
 * and what CondCacheStoreUser names (a request field, a cookie).  NULL
 * where none of those is there.
 */
static const char *condcache_store_identity(request_rec *r,
                                            const condcache_dir_conf *conf)
{
    const apr_table_t *fields = condcache_client_fields(r);
    apr_array_header_t *parts = apr_array_make(r->pool, 2,
                                               sizeof(const char *));
    int i, n = conf->store_user ? conf->store_user->nelts : 0;

    if (r->user) {
        APR_ARRAY_PUSH(parts, const char *) =
            apr_pstrcat(r->pool, "user=", r->user, NULL);
    }
    for (i = 0; i < n; i++) {
        const condcache_identity *id =
            &APR_ARRAY_IDX(conf->store_user, i, condcache_identity);
        const char *v = NULL;

        if (id->kind == CONDCACHE_ID_HEADER) {
            v = apr_table_get(fields, id->name);
        }
        else if (id->kind == CONDCACHE_ID_COOKIE
                 && ap_cookie_read(r, id->name, &v, 0) != APR_SUCCESS) {
            v = NULL;
        }
        if (v) {
            APR_ARRAY_PUSH(parts, const char *) =
                apr_psprintf(r->pool, "%d:%s=%s", id->kind, id->name, v);
        }
    }
    return parts->nelts ? apr_array_pstrcat(r->pool, parts, '\n') : NULL;
}

/* The key of this request's entry under the URI's record: its
 * generation, the user, and the request's values of what the responses
 * vary by
 */
const char *condcache_store_entry_key(request_rec *r,
                                      const condcache_store_req *st,
                                      const cc_store_entry *uri)
{
    static const char hex[] = "0123456789abcdef";
    const char *parts[4];
    char *key = apr_palloc(r->pool, CC_STORE_KEY_LEN);
    char nonce[17];
    int i;

    for (i = 0; i < 16; i++) {
        nonce[i] = hex[(uri->nonce >> (60 - 4 * i)) & 0xf];
    }
    nonce[16] = '\0';
    parts[0] = st->uri_key;
    parts[1] = nonce;
    parts[2] = st->identity;
    parts[3] = cc_store_selecting(r->pool, uri->vary ? uri->vary : "",
                                  condcache_client_fields(r));
    cc_store_key(r->pool, key, parts, 4);
    return key;
}

/* The URI's record as it is now (again, where again) */
const cc_store_entry *condcache_store_uri(request_rec *r,
                                          condcache_store_req *st,
                                          int again)
{
    if (!st->uri_looked || again) {
        st->uri_looked = 1;
        st->uri = condcache_socache_get(r, st->uri_key, CC_STORE_VARY,
                                        &st->deadline, st->local && !again);
        st->entry_looked = 0;
        st->entry = NULL;
    }
    return st->uri;
}

/* Whether this request's entry is in the URI's record itself: that of a
 * request without a user, where the responses vary by nothing (most of
 * them), so that it takes one call to the store, not two
 */
int condcache_store_plain(const condcache_store_req *st,
                          const cc_store_entry *uri)
{
    return !st->identity && !uri->vary;
}

/* The URI's record, then this request's entry under it */
const cc_store_entry *condcache_store_lookup(request_rec *r,
                                             condcache_store_req *st)
{
    if (!condcache_store_uri(r, st, 0)
        || (st->uri->flags & CC_STORE_INVALIDATED)) {
        return NULL;
    }
    if (!st->entry_looked) {
        st->entry_looked = 1;
        if (condcache_store_plain(st, st->uri)) {
            st->entry_key = st->uri_key;
            st->entry = st->uri->etag ? st->uri : NULL;
        }
        else {
            st->entry_key = condcache_store_entry_key(r, st, st->uri);
            st->entry = condcache_socache_get(r, st->entry_key,
                                              CC_STORE_ENTRY, &st->deadline,
                                              st->local);
        }
    }
    return st->entry;
}

/* ---------------------------------------------------------------------
 * The request
 */

static int condcache_unsafe(const request_rec *r)
{
    switch (r->method_number) {
    case M_GET:
    case M_OPTIONS:
    case M_TRACE:
    case M_PROPFIND:
        return 0;
    default:
        return 1;
    }
}

/* insert_filter: whether the store serves this request.  Handler output
 * only (a handler named in the configuration: a CGI, a proxy, mod_lua,
 * PHP): a file's own validators are cheaper to make than to fetch.  Not
 * mod_rewrite's redirect-handler, whose request hands over to another
 * with authorization of its own: that one is served, under the client's
 * URI.
 */
int condcache_store_applies(request_rec *r, const condcache_dir_conf *conf)
{
    condcache_req *ctx;
    condcache_store_req *st;
    const apr_table_t *fields;
    request_rec *first, *rr;

    if (!condcache_socache_ready() || r->main
        || conf->store_lifetime == CONDCACHE_UNSET
        || conf->store_lifetime == CONDCACHE_STORE_OFF
        || !r->handler || !strcmp(r->handler, "default-handler")
        || !strcmp(r->handler, "redirect-handler")
        || r->proxyreq == PROXYREQ_PROXY
        || CONDCACHE_ALREADY_DECIDED(r)) {
        return 0;
    }
    for (first = r; first->prev; first = first->prev) {
    }
    /* An internal redirect from a write (mod_cgi turns a POST whose
     * script answers with a local Location into a GET of it): the write
     * is done, its URI's entries go now, and what follows is no answer to
     * a GET of this URI
     */
    for (rr = r->prev; rr; rr = rr->prev) {
        const condcache_req *prev = ap_get_module_config(rr->request_config,
                                                         &condcache_module);

        if (prev && prev->store && prev->store->unsafe) {
            condcache_store_invalidate(rr, HTTP_OK);
            return 0;
        }
    }
    fields = condcache_client_fields(r);
    st = apr_pcalloc(r->pool, sizeof(*st));
    st->identity = condcache_store_identity(r, conf);
    /* Credentials this server did not check, and, where CondCacheStoreUser
     * does not say which cookie is the user, cookies: another user's
     * request could look the same.  Never answered, never kept.
     */
    if (!st->identity
        && (apr_table_get(fields, "Authorization")
            || (!conf->store_user && apr_table_get(fields, "Cookie")))) {
        return 0;
    }
    st->unsafe = condcache_unsafe(r);
    st->path = first->parsed_uri.path;
    st->query = first->parsed_uri.query;
    st->uri_key = condcache_store_uri_key(r, st->path, st->query);
    st->started = apr_time_sec(r->request_time);
    if (conf->store_ignore_cc == 1) {
        cc_store_request_parse(r->pool, NULL, NULL, &st->directives);
    }
    else {
        cc_store_request_parse(r->pool,
                               apr_table_getm(r->pool, fields,
                                              "Cache-Control"),
                               apr_table_getm(r->pool, fields, "Pragma"),
                               &st->directives);
    }
    ctx = condcache_req_get(r);
    ctx->store = st;
    /* the handler's own freshness fields are what an entry keeps */
    ap_add_output_filter_handle(condcache_sent_filter_handle, NULL, r,
                                r->connection);
    condcache_add_final_filter(r);
    return 1;
}

/* The 304 from the store: the fields a 304 of the handler would carry,
 * through the output filters (mod_headers, the freshness policy), and
 * with the handler's media type for the policy's by-type rules.  The
 * last filter puts the stored ETag and Vary back over what a compressor
 * (mod_deflate adds "-gzip" to a 304's tag) made of them.
 */
static int condcache_store_send_304(request_rec *r, condcache_store_req *st,
                                    const cc_store_entry *e)
{
    apr_bucket_brigade *bb;
    int rv;

    apr_table_setn(r->headers_out, "ETag", e->etag);
    if (e->last_modified >= 0) {
        char *date = apr_palloc(r->pool, CC_DATE_LEN);

        cc_date_format(date, apr_time_from_sec(e->last_modified));
        apr_table_setn(r->headers_out, "Last-Modified", date);
    }
    if (e->cache_control) {
        apr_table_setn(r->headers_out, "Cache-Control", e->cache_control);
    }
    if (e->expires_field) {
        apr_table_setn(r->headers_out, "Expires", e->expires_field);
    }
    if (e->vary) {
        apr_table_setn(r->headers_out, "Vary", e->vary);
    }
    if (e->content_location) {
        apr_table_setn(r->headers_out, "Content-Location",
                       e->content_location);
    }
    if (e->content_type) {
        ap_set_content_type(r, e->content_type);
    }
    st->answered = e;
    rv = ap_discard_request_body(r);
    if (rv != OK) {
        return rv;
    }
    condcache_socache_count(CONDCACHE_COUNT_HITS, 1);
    condcache_socache_count(CONDCACHE_COUNT_SAVED_BYTES, e->length);
    r->status = HTTP_NOT_MODIFIED;
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade_fchk(r, bb, "condcache: a 304 from the store");
}

/* Whether the entry may answer the request (docs/conformance.md 7.1,
 * 7.3): NULL if it may, else why not.  A write asks for a fresh entry,
 * whatever its Cache-Control; max-stale never stretches an entry whose
 * response must be revalidated once stale.
 */
static const char *condcache_store_fresh(request_rec *r,
                                         const cc_store_request *asked,
                                         const cc_store_entry *e,
                                         apr_int64_t lifetime)
{
    cc_store_request req;
    apr_int64_t age;

    if (asked) {
        req = *asked;
    }
    else {
        cc_store_request_parse(r->pool, NULL, NULL, &req);
    }
    if (e->flags & CC_STORE_MUST_REVALIDATE) {
        req.max_stale = -1;
    }
    /* an entry from a clock ahead of this one is as young as can be */
    age = apr_time_sec(r->request_time) - e->stored;
    return cc_store_usable(&req, age < 0 ? 0 : age, lifetime);
}

/* insert_filter: the store's handler decides this GET first */
int condcache_store_serves(const request_rec *r)
{
    const condcache_req *ctx = ap_get_module_config(r->request_config,
                                                    &condcache_module);

    return ctx && ctx->store && !ctx->store->unsafe;
}

/* A GET the store leaves to the handler, in a CondCacheDigest scope: the
 * last filter answers its preconditions on the digest, so the handler
 * must not answer them first with other validators (mod_cgi's
 * ap_meets_conditions()), nor Range on bytes whose tag is not known yet
 * (as condcache_insert_filter() does without the store).  A proxied
 * Range is the backend's.
 */
static int condcache_store_leave(request_rec *r, const cc_precond_in *in,
                                 int conditional)
{
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);

    if ((conditional || in->has_range)
        && CONDCACHE_VAL(conf, digest) != CONDCACHE_DIGEST_OFF) {
        if (in->has_range && CONDCACHE_PROXIED(r)) {
            condcache_note(r, "pass", "range");
        }
        else {
            condcache_hide(r, condcache_req_get(r), 1);
        }
    }
    return DECLINED;
}

/* The handler before every other one: a conditional request answered
 * from a live entry, after authentication and authorization and every
 * fixup, before any handler does any work.  A GET without preconditions
 * reads the URI's record all the same: what it stores after its handler
 * ran must not undo a write made meanwhile.
 */
int condcache_handler_store(request_rec *r)
{
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);
    condcache_store_req *st = ctx ? ctx->store : NULL;
    const condcache_dir_conf *conf;
    const cc_store_entry *e;
    const char *why;
    cc_precond_in in;
    cc_precond_out out;
    int get = r->method_number == M_GET, conditional;

    /* CONNECT, like OPTIONS and TRACE, ignores every precondition (RFC
     * 9110 13.2.1); it is still a write, whose success invalidates
     */
    if (!st || (!get && (!st->unsafe || r->method_number == M_CONNECT))) {
        return DECLINED;
    }
    memset(&in, 0, sizeof(in));
    conditional = condcache_read_fields(r, condcache_client_fields(r), &in);
    /* what this request reads is only for the entry it leaves: the
     * server's mirror of the store will do
     */
    st->local = get && !in.if_none_match && !in.if_modified_since;
    if (get && !r->header_only) {
        st->before = condcache_store_uri(r, st, 0);
        st->before_looked = 1;
    }
    if (get) {
        if (!in.if_none_match && !in.if_modified_since) {
            return condcache_store_leave(r, &in, conditional);
        }
    }
    else if (!in.if_match && !in.if_unmodified_since) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &condcache_module);
    if (get && (st->directives.no_cache || st->directives.max_age == 0)) {
        /* a reload: the handler answers, and the entry is made again */
        condcache_socache_count(CONDCACHE_COUNT_REFUSED, 1);
        return condcache_store_leave(r, &in, conditional);
    }
    /* an invalidation of this child not made yet: nothing is answered */
    e = condcache_socache_answers() ? condcache_store_lookup(r, st) : NULL;
    why = !e ? "store-miss"
          : condcache_store_fresh(r, get ? &st->directives : NULL, e,
                                  conf->store_lifetime);
    if (why) {
        condcache_socache_count(e ? CONDCACHE_COUNT_REFUSED
                                  : CONDCACHE_COUNT_MISSES, 1);
        if (!get) {
            condcache_note(r, "proceed", e ? "store-stale" : "store-miss");
            return DECLINED;
        }
        return condcache_store_leave(r, &in, conditional);
    }
    in.method = !get ? CC_METHOD_OTHER
                : r->header_only ? CC_METHOD_HEAD : CC_METHOD_GET;
    in.exists = 1;
    in.etag = e->etag;
    in.date = apr_time_from_sec(apr_time_sec(r->request_time));
    if (e->last_modified >= 0) {
        in.has_last_modified = 1;
        in.last_modified = apr_time_from_sec(e->last_modified);
    }
    cc_precond_evaluate(&in, &out);
    if (out.status == HTTP_NOT_MODIFIED && get) {
        condcache_note(r, "304", "store-match");
        return condcache_store_send_304(r, st, e);
    }
    if (get) {
        /* the handler runs; the last filter decides on what it sends */
        condcache_socache_count(CONDCACHE_COUNT_MISSES, 1);
        return condcache_store_leave(r, &in, conditional);
    }
    if (out.status == HTTP_PRECONDITION_FAILED) {
        condcache_socache_count(CONDCACHE_COUNT_FAILED, 1);
        condcache_note(r, "412", apr_pstrcat(r->pool, "store-", out.reason,
                                             NULL));
        return HTTP_PRECONDITION_FAILED;
    }
    /* The stored tag holds.  The handler still sees the preconditions:
     * the resource may have changed since (by another way than through
     * this URI), and the handler that can tell must be able to refuse
     */
    condcache_note(r, "proceed", "store-match");
    return DECLINED;
}
