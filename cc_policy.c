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
 * cc_policy.c: the freshness policy.  Lifetimes in mod_expires' syntax,
 * Cache-Control parsed, merged and composed as one field value (RFC 9111
 * section 5.2), and rules looked up by media type.
 */

#include <string.h>

#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "mod_condcache.h"

static const struct {
    const char *name;
    apr_int64_t seconds;
} cc_units[] = {
    { "year",   365 * 86400 },     /* as mod_expires: 365 days */
    { "month",  30 * 86400 },      /* and 30 days */
    { "week",   7 * 86400 },
    { "day",    86400 },
    { "hour",   3600 },
    { "minute", 60 },
    { "second", 1 },
};

/* What CondCacheControl may set; with_value: takes delta-seconds. */
static const struct {
    const char *name;
    int with_value;
} cc_policy_directives[] = {
    { "public", 0 },
    { "private", 0 },
    { "no-cache", 0 },
    { "no-store", 0 },
    { "must-revalidate", 0 },
    { "proxy-revalidate", 0 },
    { "no-transform", 0 },
    { "immutable", 0 },                  /* RFC 8246 */
    { "s-maxage", 1 },
    { "stale-while-revalidate", 1 },     /* RFC 5861 */
    { "stale-if-error", 1 },
};

static const char *cc_next_word(char **s);
static int cc_is_tchar(int c);
static int cc_find_index(const apr_array_header_t *list, const char *name);
static int cc_restricts(const apr_array_header_t *list, const char *name);
static int cc_lends_freshness(const char *name);
static void cc_lower(char *s);
static apr_size_t cc_type_key(const char *content_type, char *buf,
                              apr_size_t size);

static void cc_lower(char *s)
{
    for (; *s; s++) {
        *s = (char)apr_tolower(*s);
    }
}

/* delta-seconds = 1*DIGIT, clamped to CC_DELTA_MAX (RFC 9111 1.2.2) */
int cc_delta_parse(const char *s, apr_int64_t *out)
{
    apr_int64_t v = 0;

    if (!*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!apr_isdigit(*s)) {
            return 0;
        }
        v = v * 10 + (*s - '0');
        if (v > CC_DELTA_MAX) {
            v = CC_DELTA_MAX;
        }
    }
    *out = v;
    return 1;
}

/* the next white-space separated word of *s, or NULL */
static const char *cc_next_word(char **s)
{
    char *start;

    while (apr_isspace(**s)) {
        (*s)++;
    }
    if (!**s) {
        return NULL;
    }
    start = *s;
    while (**s && !apr_isspace(**s)) {
        (*s)++;
    }
    if (**s) {
        *(*s)++ = '\0';
    }
    return start;
}

const char *cc_lifetime_parse(apr_pool_t *p, const char *spec,
                              cc_lifetime *lt)
{
    char *s = apr_pstrdup(p, spec ? spec : "");
    const char *word;
    apr_int64_t total = 0;

    /* A<seconds> and M<seconds> */
    if ((s[0] == 'A' || s[0] == 'M') && apr_isdigit(s[1])) {
        lt->base = s[0] == 'A' ? CC_BASE_ACCESS : CC_BASE_MODIFICATION;
        if (!cc_delta_parse(s + 1, &lt->seconds)) {
            return apr_psprintf(p, "'%s' is not A or M followed by seconds",
                                spec);
        }
        return NULL;
    }

    word = cc_next_word(&s);
    if (!word) {
        return "an empty lifetime (\"access plus 1 day\", \"A86400\", ...)";
    }
    if (!strcasecmp(word, "access") || !strcasecmp(word, "now")) {
        lt->base = CC_BASE_ACCESS;
    }
    else if (!strcasecmp(word, "modification")) {
        lt->base = CC_BASE_MODIFICATION;
    }
    else {
        return apr_psprintf(p, "unknown base '%s' (access, now or "
                            "modification)", word);
    }
    word = cc_next_word(&s);
    if (word && !strcasecmp(word, "plus")) {
        word = cc_next_word(&s);
    }
    while (word) {
        apr_int64_t num;
        const char *unit;
        apr_size_t i, len;

        if (!cc_delta_parse(word, &num)) {
            return apr_psprintf(p, "'%s' is not a number of units (a "
                                "whole number, not negative)", word);
        }
        unit = cc_next_word(&s);
        if (!unit) {
            return apr_psprintf(p, "a unit is missing after '%s'", word);
        }
        len = strlen(unit);
        for (i = 0; i < sizeof(cc_units) / sizeof(cc_units[0]); i++) {
            apr_size_t n = strlen(cc_units[i].name);

            /* singular or plural */
            if ((len == n || (len == n + 1 && apr_tolower(unit[n]) == 's'))
                && !strncasecmp(unit, cc_units[i].name, n)) {
                break;
            }
        }
        if (i == sizeof(cc_units) / sizeof(cc_units[0])) {
            return apr_psprintf(p, "unknown unit '%s' (years, months, weeks, "
                                "days, hours, minutes or seconds)", unit);
        }
        /* saturate rather than overflow */
        if (num > (CC_DELTA_MAX - total) / cc_units[i].seconds) {
            total = CC_DELTA_MAX;
        }
        else {
            total += num * cc_units[i].seconds;
        }
        word = cc_next_word(&s);
    }
    lt->seconds = total;
    return NULL;
}

