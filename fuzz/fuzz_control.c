/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * fuzz_control: Cache-Control parse, policy parse, merge and compose,
 * cc_policy.c (RFC 9111 5.2, RFC 8246, RFC 5861; CondCacheControl and
 * CondCacheControlMerge).
 *
 * Input: the handler's Cache-Control field value (several lines joined
 * by ", "), a newline, then the words of a CondCacheControl line, split
 * on white space.  A max-age from the lifetime is put in front of the
 * policy's directives, as mod_condcache.c does, when the first byte of
 * the input is odd.
 *
 * Asserts:
 *   - cc_control_parse: lowercase token names, each at most once,
 *     values without a comma outside a quoted string;
 *   - cc_control_compose(cc_control_parse(x)) parses back to the same
 *     directives, names and values; an empty list composes to NULL;
 *   - cc_control_policy_parse: an error message, or one of the
 *     directives the policy may set, lowercase, with delta-seconds when
 *     it takes a value; never max-age;
 *   - cc_control_merge in all three modes: each name at most once (so
 *     never two max-age), never public beside private; Merge keeps the
 *     handler's directives in order with their values and adds the
 *     policy's by name (but, beside a handler's no-store, no-cache or
 *     private, none that lends freshness); Keep is the handler's when it sent any, Replace
 *     the policy's; and what it gives composes to a field value that
 *     parses back to the same directives.
 */

#include <apr_lib.h>
#include <apr_strings.h>

#include "fuzz.h"

static int is_tchar(int c);
static int same_list(const apr_array_header_t *a,
                     const apr_array_header_t *b);
static const char *value_of(const apr_array_header_t *list,
                            const char *name, int *found);
static void check_parsed(const apr_array_header_t *list);
static void check_roundtrip(apr_pool_t *p, const apr_array_header_t *list);
static void check_policy_word(apr_pool_t *p, const char *word,
                              const char *err, const cc_directive *d);
static void check_merge(apr_pool_t *p, const apr_array_header_t *handler,
                        const apr_array_header_t *policy,
                        cc_merge_mode mode);
static int lends_freshness(const char *name);

static const char *const policy_names[] = {
    "public", "private", "no-cache", "no-store", "must-revalidate",
    "proxy-revalidate", "no-transform", "immutable", "s-maxage",
    "stale-while-revalidate", "stale-if-error"
};

#define NPOLICY (sizeof(policy_names) / sizeof(policy_names[0]))

/* what a Merge keeps from a restricted response: a lifetime (max-age,
 * s-maxage, immutable), a stale use (RFC 5861) and public
 */
static int lends_freshness(const char *name)
{
    return !strcmp(name, "max-age") || !strcmp(name, "s-maxage")
           || !strcmp(name, "public") || !strcmp(name, "immutable")
           || !strcmp(name, "stale-while-revalidate")
           || !strcmp(name, "stale-if-error");
}

