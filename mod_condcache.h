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
 * mod_condcache.h: the types and the APR-only API shared by the cc_*.c
 * units and the httpd glue (mod_condcache*.c, whose own shared types are
 * in mod_condcache_private.h).
 *
 * Nothing declared here depends on httpd.h, and none of it logs: failures
 * come back as return codes (and, for configuration parsers, a message).
 */

#ifndef MOD_CONDCACHE_H
#define MOD_CONDCACHE_H

#include <apr_pools.h>
#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_time.h>
#include <apr_file_io.h>

/* The module's version (CHANGES says what each one changed); the Debian
 * package carries it, and httpd's error log names it at LogLevel info
 */
#define CONDCACHE_VERSION_MAJOR 0
#define CONDCACHE_VERSION_MINOR 12
#define CONDCACHE_VERSION_PATCH 0
#define CONDCACHE_VERSION "0.12.0"

/* ---------------------------------------------------------------------
 * Entity tags (RFC 9110 section 8.8.3), cc_etag.c
 */

/* One parsed entity-tag.  The opaque part points into the parsed string
 * and includes neither the W/ prefix nor the quotes.
 */
typedef struct {
    const char *opaque;
    apr_size_t len;
    int weak;
} cc_etag;

/* How a list field compares with the current entity-tag. */
typedef enum {
    CC_LIST_ABSENT,   /* no field */
    CC_LIST_EMPTY,    /* a field with no members ("", " , ,") */
    CC_LIST_STAR,     /* exactly "*" */
    CC_LIST_MATCH,    /* some member matches the current tag */
    CC_LIST_NOMATCH,  /* well-formed, and no member matches */
    CC_LIST_INVALID   /* malformed; matches nothing */
} cc_list_result;

/* Parse one entity-tag at *str, after optional white space; on success
 * advance *str past it and return 1, else return 0 and leave *str alone.
 */
int cc_etag_parse(const char **str, cc_etag *tag);

/* Parse a whole field value holding exactly one entity-tag (an ETag
 * response field, an If-Range value).  Surrounding white space allowed.
 */
int cc_etag_parse_one(const char *value, cc_etag *tag);

/* RFC 9110 section 8.8.3.2. */
int cc_etag_strong_eq(const cc_etag *a, const cc_etag *b);
int cc_etag_weak_eq(const cc_etag *a, const cc_etag *b);

/* Compare a list field (If-Match, If-None-Match; several header lines
 * joined with ", ") with the current tag, strongly or weakly.  A NULL
 * list is ABSENT, one without a member EMPTY.  A NULL current tag matches
 * nothing; an invalid member anywhere makes the whole list invalid, and
 * so does "*" mixed with tags.
 */
cc_list_result cc_etag_list_match(const char *list, const cc_etag *current,
                                  int strong);

/* ---------------------------------------------------------------------
 * HTTP-date (RFC 9110 section 5.6.7), cc_date.c
 */

/* Parse exactly one HTTP-date in any of the three forms, with optional
 * surrounding white space and nothing else.  'now' resolves the two-digit
 * year of the rfc850 form (a year more than 50 years ahead of 'now' is in
 * the past century).  Years 0000 to 9999 are accepted, the ones before
 * 1970 giving negative times.  Returns 1 and sets *t, or 0.
 */
int cc_date_parse(const char *value, apr_time_t now, apr_time_t *t);

/* Format as IMF-fixdate into buf (at least CC_DATE_LEN bytes). */
#define CC_DATE_LEN 30
int cc_date_format(char *buf, apr_time_t t);

/* ---------------------------------------------------------------------
 * Preconditions (RFC 9110 section 13.2.2), cc_precond.c
 */

typedef enum {
    CC_METHOD_GET,
    CC_METHOD_HEAD,
    CC_METHOD_OTHER      /* a method whose preconditions were decided to
                          * be evaluated before it runs: PUT, DELETE, ... */
} cc_method;

