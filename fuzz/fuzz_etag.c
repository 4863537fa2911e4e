/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * fuzz_etag: entity-tags and the list fields, cc_etag.c (RFC 9110 8.8.3,
 * 13.1.1, 13.1.2).
 *
 * Input: the current ETag field value, a newline, then an If-Match or
 * If-None-Match list (the rest, newlines and all).  Without a newline the
 * whole input is the list and there is no current tag.
 *
 * Asserts:
 *   - cc_etag_parse advances past a tag inside the string, or fails and
 *     leaves the position alone; the opaque part holds etagc only;
 *   - cc_etag_parse_one of a tag written back as W/"..." or "..." gives
 *     the same tag; the current field parsed as a list matches itself,
 *     weakly always and strongly when the tag is strong;
 *   - strong equality implies weak equality, both are symmetric;
 *   - strong and weak list comparison agree on EMPTY, STAR and INVALID,
 *     and a strong MATCH is a weak MATCH; no current tag matches nothing;
 *   - the list result equals a scan of the members done here;
 *   - the current tag added to a well-formed list makes it match (weakly;
 *     strongly when the tag is strong), and an invalid list stays invalid;
 *   - a tag from cc_etag_make (its fields from the input, the current
 *     field as the salt, the list as the variant) parses back, with the
 *     same weakness, lowercase hex and '-' only.
 */

#include "fuzz.h"

static int is_etagc(unsigned char c);
static void check_tag(const char *field, const cc_etag *tag);
static void check_rewrite(const cc_etag *tag);
static void check_pair(const cc_etag *a, const cc_etag *b);
static cc_list_result scan_list(const char *list, const cc_etag *cur,
                                int strong);
static void check_list(const char *list, const cc_etag *cur);
static void check_append(const char *list, const char *field,
                         const cc_etag *cur);
static void check_make(apr_pool_t *p, const uint8_t *data, size_t size,
                       const char *salt, const char *variant);

static int is_etagc(unsigned char c)
{
    return c > 0x20 && c != '"' && c != 0x7f;
}

/* the tag lies inside field and holds etagc only */
static void check_tag(const char *field, const cc_etag *tag)
{
    apr_size_t i, flen = strlen(field);

    CC_FUZZ_CHECK(tag->opaque > field);
    CC_FUZZ_CHECK(tag->opaque + tag->len < field + flen);
    CC_FUZZ_CHECK(tag->opaque[-1] == '"' && tag->opaque[tag->len] == '"');
    CC_FUZZ_CHECK(tag->weak == 0 || tag->weak == 1);
    for (i = 0; i < tag->len; i++) {
        CC_FUZZ_CHECK(is_etagc((unsigned char)tag->opaque[i]));
    }
}

/* write the tag out again and parse it: the same tag */
static void check_rewrite(const cc_etag *tag)
{
    char *s = malloc(tag->len + 5);
    cc_etag again;
    apr_size_t n = 0;

    if (!s) {
        abort();
    }
    if (tag->weak) {
        s[n++] = 'W';
        s[n++] = '/';
    }
    s[n++] = '"';
    memcpy(s + n, tag->opaque, tag->len);
    n += tag->len;
    s[n++] = '"';
    s[n] = '\0';
    CC_FUZZ_CHECK(cc_etag_parse_one(s, &again));
    CC_FUZZ_CHECK(again.weak == tag->weak && again.len == tag->len);
    CC_FUZZ_CHECK(memcmp(again.opaque, tag->opaque, tag->len) == 0);
    CC_FUZZ_CHECK(cc_etag_weak_eq(&again, tag));
    CC_FUZZ_CHECK(cc_etag_strong_eq(&again, tag) == !tag->weak);
    free(s);
}

