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
 * mod_condcache_store.c: the validator store (CONFORMANCE.md 7).
 *
 *   CondCacheStore         provider[:args]     where entries live (server)
 *   CondCacheStoreTimeout  time                the longest wait (50ms)
 *   CondCacheStoreRetry    seconds             how long a failed store is
 *                                              left alone (10)
 *   CondCacheStoreLifetime "<lifetime>"|Off    how long an entry answers
 *                                              for the handler (Off)
 *   CondCacheStoreUser     REMOTE_USER|header:Name|cookie:Name ...
 *                                              who a private entry is for
 *   CondCacheStoreIgnoreCacheControl On|Off    the client's directives
 *
 * A store of validators, not of bodies, behind httpd's socache providers
 * (shmcb in one server's shared memory; memcache or redis for a farm).
 * The last filter records the validators a 200 to GET leaves with; a
 * handler that runs before every other one, after authentication and
 * authorization, answers a conditional GET or HEAD from a live entry
 * with a 304 (the handler never runs), and a write whose If-Match or
 * If-Unmodified-Since fails with a 412.  A write that succeeds removes
 * its URI's entries (RFC 9111 4.4) before its response leaves.
 *
 * Every entry of a URI hangs off one record, the URI's, which holds a
 * random generation and the names its responses Vary by; an entry's key is
 * made of the URI's key, that generation, the user and the request's
 * values of those names.  Removing the URI's record is removing every
 * user's and every representation's entry at once, on every server that
 * shares the store.
 *
 * The store is never in the way: a provider on the network is asked by
 * worker threads of the child while the request waits at most
 * CondCacheStoreTimeout; one that fails or is slow is left alone for
 * CondCacheStoreRetry, and the error log says so once per that interval
 * for all children together.  The request goes on as without a store.
 */

#include <string.h>
#include <stdlib.h>

#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <apr_uri.h>

#include "ap_provider.h"
#include "ap_socache.h"
#include "ap_mpm.h"
#include "mod_status.h"
#include "util_cookies.h"
#include "util_mutex.h"

#include "mod_condcache_private.h"

APLOG_USE_MODULE(condcache);

#define CONDCACHE_STORE_NAME    "condcache"
#define CONDCACHE_STORE_WORKERS 4
#define CONDCACHE_STORE_QUEUE   64
/* how long an entry stays in the provider past its lifetime: for max-stale,
 * and for the time its tag was first seen (Last-Modified)
 */
#define CONDCACHE_STORE_GRACE   3600

/* what every child adds to, in shared memory */
typedef struct {
    apr_uint64_t hits;           /* 304s from the store */
    apr_uint64_t misses;         /* lookups that found nothing usable */
    apr_uint64_t refused;        /* entries the client's directives refused */
    apr_uint64_t stores;
    apr_uint64_t invalidations;
    apr_uint64_t failed;         /* 412s from the store */
    apr_uint64_t errors;
    apr_uint64_t saved_bytes;    /* the 200s' bodies the 304s replaced */
    apr_uint32_t warned;         /* seconds: the last warning */
} condcache_store_stats;

typedef enum {
    CONDCACHE_OP_GET,
    CONDCACHE_OP_PUT,
    CONDCACHE_OP_DEL
} condcache_op;

typedef enum {
    CONDCACHE_JOB_QUEUED,
    CONDCACHE_JOB_RUNNING,
    CONDCACHE_JOB_DONE,
    CONDCACHE_JOB_ABANDONED      /* the request stopped waiting: the
                                  * worker frees it */
} condcache_job_state;

/* one call to the provider; malloc'ed, so that it may outlive a request
 * that stopped waiting
 */
typedef struct {
    condcache_op op;
    condcache_job_state state;
    apr_status_t rv;
    char key[CC_STORE_KEY_LEN];
    apr_time_t expiry;
    unsigned int len;
    unsigned char data[CC_STORE_MAX];
} condcache_job;

/* the store: one per server (the main server's configuration) */
static struct {
    const char *spec;                      /* "memcache:host:port" */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;             /* for providers that need one */
    apr_interval_time_t timeout;
    apr_interval_time_t retry;
    condcache_store_stats *stats;
    server_rec *s;
    /* the child's workers, for providers on the network */
    int workers;
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *work;
    apr_thread_cond_t *done;
    condcache_job *queue[CONDCACHE_STORE_QUEUE];
    int head;
    int count;
    int shutdown;
    volatile apr_uint64_t down_until;     /* microseconds */
} condcache_store;

static condcache_store_stats condcache_store_local_stats;

/* what a request knows of the store */
struct condcache_store_req {
    const char *path;                /* the client's path and query */
    const char *query;
    const char *uri_key;             /* the URI's record */
    const char *identity;            /* the user, NULL for none */
    const cc_store_entry *uri;       /* its record, as looked up */
    int uri_looked;
    const char *entry_key;
    const cc_store_entry *entry;     /* the representation's entry */
    int entry_looked;
    const cc_store_entry *answered;  /* a 304 went out with these */
    cc_store_request directives;     /* the client's own */
    int invalidated;
};

typedef struct {
    int kind;                        /* CONDCACHE_ID_* */
    const char *name;
} condcache_identity;

#define CONDCACHE_ID_USER   0
#define CONDCACHE_ID_HEADER 1
#define CONDCACHE_ID_COOKIE 2

static apr_status_t condcache_store_op(condcache_job *job, apr_pool_t *p);
static void *APR_THREAD_FUNC condcache_store_worker(apr_thread_t *t,
                                                    void *data);
static apr_status_t condcache_store_stop(void *data);
static void condcache_store_fault(request_rec *r, apr_status_t rv,
                                  const char *what);
static apr_status_t condcache_store_call(request_rec *r, condcache_job *job);
static const cc_store_entry *condcache_store_get(request_rec *r,
                                                 const char *key,
                                                 cc_store_kind kind);
static void condcache_store_put(request_rec *r, const cc_store_entry *e,
                                apr_int64_t lifetime);
static void condcache_store_del(request_rec *r, const char *key);
static const char *condcache_store_uri_key(request_rec *r, const char *path,
                                           const char *query);
static const char *condcache_store_identity(request_rec *r,
                                            const condcache_dir_conf *conf);
static const char *condcache_store_entry_key(request_rec *r,
                                             const condcache_store_req *st,
                                             const cc_store_entry *uri);
static const cc_store_entry *condcache_store_lookup(request_rec *r,
                                                    condcache_store_req *st);
static int condcache_store_send_304(request_rec *r, condcache_store_req *st,
                                    const cc_store_entry *e);
static const char *condcache_store_fresh(request_rec *r,
                                         const cc_store_request *asked,
                                         const cc_store_entry *e,
                                         apr_int64_t lifetime);
static const char *condcache_field(request_rec *r, const char *name);
static int condcache_unsafe(const request_rec *r);
static void condcache_store_invalidate_ref(request_rec *r, const char *ref);
static int condcache_store_status(request_rec *r, int flags);

/* ---------------------------------------------------------------------
 * Directives
 */

const char *condcache_set_store(cmd_parms *cmd, void *dconf, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    const char *name = arg, *args = ap_strchr_c(arg, ':');
    const char *sep;

    (void)dconf;
    if (err) {
        return err;
    }
    if (!strcasecmp(arg, "none")) {
        condcache_store.spec = NULL;
        condcache_store.provider = NULL;
        condcache_store.instance = NULL;
        return NULL;
    }
    if (args) {
        name = apr_pstrmemdup(cmd->pool, arg, (apr_size_t)(args - arg));
        args++;
    }
    condcache_store.provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP,
                                                  name,
                                                  AP_SOCACHE_PROVIDER_VERSION);
    if (!condcache_store.provider) {
        return apr_psprintf(cmd->pool, "%s: no socache provider '%s': add "
                            "'LoadModule socache_%s_module "
                            "modules/mod_socache_%s.so' before this line "
                            "(on Debian: a2enmod socache_%s)",
                            cmd->cmd->name, name, name, name, name);
    }
    err = condcache_store.provider->create(&condcache_store.instance, args,
                                           cmd->temp_pool, cmd->pool);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s: %s", cmd->cmd->name, arg,
                            err);
    }
    /* shmcb:/path(bytes) would show its size, never a secret; memcache
     * and redis show their servers
     */
    sep = args && *args ? ":" : "";
    condcache_store.spec = apr_pstrcat(cmd->pool, name, sep,
                                       args ? args : "", NULL);
    return NULL;
}