typedef struct {
    cc_method method;
    int exists;                  /* a current representation exists */
    const char *etag;            /* current ETag field value, or NULL */
    int has_last_modified;
    apr_time_t last_modified;    /* whole seconds, never after 'date' */
    apr_time_t date;             /* the response's Date (request time) */
    /* request fields, NULL when absent; several lines joined by ", " */
    const char *if_match;
    const char *if_none_match;
    const char *if_modified_since;
    const char *if_unmodified_since;
    const char *if_range;
    int has_range;
} cc_precond_in;

typedef enum {
    CC_RANGE_NONE,     /* no Range, or a method without range handling */
    CC_RANGE_APPLY,    /* Range applies: no If-Range, or If-Range true */
    CC_RANGE_IGNORE    /* If-Range false: send the whole representation */
} cc_range;

typedef struct {
    int status;          /* 0 to proceed, else 304 or 412 */
    cc_range range;
    const char *reason;  /* static text for logs, e.g. "inm-weak-match" */
} cc_precond_out;

void cc_precond_evaluate(const cc_precond_in *in, cc_precond_out *out);

/* ---------------------------------------------------------------------
 * Digests and generated tags, cc_digest.c
 */

#define CC_DIGEST_LEN 16     /* XXH3-128 */

typedef struct cc_digest_ctx cc_digest_ctx;

cc_digest_ctx *cc_digest_create(apr_pool_t *p);
void cc_digest_update(cc_digest_ctx *ctx, const void *data, apr_size_t len);
void cc_digest_final(cc_digest_ctx *ctx, unsigned char out[CC_DIGEST_LEN]);

/* Mix one metadata field (a media type, a content-coding; NULL for none)
 * into the digest, so that the same bytes as another type or coding give
 * another tag (docs/conformance.md 1.4).  Each field ends with a NUL
 * byte.
 */
void cc_digest_field(cc_digest_ctx *ctx, const char *value);

/* Digest a whole open file from its start.  Returns an APR status. */
apr_status_t cc_digest_file(apr_file_t *f, apr_pool_t *p,
                            unsigned char out[CC_DIGEST_LEN]);

/* What a generated tag is made of (CondCacheETag keywords). */
#define CC_ETAG_INODE   0x01
#define CC_ETAG_MTIME   0x02
#define CC_ETAG_SIZE    0x04
#define CC_ETAG_DIGEST  0x08
#define CC_ETAG_ALL     (CC_ETAG_INODE | CC_ETAG_MTIME | CC_ETAG_SIZE)

typedef struct {
    unsigned int bits;
    apr_ino_t inode;
    apr_time_t mtime;
    apr_off_t size;
    const unsigned char *digest;  /* CC_DIGEST_LEN bytes, with DIGEST */
    const char *salt;             /* NULL for none */
    const char *variant;          /* a negotiated variant's name, or NULL */
    int weak;
} cc_etag_fields;

/* Build a quoted entity-tag from the fields: the parts named by 'bits' in
 * lowercase hex joined by '-', the digest alone when CC_ETAG_DIGEST is set,
 * then a digest of the salt when there is one, then one of the variant
 * when there is one.  NULL when bits is 0.
 */
const char *cc_etag_make(apr_pool_t *p, const cc_etag_fields *fields);

/* ---------------------------------------------------------------------
 * Freshness policy (RFC 9111, RFC 8246, RFC 5861), cc_policy.c
 */

#define CC_DELTA_MAX 2147483647   /* delta-seconds are clamped here */

typedef enum {
    CC_BASE_ACCESS,          /* the request time */
    CC_BASE_MODIFICATION     /* Last-Modified */
} cc_base;

/* A lifetime in mod_expires' syntax: "access plus 1 month 2 days",
 * "modification plus 3 hours", "now", "A3600", "M86400".  A month is
 * 30 days and a year 365 days, as mod_expires counts them.
 */
typedef struct {
    cc_base base;
    apr_int64_t seconds;     /* 0 .. CC_DELTA_MAX */
} cc_lifetime;

/* delta-seconds (RFC 9111 1.2.2): digits only, clamped to CC_DELTA_MAX */
int cc_delta_parse(const char *s, apr_int64_t *out);

/* Parse a lifetime; on error return a message (from p) naming the part
 * that is wrong, else NULL.
 */
