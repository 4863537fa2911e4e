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
 * cc_etag.c: entity-tag syntax and comparison, RFC 9110 section 8.8.3,
 * and the list fields If-Match and If-None-Match (sections 13.1.1, 13.1.2).
 *
 *   entity-tag = [ weak ] opaque-tag
 *   weak       = %s"W/"
 *   opaque-tag = DQUOTE *etagc DQUOTE
 *   etagc      = %x21 / %x23-7E / obs-text
 */

#include <string.h>

#include "mod_condcache.h"

#define CC_IS_OWS(c) ((c) == ' ' || (c) == '\t')

static int cc_is_etagc(unsigned char c);
static const char *cc_skip_ows(const char *s);

/* etagc = %x21 / %x23-7E / obs-text: every byte from 0x21 but DQUOTE
 * and DEL
 */
static int cc_is_etagc(unsigned char c)
{
    return c > 0x20 && c != '"' && c != 0x7f;
}

static const char *cc_skip_ows(const char *s)
{
    while (CC_IS_OWS(*s)) {
        s++;
    }
    return s;
}

int cc_etag_parse(const char **str, cc_etag *tag)
{
    const char *s = cc_skip_ows(*str);
    const char *start;
    int weak = 0;

    /* "W/" is case-sensitive (RFC 9110 8.8.3: %s"W/") */
    if (s[0] == 'W' && s[1] == '/') {
        weak = 1;
        s += 2;
    }
    if (*s != '"') {
        return 0;
    }
    start = ++s;
    while (cc_is_etagc((unsigned char)*s)) {
        s++;
    }
    if (*s != '"') {
        return 0;
    }
    tag->opaque = start;
    tag->len = (apr_size_t)(s - start);
    tag->weak = weak;
    *str = s + 1;
    return 1;
}

int cc_etag_parse_one(const char *value, cc_etag *tag)
{
    const char *s = value;

    if (!value || !cc_etag_parse(&s, tag)) {
        return 0;
    }
    return *cc_skip_ows(s) == '\0';
}

int cc_etag_strong_eq(const cc_etag *a, const cc_etag *b)
{
    return !a->weak && !b->weak && cc_etag_weak_eq(a, b);
}

int cc_etag_weak_eq(const cc_etag *a, const cc_etag *b)
{
    return a->len == b->len && memcmp(a->opaque, b->opaque, a->len) == 0;
}

cc_list_result cc_etag_list_match(const char *list, const cc_etag *current,
                                  int strong)
{
    const char *s;
    int members = 0, star = 0, matched = 0;

    if (!list) {
        return CC_LIST_ABSENT;
    }
    /* #element: empty members and white space around commas are allowed
     * (RFC 9110 5.6.1.2); every member is checked, so that one tag that
     * does not match (weak or not) never ends the scan.
     */
    s = list;
    for (;;) {
        cc_etag tag;

        s = cc_skip_ows(s);
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\0') {
            break;
        }
        if (*s == '*') {
            star = 1;
            s++;
        }
        else if (cc_etag_parse(&s, &tag)) {
            if (current && (strong ? cc_etag_strong_eq(&tag, current)
                                   : cc_etag_weak_eq(&tag, current))) {
                matched = 1;
            }
        }
        else {
            return CC_LIST_INVALID;
        }
        members++;
        s = cc_skip_ows(s);
        if (*s != ',' && *s != '\0') {
            return CC_LIST_INVALID;
        }
    }
    if (members == 0) {
        return CC_LIST_EMPTY;
    }
    if (star) {
        /* "*" stands alone: If-Match = "*" / #entity-tag */
        return members == 1 ? CC_LIST_STAR : CC_LIST_INVALID;
    }
    return matched ? CC_LIST_MATCH : CC_LIST_NOMATCH;
}