apr_int64_t cc_lifetime_max_age(const cc_lifetime *lt, apr_time_t now,
                                int has_lm, apr_time_t last_modified)
{
    apr_int64_t base = apr_time_sec(now), age;

    if (lt->base == CC_BASE_MODIFICATION && has_lm) {
        base = apr_time_sec(last_modified);
    }
    age = base + lt->seconds - apr_time_sec(now);
    return age < 0 ? 0 : age > CC_DELTA_MAX ? CC_DELTA_MAX : age;
}

/* ---------------------------------------------------------------------
 * Cache-Control
 */

static int cc_is_tchar(int c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Past this many members, the names seen are kept in a hash: a handler
 * may send thousands, and a scan for each would be quadratic
 */
#define CC_SCAN_MAX 16

apr_array_header_t *cc_control_parse(apr_pool_t *p, const char *value)
{
    apr_array_header_t *list = apr_array_make(p, 8, sizeof(cc_directive));
    apr_hash_t *seen = NULL;
    const char *s = value ? value : "";

    for (;;) {
        const char *start, *vstart = NULL, *end;
        cc_directive d;
        int broken = 0;

        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        if (!*s) {
            break;
        }
        start = s;
        while (cc_is_tchar((unsigned char)*s)) {
            s++;
        }
        end = s;
        if (*s == '=') {
            vstart = ++s;
            if (*s == '"') {
                for (s++; *s && *s != '"'; s++) {
                    if (*s == '\\' && s[1]) {
                        s++;
                    }
                }
                if (*s == '"') {
                    s++;
                }
                else {
                    broken = 1;        /* never closed */
                }
            }
        }
        /* anything else up to the next comma belongs to this member, as
         * received: unknown syntax is kept, not repaired.  But a quote
         * left open (or one outside a quoted string) would, once other
         * directives are composed after it, hide them from every
         * recipient: such a member is dropped, or, where it restricts
         * (private, no-cache, no-store), kept without its value: a
         * response its handler meant to restrict is never left open to
         * every cache (RFC 9111 5.2.2.4, 5.2.2.7: unqualified is the
         * stricter reading).
         */
        while (*s && *s != ',') {
            broken |= *s == '"';
            s++;
        }
        if (end == start) {
            continue;
        }
        d.name = apr_pstrmemdup(p, start, (apr_size_t)(end - start));
        cc_lower((char *)d.name);
        d.value = NULL;
        if (broken) {
            if (strcmp(d.name, "private") && strcmp(d.name, "no-cache")
                && strcmp(d.name, "no-store")) {
                continue;
            }
        }
        else if (vstart) {
            const char *vend = s;

            while (vend > vstart && (vend[-1] == ' ' || vend[-1] == '\t')) {
                vend--;
            }
            d.value = apr_pstrmemdup(p, vstart, (apr_size_t)(vend - vstart));
        }
        /* each name once: the first wins */
        if (!seen && list->nelts >= CC_SCAN_MAX) {
            int i;

            seen = apr_hash_make(p);
            for (i = 0; i < list->nelts; i++) {
                apr_hash_set(seen, APR_ARRAY_IDX(list, i, cc_directive).name,
                             APR_HASH_KEY_STRING, "");
            }
        }
        if (seen ? apr_hash_get(seen, d.name, APR_HASH_KEY_STRING) != NULL
                 : cc_find_index(list, d.name) >= 0) {
            continue;
        }
        APR_ARRAY_PUSH(list, cc_directive) = d;
        if (seen) {
            apr_hash_set(seen, d.name, APR_HASH_KEY_STRING, "");
        }
    }
    return list;
}

const char *cc_control_policy_parse(apr_pool_t *p, const char *word,
                                    cc_directive *d)
{
    const char *eq = strchr(word, '=');
    char *name = apr_pstrmemdup(p, word, eq ? (apr_size_t)(eq - word)
                                            : strlen(word));
    apr_size_t i;
    apr_int64_t delta;

    cc_lower(name);
    if (!strcmp(name, "max-age")) {
        return "max-age comes from CondCacheExpiresDefault and "
               "CondCacheExpiresByType";
    }
    for (i = 0; i < sizeof(cc_policy_directives)
                    / sizeof(cc_policy_directives[0]); i++) {
        if (!strcmp(name, cc_policy_directives[i].name)) {
            break;
        }
    }
    if (i == sizeof(cc_policy_directives) / sizeof(cc_policy_directives[0])) {
        return apr_psprintf(p, "unknown directive '%s'", word);
    }
    d->name = name;
    d->value = NULL;
    if (!cc_policy_directives[i].with_value) {
        return eq ? apr_psprintf(p, "'%s' takes no value", word) : NULL;
    }
    if (!eq || !cc_delta_parse(eq + 1, &delta)) {
        return apr_psprintf(p, "'%s' needs =seconds (a whole number, not "
                            "negative)", word);
    }
    d->value = apr_psprintf(p, "%" APR_INT64_T_FMT, delta);
    return NULL;
}

/* one allocation, whatever the number of directives */
const char *cc_control_compose(apr_pool_t *p,
                               const apr_array_header_t *list)
{
    apr_size_t len = 0;
    char *out, *o;
    int i;

    if (!list->nelts) {
        return NULL;
    }
    for (i = 0; i < list->nelts; i++) {
        const cc_directive *d = &APR_ARRAY_IDX(list, i, cc_directive);

        len += (i ? 2 : 0) + strlen(d->name)
               + (d->value ? 1 + strlen(d->value) : 0);
    }
    o = out = apr_palloc(p, len + 1);
    for (i = 0; i < list->nelts; i++) {
        const cc_directive *d = &APR_ARRAY_IDX(list, i, cc_directive);
        apr_size_t n = strlen(d->name);

        if (i) {
            memcpy(o, ", ", 2);
            o += 2;
        }
        memcpy(o, d->name, n);
        o += n;
        if (d->value) {
            n = strlen(d->value);
            *o++ = '=';
            memcpy(o, d->value, n);
            o += n;
        }
    }
    *o = '\0';
    return out;
}

static int cc_find_index(const apr_array_header_t *list, const char *name)
{
    int i;

    for (i = 0; i < list->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(list, i, cc_directive).name, name)) {
            return i;
        }
    }
    return -1;
}