const char *cc_lifetime_parse(apr_pool_t *p, const char *spec,
                              cc_lifetime *lt);

/* The max-age of a lifetime: base + seconds - now, in whole seconds,
 * never below 0 nor above CC_DELTA_MAX.  A modification lifetime whose
 * base is unknown (has_lm 0) counts from now.
 */
apr_int64_t cc_lifetime_max_age(const cc_lifetime *lt, apr_time_t now,
                                int has_lm, apr_time_t last_modified);

/* One Cache-Control directive: lowercase name, value as received (a
 * token or a quoted-string, quotes kept) or NULL.
 */
typedef struct {
    const char *name;
    const char *value;
} cc_directive;

/* Parse a Cache-Control field value (several lines joined by ", ") into
 * an array of cc_directive, in order, keeping unknown directives and
 * dropping the later duplicates of a name (RFC 9111 4.2.1: the first
 * occurrence counts).  Commas inside quoted strings are respected;
 * empty members are skipped.
 */
apr_array_header_t *cc_control_parse(apr_pool_t *p, const char *value);

/* Parse one directive of CondCacheControl: one of the directives the
 * policy can emit, its delta-seconds clamped.  Returns an error message
 * or NULL.
 */
const char *cc_control_policy_parse(apr_pool_t *p, const char *word,
                                    cc_directive *d);

/* The directives joined by ", ": one field value. */
const char *cc_control_compose(apr_pool_t *p,
                               const apr_array_header_t *list);

const cc_directive *cc_control_find(const apr_array_header_t *list,
                                    const char *name);

/* What to do with the handler's own Cache-Control. */
typedef enum {
    CC_MERGE_MERGE,     /* directive by directive (the default) */
    CC_MERGE_KEEP,      /* the handler's stands; the policy adds nothing */
    CC_MERGE_REPLACE    /* the policy's replaces the handler's */
} cc_merge_mode;

/* Compose the response's directives from the handler's (may be NULL or
 * empty) and the policy's.  Merge: the handler's directives stay, in
 * order and with their values, and the policy's are added where the
 * handler did not send one of the same name, except that a handler that
 * sent no-store, or no-cache or private without a field name, gets no
 * max-age, s-maxage or public from the policy; public never stands
 * beside private (private wins, whoever sent it).  Keep: the handler's,
 * when it sent any, else the policy's.  Replace: the policy's.
 */
apr_array_header_t *cc_control_merge(apr_pool_t *p,
                                     const apr_array_header_t *handler,
                                     const apr_array_header_t *policy,
                                     cc_merge_mode mode);

/* Whether the directives say the response is not to be stored, or not
 * by a shared cache, or to be revalidated every time: no-store, or
 * no-cache or private without a field name (docs/conformance.md 5.6).
 */
int cc_control_restricted(const apr_array_header_t *list);

/* Rules by media type: an exact type ("image/png") beats a wildcard
 * ("image/" and a star), which beats the default.  Types are compared
 * without parameters and case-insensitively.
 */
typedef struct {
    apr_hash_t *exact;        /* "text/css" -> value */
    apr_hash_t *wildcard;     /* "image" -> value */
    const void *dflt;
} cc_typemap;

void cc_typemap_init(cc_typemap *map, apr_pool_t *p);
int cc_typemap_empty(const cc_typemap *map);
/* type: "major/minor", or the major type, a slash and a star; returns
 * an error message or NULL
 */
const char *cc_typemap_set(cc_typemap *map, apr_pool_t *p, const char *type,
                           const void *value);
const void *cc_typemap_lookup(const cc_typemap *map,
                              const char *content_type);
/* the value set for exactly this type or wildcard, without fallback */
const void *cc_typemap_get(const cc_typemap *map, const char *type);

/* The rules of a scope and of every enclosing one: a scope with rules
 * of its own puts a link in front of its parent's chain.
 */
typedef struct cc_typemap_chain cc_typemap_chain;
struct cc_typemap_chain {
    const cc_typemap *map;
    const cc_typemap_chain *outer;
};

