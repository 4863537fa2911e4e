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
 * mod_condcache_config.c: the CondCache* directives, their defaults and
 * the per-directory merge.  Every setter parses with the same cc_*.c
 * function the request path uses, and names the directive and the value
 * it refuses.  The hooks that read this are in mod_condcache.c; the types
 * in mod_condcache_private.h.
 */

#include <string.h>

#include <apr_fnmatch.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "util_cfgtree.h"

#include "mod_condcache_private.h"

/* this file's log lines are the module's: LogLevel condcache:trace2 */
APLOG_USE_MODULE(condcache);

static const cc_typemap_chain *condcache_chain(apr_pool_t *p,
                                               const cc_typemap_chain *base,
                                               const cc_typemap_chain *add);
static int condcache_flag_in(const ap_directive_t *first, const char *name,
                             const ap_directive_t **where);
static const ap_directive_t *condcache_policy_in(const ap_directive_t *first);
static const char *condcache_dir_path(apr_pool_t *p, const ap_directive_t *d,
                                      int *wild);
static int condcache_wild_covers(apr_pool_t *p, const char *pattern,
                                 const char *dir);
static void condcache_collect(apr_pool_t *p, const ap_directive_t *first,
                              apr_array_header_t *scopes);
static void condcache_check_server(apr_pool_t *p, server_rec *s,
                                   const ap_directive_t *first,
                                   const apr_array_header_t *main_scopes,
                                   int main_on, int main_expires);
static cc_typemap *condcache_own_map(apr_pool_t *p,
                                     const cc_typemap_chain **chain);
static apr_array_header_t *condcache_concat(apr_pool_t *p,
                                            const apr_array_header_t *a,
                                            const apr_array_header_t *b);
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

/* Defaults, in one place. */
const condcache_dir_conf condcache_defaults = {
    0,                              /* CondCache Off */
    CONDCACHE_UNSET,                /* CondCacheETag: FileETag's, whose
                                     * default is MTime Size */
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
    APR_USEC_PER_SEC,               /* CondCacheDigestMaxWait 1 second */
    CONDCACHE_STORE_OFF,            /* the store answers nowhere */
    0,                              /* the client's directives count */
    NULL,                           /* CondCacheStoreUser REMOTE_USER */
    0
};

/* ---------------------------------------------------------------------
 * Configuration
 */

void *condcache_create_dir_conf(apr_pool_t *p, char *dir)
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
    conf->store_lifetime = CONDCACHE_UNSET;
    conf->store_ignore_cc = CONDCACHE_UNSET;
    return conf;
}

/* A scope's own rules in front of its parent's chain: one link, made
 * only where the child has rules and the parent too.  add is a scope's
 * own configuration, whose chain is its own map alone.
 */