const cc_directive *cc_control_find(const apr_array_header_t *list,
                                    const char *name)
{
    int i = list ? cc_find_index(list, name) : -1;

    return i < 0 ? NULL : &APR_ARRAY_IDX(list, i, cc_directive);
}

/* the list holds the directive unqualified (no-cache="Set-Cookie" is
 * about one field, not the response; no-store takes no value)
 */
static int cc_restricts(const apr_array_header_t *list, const char *name)
{
    int i = cc_find_index(list, name);

    return i >= 0 && (!APR_ARRAY_IDX(list, i, cc_directive).value
                      || !strcmp(name, "no-store"));
}

int cc_control_restricted(const apr_array_header_t *list)
{
    return list && (cc_restricts(list, "no-store")
                    || cc_restricts(list, "no-cache")
                    || cc_restricts(list, "private"));
}

/* What gives a response a lifetime, lets a cache use it past one, or
 * lets a shared cache store it: max-age, s-maxage and public (RFC 9111
 * 5.2.2), immutable, which says the lifetime will not be cut short (RFC
 * 8246), and stale-while-revalidate and stale-if-error, which let a cache
 * serve it stale (RFC 5861).  The others only restrict more.
 */
static int cc_lends_freshness(const char *name)
{
    static const char *const lends[] = {
        "max-age", "s-maxage", "public", "immutable",
        "stale-while-revalidate", "stale-if-error"
    };
    apr_size_t i;

    for (i = 0; i < sizeof(lends) / sizeof(lends[0]); i++) {
        if (!strcmp(name, lends[i])) {
            return 1;
        }
    }
    return 0;
}