/* CondCacheStoreTimeout, 1ms to 60s (milliseconds without a unit), and,
 * with cmd->info, CondCacheStoreRetry, 1s to 1h (seconds without a unit):
 * a time with httpd's units
 */
const char *condcache_set_store_timeout(cmd_parms *cmd, void *dconf,
                                        const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    int retry = cmd->info != NULL;
    apr_interval_time_t t;
    apr_interval_time_t lo = retry ? apr_time_from_sec(1)
                                   : apr_time_from_msec(1);
    apr_interval_time_t hi = apr_time_from_sec(retry ? 3600 : 60);

    (void)dconf;
    if (err) {
        return err;
    }
    if (!apr_isdigit(*arg)
        || ap_timeout_parameter_parse(arg, &t, retry ? "s" : "ms")
           != APR_SUCCESS
        || t < lo || t > hi) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a time from %s "
                            "(such as %s)", cmd->cmd->name, arg,
                            retry ? "1s to 1h" : "1ms to 60s",
                            retry ? "30" : "50ms");
    }
    if (retry) {
        condcache_store.retry = t;
    }
    else {
        condcache_store.timeout = t;
    }
    return NULL;
}

const char *condcache_set_store_lifetime(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    condcache_dir_conf *conf = dconf;
    cc_lifetime lt;
    const char *err;

    conf->touched = 1;
    if (!strcasecmp(arg, "Off")) {
        conf->store_lifetime = CONDCACHE_STORE_OFF;
        return NULL;
    }
    err = cc_lifetime_parse(cmd->pool, arg, &lt);
    if (err) {
        return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
    }
    if (lt.base != CC_BASE_ACCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s': an entry's lifetime counts "
                            "from when it was stored (access), not from "
                            "Last-Modified", cmd->cmd->name, arg);
    }
    conf->store_lifetime = lt.seconds;
    return NULL;
}

const char *condcache_set_store_user(cmd_parms *cmd, void *dconf,
                                     const char *arg)
{
    condcache_dir_conf *conf = dconf;
    condcache_identity *id;

    conf->touched = 1;
    if (!conf->store_user) {
        conf->store_user = apr_array_make(cmd->pool, 2,
                                          sizeof(condcache_identity));
    }
    id = apr_array_push(conf->store_user);
    if (!strcasecmp(arg, "REMOTE_USER")) {
        id->kind = CONDCACHE_ID_USER;
        id->name = NULL;
    }
    else if (!strncasecmp(arg, "header:", 7) && arg[7]) {
        id->kind = CONDCACHE_ID_HEADER;
        id->name = arg + 7;
    }
    else if (!strncasecmp(arg, "cookie:", 7) && arg[7]) {
        id->kind = CONDCACHE_ID_COOKIE;
        id->name = arg + 7;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: '%s' is not REMOTE_USER, "
                            "header:Name or cookie:Name", cmd->cmd->name,
                            arg);
    }
    return NULL;
}

