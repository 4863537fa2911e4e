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
 * mod_condcache_socache.c: the validator store's engine, behind httpd's
 * socache providers (ap_socache.h).
 *
 *   CondCacheStore         provider[:args]     where entries live (server)
 *   CondCacheStoreTimeout  time                the longest wait (50ms)
 *   CondCacheStoreRetry    time                how long a failed store is
 *                                              left alone (10 seconds)
 *
 * One store per server: mod_socache_shmcb in this server's shared memory
 * (or mod_socache_dbm in a file), asked directly under a global mutex;
 * mod_socache_memcache or mod_socache_redis on the network, asked by
 * worker threads of each child while the request waits at most
 * CondCacheStoreTimeout.  A store that fails or is slow is left alone for
 * CondCacheStoreRetry, and the error log says so once in that time for
 * all children together: requests go on as if there were no store.  The
 * counters mod_status shows are in shared memory.  What is stored, and
 * what a request does with it, is mod_condcache_store.c's.
 *
 * Beside a store on the network, the server keeps a mirror of what it
 * last read from it or wrote to it, in mod_socache_shmcb where that is
 * loaded, for CONDCACHE_MIRROR_TRUST: a request without preconditions
 * only reads what its own response is compared with (the time a tag was
 * first seen, whether the entry must be written again), and may take the
 * mirror's word for it, so that a page asked for again and again costs
 * no call to memcached or Redis while its tag holds.  A request that an
 * entry could answer always asks the store itself.
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

#include "ap_provider.h"
#include "ap_socache.h"
#include "mod_status.h"
#include "util_mutex.h"

#include "mod_condcache_private.h"

APLOG_USE_MODULE(condcache);

#define CONDCACHE_STORE_NAME    "condcache"
#define CONDCACHE_STORE_WORKERS 4        /* at first */
#define CONDCACHE_STORE_WORKERS_MAX 16   /* with those stuck on a hung store */
#define CONDCACHE_STORE_QUEUE   64       /* calls waiting */
#define CONDCACHE_STORE_QUEUE_MAX 128    /* and invalidations past those */
#define CONDCACHE_STORE_RETRY_MAX 256    /* failed invalidations kept */
/* the longest memcached takes as a time to live (more is a date) */
#define CONDCACHE_STORE_TTL_MAX (30 * 24 * 3600)
/* how long an entry stays in the provider past its lifetime: for max-stale,
 * and for the time its tag was first seen (Last-Modified)
 */
#define CONDCACHE_STORE_GRACE   3600
/* how long the mirror's copy stands for the store */
#define CONDCACHE_MIRROR_TRUST  apr_time_from_sec(30)
#define CONDCACHE_MIRROR_NAME   "condcache-mirror"

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
    int must;                        /* an invalidation: never dropped */
    condcache_job_state state;
    apr_thread_cond_t *wake;         /* its request's thread waits on it */
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
    const ap_socache_provider_t *mirror_provider;
    ap_socache_instance_t *mirror;         /* beside one on the network */
    apr_interval_time_t timeout;
    apr_interval_time_t retry;
    condcache_store_stats *stats;
    server_rec *s;
    /* the child's workers, for providers on the network */
    apr_pool_t *own;
    int workers;
    apr_time_t running[CONDCACHE_STORE_WORKERS_MAX];   /* since when */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *work;
    condcache_job *queue[CONDCACHE_STORE_QUEUE_MAX];
    int head;
    int count;
    int shutdown;
    /* invalidations not made yet, and those that failed: while there are
     * any, the child answers nothing from the store
     */
    int pending;
    condcache_job *retry_list[CONDCACHE_STORE_RETRY_MAX];
    int retries;
    int lost;                        /* one could not be kept: never again */
    volatile apr_uint64_t down_until;     /* microseconds */
} condcache_store;

static condcache_store_stats condcache_store_local_stats;

/* what each thread of a child waits on for its calls to the store: made
 * once per thread, woken alone (a condition for all would wake every
 * waiting request at every answer)
 */
static __thread apr_thread_cond_t *condcache_store_wake;

static apr_status_t condcache_store_destroy(void *data);
static apr_status_t condcache_store_op(condcache_job *job, apr_pool_t *p);
static void *APR_THREAD_FUNC condcache_store_worker(apr_thread_t *t,
                                                    void *data);
static apr_status_t condcache_store_stop(void *data);
static void condcache_store_fault(request_rec *r, apr_status_t rv,
                                  const char *what);