apr_array_header_t *cc_control_merge(apr_pool_t *p,
                                     const apr_array_header_t *handler,
                                     const apr_array_header_t *policy,
                                     cc_merge_mode mode)
{
    apr_array_header_t *out;
    int i, pub;

    if (mode == CC_MERGE_REPLACE || !handler || !handler->nelts) {
        out = policy ? apr_array_copy(p, policy)
                     : apr_array_make(p, 1, sizeof(cc_directive));
    }
    else if (mode == CC_MERGE_KEEP || !policy) {
        out = apr_array_copy(p, handler);
    }
    else {
        /* a handler that said the response is not to be stored, or not
         * for a shared cache, or to be revalidated every time, gets no
         * lifetime and no permission from the policy (docs/conformance.md
         * 5.6: a PHP session page stays what it said it is)
         */
        int restricted = cc_control_restricted(handler);

        out = apr_array_copy(p, handler);
        for (i = 0; i < policy->nelts; i++) {
            const cc_directive *d = &APR_ARRAY_IDX(policy, i, cc_directive);

            if (restricted && cc_lends_freshness(d->name)) {
                continue;
            }
            if (cc_find_index(out, d->name) < 0) {
                APR_ARRAY_PUSH(out, cc_directive) = *d;
            }
        }
    }
    /* never public beside private: the restrictive one wins */
    if (cc_find_index(out, "private") >= 0
        && (pub = cc_find_index(out, "public")) >= 0) {
        for (i = pub; i + 1 < out->nelts; i++) {
            APR_ARRAY_IDX(out, i, cc_directive) =
                APR_ARRAY_IDX(out, i + 1, cc_directive);
        }
        out->nelts--;
    }
    return out;
}

/* ---------------------------------------------------------------------
 * Rules by media type
 */

void cc_typemap_init(cc_typemap *map, apr_pool_t *p)
{
    map->exact = apr_hash_make(p);
    map->wildcard = apr_hash_make(p);
    map->dflt = NULL;
}

int cc_typemap_empty(const cc_typemap *map)
{
    return !map->dflt && !apr_hash_count(map->exact)
           && !apr_hash_count(map->wildcard);
}

const char *cc_typemap_set(cc_typemap *map, apr_pool_t *p, const char *type,
                           const void *value)
{
    char *t = apr_pstrdup(p, type);
    char *slash = strchr(t, '/');
    const char *c;

    cc_lower(t);
    if (!slash || slash == t || !slash[1]) {
        return apr_psprintf(p, "'%s' is not a media type (type/subtype or "
                            "type/*)", type);
    }
    for (c = t; c < slash; c++) {
        if (!cc_is_tchar((unsigned char)*c) || *c == '*') {
            return apr_psprintf(p, "'%s' is not a media type", type);
        }
    }
    *slash = '\0';
    if (!strcmp(slash + 1, "*")) {
        apr_hash_set(map->wildcard, t, APR_HASH_KEY_STRING, value);
        return NULL;
    }
    for (c = slash + 1; *c; c++) {
        if (!cc_is_tchar((unsigned char)*c) || *c == '*') {
            return apr_psprintf(p, "'%s' is not a media type", type);
        }
    }
    *slash = '/';
    apr_hash_set(map->exact, t, APR_HASH_KEY_STRING, value);
    return NULL;
}

const void *cc_typemap_get(const cc_typemap *map, const char *type)
{
    char *t = apr_pstrdup(apr_hash_pool_get(map->exact), type);
    char *slash = strchr(t, '/');

    cc_lower(t);
    if (slash && !strcmp(slash + 1, "*")) {
        *slash = '\0';
        return apr_hash_get(map->wildcard, t, APR_HASH_KEY_STRING);
    }
    return apr_hash_get(map->exact, t, APR_HASH_KEY_STRING);
}

/* The media type without its parameters, lowercase, into buf: its
 * length, or 0 when there is none or it does not fit
 */
static apr_size_t cc_type_key(const char *content_type, char *buf,
                              apr_size_t size)
{
    apr_size_t len = 0;

    if (!content_type) {
        return 0;
    }
    while (content_type[len] && content_type[len] != ';'
           && content_type[len] != ' ' && content_type[len] != '\t') {
        if (len == size - 1) {
            return 0;
        }
        buf[len] = (char)apr_tolower(content_type[len]);
        len++;
    }
    buf[len] = '\0';
    return len;
}

const void *cc_typemap_lookup(const cc_typemap *map,
                              const char *content_type)
{
    cc_typemap_chain one;

    one.map = map;
    one.outer = NULL;
    return cc_typemap_resolve(&one, content_type);
}

const void *cc_typemap_resolve(const cc_typemap_chain *chain,
                               const char *content_type)
{
    char buf[256];
    apr_size_t len = cc_type_key(content_type, buf, sizeof(buf));
    const cc_typemap_chain *c;
    const void *v;
    char *slash;

    if (len) {
        for (c = chain; c; c = c->outer) {
            if ((v = apr_hash_get(c->map->exact, buf, len))) {
                return v;
            }
        }
        if ((slash = memchr(buf, '/', len)) != NULL) {
            for (c = chain; c; c = c->outer) {
                if ((v = apr_hash_get(c->map->wildcard, buf,
                                      (apr_ssize_t)(slash - buf)))) {
                    return v;
                }
            }
        }
    }
    for (c = chain; c; c = c->outer) {
        if (c->map->dflt) {
            return c->map->dflt;
        }
    }
    return NULL;
}