/* ---------------------------------------------------------------------
 * The store's life: created with the configuration, opened in each child
 */

void condcache_store_pre_config(apr_pool_t *pconf)
{
    memset(&condcache_store, 0, sizeof(condcache_store));
    condcache_store.timeout = apr_time_from_msec(50);
    condcache_store.retry = apr_time_from_sec(10);
    condcache_store.stats = &condcache_store_local_stats;
    ap_mutex_register(pconf, CONDCACHE_STORE_NAME, NULL, APR_LOCK_DEFAULT, 0);
}

static apr_status_t condcache_store_destroy(void *data)
{
    server_rec *s = data;

    if (condcache_store.instance) {
        condcache_store.provider->destroy(condcache_store.instance, s);
        condcache_store.instance = NULL;
    }
    return APR_SUCCESS;
}

int condcache_store_post_config(apr_pool_t *pconf, server_rec *s)
{
    struct ap_socache_hints hints;
    apr_shm_t *shm;
    apr_status_t rv;

    condcache_store.s = s;
    if (!condcache_store.instance) {
        return OK;
    }
    /* the counters: anonymous shared memory, which every child inherits;
     * a restart starts them again with the store
     */
    rv = apr_shm_create(&shm, sizeof(condcache_store_stats), NULL, pconf);
    if (rv == APR_SUCCESS) {
        condcache_store.stats = apr_shm_baseaddr_get(shm);
        memset(condcache_store.stats, 0, sizeof(condcache_store_stats));
    }
    else {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "CC00009: no shared "
                     "memory for the validator store's counters: each "
                     "child counts its own");
    }
    if (condcache_store.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&condcache_store.mutex, NULL,
                                    CONDCACHE_STORE_NAME, NULL, s, pconf, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "CC00010: "
                         "CondCacheStore %s: cannot create its mutex",
                         condcache_store.spec);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    memset(&hints, 0, sizeof(hints));
    hints.avg_id_len = CC_STORE_KEY_LEN;
    hints.avg_obj_size = 400;
    hints.expiry_interval = 60;
    rv = condcache_store.provider->init(condcache_store.instance,
                                        CONDCACHE_STORE_NAME, &hints, s,
                                        pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "CC00011: CondCacheStore "
                     "%s: the provider did not start", condcache_store.spec);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    apr_pool_cleanup_register(pconf, s, condcache_store_destroy,
                              apr_pool_cleanup_null);
    return OK;
}

/* A provider on the network (memcache, redis) is asked by the child's
 * workers, so that a request waits for it no longer than
 * CondCacheStoreTimeout; one in this server (shmcb, dbm) is asked
 * directly, under its mutex.  The workers' locks live in a pool of their
 * own that is never destroyed: a worker still waiting on a hung store
 * when the child exits must not find them gone.
 */
void condcache_store_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_pool_t *own;
    apr_status_t rv;
    int i;

    if (!condcache_store.instance) {
        return;
    }
    if (condcache_store.mutex) {
        rv = apr_global_mutex_child_init(&condcache_store.mutex,
            apr_global_mutex_lockfile(condcache_store.mutex), pchild);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "CC00012: "
                         "CondCacheStore %s: its mutex did not open in this "
                         "child: the child goes on without the store",
                         condcache_store.spec);
            condcache_store.instance = NULL;
        }
        return;
    }
    if (apr_pool_create_unmanaged_ex(&own, NULL, NULL) != APR_SUCCESS
        || apr_thread_mutex_create(&condcache_store.lock,
                                   APR_THREAD_MUTEX_DEFAULT, own)
        || apr_thread_cond_create(&condcache_store.work, own)
        || apr_thread_cond_create(&condcache_store.done, own)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "CC00013: CondCacheStore "
                     "%s: no workers in this child: it goes on without the "
                     "store", condcache_store.spec);
        condcache_store.instance = NULL;
        return;
    }
    for (i = 0; i < CONDCACHE_STORE_WORKERS; i++) {
        apr_thread_t *t;
        apr_threadattr_t *attr;

        if (apr_threadattr_create(&attr, own) != APR_SUCCESS
            || apr_threadattr_detach_set(attr, 1) != APR_SUCCESS
            || apr_thread_create(&t, attr, condcache_store_worker, NULL,
                                 own) != APR_SUCCESS) {
            break;
        }
        condcache_store.workers++;
    }
    if (!condcache_store.workers) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "CC00013: CondCacheStore "
                     "%s: no workers in this child: it goes on without the "
                     "store", condcache_store.spec);
        condcache_store.instance = NULL;
        return;
    }
    apr_pool_cleanup_register(pchild, NULL, condcache_store_stop,
                              apr_pool_cleanup_null);
}

/* the child is going: the workers finish what they hold and go too */
static apr_status_t condcache_store_stop(void *data)
{
    (void)data;
    apr_thread_mutex_lock(condcache_store.lock);
    condcache_store.shutdown = 1;
    apr_thread_cond_broadcast(condcache_store.work);
    apr_thread_mutex_unlock(condcache_store.lock);
    return APR_SUCCESS;
}

static apr_status_t condcache_store_op(condcache_job *job, apr_pool_t *p)
{
    const ap_socache_provider_t *prov = condcache_store.provider;
    const unsigned char *id = (const unsigned char *)job->key;
    unsigned int idlen = (unsigned int)strlen(job->key);

    switch (job->op) {
    case CONDCACHE_OP_GET:
        return prov->retrieve(condcache_store.instance, condcache_store.s,
                              id, idlen, job->data, &job->len, p);
    case CONDCACHE_OP_PUT:
        return prov->store(condcache_store.instance, condcache_store.s, id,
                           idlen, job->expiry, job->data, job->len, p);
    default:
        return prov->remove(condcache_store.instance, condcache_store.s, id,
                            idlen, p);
    }
}