static int is_tchar(int c)
{
    return apr_isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int same_list(const apr_array_header_t *a,
                     const apr_array_header_t *b)
{
    int i;

    if (a->nelts != b->nelts) {
        return 0;
    }
    for (i = 0; i < a->nelts; i++) {
        const cc_directive *x = &APR_ARRAY_IDX(a, i, cc_directive);
        const cc_directive *y = &APR_ARRAY_IDX(b, i, cc_directive);

        if (strcmp(x->name, y->name) || !x->value != !y->value
            || (x->value && strcmp(x->value, y->value))) {
            return 0;
        }
    }
    return 1;
}

static const char *value_of(const apr_array_header_t *list,
                            const char *name, int *found)
{
    const cc_directive *d = cc_control_find(list, name);

    *found = d != NULL;
    return d ? d->value : NULL;
}

static void check_parsed(const apr_array_header_t *list)
{
    int i, j;

    CC_FUZZ_CHECK(list != NULL);
    for (i = 0; i < list->nelts; i++) {
        const cc_directive *d = &APR_ARRAY_IDX(list, i, cc_directive);
        const char *c;
        int quoted = 0;

        CC_FUZZ_CHECK(d->name && *d->name);
        for (c = d->name; *c; c++) {
            CC_FUZZ_CHECK(is_tchar((unsigned char)*c)
                          && !apr_isupper(*c));
        }
        for (j = 0; j < i; j++) {
            CC_FUZZ_CHECK(strcmp(APR_ARRAY_IDX(list, j, cc_directive).name,
                                 d->name));
        }
        CC_FUZZ_CHECK(cc_control_find(list, d->name) == d);
        /* a comma only inside a quoted string */
        for (c = d->value; c && *c; c++) {
            if (*c == '"' && c == d->value) {
                quoted = 1;
            }
            else if (quoted && *c == '\\' && c[1]) {
                c++;
            }
            else if (quoted && *c == '"') {
                quoted = 0;
            }
            else {
                CC_FUZZ_CHECK(*c != ',' || quoted);
            }
        }
    }
}

/* compose, parse again: the same directives */
static void check_roundtrip(apr_pool_t *p, const apr_array_header_t *list)
{
    const char *field = cc_control_compose(p, list);
    char *copy;

    if (!list->nelts) {
        CC_FUZZ_CHECK(field == NULL);
        return;
    }
    CC_FUZZ_CHECK(field != NULL);
    /* parse a malloc'ed copy, for AddressSanitizer */
    copy = strdup(field);
    if (!copy) {
        abort();
    }
    CC_FUZZ_CHECK(same_list(cc_control_parse(p, copy), list));
    free(copy);
}

static void check_policy_word(apr_pool_t *p, const char *word,
                              const char *err, const cc_directive *d)
{
    apr_size_t i;
    apr_int64_t delta;

    if (err) {
        CC_FUZZ_CHECK(*err != '\0');
        return;
    }
    CC_FUZZ_CHECK(strcmp(d->name, "max-age") != 0);
    for (i = 0; i < NPOLICY; i++) {
        if (!strcmp(d->name, policy_names[i])) {
            break;
        }
    }
    CC_FUZZ_CHECK(i < NPOLICY);
    CC_FUZZ_CHECK(strncasecmp(word, d->name, strlen(d->name)) == 0);
    if (d->value) {
        CC_FUZZ_CHECK(cc_delta_parse(d->value, &delta));
        CC_FUZZ_CHECK(!strcmp(d->value, apr_psprintf(p, "%" APR_INT64_T_FMT,
                                                     delta)));
    }
}

static void check_merge(apr_pool_t *p, const apr_array_header_t *handler,
                        const apr_array_header_t *policy,
                        cc_merge_mode mode)
{
    apr_array_header_t *out = cc_control_merge(p, handler, policy, mode);
    const apr_array_header_t *want = NULL;
    int i, j, found, has_private, has_handler, restricted = 0, whole = 1;

    CC_FUZZ_CHECK(out != NULL);
    check_parsed(out);       /* each name once: never two max-age */
    has_private = cc_control_find(out, "private") != NULL;
    CC_FUZZ_CHECK(!has_private || !cc_control_find(out, "public"));
    has_handler = handler && handler->nelts;

    if (mode == CC_MERGE_REPLACE || !has_handler) {
        want = policy;
    }
    else if (mode == CC_MERGE_KEEP || !policy) {
        want = handler;
    }
    else {
        /* docs/conformance.md 5.6: no-store, or no-cache or private
         * without a field list, from the handler keeps the policy's
         * lifetime, its use when stale and its permission out
         */
        const cc_directive *d;

        whole = 0;
        restricted = cc_control_find(handler, "no-store") != NULL
                     || ((d = cc_control_find(handler, "no-cache")) != NULL
                         && !d->value)
                     || ((d = cc_control_find(handler, "private")) != NULL
                         && !d->value);
    }
    if (whole) {
        /* one list as it is, but for public beside private */
        for (i = 0, j = 0; want && i < want->nelts; i++) {
            const cc_directive *d = &APR_ARRAY_IDX(want, i, cc_directive);

            if (has_private && !strcmp(d->name, "public")) {
                continue;
            }
            CC_FUZZ_CHECK(j < out->nelts);
            CC_FUZZ_CHECK(!strcmp(APR_ARRAY_IDX(out, j, cc_directive).name,
                                  d->name));
            j++;
        }
        CC_FUZZ_CHECK(j == out->nelts);
    }
    else {
        /* Merge: the handler's first, in order, with their values */
        for (i = 0, j = 0; i < handler->nelts; i++) {
            const cc_directive *d = &APR_ARRAY_IDX(handler, i, cc_directive);
            const cc_directive *o;

            if (has_private && !strcmp(d->name, "public")) {
                continue;
            }
            CC_FUZZ_CHECK(j < out->nelts);
            o = &APR_ARRAY_IDX(out, j, cc_directive);
            CC_FUZZ_CHECK(!strcmp(o->name, d->name) && o->value == d->value);
            j++;
        }
        for (i = 0; i < policy->nelts; i++) {
            const cc_directive *d = &APR_ARRAY_IDX(policy, i, cc_directive);

            int kept_out = restricted && lends_freshness(d->name);

            value_of(out, d->name, &found);
            if (kept_out) {
                /* unless the handler said it too */
                value_of(handler, d->name, &found);
                CC_FUZZ_CHECK(found || !cc_control_find(out, d->name));
                continue;
            }
            CC_FUZZ_CHECK(found || (has_private
                                    && !strcmp(d->name, "public")));
        }
        for (; j < out->nelts; j++) {
            const char *name = APR_ARRAY_IDX(out, j, cc_directive).name;

            value_of(policy, name, &found);
            CC_FUZZ_CHECK(found);
            CC_FUZZ_CHECK(!restricted || !lends_freshness(name));
        }
    }
    check_roundtrip(p, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = cc_fuzz_pool();
    cc_fuzz_pieces ps;
    apr_array_header_t *handler, *policy;
    char *words, *word, *last;
    int mode;

    cc_fuzz_split(&ps, data, size, '\n', 2);

    handler = cc_control_parse(p, ps.piece[0]);
    check_parsed(handler);
    check_roundtrip(p, handler);
    CC_FUZZ_CHECK(cc_control_parse(p, NULL)->nelts == 0);

    policy = apr_array_make(p, 4, sizeof(cc_directive));
    if (size && (data[0] & 1)) {
        cc_directive *d = apr_array_push(policy);

        d->name = "max-age";
        d->value = apr_psprintf(p, "%u", (unsigned int)size * 3600);
    }
    words = ps.n > 1 ? apr_pstrdup(p, ps.piece[1]) : NULL;
    for (word = words ? apr_strtok(words, " \t", &last) : NULL; word;
         word = apr_strtok(NULL, " \t", &last)) {
        char *w = strdup(word);     /* malloc'ed, for AddressSanitizer */
        cc_directive d;
        const char *err;

        if (!w) {
            abort();
        }
        memset(&d, 0, sizeof(d));
        err = cc_control_policy_parse(p, w, &d);
        check_policy_word(p, w, err, &d);
        /* as mod_condcache.c: each name once */
        if (!err && !cc_control_find(policy, d.name)) {
            APR_ARRAY_PUSH(policy, cc_directive) = d;
        }
        free(w);
    }
    check_parsed(policy);

    for (mode = CC_MERGE_MERGE; mode <= CC_MERGE_REPLACE; mode++) {
        check_merge(p, handler, policy, (cc_merge_mode)mode);
        check_merge(p, NULL, policy, (cc_merge_mode)mode);
        check_merge(p, handler, NULL, (cc_merge_mode)mode);
    }

    cc_fuzz_free(&ps);
    apr_pool_destroy(p);
    return 0;
}
