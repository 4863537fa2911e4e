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
 * mod_condcache_record.c: what a response does to the validator store
 * (docs/conformance.md 7.4, 7.5): the last filter records the validators
 * of a 200 to GET and gives a page without Last-Modified the time its tag
 * was first seen; a write that succeeds replaces its URI's record (and
 * those of its Location and Content-Location) with one marked as written.
 * mod_condcache_store.c makes the keys and answers before the handler.
 */

#include <string.h>

#include <apr_strings.h>
#include <apr_uri.h>

#include "mod_condcache_private.h"

APLOG_USE_MODULE(condcache);

static void condcache_store_tombstone(request_rec *r, condcache_store_req *st,
                                      const char *uri_key);
static void condcache_store_invalidate_ref(request_rec *r,
                                           condcache_store_req *st,
                                           const char *ref);
static void condcache_store_forget(request_rec *r, condcache_store_req *st);
static int condcache_same(const char *a, const char *b);
static const char *condcache_field(request_rec *r, const char *name);
static const cc_store_entry *condcache_store_generation(
    request_rec *r, condcache_store_req *st, const char *names,
    const condcache_dir_conf *conf);
static int condcache_store_unchanged(request_rec *r, condcache_store_req *st,
                                     const cc_store_entry *e,
                                     const char *names,
                                     const condcache_dir_conf *conf);

/* ---------------------------------------------------------------------
 * What the response does to the store
 */

/* The URI's record, replaced by one of a new generation marked as
 * written: every entry under the old one is gone for every server that
 * shares the store, and a GET that read the resource before the write
 * does not store what it read (condcache_store_record())
 */
static void condcache_store_tombstone(request_rec *r, condcache_store_req *st,
                                      const char *uri_key)
{
    const condcache_dir_conf *conf =
        ap_get_module_config(r->per_dir_config, &condcache_module);
    cc_store_entry t;

    memset(&t, 0, sizeof(t));
    t.kind = CC_STORE_VARY;
    t.flags = CC_STORE_INVALIDATED;
    t.stored = apr_time_sec(apr_time_now());
    t.expires = t.stored;
    t.last_modified = -1;
    t.key = uri_key;
    if (apr_generate_random_bytes((unsigned char *)&t.nonce,
                                  sizeof(t.nonce)) != APR_SUCCESS) {
        t.nonce = (apr_uint64_t)apr_time_now();
    }
    condcache_socache_put(r, &t, conf->store_lifetime > 0
                                 ? conf->store_lifetime : 0,
                          &st->deadline, 1);
}

/* a same-origin URI of a Location or Content-Location (RFC 3986 5.2 with
 * the request's own path as the base): its record goes
 */
static void condcache_store_invalidate_ref(request_rec *r,
                                           condcache_store_req *st,
                                           const char *ref)
{
    apr_uri_t uri;
    const char *query;
    char *path;

    if (!ref || apr_uri_parse(r->pool, ref, &uri) != APR_SUCCESS) {
        return;
    }
    query = uri.query;
    if (uri.hostname) {
        /* "//host/path" has the request's scheme (RFC 3986 5.2.2) */
        const char *scheme = uri.scheme ? uri.scheme : ap_http_scheme(r);
        apr_port_t port = uri.port ? uri.port
                          : apr_uri_port_of_scheme(scheme);

        if (strcasecmp(scheme, ap_http_scheme(r))
            || port != ap_get_server_port(r)
            || !r->hostname || strcasecmp(uri.hostname, r->hostname)) {
            return;
        }
        path = apr_pstrdup(r->pool, uri.path && *uri.path ? uri.path : "/");
    }
    else if (uri.path && *uri.path == '/') {
        path = apr_pstrdup(r->pool, uri.path);
    }
    else if (!uri.path || !*uri.path) {
        /* "?q=1": the same path; "#x" or "": the same URI */
        path = apr_pstrdup(r->pool, st->path ? st->path : "/");
        query = uri.query ? uri.query : st->query;
    }
    else {
        const char *base = st->path ? st->path : "/";
        const char *slash = strrchr(base, '/');

        path = apr_pstrcat(r->pool,
                           apr_pstrmemdup(r->pool, base,
                                          (apr_size_t)(slash - base) + 1),
                           uri.path, NULL);
    }
    /* dot segments go, as httpd takes them out of a request's path */
    ap_getparents(path);
    condcache_store_tombstone(r, st, condcache_store_uri_key(r, path, query));
}

/* A non-error response to an unsafe method (RFC 9111 4.4): its URI's
 * entries go, and those of the same-origin Location and Content-Location,
 * before the response leaves, so that the next request on any server of
 * the farm finds none.  Once per request; status: the response's.
 */
void condcache_store_invalidate(request_rec *r, int status)
{
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);
    condcache_store_req *st = ctx ? ctx->store : NULL;
    const char *v;

    if (!st || st->invalidated || !st->unsafe || status >= 400
        || status < 200) {
        return;
    }
    st->invalidated = 1;
    condcache_store_tombstone(r, st, st->uri_key);
    if ((v = apr_table_get(r->headers_out, "Location"))
        || (v = apr_table_get(r->err_headers_out, "Location"))) {
        condcache_store_invalidate_ref(r, st, v);
    }
    if ((v = apr_table_get(r->headers_out, "Content-Location"))
        || (v = apr_table_get(r->err_headers_out, "Content-Location"))) {
        condcache_store_invalidate_ref(r, st, v);
    }
}