static void *APR_THREAD_FUNC condcache_store_worker(apr_thread_t *t,
                                                    void *data)
{
    apr_pool_t *p;

    (void)data;
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
        apr_thread_exit(t, APR_ENOMEM);
        return NULL;
    }
    apr_thread_mutex_lock(condcache_store.lock);
    for (;;) {
        condcache_job *job;
        apr_status_t rv = APR_SUCCESS;

        while (!condcache_store.count && !condcache_store.shutdown) {
            apr_thread_cond_wait(condcache_store.work, condcache_store.lock);
        }
        if (!condcache_store.count) {
            break;
        }
        job = condcache_store.queue[condcache_store.head];
        condcache_store.head = (condcache_store.head + 1)
                               % CONDCACHE_STORE_QUEUE;
        condcache_store.count--;
        if (job->state == CONDCACHE_JOB_QUEUED) {
            job->state = CONDCACHE_JOB_RUNNING;
            apr_thread_mutex_unlock(condcache_store.lock);
            rv = condcache_store_op(job, p);
            apr_pool_clear(p);
            apr_thread_mutex_lock(condcache_store.lock);
        }
        if (job->state == CONDCACHE_JOB_ABANDONED) {
            free(job);
            continue;
        }
        job->rv = rv;
        job->state = CONDCACHE_JOB_DONE;
        apr_thread_cond_broadcast(condcache_store.done);
    }
    apr_thread_mutex_unlock(condcache_store.lock);
    apr_pool_destroy(p);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* The store failed or was slow: left alone for CondCacheStoreRetry, and
 * said in the error log by one child once in that time
 */
static void condcache_store_fault(request_rec *r, apr_status_t rv,
                                  const char *what)
{
    condcache_store_stats *st = condcache_store.stats;
    apr_time_t now = apr_time_now();
    apr_uint32_t sec = (apr_uint32_t)apr_time_sec(now);
    apr_uint32_t last = apr_atomic_read32(&st->warned);
    apr_uint32_t every = (apr_uint32_t)apr_time_sec(condcache_store.retry);

    apr_atomic_inc64(&st->errors);
    apr_atomic_set64(&condcache_store.down_until,
                     (apr_uint64_t)(now + condcache_store.retry));
    if ((sec - last >= every || last > sec)
        && apr_atomic_cas32(&st->warned, sec, last) == last) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, "CC00014: the "
                      "validator store %s %s: requests go on without it for "
                      "%u s (said once in that time)", condcache_store.spec,
                      what, every);
    }
}

/* One call to the provider, bounded.  APR_NOTFOUND is a miss; anything
 * else but APR_SUCCESS is a fault, already counted and logged.
 */
static apr_status_t condcache_store_call(request_rec *r, condcache_job *job)
{
    condcache_job *queued;
    apr_time_t deadline;
    apr_status_t rv;

    if (!condcache_store.instance) {
        return APR_ENOTIMPL;
    }
    if ((apr_time_t)apr_atomic_read64(&condcache_store.down_until)
        > apr_time_now()) {
        return APR_EAGAIN;
    }
    if (!condcache_store.workers) {
        if (condcache_store.mutex
            && (rv = apr_global_mutex_lock(condcache_store.mutex))) {
            condcache_store_fault(r, rv, "could not be locked");
            return rv;
        }
        rv = condcache_store_op(job, r->pool);
        if (condcache_store.mutex) {
            apr_global_mutex_unlock(condcache_store.mutex);
        }
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            condcache_store_fault(r, rv, "failed");
        }
        return rv;
    }

    queued = malloc(sizeof(*queued));
    if (!queued) {
        return APR_ENOMEM;
    }
    memcpy(queued, job, APR_OFFSETOF(condcache_job, data)
                        + (job->op == CONDCACHE_OP_PUT ? job->len : 0));
    queued->state = CONDCACHE_JOB_QUEUED;
    apr_thread_mutex_lock(condcache_store.lock);
    if (condcache_store.count == CONDCACHE_STORE_QUEUE) {
        apr_thread_mutex_unlock(condcache_store.lock);
        free(queued);
        condcache_store_fault(r, APR_ENOSPC, "has more requests waiting "
                              "than it answers");
        return APR_ENOSPC;
    }
    condcache_store.queue[(condcache_store.head + condcache_store.count)
                          % CONDCACHE_STORE_QUEUE] = queued;
    condcache_store.count++;
    apr_thread_cond_signal(condcache_store.work);
    deadline = apr_time_now() + condcache_store.timeout;
    while (queued->state != CONDCACHE_JOB_DONE) {
        apr_interval_time_t left = deadline - apr_time_now();

        if (left <= 0) {
            break;
        }
        apr_thread_cond_timedwait(condcache_store.done, condcache_store.lock,
                                  left);
    }
    if (queued->state != CONDCACHE_JOB_DONE) {
        queued->state = CONDCACHE_JOB_ABANDONED;
        apr_thread_mutex_unlock(condcache_store.lock);
        condcache_store_fault(r, APR_TIMEUP, apr_psprintf(r->pool,
                              "did not answer within %" APR_TIME_T_FMT " ms",
                              apr_time_as_msec(condcache_store.timeout)));
        return APR_TIMEUP;
    }
    apr_thread_mutex_unlock(condcache_store.lock);
    rv = queued->rv;
    if (job->op == CONDCACHE_OP_GET && rv == APR_SUCCESS) {
        job->len = queued->len;
        memcpy(job->data, queued->data, queued->len);
    }
    free(queued);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        condcache_store_fault(r, rv, "failed");
    }
    return rv;
}

/* ---------------------------------------------------------------------
 * Entries
 */

