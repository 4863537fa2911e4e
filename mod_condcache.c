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
 *   CondCacheStore            provider[:args]|none  the validator store
 *                                                   (server; none)
 *   CondCacheStoreTimeout     time                  the longest a request
 *                                                   waits for it (50ms)
 *   CondCacheStoreRetry       time                  a failed store left
 *                                                   alone (10s)
 *   CondCacheStoreLifetime    "<lifetime>"|Off      how long an entry
 *                                                   answers (Off)
 *   CondCacheStoreUser        REMOTE_USER|header:Name|cookie:Name ...
 *                                                   whose entries
 *   CondCacheStoreIgnoreCacheControl On|Off         the client's own
 *                                                   directives (Off)
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
 * The validator store keeps the validators of handler output in a socache
 * provider (shared memory, or memcached or Redis for a farm), and a
 * handler that runs before every other one answers a conditional request
 * from it without running the page.
 *
 * The httpd glue is split by concern, as httpd's larger modules are:
 *
 *   mod_condcache.c         (this file) the module record, its hooks, and
 *                           the request state the other files share
 *   mod_condcache_config.c  the directives, their defaults, their merge
 *   mod_condcache_file.c    a file's validators, the decision before the
 *                           handler, the filter that puts the validators
 *   mod_condcache_policy.c  the freshness policy and its filter
 *   mod_condcache_final.c   the last filter
 *   mod_condcache_store.c   the validator store: keys, answers before
 *                           the handler
 *   mod_condcache_record.c  records into the store, invalidation
 *   mod_condcache_socache.c its engine: socache providers, workers
 *   mod_condcache_private.h what they share
 *
 * The protocol lives in the APR-only cc_*.c units (mod_condcache.h).
 */

#include <string.h>

#include <apr_strings.h>

#include "mod_condcache_private.h"

ap_filter_rec_t *condcache_validators_filter_handle;
ap_filter_rec_t *condcache_sent_filter_handle;
ap_filter_rec_t *condcache_policy_filter_handle;
ap_filter_rec_t *condcache_final_filter_handle;

static int condcache_handler_first(request_rec *r);
static void condcache_insert_filter(request_rec *r);
static void condcache_insert_error_filter(request_rec *r);
static int condcache_log_transaction(request_rec *r);
static void condcache_child_init(apr_pool_t *p, server_rec *s);
static int condcache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s);
static int condcache_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp);
static void condcache_test_config(apr_pool_t *pconf, server_rec *s);
static void condcache_register_hooks(apr_pool_t *p);

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

/* RFC 9110 13.2.1 and docs/conformance.md 2.4: a subrequest, an error
 * document or a request whose preconditions an earlier request of the
 * same chain already evaluated does not evaluate them again.
 */
