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
 * mod_condcache_policy.c: the freshness policy.  A filter composes one
 * Cache-Control field and an Expires that agrees with it, from the rules
 * of every scope (CondCacheExpires*, CondCacheControl*, read in
 * mod_condcache_config.c) and the handler's own field, once the handler
 * has said what the response is.  It is inserted by mod_condcache.c.
 */

#include <string.h>

#include <apr_strings.h>

#include "mod_condcache_private.h"

/* this file's log lines are the module's: LogLevel condcache:trace2 */
APLOG_USE_MODULE(condcache);

/* docs/conformance.md 5.5: 200, 203, 204, 206 and 3xx (304 among them);
 * filled in at startup
 */
static unsigned char condcache_default_statuses[CONDCACHE_STATUS_BYTES];

static ap_filter_rec_t *condcache_expires_handle;
static ap_filter_rec_t *condcache_headers_handle;

static int condcache_has_freshness(const apr_table_t *t);
static void condcache_take_sent(request_rec *r, condcache_req *ctx);
static int condcache_last_modified(request_rec *r, const condcache_req *ctx,
                                   apr_time_t *lm);
static void condcache_apply_policy(request_rec *r,
                                   const condcache_dir_conf *conf);

/* the filters of mod_expires and mod_headers, once every module has
 * registered its own (NULL where a module is not loaded)
 */
void condcache_policy_post_config(void)
{
    condcache_expires_handle = ap_get_output_filter_handle("MOD_EXPIRES");
    condcache_headers_handle =
        ap_get_output_filter_handle("FIXUP_HEADERS_OUT");
}

/* the default statuses, 200 203 204 206 and 3xx, at startup */
void condcache_policy_init(void)
{
    static const int fresh[] = { 200, 203, 204, 206 };
    apr_size_t i;
    int code;

    for (i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++) {
        condcache_default_statuses[fresh[i] / 8] |=
            (unsigned char)(1 << (fresh[i] % 8));
    }
    for (code = 300; code < 400; code++) {
        condcache_default_statuses[code / 8] |=
            (unsigned char)(1 << (code % 8));
    }
}

/* ---------------------------------------------------------------------
 * The freshness policy
 */

int condcache_has_policy(const condcache_dir_conf *conf)
{
    return CONDCACHE_HAS_POLICY(conf);
}

/* The policy's filters: the first one after the handler notes what the
 * handler sent; the last one composes.  An error response (httpd's own,
 * after the handler) has no handler of its own: what it holds counts.
 */
void condcache_insert_policy(request_rec *r, int error)
{
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);
    const ap_filter_t *f;

    if (ctx) {
        ctx->sent_taken = 0;
    }
    /* only mod_expires and mod_headers change the fields between the
     * handler and the policy's filter: where neither is in the chain,
     * the fields the policy finds are the handler's
     */
    for (f = r->output_filters; !error && f && f != r->proto_output_filters;
         f = f->next) {
        if (f->frec == condcache_expires_handle
            || f->frec == condcache_headers_handle) {
            ap_add_output_filter_handle(condcache_sent_filter_handle, NULL,
                                        r, r->connection);
            break;
        }
    }
    ap_add_output_filter_handle(condcache_policy_filter_handle, NULL, r,
                                r->connection);
}

/* Whether a table holds Cache-Control or Expires, in one pass over its
 * keys (on every response the policy applies to: most have neither)
 */
static int condcache_has_freshness(const apr_table_t *t)
{
    const apr_array_header_t *elts = apr_table_elts(t);
    const apr_table_entry_t *e = (const apr_table_entry_t *)elts->elts;
    int i;

    for (i = 0; i < elts->nelts; i++) {
        const char *k = e[i].key;

        if (k && (((k[0] | 0x20) == 'c' && !strcasecmp(k, "Cache-Control"))
                  || ((k[0] | 0x20) == 'e' && !strcasecmp(k, "Expires")))) {
            return 1;
        }
    }
    return 0;
}

/* the handler's own Cache-Control (from both tables: mod_cgi and "Header
 * always" put fields in err_headers_out) and Expires
 */
