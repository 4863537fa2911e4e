/* Licensed under the Apache License, Version 2.0; see LICENSE. */

/*
 * cc_test.h: what every unit test program shares.  Each tests/test_*.c
 * builds one Check suite; main() runs it and prints TAP on stdout, for
 * prove.
 */

#ifndef CC_TEST_H
#define CC_TEST_H

#include <stdlib.h>
#include <check.h>
#include <apr_general.h>

#include "mod_condcache.h"

#define CC_NELTS(a) (sizeof(a) / sizeof((a)[0]))

/* Run the suite, TAP on stdout; exit status 0 only when all passed. */
static inline int cc_test_main(Suite *s)
{
    SRunner *sr = srunner_create(s);
    int failed;

    apr_initialize();
    srunner_set_tap(sr, "-");
    srunner_run_all(sr, CK_SILENT);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    apr_terminate();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