/* the entry of that kind under the key; NULL for none, for a fault, and
 * for what is no entry of this module or not the one asked for
 */
static const cc_store_entry *condcache_store_get(request_rec *r,
                                                 const char *key,
                                                 cc_store_kind kind)
{
    condcache_job *job = apr_palloc(r->pool, sizeof(*job));
    cc_store_entry *e = apr_palloc(r->pool, sizeof(*e));
    const char *why;

    job->op = CONDCACHE_OP_GET;
    apr_cpystrn(job->key, key, sizeof(job->key));
    job->len = sizeof(job->data);
    if (condcache_store_call(r, job) != APR_SUCCESS) {
        return NULL;
    }
    why = cc_store_decode(r->pool, job->data, job->len, e);
    if (!why && (e->kind != kind || !e->key || strcmp(e->key, key))) {
        why = "another key's";
    }
    if (why) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "CC00015: the value "
                      "under %s in the validator store is no entry (%s): "
                      "a miss", key, why);
        return NULL;
    }
    return e;
}

static void condcache_store_put(request_rec *r, const cc_store_entry *e,
                                apr_int64_t lifetime)
{
    condcache_job *job = apr_palloc(r->pool, sizeof(*job));

    job->op = CONDCACHE_OP_PUT;
    apr_cpystrn(job->key, e->key, sizeof(job->key));
    job->len = (unsigned int)cc_store_encode(e, job->data, sizeof(job->data));
    if (!job->len) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "CC00016: the "
                      "validators of %s do not fit an entry of %d bytes: "
                      "not stored", r->uri, CC_STORE_MAX);
        return;
    }
    job->expiry = apr_time_from_sec(e->stored + lifetime
                                    + CONDCACHE_STORE_GRACE);
    if (condcache_store_call(r, job) == APR_SUCCESS) {
        apr_atomic_inc64(&condcache_store.stats->stores);
    }
}

static void condcache_store_del(request_rec *r, const char *key)
{
    condcache_job *job = apr_palloc(r->pool, sizeof(*job));

    job->op = CONDCACHE_OP_DEL;
    apr_cpystrn(job->key, key, sizeof(job->key));
    job->len = 0;
    if (condcache_store_call(r, job) == APR_SUCCESS) {
        apr_atomic_inc64(&condcache_store.stats->invalidations);
    }
}

/* ---------------------------------------------------------------------
 * Keys
 */

/* The key of a URI of this request's virtual host (scheme, name and port
 * as configured, so that every server of a farm with the same ServerName
 * makes the same key), the path and the query as the client sent them.
 */
static const char *condcache_store_uri_key(request_rec *r, const char *path,
                                           const char *query)
{
    const char *parts[5];
    char *key = apr_palloc(r->pool, CC_STORE_KEY_LEN);

    parts[0] = ap_http_scheme(r);
    parts[1] = r->server->server_hostname;
    parts[2] = apr_itoa(r->pool, r->server->port ? r->server->port
                                                 : ap_default_port(r));
    parts[3] = path ? path : "/";
    parts[4] = query;
    cc_store_key(r->pool, key, parts, 5);
    return key;
}

/* Who the request is for, by CondCacheStoreUser (REMOTE_USER where it is
 * not set): NULL where none of those is there
 */
static const char *condcache_store_identity(request_rec *r,
                                            const condcache_dir_conf *conf)
{
    const apr_table_t *fields = condcache_client_fields(r);
    apr_array_header_t *parts = NULL;
    int i, n = conf->store_user ? conf->store_user->nelts : 1;

    for (i = 0; i < n; i++) {
        condcache_identity dflt = { CONDCACHE_ID_USER, NULL };
        const condcache_identity *id = conf->store_user
            ? &APR_ARRAY_IDX(conf->store_user, i, condcache_identity)
            : &dflt;
        const char *v = NULL;

        switch (id->kind) {
        case CONDCACHE_ID_USER:
            v = r->user;
            break;
        case CONDCACHE_ID_HEADER:
            v = apr_table_get(fields, id->name);
            break;
        default:
            if (ap_cookie_read(r, id->name, &v, 0) != APR_SUCCESS) {
                v = NULL;
            }
            break;
        }
        if (v) {
            if (!parts) {
                parts = apr_array_make(r->pool, n, sizeof(const char *));
            }
            APR_ARRAY_PUSH(parts, const char *) =
                apr_psprintf(r->pool, "%d:%s=%s", id->kind,
                             id->name ? id->name : "", v);
        }
    }
    return parts ? apr_array_pstrcat(r->pool, parts, '\n') : NULL;
}

/* The key of this request's entry under the URI's record: its
 * generation, the user, and the request's values of what the responses
 * vary by
 */
static const char *condcache_store_entry_key(request_rec *r,
                                             const condcache_store_req *st,
                                             const cc_store_entry *uri)
{
    const char *parts[4];
    char *key = apr_palloc(r->pool, CC_STORE_KEY_LEN);

    parts[0] = st->uri_key;
    parts[1] = apr_psprintf(r->pool, "%" APR_UINT64_T_HEX_FMT, uri->nonce);
    parts[2] = st->identity;
    parts[3] = cc_store_selecting(r->pool, uri->vary ? uri->vary : "",
                                  condcache_client_fields(r));
    cc_store_key(r->pool, key, parts, 4);
    return key;
}

/* The URI's record, then this request's entry under it */
static const cc_store_entry *condcache_store_lookup(request_rec *r,
                                                    condcache_store_req *st)
{
    if (!st->uri_looked) {
        st->uri_looked = 1;
        st->uri = condcache_store_get(r, st->uri_key, CC_STORE_VARY);
    }
    if (!st->uri) {
        return NULL;
    }
    if (!st->entry_looked) {
        st->entry_looked = 1;
        st->entry_key = condcache_store_entry_key(r, st, st->uri);
        st->entry = condcache_store_get(r, st->entry_key, CC_STORE_ENTRY);
    }
    return st->entry;
}