static void condcache_take_sent(request_rec *r, condcache_req *ctx)
{
    const char *more;

    ctx->sent_taken = 1;
    ctx->sent_control = ctx->sent_expires = NULL;
    if (!condcache_has_freshness(r->headers_out)
        && !condcache_has_freshness(r->err_headers_out)) {
        return;
    }
    ctx->sent_control = apr_table_getm(r->pool, r->headers_out,
                                       "Cache-Control");
    more = apr_table_getm(r->pool, r->err_headers_out, "Cache-Control");
    if (more) {
        ctx->sent_control = ctx->sent_control
                            ? apr_pstrcat(r->pool, ctx->sent_control, ", ",
                                          more, NULL)
                            : more;
    }
    ctx->sent_expires = apr_table_get(r->err_headers_out, "Expires");
    if (!ctx->sent_expires) {
        ctx->sent_expires = apr_table_get(r->headers_out, "Expires");
    }
}

apr_status_t condcache_sent_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    condcache_req *ctx = condcache_req_get(f->r);

    if (!ctx->sent_taken) {
        condcache_take_sent(f->r, ctx);
    }
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* The response's Last-Modified: the file's, when the response is the
 * file, else parsed from the field the handler set
 */
static int condcache_last_modified(request_rec *r, const condcache_req *ctx,
                                   apr_time_t *lm)
{
    const char *field;

    if (ctx && ctx->file) {
        *lm = ctx->lm;
        return ctx->has_lm;
    }
    field = apr_table_get(r->headers_out, "Last-Modified");
    return field && cc_date_parse(field, r->request_time, lm);
}

/* what the policy did to one of the handler's fields, for the trace */
static const char *condcache_did(const char *sent, const char *now,
                                 int merge)
{
    if (!sent) {
        return now ? "added" : "none";
    }
    if (!now) {
        return "removed";
    }
    if (!strcmp(sent, now)) {
        return "kept";
    }
    return merge ? "merged" : "replaced";
}

/* Compose Cache-Control and Expires for the response as it stands: its
 * status, its media type (for a 304, the type of the 200 it stands for),
 * its Last-Modified and the handler's own fields.  Where the policy
 * applies, this is the last word: what mod_expires or "Header set
 * Cache-Control" added after the handler is replaced, so that there is
 * one Cache-Control field, with one max-age, and an Expires equal to
 * Date + that max-age (or the handler's own).
 */