/* RFC 9110 8.8.3.2: strong implies weak, both symmetric */
static void check_pair(const cc_etag *a, const cc_etag *b)
{
    int strong = cc_etag_strong_eq(a, b), weak = cc_etag_weak_eq(a, b);

    CC_FUZZ_CHECK(strong == cc_etag_strong_eq(b, a));
    CC_FUZZ_CHECK(weak == cc_etag_weak_eq(b, a));
    CC_FUZZ_CHECK(!strong || weak);
    CC_FUZZ_CHECK(!strong || (!a->weak && !b->weak));
    CC_FUZZ_CHECK(weak == (a->len == b->len
                           && memcmp(a->opaque, b->opaque, a->len) == 0));
}

/* The list grammar of RFC 9110 (#element: empty members and OWS around
 * commas allowed; "*" alone), scanned here with cc_etag_parse for the
 * members, every pair checked on the way.
 */
static cc_list_result scan_list(const char *list, const cc_etag *cur,
                                int strong)
{
    const char *s = list;
    int members = 0, star = 0, matched = 0;

    for (;;) {
        cc_etag tag;
        const char *before;

        while (*s == ' ' || *s == '\t' || *s == ',') {
            s++;
        }
        if (!*s) {
            break;
        }
        before = s;
        if (*s == '*') {
            star = 1;
            s++;
        }
        else if (cc_etag_parse(&s, &tag)) {
            CC_FUZZ_CHECK(s > before && s <= list + strlen(list));
            check_tag(list, &tag);
            if (cur) {
                check_pair(&tag, cur);
                if (strong ? cc_etag_strong_eq(&tag, cur)
                           : cc_etag_weak_eq(&tag, cur)) {
                    matched = 1;
                }
            }
        }
        else {
            CC_FUZZ_CHECK(s == before);
            return CC_LIST_INVALID;
        }
        members++;
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        if (*s != ',' && *s != '\0') {
            return CC_LIST_INVALID;
        }
    }
    if (!members) {
        return CC_LIST_EMPTY;
    }
    if (star) {
        return members == 1 ? CC_LIST_STAR : CC_LIST_INVALID;
    }
    return matched ? CC_LIST_MATCH : CC_LIST_NOMATCH;
}

static void check_list(const char *list, const cc_etag *cur)
{
    cc_list_result strong = cc_etag_list_match(list, cur, 1);
    cc_list_result weak = cc_etag_list_match(list, cur, 0);

    CC_FUZZ_CHECK(strong != CC_LIST_ABSENT && weak != CC_LIST_ABSENT);
    CC_FUZZ_CHECK(strong == scan_list(list, cur, 1));
    CC_FUZZ_CHECK(weak == scan_list(list, cur, 0));
    if (strong == CC_LIST_MATCH || strong == CC_LIST_NOMATCH) {
        CC_FUZZ_CHECK(weak == CC_LIST_MATCH || weak == CC_LIST_NOMATCH);
    }
    else {
        CC_FUZZ_CHECK(weak == strong);
    }
    CC_FUZZ_CHECK(strong != CC_LIST_MATCH || weak == CC_LIST_MATCH);
    if (!cur) {
        CC_FUZZ_CHECK(strong != CC_LIST_MATCH && weak != CC_LIST_MATCH);
    }
}

/* "list, current" and "current, list" */
static void check_append(const char *list, const char *field,
                         const cc_etag *cur)
{
    cc_list_result before = cc_etag_list_match(list, cur, 0);
    apr_size_t llen = strlen(list), flen = strlen(field);
    char *joined = malloc(llen + flen + 3);
    int order;

    if (!joined) {
        abort();
    }
    for (order = 0; order < 2; order++) {
        const char *first = order ? field : list;
        const char *second = order ? list : field;
        apr_size_t n = strlen(first);
        cc_list_result weak, strong;

        memcpy(joined, first, n);
        memcpy(joined + n, ", ", 2);
        strcpy(joined + n + 2, second);
        weak = cc_etag_list_match(joined, cur, 0);
        strong = cc_etag_list_match(joined, cur, 1);
        if (before == CC_LIST_INVALID || before == CC_LIST_STAR) {
            CC_FUZZ_CHECK(weak == CC_LIST_INVALID);
        }
        else {
            CC_FUZZ_CHECK(weak == CC_LIST_MATCH);
            CC_FUZZ_CHECK((strong == CC_LIST_MATCH) == !cur->weak);
        }
    }
    free(joined);
}