/* the entry this request selects goes (not the URI's others: one user's
 * response says nothing of another's)
 */
static void condcache_store_forget(request_rec *r, condcache_store_req *st)
{
    const condcache_dir_conf *conf;
    cc_store_entry bare;

    if (!condcache_store_lookup(r, st) || !st->entry_key) {
        return;
    }
    if (st->entry != st->uri) {
        condcache_socache_del(r, st->entry_key, &st->deadline);
        return;
    }
    /* the entry in the URI's record: the record stays, without it */
    conf = ap_get_module_config(r->per_dir_config, &condcache_module);
    memset(&bare, 0, sizeof(bare));
    bare.kind = CC_STORE_VARY;
    bare.stored = st->uri->stored;
    bare.expires = st->uri->expires;
    bare.last_modified = -1;
    bare.nonce = st->uri->nonce;
    bare.key = st->uri_key;
    condcache_socache_put(r, &bare, conf->store_lifetime, &st->deadline, 1);
}

/* the last filter's first look at a response of a request the store
 * serves: 1 when it is none of the last filter's business
 */
int condcache_store_first(request_rec *r)
{
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);
    condcache_store_req *st = ctx ? ctx->store : NULL;

    if (!st) {
        return 0;
    }
    if (st->answered) {
        /* the tag and Vary the 200 left with, not a compressor's idea */
        apr_table_setn(r->headers_out, "ETag", st->answered->etag);
        if (st->answered->vary) {
            apr_table_setn(r->headers_out, "Vary", st->answered->vary);
        }
        return 1;
    }
    if (st->unsafe) {
        condcache_store_invalidate(r, r->status);
        return 1;
    }
    if (r->status != HTTP_OK && r->status != HTTP_NOT_MODIFIED
        && r->status != HTTP_PARTIAL_CONTENT && st->entry
        && !r->header_only) {
        /* the handler answered otherwise than the stored 200 */
        condcache_store_forget(r, st);
    }
    return 0;
}

/* two fields alike, absent ones too (an entry keeps "" as absent) */
static int condcache_same(const char *a, const char *b)
{
    return !strcmp(a ? a : "", b ? b : "");
}

/* a header field of either table, several lines joined */
static const char *condcache_field(request_rec *r, const char *name)
{
    const char *a = apr_table_getm(r->pool, r->headers_out, name);
    const char *b = apr_table_getm(r->pool, r->err_headers_out, name);

    return a && b ? apr_pstrcat(r->pool, a, ", ", b, NULL) : a ? a : b;
}

/* The URI's record to store under, read again now that the handler ran:
 * NULL when the resource was written while the handler ran (a write's
 * record, or any other generation than the one read before, made since
 * this request began), so that what the handler read before the write
 * is not stored after it
 */
static const cc_store_entry *condcache_store_generation(
    request_rec *r, condcache_store_req *st, const char *names,
    const condcache_dir_conf *conf)
{
    int plain = !st->identity && !*names;
    const cc_store_entry *now = condcache_store_uri(r, st, 1);
    cc_store_entry *uri;

    if (now && now->stored >= st->started
        && (!st->before_looked || !st->before
            || st->before->nonce != now->nonce)) {
        return NULL;
    }
    if (now && !(now->flags & CC_STORE_INVALIDATED)
        && !strcmp(now->vary ? now->vary : "", names)) {
        return now;
    }
    /* none, a write's, or another Vary: a new generation */
    uri = apr_pcalloc(r->pool, sizeof(*uri));
    uri->kind = CC_STORE_VARY;
    uri->stored = apr_time_sec(r->request_time);
    uri->expires = uri->stored + conf->store_lifetime;
    uri->last_modified = -1;
    uri->key = st->uri_key;
    uri->vary = *names ? names : NULL;
    if (apr_generate_random_bytes((unsigned char *)&uri->nonce,
                                  sizeof(uri->nonce)) != APR_SUCCESS) {
        uri->nonce = (apr_uint64_t)apr_time_now();
    }
    /* a plain entry is written with its record: one call */
    if (!plain && !condcache_socache_put(r, uri, conf->store_lifetime,
                                         &st->deadline, 0)) {
        return NULL;
    }
    st->uri = uri;
    st->entry_looked = 0;
    st->entry = NULL;
    return uri;
}

/* The entry this request selected, read before its handler ran, says
 * what the response says, and was written less than half a lifetime ago:
 * it is not written again (a page asked for without preconditions costs
 * one call to the store, not three).  Its lifetime still counts from when
 * it was written: it is refreshed by the first 200 past the half.
 */