static void condcache_apply_policy(request_rec *r,
                                   const condcache_dir_conf *conf)
{
    const unsigned char *statuses = conf->statuses ? conf->statuses
                                    : condcache_default_statuses;
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);
    const cc_lifetime *lt = NULL;
    const condcache_controls *controls;
    const char *sent, *sent_expires, *field, *expires;
    apr_int64_t delta = -1;
    int i, immutable = 0;
    cc_merge_mode mode = (cc_merge_mode)CONDCACHE_VAL(conf, merge_mode);

    if (!CONDCACHE_HAS_STATUS(statuses, r->status)) {
        return;
    }
    /* a fingerprinted URL is immutable whatever its type (httpd's 414
     * for a request line too long to read has no URL)
     */
    for (i = conf->fingerprints && r->uri ? conf->fingerprints->nelts - 1
                                           : -1;
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
    controls = cc_typemap_resolve(conf->controls, r->content_type);
    if (!lt && !controls) {
        return;
    }
    if (!ctx) {
        ctx = condcache_req_get(r);
    }
    if (!ctx->sent_taken) {
        condcache_take_sent(r, ctx);
    }
    sent = ctx->sent_control;
    sent_expires = ctx->sent_expires;

    if (lt) {
        apr_time_t lm = 0;
        int has_lm = 0;

        if (lt->base == CC_BASE_MODIFICATION) {
            has_lm = condcache_last_modified(r, ctx, &lm);
            if (!has_lm && APLOGrtrace2(r)) {
                ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r, "condcache: "
                              "%s has no Last-Modified: its lifetime counts "
                              "from the request", r->uri);
            }
        }
        delta = cc_lifetime_max_age(lt, r->request_time, has_lm, lm);
    }

    if (mode == CC_MERGE_KEEP && (sent || sent_expires)) {
        /* the handler's own, as it sent them */
        field = sent;
        expires = sent_expires;
        delta = -1;
    }
    else if (!sent) {
        /* no Cache-Control of the handler's: the policy's directives,
         * composed when the configuration was read, after the lifetime,
         * but for a handler's Expires: that is its lifetime, which a
         * merge keeps (as mod_expires leaves a response with Expires)
         */
        const char *more = controls ? controls->field : NULL;
        char num[32];

        expires = NULL;
        if (sent_expires && mode == CC_MERGE_MERGE) {
            expires = sent_expires;
            delta = -1;
            more = controls ? controls->field_beside_expires : NULL;
        }

        if (immutable && (!controls
                          || !cc_control_find(controls->list, "immutable"))) {
            more = more ? apr_pstrcat(r->pool, more, ", immutable", NULL)
                        : "immutable";
        }
        if (delta >= 0) {
            apr_snprintf(num, sizeof(num), "max-age=%" APR_INT64_T_FMT,
                         delta);
            field = more ? apr_pstrcat(r->pool, num, ", ", more, NULL)
                         : apr_pstrdup(r->pool, num);
        }
        else {
            field = more;
        }
    }
    else {
        apr_array_header_t *handler, *policy, *merged;
        const cc_directive *max_age;
        int merge = mode == CC_MERGE_MERGE, lifetime_sent;

        /* a merge keeps the handler's lifetime (its max-age, or else its
         * Expires), and adds no Expires to a response the handler said
         * is not to be stored or reused unchecked (docs/conformance.md
         * 5.6)
         */
        handler = cc_control_parse(r->pool, sent);
        lifetime_sent = merge && sent_expires
                        && !cc_control_find(handler, "max-age");
        if (lifetime_sent) {
            delta = -1;
        }
        policy = apr_array_make(r->pool, 8, sizeof(cc_directive));
        if (delta >= 0) {
            cc_directive *d = apr_array_push(policy);

            d->name = "max-age";
            d->value = apr_psprintf(r->pool, "%" APR_INT64_T_FMT, delta);
        }
        if (controls) {
            apr_array_cat(policy, lifetime_sent
                                  ? controls->list_beside_expires
                                  : controls->list);
        }
        if (immutable && !cc_control_find(policy, "immutable")) {
            cc_directive *d = apr_array_push(policy);

            d->name = "immutable";
            d->value = NULL;
        }
        merged = cc_control_merge(r->pool, handler, policy, mode);
        field = cc_control_compose(r->pool, merged);
        max_age = cc_control_find(merged, "max-age");
        delta = -1;
        if (!max_age || !max_age->value
            || (merge && cc_control_restricted(handler))
            || !cc_delta_parse(max_age->value, &delta)) {
            delta = -1;
        }
        expires = sent_expires;
    }

    apr_table_unset(r->err_headers_out, "Cache-Control");
    if (field) {
        apr_table_setn(r->headers_out, "Cache-Control", field);
    }
    else {
        apr_table_unset(r->headers_out, "Cache-Control");
    }
    /* Expires agrees with max-age: Date + max-age (RFC 9111 5.3); without
     * one, it is the handler's own (a date in the past says "stale")
     */
    apr_table_unset(r->err_headers_out, "Expires");
    if (delta >= 0) {
        char *date = NULL;

        if (CONDCACHE_VAL(conf, send_expires)) {
            date = apr_palloc(r->pool, CC_DATE_LEN);
            cc_date_format(date, apr_time_from_sec(
                               apr_time_sec(r->request_time) + delta));
        }
        expires = date;
    }
    if (expires) {
        apr_table_setn(r->headers_out, "Expires", expires);
    }
    else {
        apr_table_unset(r->headers_out, "Expires");
    }
    if (APLOGrtrace1(r)) {
        ctx->freshness = apr_psprintf(r->pool, "Cache-Control %s%s%s%s, "
                                      "Expires %s",
                                      condcache_did(sent, field,
                                                    mode == CC_MERGE_MERGE),
                                      field ? " (" : "", field ? field : "",
                                      field ? ")" : "",
                                      condcache_did(sent_expires, expires, 0));
    }
}

apr_status_t condcache_policy_filter(ap_filter_t *f,
                                     apr_bucket_brigade *bb)
{
    condcache_apply_policy(f->r, ap_get_module_config(f->r->per_dir_config,
                                                      &condcache_module));
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}
