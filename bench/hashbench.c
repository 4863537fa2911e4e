/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * hashbench: the cost of the body digest (cc_digest, XXH3-128) against
 * memcpy, on 4 KiB, 64 KiB and 1 MiB buffers.  Prints one line per size:
 * size, MB/s of the digest, MB/s of memcpy, and their ratio.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>

#include "mod_condcache.h"

static double now(void);

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
    static const size_t sizes[] = { 4096, 65536, 1048576 };
    const size_t total = (size_t)1 << 31;          /* 2 GiB a measure */
    apr_pool_t *pool;
    size_t i;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    printf("%-8s %12s %12s %8s\n", "size", "xxh3 MB/s", "memcpy MB/s",
           "ratio");
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i], rounds = total / n, r;
        unsigned char *src = malloc(n), *dst = malloc(n);
        unsigned char digest[CC_DIGEST_LEN];
        volatile unsigned char sink = 0;
        double t0, t_hash, t_copy;

        for (r = 0; r < n; r++) {
            src[r] = (unsigned char)(r * 131 + 7);
        }
        t0 = now();
        for (r = 0; r < rounds; r++) {
            apr_pool_t *p;
            cc_digest_ctx *ctx;

            apr_pool_create(&p, pool);
            ctx = cc_digest_create(p);
            cc_digest_update(ctx, src, n);
            cc_digest_final(ctx, digest);
            sink ^= digest[0];
            apr_pool_destroy(p);
        }
        t_hash = now() - t0;
        t0 = now();
        for (r = 0; r < rounds; r++) {
            src[0] = (unsigned char)r;
            memcpy(dst, src, n);
            sink ^= dst[n - 1];
        }
        t_copy = now() - t0;
        printf("%-8zu %12.0f %12.0f %8.2f\n", n,
               total / t_hash / 1e6, total / t_copy / 1e6, t_hash / t_copy);
        free(src);
        free(dst);
        (void)sink;
    }
    apr_terminate();
    return 0;
}