static int condcache_store_unchanged(request_rec *r, condcache_store_req *st,
                                     const cc_store_entry *e,
                                     const char *names,
                                     const condcache_dir_conf *conf)
{
    const cc_store_entry *old;

    if (!st->before_looked || st->uri != st->before || !st->uri
        || (st->uri->flags & CC_STORE_INVALIDATED)
        || strcmp(st->uri->vary ? st->uri->vary : "", names)) {
        return 0;
    }
    old = condcache_store_lookup(r, st);
    return old && 2 * (e->stored - old->stored) < conf->store_lifetime
           && old->flags == e->flags && old->last_modified == e->last_modified
           && !strcmp(old->etag, e->etag)
           && condcache_same(old->cache_control, e->cache_control)
           && condcache_same(old->expires_field, e->expires_field)
           && condcache_same(old == st->uri ? NULL : old->vary,
                             old == st->uri ? NULL : e->vary)
           && condcache_same(old->content_location, e->content_location)
           && condcache_same(old->content_type, e->content_type);
}

/* The 200 to GET as it leaves the last filter, before its preconditions
 * are evaluated: its validators go into the store, and where the handler
 * sent no Last-Modified, the response gets the time the store first saw
 * its tag.  A HEAD only gets that Last-Modified.  length: its body's
 * bytes where known, else -1.
 */
void condcache_store_record(request_rec *r, apr_off_t length)
{
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);
    condcache_store_req *st = ctx ? ctx->store : NULL;
    const condcache_dir_conf *conf;
    const apr_array_header_t *control;
    const cc_store_entry *old, *uri;
    const cc_directive *no_cache;
    const char *etag, *lm, *vary, *names;
    cc_store_entry e;
    apr_time_t now, last_modified;
    const char *cl;

    if (!st || st->unsafe || r->status != HTTP_OK) {
        return;
    }
    conf = ap_get_module_config(r->per_dir_config, &condcache_module);
    control = cc_control_parse(r->pool, condcache_field(r, "Cache-Control"));
    vary = condcache_field(r, "Vary");
    names = cc_store_vary_names(r->pool, vary);
    no_cache = cc_control_find(control, "no-cache");
    etag = apr_table_get(r->headers_out, "ETag");
    if (!etag || apr_table_get(r->notes, "no-etag")
        || cc_control_find(control, "no-store") || !names
        || (no_cache && !no_cache->value)
        || (!st->identity
            && (cc_control_restricted(control)
                || condcache_field(r, "Set-Cookie")))) {
        /* Never stored, and the entry this request selects goes (RFC 9111
         * 3, 4.1): no tag to keep (too large, too slow), no-store, Vary:
         * *, no-cache (it may answer nothing without its handler), one
         * user's response and no user to keep it for
         */
        if (!r->header_only) {
            condcache_store_forget(r, st);
        }
        return;
    }
    now = apr_time_sec(r->request_time);
    lm = apr_table_get(r->headers_out, "Last-Modified");
    if (!lm || !cc_date_parse(lm, r->request_time, &last_modified)) {
        /* the time the store first saw this tag for this URI */
        old = st->uri && strcmp(st->uri->vary ? st->uri->vary : "", names)
              ? NULL : condcache_store_lookup(r, st);
        last_modified = apr_time_from_sec(old && old->etag
                                          && !strcmp(old->etag, etag)
                                          && old->last_modified >= 0
                                          ? old->last_modified : now);
        lm = apr_palloc(r->pool, CC_DATE_LEN);
        cc_date_format((char *)lm, last_modified);
        apr_table_setn(r->headers_out, "Last-Modified", lm);
    }
    if (r->header_only || st->directives.no_store) {
        return;
    }
    memset(&e, 0, sizeof(e));
    e.kind = CC_STORE_ENTRY;
    e.stored = now;
    e.expires = now + conf->store_lifetime;
    e.last_modified = apr_time_sec(last_modified);
    if (cc_control_find(control, "must-revalidate")
        || cc_control_find(control, "proxy-revalidate")) {
        e.flags |= CC_STORE_MUST_REVALIDATE;
    }
    cl = apr_table_get(r->headers_out, "Content-Length");
    e.length = length >= 0 ? (apr_uint64_t)length
               : cl ? (apr_uint64_t)apr_atoi64(cl) : 0;
    e.etag = etag;
    e.cache_control = ctx->sent_taken ? ctx->sent_control
                      : condcache_field(r, "Cache-Control");
    e.expires_field = ctx->sent_taken ? ctx->sent_expires
                      : apr_table_get(r->headers_out, "Expires");
    e.vary = vary;
    e.content_location = apr_table_get(r->headers_out, "Content-Location");
    e.content_type = r->content_type;
    if (condcache_store_unchanged(r, st, &e, names, conf)) {
        return;
    }
    uri = condcache_store_generation(r, st, names, conf);
    if (!uri) {
        return;
    }
    if (condcache_store_plain(st, uri)) {
        /* in the URI's record itself, of its generation */
        e.kind = CC_STORE_VARY;
        e.nonce = uri->nonce;
        e.key = st->uri_key;
        e.vary = NULL;
    }
    else {
        e.key = condcache_store_entry_key(r, st, uri);
    }
    condcache_socache_put(r, &e, conf->store_lifetime, &st->deadline, 0);
}