/* ---------------------------------------------------------------------
 * The request
 */

static int condcache_unsafe(const request_rec *r)
{
    switch (r->method_number) {
    case M_GET:
    case M_OPTIONS:
    case M_TRACE:
    case M_PROPFIND:
        return 0;
    default:
        return 1;
    }
}

/* insert_filter: whether the store serves this request.  Handler output
 * only (a handler named in the configuration: a CGI, a proxy, mod_lua,
 * PHP): a file's own validators are cheaper to make than to fetch.
 */
int condcache_store_applies(request_rec *r, const condcache_dir_conf *conf)
{
    condcache_req *ctx;
    condcache_store_req *st;
    request_rec *first;
    const char *auth;

    if (!condcache_store.instance || r->main
        || conf->store_lifetime == CONDCACHE_UNSET
        || conf->store_lifetime == CONDCACHE_STORE_OFF
        || !r->handler || !strcmp(r->handler, "default-handler")
        || r->proxyreq == PROXYREQ_PROXY
        || CONDCACHE_ALREADY_DECIDED(r)) {
        return 0;
    }
    for (first = r; first->prev; first = first->prev) {
    }
    st = apr_pcalloc(r->pool, sizeof(*st));
    st->identity = condcache_store_identity(r, conf);
    /* a request with credentials this module cannot tell apart is never
     * answered, nor its response kept
     */
    auth = apr_table_get(condcache_client_fields(r), "Authorization");
    if (auth && !st->identity) {
        return 0;
    }
    st->path = first->parsed_uri.path;
    st->query = first->parsed_uri.query;
    st->uri_key = condcache_store_uri_key(r, st->path, st->query);
    if (conf->store_ignore_cc == 1) {
        cc_store_request_parse(r->pool, NULL, NULL, &st->directives);
    }
    else {
        const apr_table_t *fields = condcache_client_fields(r);

        cc_store_request_parse(r->pool,
                               apr_table_getm(r->pool, fields,
                                              "Cache-Control"),
                               apr_table_getm(r->pool, fields, "Pragma"),
                               &st->directives);
    }
    ctx = condcache_req_get(r);
    ctx->store = st;
    /* the handler's own freshness fields are what an entry keeps */
    ap_add_output_filter_handle(condcache_sent_filter_handle, NULL, r,
                                r->connection);
    condcache_add_final_filter(r);
    return 1;
}

/* The 304 from the store: the fields a 304 of the handler would carry,
 * through the output filters (mod_headers, the freshness policy), and
 * with the handler's media type for the policy's by-type rules.  The
 * last filter puts the stored ETag and Vary back over what a compressor
 * (mod_deflate adds "-gzip" to a 304's tag) made of them.
 */
static int condcache_store_send_304(request_rec *r, condcache_store_req *st,
                                    const cc_store_entry *e)
{
    apr_bucket_brigade *bb;
    int rv;

    apr_table_setn(r->headers_out, "ETag", e->etag);
    if (e->last_modified >= 0) {
        char *date = apr_palloc(r->pool, CC_DATE_LEN);

        cc_date_format(date, apr_time_from_sec(e->last_modified));
        apr_table_setn(r->headers_out, "Last-Modified", date);
    }
    if (e->cache_control) {
        apr_table_setn(r->headers_out, "Cache-Control", e->cache_control);
    }
    if (e->expires_field) {
        apr_table_setn(r->headers_out, "Expires", e->expires_field);
    }
    if (e->vary) {
        apr_table_setn(r->headers_out, "Vary", e->vary);
    }
    if (e->content_location) {
        apr_table_setn(r->headers_out, "Content-Location",
                       e->content_location);
    }
    if (e->content_type) {
        ap_set_content_type(r, e->content_type);
    }
    st->answered = e;
    rv = ap_discard_request_body(r);
    if (rv != OK) {
        return rv;
    }
    apr_atomic_inc64(&condcache_store.stats->hits);
    apr_atomic_add64(&condcache_store.stats->saved_bytes, e->length);
    r->status = HTTP_NOT_MODIFIED;
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade_fchk(r, bb, "condcache: a 304 from the store");
}

/* Whether the entry may answer the request (CONFORMANCE.md 7.1, 7.3): NULL
 * if it may, else why not.  A write asks for a fresh entry, whatever its
 * Cache-Control; max-stale never stretches an entry whose response must
 * be revalidated once stale.
 */
static const char *condcache_store_fresh(request_rec *r,
                                         const cc_store_request *asked,
                                         const cc_store_entry *e,
                                         apr_int64_t lifetime)
{
    cc_store_request req;
    apr_int64_t age;

    if (asked) {
        req = *asked;
    }
    else {
        cc_store_request_parse(r->pool, NULL, NULL, &req);
    }
    if (req.max_stale > 0 && e->cache_control) {
        const apr_array_header_t *cc = cc_control_parse(r->pool,
                                                        e->cache_control);

        if (cc_control_find(cc, "must-revalidate")
            || cc_control_find(cc, "proxy-revalidate")) {
            req.max_stale = -1;
        }
    }
    /* an entry from a clock ahead of this one is as young as can be */
    age = apr_time_sec(r->request_time) - e->stored;
    return cc_store_usable(&req, age < 0 ? 0 : age, lifetime);
}

/* The handler before every other one: a conditional request answered
 * from a live entry, after authentication and authorization and every
 * fixup, before any handler does any work.
 */
