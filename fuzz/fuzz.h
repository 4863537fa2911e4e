/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * fuzz.h: what every libFuzzer harness in fuzz/ shares, with the
 * harness' LLVMFuzzerInitialize (APR, once: each harness is a program of
 * its own, and includes this once).  Each fuzz/fuzz_*.c defines
 * LLVMFuzzerTestOneInput (a pool per input), and checks its invariants
 * with CC_FUZZ_CHECK, which aborts: libFuzzer then saves the input.
 *
 * The API takes C strings, so every string handed to it is a copy of
 * (part of) the input with a NUL after it, in a malloc'ed block of its
 * own size: AddressSanitizer sees a read past the NUL, which it could
 * not inside a pool's block.
 */

#ifndef CC_FUZZ_H
#define CC_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "mod_condcache.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CC_FUZZ_CHECK(cond)                                             \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,      \
                    __LINE__, #cond);                                   \
            abort();                                                    \
        }                                                               \
    } while (0)

/* the most pieces cc_fuzz_split gives */
#define CC_FUZZ_MAX_PIECES 16

typedef struct {
    char *piece[CC_FUZZ_MAX_PIECES];   /* NULL past the last one */
    int n;
} cc_fuzz_pieces;

/* A NUL-terminated malloc'ed copy of len bytes (an embedded NUL ends
 * the string early, as it would in a field value).
 */
static inline char *cc_fuzz_strndup(const uint8_t *data, size_t len)
{
    char *s = malloc(len + 1);

    if (!s) {
        abort();
    }
    memcpy(s, data, len);
    s[len] = '\0';
    return s;
}

/* Split the input on sep into at most max pieces, the last one taking
 * the rest, separators included.  Pieces the input does not reach stay
 * NULL.
 */
static inline void cc_fuzz_split(cc_fuzz_pieces *ps, const uint8_t *data,
                                 size_t size, uint8_t sep, int max)
{
    size_t start = 0, i;

    memset(ps, 0, sizeof(*ps));
    if (max > CC_FUZZ_MAX_PIECES) {
        max = CC_FUZZ_MAX_PIECES;
    }
    for (i = 0; i < size && ps->n < max - 1; i++) {
        if (data[i] == sep) {
            ps->piece[ps->n++] = cc_fuzz_strndup(data + start, i - start);
            start = i + 1;
        }
    }
    ps->piece[ps->n++] = cc_fuzz_strndup(data + start, size - start);
}

static inline void cc_fuzz_free(cc_fuzz_pieces *ps)
{
    int i;

    for (i = 0; i < ps->n; i++) {
        free(ps->piece[i]);
    }
    ps->n = 0;
}

/* The first eight bytes as a signed 64-bit number (little-endian, zeros
 * past the end); *data and *size advance past them.
 */
static inline apr_int64_t cc_fuzz_int64(const uint8_t **data, size_t *size)
{
    apr_uint64_t v = 0;
    size_t i;

    for (i = 0; i < 8; i++) {
        if (*size) {
            v |= (apr_uint64_t)**data << (8 * i);
            (*data)++;
            (*size)--;
        }
    }
    return (apr_int64_t)v;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (apr_initialize() != APR_SUCCESS) {
        abort();
    }
    atexit(apr_terminate);
    return 0;
}

static inline apr_pool_t *cc_fuzz_pool(void)
{
    apr_pool_t *p;

    if (apr_pool_create(&p, NULL) != APR_SUCCESS) {
        abort();
    }
    return p;
}

#endif