static apr_status_t condcache_store_call(request_rec *r, condcache_job *job,
                                         apr_time_t *deadline);
static apr_status_t condcache_store_ask(request_rec *r, condcache_job *job,
                                        apr_time_t *deadline);
static int condcache_store_spawn(void);
static int condcache_store_enqueue(condcache_job *job);
static void condcache_store_unstick(void);
static void condcache_store_retry_failed(void);
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

/* ---------------------------------------------------------------------
 * The store's life: created with the configuration, opened in each child
 */

void condcache_socache_pre_config(apr_pool_t *pconf)
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
    if (condcache_store.mirror) {
        condcache_store.mirror_provider->destroy(condcache_store.mirror, s);
        condcache_store.mirror = NULL;
    }
    return APR_SUCCESS;
}

/* the mirror beside a store on the network: mod_socache_shmcb's default
 * size (about 500 KB: a thousand pages or more), or nothing where that
 * module is not loaded
 */
static void condcache_mirror_create(apr_pool_t *pconf, server_rec *s)
{
    const ap_socache_provider_t *prov;
    const char *err;

    if (condcache_store.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        return;
    }
    prov = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, "shmcb",
                              AP_SOCACHE_PROVIDER_VERSION);
    if (!prov) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "CC00017: CondCacheStore "
                     "%s: mod_socache_shmcb is not loaded: no mirror, every "
                     "dynamic 200 asks the store", condcache_store.spec);
        return;
    }
    err = prov->create(&condcache_store.mirror, NULL, pconf, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "CC00018: "
                     "CondCacheStore %s: no mirror: %s", condcache_store.spec,
                     err);
        condcache_store.mirror = NULL;
        return;
    }
    condcache_store.mirror_provider = prov;
}