int condcache_handler_store(request_rec *r)
{
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);
    condcache_store_req *st = ctx ? ctx->store : NULL;
    const condcache_dir_conf *conf;
    const cc_store_entry *e;
    const char *why;
    cc_precond_in in;
    cc_precond_out out;
    int get = r->method_number == M_GET;

    if (!st || (!get && !condcache_unsafe(r))) {
        return DECLINED;
    }
    memset(&in, 0, sizeof(in));
    if (!condcache_read_fields(r, condcache_client_fields(r), &in)
        || (get && !in.if_none_match && !in.if_modified_since)
        || (!get && !in.if_match && !in.if_unmodified_since)) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &condcache_module);
    if (get && (st->directives.no_cache || st->directives.max_age == 0)) {
        /* a reload: the handler answers, and the entry is made again */
        apr_atomic_inc64(&condcache_store.stats->refused);
        return DECLINED;
    }
    e = condcache_store_lookup(r, st);
    why = !e ? "store-miss"
          : condcache_store_fresh(r, get ? &st->directives : NULL, e,
                                  conf->store_lifetime);
    if (why) {
        apr_atomic_inc64(e ? &condcache_store.stats->refused
                           : &condcache_store.stats->misses);
        if (!get) {
            condcache_note(r, "proceed", e ? "store-stale" : "store-miss");
        }
        return DECLINED;
    }
    in.method = !get ? CC_METHOD_OTHER
                : r->header_only ? CC_METHOD_HEAD : CC_METHOD_GET;
    in.exists = 1;
    in.etag = e->etag;
    in.date = apr_time_from_sec(apr_time_sec(r->request_time));
    if (e->last_modified >= 0) {
        in.has_last_modified = 1;
        in.last_modified = apr_time_from_sec(e->last_modified);
    }
    cc_precond_evaluate(&in, &out);
    if (out.status == HTTP_NOT_MODIFIED && get) {
        condcache_note(r, "304", "store-match");
        return condcache_store_send_304(r, st, e);
    }
    if (get) {
        /* the handler runs; the last filter decides on what it sends */
        apr_atomic_inc64(&condcache_store.stats->misses);
        return DECLINED;
    }
    if (out.status == HTTP_PRECONDITION_FAILED) {
        apr_atomic_inc64(&condcache_store.stats->failed);
        condcache_note(r, "412", apr_pstrcat(r->pool, "store-", out.reason,
                                             NULL));
        return HTTP_PRECONDITION_FAILED;
    }
    /* decided: the handler (mod_cgi's ap_meets_conditions()) must not
     * decide again without the stored tag
     */
    condcache_note(r, "proceed", "store-match");
    condcache_hide(r, condcache_req_get(r), 0);
    return DECLINED;
}

/* ---------------------------------------------------------------------
 * What the response does to the store
 */

/* a same-origin URI of a Location or Content-Location: its record goes */
static void condcache_store_invalidate_ref(request_rec *r, const char *ref)
{
    apr_uri_t uri;
    const char *path;

    if (!ref || apr_uri_parse(r->pool, ref, &uri) != APR_SUCCESS) {
        return;
    }
    if (uri.hostname) {
        apr_port_t port = uri.port ? uri.port
                          : apr_uri_port_of_scheme(uri.scheme);

        if (!uri.scheme || strcasecmp(uri.scheme, ap_http_scheme(r))
            || port != ap_get_server_port(r)
            || !r->hostname || strcasecmp(uri.hostname, r->hostname)) {
            return;
        }
    }
    path = uri.path;
    if (!path || *path != '/') {
        /* relative to the request's own path */
        condcache_req *ctx = ap_get_module_config(r->request_config,
                                                  &condcache_module);
        const char *base = ctx->store->path ? ctx->store->path : "/";
        const char *slash = strrchr(base, '/');

        path = apr_pstrcat(r->pool,
                           apr_pstrmemdup(r->pool, base,
                                          (apr_size_t)(slash - base) + 1),
                           uri.path ? uri.path : "", NULL);
    }
    condcache_store_del(r, condcache_store_uri_key(r, path, uri.query));
}

/* A non-error response to an unsafe method (RFC 9111 4.4): its URI's
 * entries go, and those of the same-origin Location and Content-Location,
 * before the response leaves, so that the next request on any server of
 * the farm finds none.  Once per request.
 */
void condcache_store_invalidate(request_rec *r)
{
    condcache_req *ctx = ap_get_module_config(r->request_config,
                                              &condcache_module);
    condcache_store_req *st = ctx ? ctx->store : NULL;
    const char *v;

    if (!st || st->invalidated || !condcache_unsafe(r)
        || r->status >= 400 || r->status < 200) {
        return;
    }
    st->invalidated = 1;
    condcache_store_del(r, st->uri_key);
    if ((v = apr_table_get(r->headers_out, "Location"))
        || (v = apr_table_get(r->err_headers_out, "Location"))) {
        condcache_store_invalidate_ref(r, v);
    }
    if ((v = apr_table_get(r->headers_out, "Content-Location"))
        || (v = apr_table_get(r->err_headers_out, "Content-Location"))) {
        condcache_store_invalidate_ref(r, v);
    }
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
    if (r->method_number != M_GET) {
        condcache_store_invalidate(r);
        return 1;
    }
    if (r->status != HTTP_OK && r->status != HTTP_NOT_MODIFIED && st->entry
        && !r->header_only) {
        /* the handler answered otherwise than the stored 200 */
        condcache_store_del(r, st->uri_key);
    }
    return 0;
}

