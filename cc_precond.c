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
 * cc_precond.c: evaluation of the preconditions, RFC 9110 section 13.2.2,
 * and of If-Range, section 13.1.5.  Pure: request fields and the current
 * validators in, a decision out.  Which requests get here at all (after
 * authorization, for a 2xx unconditional answer, not for a subrequest) is
 * the caller's business; section 13.2.1.
 */

#include "mod_condcache.h"

static int cc_range_holds(const cc_precond_in *in, const cc_etag *cur);

#define CC_DECIDE(o, st, why) \
    do { (o)->status = (st); (o)->reason = (why); return; } while (0)

/* If-Range: an entity-tag is true only on a strong match; a date only if
 * it equals Last-Modified exactly and Last-Modified is strong (at least
 * one second before Date, RFC 9110 8.8.2.2).  Anything else is false.
 */
static int cc_range_holds(const cc_precond_in *in, const cc_etag *cur)
{
    const char *v = in->if_range;
    cc_etag tag;
    apr_time_t when;

    while (*v == ' ' || *v == '\t') {
        v++;
    }
    if (*v == '"' || (v[0] == 'W' && v[1] == '/')) {
        return cur && cc_etag_parse_one(v, &tag)
               && cc_etag_strong_eq(&tag, cur);
    }
    return in->has_last_modified
           && cc_date_parse(v, in->date, &when)
           && when == in->last_modified
           && in->date - in->last_modified >= apr_time_from_sec(1);
}

void cc_precond_evaluate(const cc_precond_in *in, cc_precond_out *out)
{
    cc_etag current_tag, *cur = NULL;
    cc_list_result lr;
    apr_time_t when;
    int safe = in->method != CC_METHOD_OTHER;

    out->status = 0;
    out->range = CC_RANGE_NONE;
    out->reason = "unconditional";

    /* a malformed current tag is no tag: it can match nothing */
    if (in->etag && cc_etag_parse_one(in->etag, &current_tag)) {
        cur = &current_tag;
    }

    /* Step 1: If-Match, strong comparison, any member.  A field without
     * a member lists no tag that could match: false, as a malformed one
     * (a write is never let through by a field that names nothing).
     */
    lr = cc_etag_list_match(in->if_match, cur, 1);
    if (lr != CC_LIST_ABSENT) {
        if (lr == CC_LIST_INVALID) {
            CC_DECIDE(out, 412, "if-match-invalid");
        }
        if (lr == CC_LIST_EMPTY) {
            CC_DECIDE(out, 412, "if-match-empty");
        }
        if (lr == CC_LIST_STAR ? !in->exists : lr != CC_LIST_MATCH) {
            CC_DECIDE(out, 412, "if-match-failed");
        }
        out->reason = "if-match-true";
    }
    /* Step 2: else If-Unmodified-Since, ignored unless one valid date
     * and a modification date to compare it with
     */
    else if (in->if_unmodified_since && in->has_last_modified
             && cc_date_parse(in->if_unmodified_since, in->date, &when)) {
        if (in->last_modified > when) {
            CC_DECIDE(out, 412, "ius-failed");
        }
        out->reason = "ius-true";
    }

    /* Step 3: If-None-Match, weak comparison, any member.  A field
     * without a member is taken for no field, so that If-Modified-Since
     * still counts: a list that names nothing cannot match anyway.
     */
    lr = cc_etag_list_match(in->if_none_match, cur, 0);
    if (lr != CC_LIST_ABSENT && lr != CC_LIST_EMPTY) {
        if (lr == CC_LIST_MATCH || (lr == CC_LIST_STAR && in->exists)) {
            if (safe) {
                CC_DECIDE(out, 304, lr == CC_LIST_STAR ? "inm-star"
                                                       : "inm-weak-match");
            }
            CC_DECIDE(out, 412, lr == CC_LIST_STAR ? "inm-star"
                                                   : "inm-weak-match");
        }
        out->reason = lr == CC_LIST_INVALID ? "inm-invalid" : "inm-no-match";
    }
    /* Step 4: else, for GET and HEAD, If-Modified-Since.  A date later
     * than the request is ignored, as httpd and nginx do (RFC 2616 14.25
     * called it invalid): honoured, it would give 304s until that date
     * whatever the resource became.
     */
    else if (safe && in->if_modified_since) {
        if (!in->has_last_modified) {
            out->reason = "ims-no-last-modified";
        }
        else if (!cc_date_parse(in->if_modified_since, in->date, &when)) {
            out->reason = "ims-invalid";
        }
        else if (when > in->date) {
            out->reason = "ims-future";
        }
        else if (in->last_modified <= when) {
            CC_DECIDE(out, 304, "ims-not-modified");
        }
        else {
            out->reason = "ims-modified";
        }
    }

    /* Step 5: GET with Range (range handling is defined for GET only),
     * and HEAD, which gets the header fields GET would get (RFC 9110
     * 9.3.2): a 206's where GET gets one, a 200's where If-Range fails
     */
    if (in->method != CC_METHOD_OTHER && in->has_range) {
        if (!in->if_range) {
            out->range = CC_RANGE_APPLY;
        }
        else if (cc_range_holds(in, cur)) {
            out->range = CC_RANGE_APPLY;
            out->reason = "if-range-true";
        }
        else {
            out->range = CC_RANGE_IGNORE;
            out->reason = "if-range-false";
        }
    }

    if (!cur && !in->has_last_modified
        && (in->if_match || in->if_none_match || in->if_modified_since
            || in->if_unmodified_since || in->if_range)) {
        out->reason = "no-validator";
    }
}