int condcache_socache_post_config(apr_pool_t *pconf, server_rec *s)
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
    condcache_mirror_create(pconf, s);
    if (condcache_store.mirror
        || condcache_store.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
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
    if (condcache_store.mirror
        && condcache_store.mirror_provider->init(condcache_store.mirror,
                                                 CONDCACHE_MIRROR_NAME,
                                                 &hints, s, pconf)
           != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "CC00019: "
                     "CondCacheStore %s: its mirror did not start: every "
                     "dynamic 200 asks the store", condcache_store.spec);
        condcache_store.mirror = NULL;
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
void condcache_socache_child_init(apr_pool_t *pchild, server_rec *s)
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
            /* without its mutex, a store in this server is of no use to
             * the child, and a mirror neither
             */
            int mirror_only = condcache_store.mirror != NULL;

            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "CC00012: "
                         "CondCacheStore %s: its mutex did not open in this "
                         "child: the child goes on without %s",
                         condcache_store.spec,
                         mirror_only ? "its mirror" : "the store");
            condcache_store.mirror = NULL;
            if (!mirror_only) {
                condcache_store.instance = NULL;
                return;
            }
        }
    }
    if (condcache_store.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        return;
    }
    if (apr_pool_create_unmanaged_ex(&own, NULL, NULL) != APR_SUCCESS
        || apr_thread_mutex_create(&condcache_store.lock,
                                   APR_THREAD_MUTEX_DEFAULT, own)
        || apr_thread_cond_create(&condcache_store.work, own)) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "CC00013: CondCacheStore "
                     "%s: no workers in this child: it goes on without the "
                     "store", condcache_store.spec);
        condcache_store.instance = NULL;
        return;
    }
    condcache_store.own = own;
    for (i = 0; i < CONDCACHE_STORE_WORKERS && condcache_store_spawn(); i++) {
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

/* one more worker (under the lock, or before any request) */
static int condcache_store_spawn(void)
{
    apr_thread_t *t;
    apr_threadattr_t *attr;
    int id = condcache_store.workers;

    if (id == CONDCACHE_STORE_WORKERS_MAX
        || apr_threadattr_create(&attr, condcache_store.own) != APR_SUCCESS
        || apr_threadattr_detach_set(attr, 1) != APR_SUCCESS
        || apr_thread_create(&t, attr, condcache_store_worker,
                             (void *)(apr_uintptr_t)id, condcache_store.own)
           != APR_SUCCESS) {
        return 0;
    }
    condcache_store.workers++;
    return 1;
}

static apr_status_t condcache_store_op(condcache_job *job, apr_pool_t *p)
{
    const ap_socache_provider_t *prov = condcache_store.provider;
    const unsigned char *id = (const unsigned char *)job->key;
    unsigned int idlen = (unsigned int)strlen(job->key);
    apr_status_t rv;

    switch (job->op) {
    case CONDCACHE_OP_GET:
        rv = prov->retrieve(condcache_store.instance, condcache_store.s,
                            id, idlen, job->data, &job->len, p);
        /* a value larger than any entry is no entry: a miss */
        return rv == APR_ENOMEM || rv == APR_ENOSPC ? APR_NOTFOUND : rv;
    case CONDCACHE_OP_PUT:
        return prov->store(condcache_store.instance, condcache_store.s, id,
                           idlen, job->expiry, job->data, job->len, p);
    default:
        rv = prov->remove(condcache_store.instance, condcache_store.s, id,
                          idlen, p);
        return rv == APR_NOTFOUND ? APR_SUCCESS : rv;
    }
}

/* A worker of the child: takes the calls in order.  An invalidation
 * (must) is made whether or not its request still waits; one that fails
 * is kept to be made again once the store is back, and until then the
 * child answers nothing from the store.
 */
static void *APR_THREAD_FUNC condcache_store_worker(apr_thread_t *t,
                                                    void *data)
{
    int id = (int)(apr_uintptr_t)data;
    apr_pool_t *p;

    (void)t;
    if (apr_pool_create_unmanaged_ex(&p, NULL, NULL) != APR_SUCCESS) {
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
                               % CONDCACHE_STORE_QUEUE_MAX;
        condcache_store.count--;
        if (job->state == CONDCACHE_JOB_QUEUED || job->must) {
            job->state = job->state == CONDCACHE_JOB_ABANDONED
                         ? CONDCACHE_JOB_ABANDONED : CONDCACHE_JOB_RUNNING;
            condcache_store.running[id] = apr_time_now();
            apr_thread_mutex_unlock(condcache_store.lock);
            rv = condcache_store_op(job, p);
            apr_pool_clear(p);
            apr_thread_mutex_lock(condcache_store.lock);
            condcache_store.running[id] = 0;
        }
        if (job->must && rv != APR_SUCCESS
            && condcache_store.retries < CONDCACHE_STORE_RETRY_MAX) {
            /* made again later; the request (if it waits) hears of it */
            condcache_job *again = malloc(sizeof(*again));

            if (again) {
                memcpy(again, job, APR_OFFSETOF(condcache_job, data)
                                   + job->len);
                again->state = CONDCACHE_JOB_ABANDONED;
                condcache_store.retry_list[condcache_store.retries++] =
                    again;
            }
            else {
                condcache_store.lost = 1;
            }
        }
        else if (job->must && rv != APR_SUCCESS) {
            condcache_store.lost = 1;
        }
        else if (job->must) {
            condcache_store.pending--;
        }
        if (job->state == CONDCACHE_JOB_ABANDONED) {
            free(job);
            continue;
        }
        job->rv = rv;
        job->state = CONDCACHE_JOB_DONE;
        apr_thread_cond_signal(job->wake);
    }
    apr_thread_mutex_unlock(condcache_store.lock);
    apr_pool_destroy(p);
    /* returning ends the thread (apr_thread_exit() would leave the
     * stack to AddressSanitizer as if still in use)
     */
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

/* under the lock: a job into the queue; invalidations (must) have room of
 * their own past what the other calls may take
 */
static int condcache_store_enqueue(condcache_job *job)
{
    int room = job->must ? CONDCACHE_STORE_QUEUE_MAX : CONDCACHE_STORE_QUEUE;

    if (condcache_store.count >= room) {
        return 0;
    }
    condcache_store.queue[(condcache_store.head + condcache_store.count)
                          % CONDCACHE_STORE_QUEUE_MAX] = job;
    condcache_store.count++;
    return 1;
}

/* under the lock: the workers all stuck in calls that never came back (a
 * store that accepted the connection and went silent): one more, up to
 * CONDCACHE_STORE_WORKERS_MAX, so that the child can use the store again
 * once it is back
 */
static void condcache_store_unstick(void)
{
    apr_time_t old = apr_time_now() - 4 * condcache_store.timeout;
    int i, stuck = 0;

    for (i = 0; i < condcache_store.workers; i++) {
        stuck += condcache_store.running[i] && condcache_store.running[i] < old;
    }
    if (stuck == condcache_store.workers) {
        condcache_store_spawn();
    }
}

/* the invalidations that failed, made again once the store is back */
static void condcache_store_retry_failed(void)
{
    while (condcache_store.retries
           && condcache_store_enqueue(
                  condcache_store.retry_list[condcache_store.retries - 1])) {
        condcache_store.retries--;
    }
    apr_thread_cond_broadcast(condcache_store.work);
}

/* The mirror's copy of the value under the job's key, into the job */
static int condcache_mirror_get(request_rec *r, condcache_job *job)
{
    const ap_socache_provider_t *prov = condcache_store.mirror_provider;
    apr_status_t rv;

    if (!condcache_store.mirror
        || apr_global_mutex_lock(condcache_store.mutex) != APR_SUCCESS) {
        return 0;
    }
    rv = prov->retrieve(condcache_store.mirror, condcache_store.s,
                        (const unsigned char *)job->key,
                        (unsigned int)strlen(job->key), job->data, &job->len,
                        r->pool);
    apr_global_mutex_unlock(condcache_store.mutex);
    if (rv != APR_SUCCESS) {
        job->len = sizeof(job->data);
    }
    return rv == APR_SUCCESS;
}

/* What the store holds under the job's key now that the call is made:
 * the job's value (known), or not known (the copy goes)
 */
static void condcache_mirror_set(request_rec *r, condcache_job *job,
                                 int known)
{
    const ap_socache_provider_t *prov = condcache_store.mirror_provider;
    const unsigned char *id = (const unsigned char *)job->key;
    unsigned int idlen = (unsigned int)strlen(job->key);

    if (apr_global_mutex_lock(condcache_store.mutex) != APR_SUCCESS) {
        return;
    }
    if (!known || prov->store(condcache_store.mirror, condcache_store.s, id,
                              idlen, apr_time_now() + CONDCACHE_MIRROR_TRUST,
                              job->data, job->len, r->pool)
                  != APR_SUCCESS) {
        prov->remove(condcache_store.mirror, condcache_store.s, id, idlen,
                     r->pool);
    }
    apr_global_mutex_unlock(condcache_store.mutex);
}

/* One call to the provider, waiting until *deadline at most (set to now
 * and CondCacheStoreTimeout by the request's first call, so that a
 * request waits that long in all).  APR_NOTFOUND is a miss; anything else
 * but APR_SUCCESS is a fault, already counted and logged.  An
 * invalidation (job->must) is tried even while the store is left alone,
 * and made in the background when its request stops waiting.  The mirror
 * keeps what the store answered or took, and loses its copy when that is
 * not known.
 */
static apr_status_t condcache_store_call(request_rec *r, condcache_job *job,
                                         apr_time_t *deadline)
{
    apr_status_t rv = condcache_store_ask(r, job, deadline);

    /* not asked: left alone, or no memory to ask with */
    if (condcache_store.mirror && rv != APR_EAGAIN && rv != APR_ENOMEM
        && rv != APR_ENOTIMPL) {
        condcache_mirror_set(r, job, rv == APR_SUCCESS
                                     && job->op != CONDCACHE_OP_DEL);
    }
    return rv;
}

static apr_status_t condcache_store_ask(request_rec *r, condcache_job *job,
                                        apr_time_t *deadline)
{
    condcache_job *queued;
    apr_time_t now = apr_time_now();
    apr_status_t rv;

    if (!condcache_store.instance) {
        return APR_ENOTIMPL;
    }
    if (!job->must
        && (apr_time_t)apr_atomic_read64(&condcache_store.down_until) > now) {
        return APR_EAGAIN;
    }
    if (!*deadline) {
        *deadline = now + condcache_store.timeout;
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
            condcache_store.lost |= job->must;
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
    if (!condcache_store_wake
        && apr_thread_cond_create(&condcache_store_wake, condcache_store.own)
           != APR_SUCCESS) {
        apr_thread_mutex_unlock(condcache_store.lock);
        free(queued);
        return APR_ENOMEM;
    }
    queued->wake = condcache_store_wake;
    if (condcache_store.retries) {
        condcache_store_retry_failed();
    }
    condcache_store_unstick();
    if (!condcache_store_enqueue(queued)) {
        condcache_store.lost |= job->must;
        apr_thread_mutex_unlock(condcache_store.lock);
        free(queued);
        condcache_store_fault(r, APR_ENOSPC, "has more requests waiting "
                              "than it answers");
        return APR_ENOSPC;
    }
    condcache_store.pending += job->must;
    apr_thread_cond_signal(condcache_store.work);
    while (queued->state != CONDCACHE_JOB_DONE) {
        apr_interval_time_t left = *deadline - apr_time_now();

        if (left <= 0) {
            break;
        }
        apr_thread_cond_timedwait(queued->wake, condcache_store.lock, left);
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
 * Entries, and what they did
 */

/* a store is there to ask, in this child */
int condcache_socache_ready(void)
{
    return condcache_store.instance != NULL;
}

/* and it may answer: no invalidation of this child is still to be made */
int condcache_socache_answers(void)
{
    return condcache_store.instance && !condcache_store.pending
           && !condcache_store.lost;
}

void condcache_socache_count(condcache_count which, apr_uint64_t n)
{
    condcache_store_stats *st = condcache_store.stats;

    switch (which) {
    case CONDCACHE_COUNT_HITS:
        apr_atomic_add64(&st->hits, n);
        break;
    case CONDCACHE_COUNT_MISSES:
        apr_atomic_add64(&st->misses, n);
        break;
    case CONDCACHE_COUNT_REFUSED:
        apr_atomic_add64(&st->refused, n);
        break;
    case CONDCACHE_COUNT_FAILED:
        apr_atomic_add64(&st->failed, n);
        break;
    default:
        apr_atomic_add64(&st->saved_bytes, n);
        break;
    }
}

/* the entry of that kind under the key; NULL for none, for a fault, and
 * for what is no entry of this module or not the one asked for
 */
/* the request's buffer for its calls: one, whatever their number */
static condcache_job *condcache_store_job(request_rec *r, const char *key,
                                          condcache_op op, int must)
{
    condcache_req *ctx = condcache_req_get(r);
    condcache_job *job = ctx->store_job;

    if (!job) {
        job = ctx->store_job = apr_palloc(r->pool, sizeof(*job));
    }
    job->op = op;
    job->must = must;
    memcpy(job->key, key, CC_STORE_KEY_LEN);
    return job;
}

const cc_store_entry *condcache_socache_get(request_rec *r, const char *key,
                                            cc_store_kind kind,
                                            apr_time_t *deadline, int local)
{
    condcache_job *job = condcache_store_job(r, key, CONDCACHE_OP_GET, 0);
    cc_store_entry *e = apr_palloc(r->pool, sizeof(*e));
    const char *why;

    job->len = sizeof(job->data);
    if (!(local && condcache_mirror_get(r, job))
        && condcache_store_call(r, job, deadline) != APR_SUCCESS) {
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

int condcache_socache_put(request_rec *r, const cc_store_entry *e,
                          apr_int64_t lifetime, apr_time_t *deadline,
                          int must)
{
    condcache_job *job = condcache_store_job(r, e->key, CONDCACHE_OP_PUT,
                                             must);
    apr_int64_t ttl = lifetime + CONDCACHE_STORE_GRACE;

    job->len = (unsigned int)cc_store_encode(e, job->data, sizeof(job->data));
    if (!job->len) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "CC00016: the "
                      "validators of %s do not fit an entry of %d bytes: "
                      "not stored", r->uri, CC_STORE_MAX);
        return 0;
    }
    /* an entry may outlive its lifetime, for max-stale and the first time
     * its tag was seen; memcached reads more than 30 days as a date
     */
    job->expiry = apr_time_from_sec(apr_time_sec(apr_time_now())
                                    + (ttl < CONDCACHE_STORE_TTL_MAX
                                       ? ttl : CONDCACHE_STORE_TTL_MAX));
    if (condcache_store_call(r, job, deadline) != APR_SUCCESS) {
        return 0;
    }
    apr_atomic_inc64(must ? &condcache_store.stats->invalidations
                          : &condcache_store.stats->stores);
    return 1;
}

/* an entry goes (never dropped: see condcache_store_call()) */
void condcache_socache_del(request_rec *r, const char *key,
                           apr_time_t *deadline)
{
    condcache_job *job = condcache_store_job(r, key, CONDCACHE_OP_DEL, 1);

    job->len = 0;
    if (condcache_store_call(r, job, deadline) == APR_SUCCESS) {
        apr_atomic_inc64(&condcache_store.stats->invalidations);
    }
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

void condcache_socache_register_hooks(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, condcache_store_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