/* a header field of either table, several lines joined */
static const char *condcache_field(request_rec *r, const char *name)
{
    const char *a = apr_table_getm(r->pool, r->headers_out, name);
    const char *b = apr_table_getm(r->pool, r->err_headers_out, name);

    return a && b ? apr_pstrcat(r->pool, a, ", ", b, NULL) : a ? a : b;
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
    const cc_store_entry *old;
    const char *etag, *lm, *vary, *names;
    cc_store_entry e, uri;
    apr_time_t now, last_modified;
    const char *cl;

    if (!st || r->status != HTTP_OK) {
        return;
    }
    conf = ap_get_module_config(r->per_dir_config, &condcache_module);
    control = cc_control_parse(r->pool, condcache_field(r, "Cache-Control"));
    vary = condcache_field(r, "Vary");
    names = cc_store_vary_names(r->pool, vary);
    if (cc_control_find(control, "no-store") || !names
        || (cc_control_find(control, "no-cache")
            && !cc_control_find(control, "no-cache")->value)) {
        /* never stored, and what was there goes (RFC 9111 3, 4.1; a
         * no-cache response may answer nothing without the handler)
         */
        if (!r->header_only) {
            condcache_store_del(r, st->uri_key);
        }
        return;
    }
    if (!st->identity
        && (cc_control_restricted(control)
            || condcache_field(r, "Set-Cookie"))) {
        /* one user's response, and no user to keep it for */
        if (!r->header_only) {
            condcache_store_del(r, st->uri_key);
        }
        return;
    }
    etag = apr_table_get(r->headers_out, "ETag");
    if (!etag || apr_table_get(r->notes, "no-etag")) {
        return;
    }
    now = apr_time_sec(r->request_time);
    lm = apr_table_get(r->headers_out, "Last-Modified");
    if (!lm || !cc_date_parse(lm, r->request_time, &last_modified)) {
        /* the time the store first saw this tag for this URI */
        if (st->uri && strcmp(st->uri->vary ? st->uri->vary : "", names)) {
            st->uri = NULL;              /* another Vary: all new */
        }
        old = condcache_store_lookup(r, st);
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

    /* the URI's record: the one there if it varies by the same names,
     * else a new generation
     */
    if (!st->uri_looked) {
        st->uri_looked = 1;
        st->uri = condcache_store_get(r, st->uri_key, CC_STORE_VARY);
    }
    if (!st->uri || strcmp(st->uri->vary ? st->uri->vary : "", names)) {
        memset(&uri, 0, sizeof(uri));
        uri.kind = CC_STORE_VARY;
        uri.stored = now;
        uri.expires = now + conf->store_lifetime;
        uri.last_modified = -1;
        uri.key = st->uri_key;
        uri.vary = *names ? names : NULL;
        if (apr_generate_random_bytes((unsigned char *)&uri.nonce,
                                      sizeof(uri.nonce)) != APR_SUCCESS) {
            uri.nonce = (apr_uint64_t)apr_time_now();
        }
        condcache_store_put(r, &uri, conf->store_lifetime);
        st->uri = apr_pmemdup(r->pool, &uri, sizeof(uri));
        st->entry_looked = 0;
        st->entry = NULL;
    }
    memset(&e, 0, sizeof(e));
    e.kind = CC_STORE_ENTRY;
    e.stored = now;
    e.expires = now + conf->store_lifetime;
    e.last_modified = apr_time_sec(last_modified);
    cl = apr_table_get(r->headers_out, "Content-Length");
    e.length = length >= 0 ? (apr_uint64_t)length
               : cl ? (apr_uint64_t)apr_atoi64(cl) : 0;
    e.key = st->entry_key && st->entry_looked
            ? st->entry_key : condcache_store_entry_key(r, st, st->uri);
    e.etag = etag;
    e.cache_control = ctx->sent_taken ? ctx->sent_control
                      : condcache_field(r, "Cache-Control");
    e.expires_field = ctx->sent_taken ? ctx->sent_expires
                      : apr_table_get(r->headers_out, "Expires");
    e.vary = vary;
    e.content_location = apr_table_get(r->headers_out, "Content-Location");
    e.content_type = r->content_type;
    condcache_store_put(r, &e, conf->store_lifetime);
}

/* ---------------------------------------------------------------------
 * mod_status
 */

static int condcache_store_status(request_rec *r, int flags)
{
    static const struct {
        const char *name;
        apr_size_t offset;
    } rows[] = {
        { "Hits", APR_OFFSETOF(condcache_store_stats, hits) },
        { "Misses", APR_OFFSETOF(condcache_store_stats, misses) },
        { "Refused", APR_OFFSETOF(condcache_store_stats, refused) },
        { "Stores", APR_OFFSETOF(condcache_store_stats, stores) },
        { "Invalidations",
          APR_OFFSETOF(condcache_store_stats, invalidations) },
        { "PreconditionFailed", APR_OFFSETOF(condcache_store_stats, failed) },
        { "Errors", APR_OFFSETOF(condcache_store_stats, errors) },
        { "SavedBytes", APR_OFFSETOF(condcache_store_stats, saved_bytes) }
    };
    apr_size_t i;

    if (!condcache_store.instance) {
        return OK;
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("<hr />\n<h2>mod_condcache validator store</h2>\n"
                 "<table border=\"0\">\n", r);
        ap_rprintf(r, "<tr><td>Store</td><td>%s</td></tr>\n",
                   ap_escape_html(r->pool, condcache_store.spec));
    }
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        apr_uint64_t v = apr_atomic_read64((volatile apr_uint64_t *)
            ((char *)condcache_store.stats + rows[i].offset));

        if (flags & AP_STATUS_SHORT) {
            ap_rprintf(r, "CondCacheStore%s: %" APR_UINT64_T_FMT "\n",
                       rows[i].name, v);
        }
        else {
            ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT
                       "</td></tr>\n", rows[i].name, v);
        }
    }
    if (!(flags & AP_STATUS_SHORT)) {
        ap_rputs("</table>\n", r);
    }
    return OK;
}

void condcache_store_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, condcache_store_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