static const cc_typemap_chain *condcache_chain(apr_pool_t *p,
                                               const cc_typemap_chain *base,
                                               const cc_typemap_chain *add)
{
    cc_typemap_chain *link;

    if (!add || !base) {
        return add ? add : base;
    }
    link = apr_palloc(p, sizeof(*link));
    link->map = add->map;
    link->outer = base;
    return link;
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

void *condcache_merge_dir_conf(apr_pool_t *p, void *basev,
                               void *addv)
{
    const condcache_dir_conf *base = basev, *add = addv;
    condcache_dir_conf *conf;

    /* This runs on every request that crosses a scope.  A scope that sets
     * nothing (the server's level, most often) changes nothing: either
     * side is the merge.  Configurations are never written once read.
     */
    if (!add->touched) {
        return basev;
    }
    if (!base->touched) {
        return addv;
    }
    /* the parent's, with what the child sets: one copy, then the child's
     * fields
     */
    conf = apr_palloc(p, sizeof(*conf));
    *conf = *base;
    if (add->enabled != CONDCACHE_UNSET) {
        conf->enabled = add->enabled;
    }
    if (add->last_modified != CONDCACHE_UNSET) {
        conf->last_modified = add->last_modified;
    }
    if (add->salt) {
        conf->salt = add->salt;
    }
    if (add->merge_mode != CONDCACHE_UNSET) {
        conf->merge_mode = add->merge_mode;
    }
    if (add->send_expires != CONDCACHE_UNSET) {
        conf->send_expires = add->send_expires;
    }
    if (add->statuses) {
        conf->statuses = add->statuses;
    }
    if (add->lifetimes) {
        conf->lifetimes = condcache_chain(p, base->lifetimes, add->lifetimes);
    }
    if (add->controls) {
        conf->controls = condcache_chain(p, base->controls, add->controls);
    }
    if (add->fingerprints) {
        conf->fingerprints = condcache_concat(p, base->fingerprints,
                                              add->fingerprints);
    }
    if (add->digest != CONDCACHE_UNSET) {
        conf->digest = add->digest;
    }
    if (add->digest_max != CONDCACHE_UNSET) {
        conf->digest_max = add->digest_max;
    }
    if (add->digest_wait != CONDCACHE_UNSET) {
        conf->digest_wait = add->digest_wait;
    }
    if (add->store_lifetime != CONDCACHE_UNSET) {
        conf->store_lifetime = add->store_lifetime;
    }
    if (add->store_ignore_cc != CONDCACHE_UNSET) {
        conf->store_ignore_cc = add->store_ignore_cc;
    }
    if (add->store_user) {
        conf->store_user = add->store_user;
    }
    conf->own_lifetimes = add->own_lifetimes;
    conf->own_controls = add->own_controls;

    /* CondCacheETag as FileETag: an absolute list replaces the parent's,
     * +Keyword and -Keyword change it.
     */
    if (add->etag_set != CONDCACHE_UNSET) {
        conf->etag_set = add->etag_set;
        conf->etag_add = add->etag_add;
        conf->etag_del = add->etag_del;
    }
    else if (add->etag_add || add->etag_del) {
        conf->etag_add = (base->etag_add & ~add->etag_del) | add->etag_add;
        conf->etag_del = (base->etag_del & ~add->etag_add) | add->etag_del;
    }
    return conf;
}

/* What a file's tag is made of.  CondCacheETag where it applies: its
 * list, or, where it only adds and removes (+INode, -Size), the scope's
 * FileETag changed by it.  Where no CondCacheETag applies, the scope's
 * FileETag as httpd reads it (components, +/- merges, None), so that the
 * module is a drop-in for it; MTime Size, httpd's default, when neither
 * is set.  FileETag Digest is this module's digest.
 */
int condcache_etag_bits(const request_rec *r, const condcache_dir_conf *conf)
{
    int base = conf->etag_set;

    if (base == CONDCACHE_UNSET) {
        const core_dir_config *core =
            ap_get_core_module_config(r->per_dir_config);
        int bits = (core->etag_bits & ~core->etag_remove) | core->etag_add;

        if (bits & ETAG_NONE) {
            bits = 0;
        }
        else if (bits == ETAG_UNSET) {
            bits = ETAG_BACKWARD;
        }
        base = ((bits & ETAG_INODE) ? CC_ETAG_INODE : 0)
               | ((bits & ETAG_MTIME) ? CC_ETAG_MTIME : 0)
               | ((bits & ETAG_SIZE) ? CC_ETAG_SIZE : 0)
#ifdef ETAG_DIGEST
               | ((bits & ETAG_DIGEST) ? CC_ETAG_DIGEST : 0)
#endif
               ;
    }
    return (base | conf->etag_add) & ~conf->etag_del;
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

static const condcache_keywords condcache_kw_store_ignore_cc = {
    APR_OFFSETOF(condcache_dir_conf, store_ignore_cc), "neither On nor Off",
    { "On", "Off" }, { 1, 0 }
};

static const char *condcache_set_keyword(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    const condcache_keywords *kw = cmd->info;
    int i;

    for (i = 0; i < 4 && kw->names[i]; i++) {
        if (!strcasecmp(arg, kw->names[i])) {
            *(int *)((char *)dconf + kw->offset) = kw->values[i];
            ((condcache_dir_conf *)dconf)->touched = 1;
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

    conf->touched = 1;

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

    conf->touched = 1;

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

/* A scope's own map of rules, and its chain: the map alone */
static cc_typemap *condcache_own_map(apr_pool_t *p,
                                     const cc_typemap_chain **chain)
{
    cc_typemap *map = apr_palloc(p, sizeof(*map));
    cc_typemap_chain *link = apr_palloc(p, sizeof(*link));

    cc_typemap_init(map, p);
    link->map = map;
    link->outer = NULL;
    *chain = link;
    return map;
}

/* CondCacheExpiresByType <type> "<lifetime>"; type NULL for the default */
static const char *condcache_set_expires(cmd_parms *cmd, void *dconf,
                                         const char *type, const char *spec)
{
    condcache_dir_conf *conf = dconf;
    cc_lifetime *lt = apr_palloc(cmd->pool, sizeof(*lt));
    const char *err;

    conf->touched = 1;

    err = cc_lifetime_parse(cmd->temp_pool, spec, lt);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: '%s': %s", cmd->cmd->name, spec,
                            err);
    }
    if (!conf->own_lifetimes) {
        conf->own_lifetimes = condcache_own_map(cmd->pool, &conf->lifetimes);
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
    condcache_controls *controls;
    cc_directive d;
    const char *err;

    conf->touched = 1;

    err = cc_control_policy_parse(cmd->pool, word, &d);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    if (!conf->own_controls) {
        conf->own_controls = condcache_own_map(cmd->pool, &conf->controls);
    }
    controls = (condcache_controls *)(type
                   ? cc_typemap_get(conf->own_controls, type)
                   : conf->own_controls->dflt);
    if (!controls) {
        controls = apr_pcalloc(cmd->pool, sizeof(*controls));
        controls->list = apr_array_make(cmd->pool, 4, sizeof(cc_directive));
        if (!type) {
            conf->own_controls->dflt = controls;
        }
        else if ((err = cc_typemap_set(conf->own_controls, cmd->pool, type,
                                       controls)) != NULL) {
            return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
        }
    }
    if (!cc_control_find(controls->list, d.name)) {
        APR_ARRAY_PUSH(controls->list, cc_directive) = d;
    }
    /* what these directives compose to beside a handler that sent none,
     * and beside one that sent Expires (no s-maxage)
     */
    controls->field = cc_control_compose(cmd->pool,
                          cc_control_merge(cmd->pool, NULL, controls->list,
                                           CC_MERGE_MERGE));
    controls->list_beside_expires = controls->list;
    controls->field_beside_expires = controls->field;
    if (cc_control_find(controls->list, "s-maxage")) {
        apr_array_header_t *rest = apr_array_make(cmd->pool,
                                                  controls->list->nelts,
                                                  sizeof(cc_directive));
        int i;

        for (i = 0; i < controls->list->nelts; i++) {
            const cc_directive *c = &APR_ARRAY_IDX(controls->list, i,
                                                   cc_directive);

            if (strcasecmp(c->name, "s-maxage")) {
                APR_ARRAY_PUSH(rest, cc_directive) = *c;
            }
        }
        controls->list_beside_expires = rest;
        controls->field_beside_expires = cc_control_compose(cmd->pool,
            cc_control_merge(cmd->pool, NULL, rest, CC_MERGE_MERGE));
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

    conf->touched = 1;

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

    conf->touched = 1;

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

    conf->touched = 1;

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

    conf->touched = 1;

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

const command_rec condcache_cmds[] = {
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
    AP_INIT_TAKE1("CondCacheStore", condcache_set_store, NULL, RSRC_CONF,
                  "Where the validator store keeps its entries: an socache "
                  "provider and its arguments (shmcb, memcache:host:port, "
                  "redis:host:port), or none"),
    AP_INIT_TAKE1("CondCacheStoreTimeout", condcache_set_store_timeout, NULL,
                  RSRC_CONF,
                  "The longest a request waits for the validator store"),
    AP_INIT_TAKE1("CondCacheStoreRetry", condcache_set_store_timeout,
                  (void *)1, RSRC_CONF,
                  "How long a failed validator store is left alone, and "
                  "how often the error log says so"),
    AP_INIT_TAKE1("CondCacheStoreLifetime", condcache_set_store_lifetime,
                  NULL, RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "How long a stored validator answers for the handler, or "
                  "Off"),
    AP_INIT_ITERATE("CondCacheStoreUser", condcache_set_store_user, NULL,
                    RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                    "Who an entry is for: REMOTE_USER, header:Name, "
                    "cookie:Name"),
    AP_INIT_TAKE1("CondCacheStoreIgnoreCacheControl", condcache_set_keyword,
                  (void *)&condcache_kw_store_ignore_cc,
                  RSRC_CONF | ACCESS_CONF | OR_FILEINFO,
                  "Ignore the client's Cache-Control and Pragma for the "
                  "validator store"),
    { NULL }
};

/* ---------------------------------------------------------------------
 * Half-migrated configurations, said at startup
 *
 * Freshness directives where CondCache is not On do nothing, and beside
 * ExpiresActive On they fight with mod_expires; both are easy to miss
 * when a site moves over, so httpd says so when it starts (and under
 * httpd -t), naming the file and the line.  The configuration tree is
 * read as written: a scope's own CondCache and ExpiresActive, else those
 * of the <Directory> above it (by path), else the virtual host's, else
 * the main server's.  A <Location>, <Files> or regex section may be
 * reached by any <Directory>: it is only warned about where no section at
 * all turns CondCache On.  .htaccess files are read per request and are
 * not checked here.
 */

typedef struct {
    const ap_directive_t *node;      /* the section, NULL for a server */
    const char *dir;                 /* a plain <Directory>'s path */
    const char *wild;                /* a wildcard <Directory>'s pattern */
    int on;                          /* CondCache: 1, 0, -1 unset */
    int expires;                     /* ExpiresActive: 1, 0, -1 unset */
    const ap_directive_t *policy;    /* its first freshness directive */
    const ap_directive_t *expires_at;
} condcache_scope;

/* the value of a flag directive among a section's own directives, the
 * last one counting: 1 On, 0 Off, -1 absent
 */
static int condcache_flag_in(const ap_directive_t *first, const char *name,
                             const ap_directive_t **where)
{
    const ap_directive_t *d;
    int value = -1;

    for (d = first; d; d = d->next) {
        if (!strcasecmp(d->directive, name) && d->args) {
            value = !strncasecmp(d->args, "on", 2);
            if (where) {
                *where = d;
            }
        }
    }
    return value;
}

static const ap_directive_t *condcache_policy_in(const ap_directive_t *first)
{
    static const char *const names[] = {
        "CondCacheExpiresDefault", "CondCacheExpiresByType",
        "CondCacheControl", "CondCacheControlByType", "CondCacheFingerprint",
        NULL
    };
    const ap_directive_t *d;
    const char *const *n;

    for (d = first; d; d = d->next) {
        for (n = names; *n; n++) {
            if (!strcasecmp(d->directive, *n)) {
                return d;
            }
        }
    }
    return NULL;
}

/* A <Directory> path without quotes, '>' and a trailing slash; NULL for
 * a regex; *wild tells a wildcard, matched as httpd does (apr_fnmatch)
 */
static const char *condcache_dir_path(apr_pool_t *p, const ap_directive_t *d,
                                      int *wild)
{
    char *args = apr_pstrdup(p, d->args ? d->args : ""), *gt, *path;
    const char *rest = args;
    apr_size_t len;

    if ((gt = strrchr(args, '>')) != NULL) {
        *gt = '\0';
    }
    path = ap_getword_conf(p, &rest);
    *wild = 0;
    if (!*path || !strcmp(path, "~")) {
        return NULL;
    }
    *wild = strpbrk(path, "*?[") != NULL;
    len = strlen(path);
    while (len > 1 && path[len - 1] == '/') {
        path[--len] = '\0';
    }
    return path;
}

/* collect the scopes of one server's list of directives (the main
 * server's top level, or a <VirtualHost>'s children)
 */
static void condcache_collect(apr_pool_t *p, const ap_directive_t *first,
                              apr_array_header_t *scopes)
{
    const ap_directive_t *d;

    for (d = first; d; d = d->next) {
        condcache_scope *sc;

        if (!d->first_child || d->directive[0] != '<'
            || !strcasecmp(d->directive, "<VirtualHost")) {
            continue;
        }
        sc = apr_array_push(scopes);
        sc->node = d;
        sc->dir = sc->wild = NULL;
        if (!strcasecmp(d->directive, "<Directory")) {
            int wild;
            const char *path = condcache_dir_path(p, d, &wild);

            if (wild) {
                sc->wild = path;
            }
            else {
                sc->dir = path;
            }
        }
        sc->on = condcache_flag_in(d->first_child, "CondCache", NULL);
        sc->expires = condcache_flag_in(d->first_child, "ExpiresActive",
                                        &sc->expires_at);
        sc->policy = condcache_policy_in(d->first_child);
        /* sections nested in this one (<Files> in <Directory>) */
        condcache_collect(p, d->first_child, scopes);
    }
}

/* the flag (offset of on or expires) for a scope: its own, else the
 * section it is written in, else the deepest <Directory> above its path,
 * else the server's; -2 where a <Location> or <Files> could be reached by
 * a <Directory> that sets it
 */
/* whether a wildcard <Directory> applies to dir: it matches dir or a
 * directory above it, component for component (APR_FNM_PATHNAME)
 */
static int condcache_wild_covers(apr_pool_t *p, const char *pattern,
                                 const char *dir)
{
    char *prefix = apr_pstrdup(p, dir);
    char *slash;

    for (;;) {
        if (apr_fnmatch(pattern, prefix, APR_FNM_PATHNAME) == APR_SUCCESS) {
            return 1;
        }
        slash = strrchr(prefix, '/');
        if (!slash || slash == prefix) {
            return 0;
        }
        *slash = '\0';
    }
}

static int condcache_effective(apr_pool_t *p, const condcache_scope *sc,
                               const apr_array_header_t *scopes,
                               int server, apr_size_t field)
{
    const condcache_scope *best = NULL;
    apr_size_t blen = 0;
    int i, own = *(const int *)((const char *)sc + field);

    if (own >= 0) {
        return own;
    }
    for (i = 0; sc->node->parent && i < scopes->nelts; i++) {
        const condcache_scope *up = &APR_ARRAY_IDX(scopes, i, condcache_scope);

        if (up->node == sc->node->parent) {
            return condcache_effective(p, up, scopes, server, field);
        }
    }
    if (!sc->dir) {
        /* a <Location>, <Files> or wildcard: the server's value, unless a
         * <Directory> that turns the flag On may be what applies
         */
        for (i = 0; server != 1 && i < scopes->nelts; i++) {
            const condcache_scope *o = &APR_ARRAY_IDX(scopes, i,
                                                      condcache_scope);

            if ((o->dir || o->wild)
                && *(const int *)((const char *)o + field) == 1) {
                return -2;
            }
        }
        return server;
    }
    for (i = 0; i < scopes->nelts; i++) {
        const condcache_scope *o = &APR_ARRAY_IDX(scopes, i, condcache_scope);
        apr_size_t len;

        if (o == sc || (!o->dir && !o->wild)
            || *(const int *)((const char *)o + field) < 0) {
            continue;
        }
        if (o->wild) {
            /* a pattern for this directory or one above it */
            if (condcache_wild_covers(p, o->wild, sc->dir)
                && (len = strlen(o->wild)) > blen) {
                best = o;
                blen = len;
            }
            continue;
        }
        len = strlen(o->dir);
        if (len > blen && !strncmp(sc->dir, o->dir, len)
            && (sc->dir[len] == '/' || sc->dir[len] == '\0'
                || !strcmp(o->dir, "/"))) {
            best = o;
            blen = len;
        }
    }
    return best ? *(const int *)((const char *)best + field) : server;
}

static void condcache_check_server(apr_pool_t *p, server_rec *s,
                                   const ap_directive_t *first,
                                   const apr_array_header_t *main_scopes,
                                   int main_on, int main_expires)
{
    apr_array_header_t *scopes = apr_array_make(p, 16,
                                                sizeof(condcache_scope));
    const ap_directive_t *expires_at = NULL;
    int on, expires, i;

    if (main_scopes) {
        apr_array_cat(scopes, main_scopes);
    }
    condcache_collect(p, first, scopes);
    on = condcache_flag_in(first, "CondCache", NULL);
    expires = condcache_flag_in(first, "ExpiresActive", &expires_at);
    on = on >= 0 ? on : main_on;
    expires = expires >= 0 ? expires : main_expires;

    for (i = main_scopes ? main_scopes->nelts : 0; i < scopes->nelts; i++) {
        const condcache_scope *sc = &APR_ARRAY_IDX(scopes, i,
                                                   condcache_scope);
        int eon, eexp;

        if (!sc->policy) {
            continue;
        }
        eon = condcache_effective(p, sc, scopes, on,
                                  APR_OFFSETOF(condcache_scope, on));
        eexp = condcache_effective(p, sc, scopes, expires,
                                   APR_OFFSETOF(condcache_scope, expires));
        if (eon == 0 || eon == -1) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "CC00007: %s, "
                         "line %d: %s in %s %s has no effect: no CondCache "
                         "On reaches that scope", sc->policy->filename,
                         sc->policy->line_num, sc->policy->directive,
                         sc->node->directive, sc->node->args);
        }
        if (eon != 0 && eexp == 1) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "CC00008: %s, "
                         "line %d: %s in %s %s beside ExpiresActive On: the "
                         "module's Cache-Control and Expires replace "
                         "mod_expires' there; turn ExpiresActive Off",
                         sc->policy->filename, sc->policy->line_num,
                         sc->policy->directive, sc->node->directive,
                         sc->node->args);
        }
    }
    /* the server's own level */
    if (condcache_policy_in(first)) {
        const ap_directive_t *d = condcache_policy_in(first);

        if (on != 1) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "CC00007: %s, "
                         "line %d: %s at server level has no effect "
                         "without CondCache On", d->filename, d->line_num,
                         d->directive);
        }
        else if (expires == 1) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "CC00008: %s, "
                         "line %d: %s beside ExpiresActive On: the module's "
                         "Cache-Control and Expires replace mod_expires'; "
                         "turn ExpiresActive Off", d->filename, d->line_num,
                         d->directive);
        }
    }
}

/* the main server, then each virtual host over the main server's
 * sections and levels
 */
void condcache_check_config(apr_pool_t *p, server_rec *s)
{
    apr_array_header_t *main_scopes = apr_array_make(p, 16,
                                                     sizeof(condcache_scope));
    const ap_directive_t *d;
    int on = condcache_flag_in(ap_conftree, "CondCache", NULL);
    int expires = condcache_flag_in(ap_conftree, "ExpiresActive", NULL);

    condcache_collect(p, ap_conftree, main_scopes);
    condcache_check_server(p, s, ap_conftree, NULL, -1, -1);
    for (d = ap_conftree; d; d = d->next) {
        if (!strcasecmp(d->directive, "<VirtualHost") && d->first_child) {
            condcache_check_server(p, s, d->first_child, main_scopes, on,
                                   expires);
        }
    }
}