int condcache_already_decided(const request_rec *r)
{
    const request_rec *p;

    if (r->main) {
        return 1;
    }
    if (!r->prev) {
        return 0;
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

condcache_req *condcache_req_get(request_rec *r)
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
const apr_table_t *condcache_client_fields(const request_rec *r)
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

/* The preconditions of the request, in one pass over its fields: the
 * values of those present (several lines joined), NULL for the others,
 * and whether there is a Range.  Returns whether any If-* field is there.
 */
int condcache_read_fields(request_rec *r, const apr_table_t *fields,
                                 cc_precond_in *in)
{
    const apr_array_header_t *elts = apr_table_elts(fields);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts;
    int i, conditional = 0, has_range = 0;

    for (i = 0; i < elts->nelts; i++) {
        const char *k = e[i].key;

        /* If-* and Range, by their first letters: most fields are
         * neither
         */
        if (!k) {
            continue;
        }
        if ((k[0] | 0x20) == 'i') {
            conditional |= (k[1] | 0x20) == 'f' && k[2] == '-';
        }
        else if ((k[0] | 0x20) == 'r' && !strcasecmp(k, "Range")) {
            has_range = 1;
        }
    }
    in->has_range = has_range;
    if (!conditional) {
        in->if_match = in->if_none_match = in->if_modified_since = NULL;
        in->if_unmodified_since = in->if_range = NULL;
        return 0;
    }
    in->if_match = apr_table_getm(r->pool, fields, "If-Match");
    in->if_none_match = apr_table_getm(r->pool, fields, "If-None-Match");
    in->if_modified_since = apr_table_getm(r->pool, fields,
                                           "If-Modified-Since");
    in->if_unmodified_since = apr_table_getm(r->pool, fields,
                                             "If-Unmodified-Since");
    in->if_range = apr_table_getm(r->pool, fields, "If-Range");
    return in->if_match || in->if_none_match || in->if_modified_since
           || in->if_unmodified_since || in->if_range;
}

/* Take the preconditions (and Range, where this module decides it) out
 * of the request, so that nothing after this module answers them again
 * with other validators or other rules: the default handler's
 * ap_meets_conditions(), mod_cgi's, mod_dav's, the byterange filter.
 * The log shows the fields as sent.
 */
void condcache_hide(request_rec *r, condcache_req *ctx, int range)
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

void condcache_note(request_rec *r, const char *decision,
                    const char *reason)
{
    condcache_note_add(r, decision, reason, 0);
}

/* first: no note can be there yet (a request no handler was named for,
 * which insert_filter left unnoted), and the cheaper table add will do
 */
void condcache_note_add(request_rec *r, const char *decision,
                        const char *reason, int first)
{
    apr_size_t dlen = strlen(decision), rlen = strlen(reason);
    char *note = apr_palloc(r->pool, dlen + 1 + rlen + 1);

    /* "304 inm-weak-match": on every request, so no apr_pstrcat */
    memcpy(note, decision, dlen);
    note[dlen] = ' ';
    memcpy(note + dlen + 1, reason, rlen + 1);

    if (first) {
        apr_table_addn(r->notes, "condcache", note);
    }
    else {
        apr_table_setn(r->notes, "condcache", note);
    }
    if (APLOGrtrace2(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r,
                      "condcache: %s %s: %s", r->method, r->uri, note);
    }
}


/* Before every other handler (one hook, on every request): the validator
 * store's answer, then mod_dav's writes of files
 */
static int condcache_handler_first(request_rec *r)
{
    int rv = condcache_handler_store(r);

    return rv == DECLINED ? condcache_handler_dav(r) : rv;
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
    if (CONDCACHE_HAS_POLICY(conf)) {
        condcache_insert_policy(r, 0);
    }
    /* a request a handler named in the configuration will take (a CGI, a
     * proxy, mod_dav): why it is not decided, until the last filter or a
     * handler of this module says otherwise.  A file's request is noted
     * where it is decided.
     */
    if (r->handler && strcmp(r->handler, "default-handler")) {
        apr_table_addn(r->notes, "condcache",
                       r->method_number == M_GET
                       || r->method_number == M_POST
                       ? "pass not-static" : "pass method");
        /* the validator store answers and records handler output */
        condcache_store_applies(r, conf);
    }
    if (r->method_number != M_GET
        || CONDCACHE_VAL(conf, digest) == CONDCACHE_DIGEST_OFF
        || CONDCACHE_ALREADY_DECIDED(r)) {
        return;
    }
    if (condcache_store_serves(r)) {
        /* the store's handler reads the fields first, and takes them out
         * where it leaves the request to the handler
         */
        return;
    }
    /* Handler output gets its digest from the last filter, which also
     * answers the preconditions on it.  The handler must not answer them
     * first with other validators (mod_cgi runs ap_meets_conditions() on
     * a script's fields, and fails If-Match for a script without an ETag)
     * nor Range on bytes whose tag is not known yet: it sees none of
     * them.
     */
    memset(&in, 0, sizeof(in));
    if (condcache_read_fields(r, r->headers_in, &in) || in.has_range) {
        /* A range of a proxied response is the backend's to cut: httpd's
         * byterange filter cuts only a body held whole, and a proxied one
         * (a video, a download) is often larger than the digest's limit.
         * Such a request goes to the backend as without the module.
         */
        if (in.has_range && CONDCACHE_PROXIED(r)) {
            condcache_note(r, "pass", "range");
            return;
        }
        condcache_hide(r, condcache_req_get(r), 1);
    }
    condcache_add_final_filter(r);
}

/* A request that switches protocols ("Upgrade: h2c") is answered on the
 * new one: mod_http2 makes its stream 1 of the request's fields as they
 * are now, and the request there goes through every hook again.
 * insert_filter, which ran before the core's Upgrade handler, may have
 * taken the preconditions out of them (a CGI under CondCacheDigest):
 * give them back, so that the stream is decided on them and its 304 or
 * 412 is not lost.  Runs before mod_http2's switch, and switches nothing.
 */
static int condcache_protocol_switch(conn_rec *c, request_rec *r,
                                     server_rec *s, const char *protocol)
{
    const condcache_req *ctx;

    (void)c;
    (void)s;
    (void)protocol;
    ctx = r ? ap_get_module_config(r->request_config, &condcache_module)
            : NULL;
    if (ctx && ctx->fields) {
        r->headers_in = ctx->fields;
    }
    return DECLINED;
}

/* insert_error_filter: the responses httpd makes itself (redirects,
 * errors) get the freshness policy, and nothing else
 */
static void condcache_insert_error_filter(request_rec *r)
{
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);
    const condcache_req *ctx = ap_get_module_config(r->request_config,
                                                    &condcache_module);

    if (!r->main && CONDCACHE_VAL(conf, enabled)
        && CONDCACHE_HAS_POLICY(conf)) {
        condcache_insert_policy(r, 1);
    }
    /* a write's redirect or error still tells the store what it did */
    if (ctx && ctx->store && r->method_number != M_GET) {
        condcache_add_final_filter(r);
    }
}


/* The log shows the request as the client sent it: the fields the
 * first request that took some out kept, on every request of the chain
 * (mod_log_config reads the last one, which an internal redirect gave
 * the table without them)
 */
static int condcache_log_transaction(request_rec *r)
{
    apr_table_t *fields = NULL;
    request_rec *rr, *last = r;
    const char *note = NULL, *freshness = NULL, *n;
    int store = 0;

    for (rr = r; rr; rr = rr->next) {
        const condcache_req *ctx = ap_get_module_config(rr->request_config,
                                                        &condcache_module);

        if (ctx && ctx->fields && !fields) {
            fields = ctx->fields;
        }
        store |= ctx && ctx->store;
        if (ctx && ctx->freshness) {
            freshness = ctx->freshness;
        }
        if ((n = apr_table_get(rr->notes, "condcache"))) {
            note = n;
        }
        last = rr;
    }
    /* a 304 that none of this module's decisions made: the handler's own
     * answer to the preconditions (a CGI's Status: 304, PHP's
     * http_response_code(304), a backend's)
     */
    if (last->status == HTTP_NOT_MODIFIED && note
        && !strncmp(note, "pass ", 5)) {
        note = "304 handler";
        apr_table_setn(last->notes, "condcache", note);
    }
    /* one line a request: what was decided, and what the freshness policy
     * did to the handler's fields
     */
    if ((note || freshness) && APLOGrtrace1(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "condcache: %s %s %d: "
                      "%s; %s", r->method, r->unparsed_uri, last->status,
                      note ? note : "no decision",
                      freshness ? freshness : "no freshness policy");
    }
    for (rr = fields ? r : NULL; rr; rr = rr->next) {
        rr->headers_in = fields;
    }
    /* a write whose response left by a way no filter of this module saw:
     * with the status the client got
     */
    for (rr = store ? r : NULL; rr; rr = rr->next) {
        condcache_store_invalidate(rr, last->status);
    }
    return DECLINED;
}


/* ---------------------------------------------------------------------
 * Hooks
 */

/* What a half-migrated configuration gets wrong, said once when httpd
 * starts (not on the first of its two readings of the configuration) and
 * under httpd -t
 */
static int condcache_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                 apr_pool_t *ptemp, server_rec *s)
{
    void *done = NULL;

    (void)plog;
    condcache_policy_post_config();
    if (condcache_socache_post_config(pconf, s) != OK) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_userdata_get(&done, "condcache_checked", s->process->pool);
    if (!done) {
        apr_pool_userdata_set((const void *)1, "condcache_checked",
                              apr_pool_cleanup_null, s->process->pool);
        return OK;
    }
    condcache_check_config(ptemp, s);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "CC00020: mod_condcache/%s "
                 "started", CONDCACHE_VERSION);
    return OK;
}