/* The rule for a response's media type over a chain, as mod_expires
 * resolves ExpiresByType and ExpiresDefault: the exact type, from the
 * innermost scope that names it; else the major type's wildcard, from
 * the innermost scope that names it; else the innermost default.  So a
 * child scope's default never hides a parent's rule for the type, and a
 * child that sets one type keeps the parent's rules for the others.
 */
const void *cc_typemap_resolve(const cc_typemap_chain *chain,
                               const char *content_type);

/* ---------------------------------------------------------------------
 * cc_store.c: the validator store's entries, keys and the request's own
 * directives (docs/conformance.md 7)
 */

#define CC_STORE_VERSION    1
#define CC_STORE_KEY_PREFIX "condcache1:"
/* the prefix, 32 hex digits and a NUL */
#define CC_STORE_KEY_LEN    (sizeof(CC_STORE_KEY_PREFIX) - 1 + 32 + 1)
/* an encoded entry is never larger than this */
#define CC_STORE_MAX        8192

typedef enum {
    CC_STORE_ENTRY = 1,      /* the validators of one representation */
    CC_STORE_VARY = 2        /* a URI's Vary: where its entries are */
} cc_store_kind;

/* an entry's response said must-revalidate or proxy-revalidate: never
 * answers once stale, whatever the request's max-stale
 */
#define CC_STORE_MUST_REVALIDATE 0x01
/* a URI's record written by a write: its entries are gone (RFC 9111 4.4),
 * and a response read before it must not be stored after it
 */
#define CC_STORE_INVALIDATED     0x02
#define CC_STORE_FLAGS_KNOWN     0x03

typedef struct {
    cc_store_kind kind;
    unsigned int flags;          /* CC_STORE_MUST_REVALIDATE, ... */
    apr_int64_t stored;          /* seconds: when it was stored */
    apr_int64_t expires;         /* seconds: the end of its lifetime */
    apr_int64_t last_modified;   /* seconds, -1 for none */
    apr_uint64_t length;         /* bytes of the 200's body */
    apr_uint64_t nonce;          /* CC_STORE_VARY: its entries' generation */
    const char *key;             /* the key it is stored under */
    /* the fields a 304 repeats (RFC 9110 15.4.5), as the handler sent
     * them; NULL for none
     */
    const char *etag;
    const char *cache_control;
    const char *expires_field;
    const char *vary;            /* CC_STORE_VARY: the names it selects by */
    const char *content_location;
    const char *content_type;    /* what the freshness policy reads */
} cc_store_entry;

/* The entry in at most size bytes: its length, or 0 where it does not
 * fit or a field holds a control character
 */
apr_size_t cc_store_encode(const cc_store_entry *e, unsigned char *buf,
                           apr_size_t size);
/* NULL and the entry, or why the bytes are no entry: another version, a
 * failed check, a truncated or malformed value
 */
const char *cc_store_decode(apr_pool_t *p, const unsigned char *buf,
                            apr_size_t len, cc_store_entry *e);
/* the key of the parts (NULL and "" are two parts) */
void cc_store_key(apr_pool_t *p, char out[CC_STORE_KEY_LEN],
                  const char *const *parts, int n);
/* "br,gzip", "br", "gzip" or "identity" */
const char *cc_store_coding(const char *accept_encoding);
const char *cc_store_vary_names(apr_pool_t *p, const char *vary);
const char *cc_store_selecting(apr_pool_t *p, const char *names,
                               const apr_table_t *fields);

typedef struct {
    int no_cache;            /* no-cache, or Pragma: no-cache alone */
    int no_store;
    apr_int64_t max_age;     /* -1 for none */
    apr_int64_t min_fresh;   /* -1 for none */
    apr_int64_t max_stale;   /* -1 for none; CC_DELTA_MAX with no value */
} cc_store_request;

void cc_store_request_parse(apr_pool_t *p, const char *cache_control,
                            const char *pragma, cc_store_request *req);
const char *cc_store_usable(const cc_store_request *req, apr_int64_t age,
                            apr_int64_t lifetime);

#endif /* MOD_CONDCACHE_H */
