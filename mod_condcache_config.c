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

#include <apr_lib.h>
#include <apr_strings.h>

#include "mod_condcache_private.h"

/* this file's log lines are the module's: LogLevel condcache:trace2 */
APLOG_USE_MODULE(condcache);

static const cc_typemap_chain *condcache_chain(apr_pool_t *p,
                                               const cc_typemap_chain *base,
                                               const cc_typemap_chain *add);
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
    condcache_dir_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->enabled = CONDCACHE_MERGE(base, add, enabled);
    conf->last_modified = CONDCACHE_MERGE(base, add, last_modified);
    conf->salt = add->salt ? add->salt : base->salt;
    conf->merge_mode = CONDCACHE_MERGE(base, add, merge_mode);
    conf->send_expires = CONDCACHE_MERGE(base, add, send_expires);
    conf->statuses = add->statuses ? add->statuses : base->statuses;
    conf->lifetimes = condcache_chain(p, base->lifetimes, add->lifetimes);
    conf->controls = condcache_chain(p, base->controls, add->controls);
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

int condcache_etag_bits(const condcache_dir_conf *conf)
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
    /* what these directives compose to beside a handler that sent none */
    controls->field = cc_control_compose(cmd->pool,
                          cc_control_merge(cmd->pool, NULL, controls->list,
                                           CC_MERGE_MERGE));
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
    { NULL }
};