static void condcache_test_config(apr_pool_t *pconf, server_rec *s)
{
    condcache_check_config(pconf, s);
}

static void condcache_child_init(apr_pool_t *p, server_rec *s)
{
    condcache_digests_init(p, s);
    condcache_socache_child_init(p, s);
}

static int condcache_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
    condcache_socache_pre_config(pconf);
    return OK;
}

static void condcache_register_hooks(apr_pool_t *p)
{
    (void)p;
    condcache_policy_init();

    ap_hook_handler(condcache_handler_first, NULL, NULL,
                    APR_HOOK_REALLY_FIRST);
    /* the file's decision just before the default handler (REALLY_LAST),
     * after every other handler declined (mod_actions runs LAST)
     */
    ap_hook_handler(condcache_handler_file, NULL, NULL,
                    APR_HOOK_REALLY_LAST - 1);
    ap_hook_log_transaction(condcache_log_transaction, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);
    ap_hook_child_init(condcache_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_config(condcache_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(condcache_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    condcache_socache_register_hooks();
    ap_hook_test_config(condcache_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_insert_filter(condcache_insert_filter, NULL, NULL,
                          APR_HOOK_REALLY_LAST);
    ap_hook_insert_error_filter(condcache_insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
    ap_hook_protocol_switch(condcache_protocol_switch, NULL, NULL,
                            APR_HOOK_REALLY_FIRST);
    condcache_validators_filter_handle =
        ap_register_output_filter("CONDCACHE_VALIDATORS",
                                  condcache_validators_filter, NULL,
                                  (ap_filter_type)(AP_FTYPE_RESOURCE - 1));
    /* the freshness policy: what the handler sent, seen by the first
     * filter; the fields composed by a content-set filter inserted last,
     * after mod_expires' (CONTENT_SET - 2) and mod_headers' (CONTENT_SET),
     * so that the module's composition is the last word
     */
    condcache_sent_filter_handle =
        ap_register_output_filter("CONDCACHE_SENT", condcache_sent_filter,
                                  NULL,
                                  (ap_filter_type)(AP_FTYPE_RESOURCE - 1));
    condcache_policy_filter_handle =
        ap_register_output_filter("CONDCACHE_POLICY",
                                  condcache_policy_filter, NULL,
                                  AP_FTYPE_CONTENT_SET);
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