/* a generated tag is always well-formed */
static void check_make(apr_pool_t *p, const uint8_t *data, size_t size,
                       const char *salt, const char *variant)
{
    unsigned char digest[CC_DIGEST_LEN];
    cc_etag_fields f;
    const char *made;
    cc_etag tag;
    apr_size_t i;

    memset(digest, 0, sizeof(digest));
    memcpy(digest, data, size < sizeof(digest) ? size : sizeof(digest));
    memset(&f, 0, sizeof(f));
    f.bits = (size ? data[0] : 0) & (CC_ETAG_ALL | CC_ETAG_DIGEST);
    f.weak = size > 1 && (data[1] & 1);
    f.inode = (apr_ino_t)cc_fuzz_int64(&data, &size);
    f.mtime = cc_fuzz_int64(&data, &size);
    f.size = (apr_off_t)cc_fuzz_int64(&data, &size);
    f.digest = digest;
    f.salt = salt;
    f.variant = variant;

    made = cc_etag_make(p, &f);
    if (!f.bits) {
        CC_FUZZ_CHECK(made == NULL);
        return;
    }
    CC_FUZZ_CHECK(made != NULL);
    CC_FUZZ_CHECK(cc_etag_parse_one(made, &tag));
    CC_FUZZ_CHECK(tag.weak == f.weak && tag.len > 0);
    for (i = 0; i < tag.len; i++) {
        CC_FUZZ_CHECK((tag.opaque[i] >= '0' && tag.opaque[i] <= '9')
                      || (tag.opaque[i] >= 'a' && tag.opaque[i] <= 'f')
                      || tag.opaque[i] == '-');
    }
    CC_FUZZ_CHECK(cc_etag_list_match(made, &tag, 0) == CC_LIST_MATCH);
    CC_FUZZ_CHECK((cc_etag_list_match(made, &tag, 1) == CC_LIST_MATCH)
                  == !f.weak);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = cc_fuzz_pool();
    cc_fuzz_pieces ps;
    const char *field, *list, *s;
    cc_etag cur, tag, *curp = NULL;

    cc_fuzz_split(&ps, data, size, '\n', 2);
    field = ps.n == 2 ? ps.piece[0] : NULL;
    list = ps.piece[ps.n - 1];

    CC_FUZZ_CHECK(cc_etag_list_match(NULL, NULL, 0) == CC_LIST_ABSENT);
    CC_FUZZ_CHECK(!cc_etag_parse_one(NULL, &tag));

    if (field && cc_etag_parse_one(field, &cur)) {
        curp = &cur;
        check_tag(field, &cur);
        check_rewrite(&cur);
        check_pair(&cur, &cur);
        CC_FUZZ_CHECK(cc_etag_list_match(field, &cur, 0) == CC_LIST_MATCH);
        CC_FUZZ_CHECK((cc_etag_list_match(field, &cur, 1) == CC_LIST_MATCH)
                      == !cur.weak);
    }

    /* parse_one over the list field, and cc_etag_parse along it */
    if (cc_etag_parse_one(list, &tag)) {
        check_tag(list, &tag);
        check_rewrite(&tag);
    }
    s = list;
    while (*s) {
        const char *before = s;

        if (cc_etag_parse(&s, &tag)) {
            CC_FUZZ_CHECK(s > before && s <= list + strlen(list));
            check_tag(list, &tag);
        }
        else {
            CC_FUZZ_CHECK(s == before);
            s++;
        }
    }

    check_list(list, curp);
    check_list(list, NULL);
    if (curp) {
        check_append(list, field, curp);
    }
    check_make(p, data, size, field,
               size > 1 && (data[1] & 2) ? list : NULL);

    cc_fuzz_free(&ps);
    apr_pool_destroy(p);
    return 0;
}
