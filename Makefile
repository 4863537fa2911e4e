# mod_condcache: build, test, run, install.
#
#   make            build the module with apxs
#   make run        start httpd on 127.0.0.1:8080 with the example site
#   make stop       stop it
#   make test       install what is missing, then every test (see README)
#   make install    install the module (DESTDIR honoured) and the Debian
#                   condcache.load / condcache.conf
#   make uninstall  remove what 'make install' installed
#   make deb        the Debian package, in build/deb/
#   make deb-test   install that package, use it with Debian's apache2,
#                   remove it (root; 'make test' runs it when CI=true)
#
# Nothing here writes outside the tree but 'make install', 'make uninstall',
# 'make deb-test' and, when run as root, the packages and the test user
# that 'make test' needs.

APXS     ?= apxs
CC       ?= cc
PORT     ?= 8080
WARN     ?= -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CI_WARN  ?= $(WARN) -Werror

SRCS     = $(GLUESRCS) $(LIBSRCS)
GLUESRCS = mod_condcache.c mod_condcache_config.c mod_condcache_file.c \
           mod_condcache_policy.c mod_condcache_final.c \
           mod_condcache_store.c mod_condcache_record.c \
           mod_condcache_socache.c
LIBSRCS  = cc_etag.c cc_date.c cc_precond.c cc_digest.c cc_policy.c \
           cc_store.c
HDRS     = mod_condcache.h mod_condcache_private.h
UNITS    = etag date precond digest policy store

APR_CFLAGS = $(shell pkg-config --cflags apr-1 2>/dev/null)
APR_LIBS   = $(shell pkg-config --libs apr-1 apr-util-1 2>/dev/null)
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
# libxxhash's x86 dispatcher (AVX2 / AVX-512 chosen at run time), when the
# installed library has it: four times the digest speed of the SSE2 default
XXH_PROBE  = '\043include <xxh_x86dispatch.h>' \
             'int main(void) { return (int)XXH3_64bits("", 0); }'
XXH_DEFS  := $(shell printf '%b\n' $(XXH_PROBE) | $(CC) -x c - -o /dev/null \
               -lxxhash >/dev/null 2>&1 && echo -DCC_XXH_DISPATCH)
UNIT_CFLAGS = -g -O1 $(WARN) -Werror -I. $(XXH_DEFS) $(APR_CFLAGS)
SAN        = -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=all

MODULE   = .libs/mod_condcache.so

.PHONY: all build run stop test check unit unit-asan itest itest-asan fuzz \
        deps install uninstall deb deb-test clean bench xxh-defs

all: build

build: $(MODULE)

$(MODULE): $(SRCS) $(HDRS)
	$(APXS) -c $(foreach w,$(WARN),-Wc,$(w)) $(XXH_DEFS) -lxxhash $(SRCS)

# the flags above, for bench/run.sh's own build of bench/hashbench.c
xxh-defs:
	@echo $(XXH_DEFS)

# --- C unit tests, TAP through prove ----------------------------------

tests/bin/test_%: tests/test_%.c tests/cc_test.h $(LIBSRCS) $(HDRS)
	@mkdir -p tests/bin
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(LIBSRCS) \
	    $(CHECK_LIBS) -lxxhash $(APR_LIBS)

tests/bin-asan/test_%: tests/test_%.c tests/cc_test.h $(LIBSRCS) $(HDRS)
	@mkdir -p tests/bin-asan
	$(CC) $(SAN) $(UNIT_CFLAGS) -o $@ $< \
	    $(LIBSRCS) $(CHECK_LIBS) -lxxhash $(APR_LIBS)

unit: $(UNITS:%=tests/bin/test_%)
	prove --exec '' $^

# Check forks a child per test; the sanitizers watch each child.
unit-asan: $(UNITS:%=tests/bin-asan/test_%)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    prove --exec '' $^

# --- fuzzing: libFuzzer harnesses (fuzz/), each run FUZZ_SECONDS -------

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 10
FUZZERS      = etag date precond lifetime control store
FUZZ_CFLAGS  = -g -O1 -fsanitize=fuzzer,address,undefined \
               -fno-sanitize-recover=all -fno-omit-frame-pointer \
               $(WARN) -Werror -I. $(XXH_DEFS) $(APR_CFLAGS)

fuzz/bin/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIBSRCS) $(HDRS)
	@mkdir -p fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(LIBSRCS) -lxxhash $(APR_LIBS)

# over a scratch copy of each seed corpus, in fuzz/work/
fuzz: $(FUZZERS:%=fuzz/bin/fuzz_%)
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZERS)

# --- Apache::Test ------------------------------------------------------

# a fresh error log each run: t/zz_error_log.t reads it
itest: build
	cd t && perl TEST.PL -clean >/dev/null 2>&1; \
	    perl TEST.PL -apxs $$(command -v $(APXS))

# The same suite against the module built with AddressSanitizer and UBSan.
# apxs writes objects beside the sources and the module to .libs where it
# runs, so the ASan build runs in a copy of the sources, asan/, and leaves
# .libs (make itest) alone.  tools/asan-httpd preloads the runtimes into
# apache2, not perl, with LeakSanitizer off (httpd and mod_perl keep
# memory until exit by design; make unit-asan looks for the module's leaks);
# -defines CONDCACHE_SANITIZED makes t/conf/extra.conf.in load this build.
# ASan reports go to t/logs/asan.PID.  UBSan's go to httpd's stderr, the
# error log, whatever its log_path says (GCC's UBSan runtime beside
# ASan's), and are copied from there to t/logs/ubsan.error_log.  Any report
# fails the target.
ASAN_DIR    = asan
ASAN_MODULE = $(ASAN_DIR)/.libs/mod_condcache.so
SAN_LOGS    = $(CURDIR)/t/logs

$(ASAN_MODULE): $(SRCS) $(HDRS)
	rm -rf $(ASAN_DIR) && mkdir $(ASAN_DIR) && cp $(SRCS) $(HDRS) $(ASAN_DIR)
	cd $(ASAN_DIR) && $(APXS) -c $(foreach w,$(WARN) $(SAN),-Wc,$(w)) \
	    -Wl,-fsanitize=address,undefined $(XXH_DEFS) -lxxhash $(SRCS)

# build too: t/startup.t loads .libs/mod_condcache.so
itest-asan: build $(ASAN_MODULE)
	cd t && perl TEST.PL -clean >/dev/null 2>&1; \
	    rm -f logs/asan.* logs/ubsan.*; \
	    rc=0; \
	    ASAN_OPTIONS=log_path=$(SAN_LOGS)/asan \
	    UBSAN_OPTIONS=log_path=$(SAN_LOGS)/ubsan:print_stacktrace=1 \
	    perl TEST.PL -apxs $$(command -v $(APXS)) \
	        -httpd $(CURDIR)/tools/asan-httpd \
	        -defines CONDCACHE_SANITIZED || rc=$$?; \
	    sed -n '/: runtime error: /,/^$$/p' logs/error_log \
	        > logs/ubsan.error_log 2>/dev/null; \
	    [ -s logs/ubsan.error_log ] || rm -f logs/ubsan.error_log; \
	    for f in logs/asan.* logs/ubsan.*; do \
	        [ -e "$$f" ] || continue; \
	        echo "--- sanitizer report t/$$f:"; cat "$$f"; rc=1; \
	    done; \
	    exit $$rc

# --- everything, as CI runs it ------------------------------------------

deps:
	@sh tools/deps.sh

# 'check' is every test with the warnings fatal (the fuzzers for
# FUZZ_SECONDS each); 'test' installs what is missing first and, as root, runs 'check' as an unprivileged user
# (Apache::Test will not start httpd as root).
check:
	$(MAKE) build WARN='$(CI_WARN)'
	$(MAKE) unit
	$(MAKE) unit-asan
	$(MAKE) fuzz
	$(MAKE) itest
	$(MAKE) itest-asan WARN='$(CI_WARN)'

# and, as root with CI=true (as CI runs it), the Debian package's test
# (make deb-test), which installs the package on the machine and removes it
test: deps
	@sh tools/as-user.sh $(MAKE) check
	@if [ "$${CI:-}" = true ] && [ "$$(id -u)" = 0 ]; then \
	    $(MAKE) deb-test; \
	else \
	    echo "deb-test skipped: it installs the package and starts Debian's" \
	         "apache2; 'make test' runs it as root with CI=true set, and" \
	         "'make deb-test' as root runs it alone"; \
	fi

# --- the Debian package ---------------------------------------------------

# dpkg-buildpackage in a copy of the tree (the files git knows, and the new
# ones it does not ignore; build products are not copied), so that the
# tree stays as it is; the package, with its .buildinfo and .changes, in
# build/deb/, and lintian's verdict when lintian is there (an error fails).
DEB_DIR = build/deb

deb:
	@command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || \
	    { echo "make deb needs dpkg-dev and debhelper:" \
	           "sh tools/deps.sh deb (as root) installs them" >&2; exit 1; }
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/source
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z --cached --others --exclude-standard | \
	        tar --null --ignore-failed-read -T - -cf - ; \
	else \
	    tar --exclude=./.git --exclude=./build --exclude=./.libs \
	        --exclude=./asan --exclude=./t/logs --exclude=./example/run \
	        --exclude=./fuzz/work --exclude=./bench/work -cf - . ; \
	fi | tar -C $(DEB_DIR)/source -xf -
	cd $(DEB_DIR)/source && dpkg-buildpackage -b --no-sign
	rm -rf $(DEB_DIR)/source
	@if command -v lintian >/dev/null; then \
	    echo "lintian $(DEB_DIR)/*.changes"; \
	    lintian --fail-on error $(DEB_DIR)/*.changes; \
	else \
	    echo "lintian is not installed: the package was not checked"; \
	fi
	@ls $(DEB_DIR)/*.deb

# tools/deb-test.sh: as root, the package built, installed, enabled and
# used by Debian's apache2 on a loopback port, then removed; the machine
# is left as it was.  DEB_TEST_PORT picks the port (else a free one).
deb-test:
	@[ "$$(id -u)" = 0 ] || { echo "make deb-test runs as root: it" \
	    "installs the package and starts Debian's apache2" >&2; exit 1; }
	@sh tools/deps.sh deb
	$(MAKE) deb
	@sh tools/deb-test.sh $(DEB_DIR)

# --- a local server with the example site -------------------------------

run: deps build
	@sh example/run.sh start $(PORT)

stop:
	@sh example/run.sh stop $(PORT)

# --- benchmarks: bench/run.sh, results in bench/work/results.txt --------

bench: build
	@bash bench/run.sh

# --- install ------------------------------------------------------------

install: build
	install -d $(DESTDIR)$$($(APXS) -q LIBEXECDIR)
	$(APXS) -i -S LIBEXECDIR=$(DESTDIR)$$($(APXS) -q LIBEXECDIR) \
	    -n condcache mod_condcache.la
	install -d $(DESTDIR)/etc/apache2/mods-available
	sed 's|@LIBEXECDIR@|'"$$($(APXS) -q LIBEXECDIR)"'|' debian/condcache.load \
	    > $(DESTDIR)/etc/apache2/mods-available/condcache.load
	install -m 644 debian/condcache.conf \
	    $(DESTDIR)/etc/apache2/mods-available/condcache.conf

# What 'make install' wrote, with the same DESTDIR, is removed.  A module
# still enabled (mods-enabled/condcache.*) is left alone, with a message:
# a2dismod condcache first, or apache2 would not start again.  A
# mods-available file changed since 'make install' is kept and named, as
# apt-get remove keeps a changed conffile; the package's files are never
# touched (apt-get remove libapache2-mod-condcache removes those).
uninstall:
	@set -e; libexec=$$($(APXS) -q LIBEXECDIR); \
	avail=$(DESTDIR)/etc/apache2/mods-available; \
	enabled=$(DESTDIR)/etc/apache2/mods-enabled; \
	for f in $$enabled/condcache.load $$enabled/condcache.conf; do \
	    if [ -e "$$f" ] || [ -L "$$f" ]; then \
	        echo "condcache is enabled ($$f): run a2dismod condcache" \
	             "and reload apache2, then make uninstall" >&2; \
	        exit 1; \
	    fi; \
	done; \
	if [ -z "$(DESTDIR)" ] && dpkg -S "$$libexec/mod_condcache.so" \
	        >/dev/null 2>&1; then \
	    echo "$$libexec/mod_condcache.so is the package's: apt-get remove" \
	         "libapache2-mod-condcache" >&2; \
	    exit 1; \
	fi; \
	drop() { \
	    [ -e "$$2" ] || return 0; \
	    if cmp -s "$$1" "$$2"; then echo "rm -f $$2"; rm -f "$$2"; \
	    else echo "kept $$2: changed since make install"; fi; \
	}; \
	echo "rm -f $(DESTDIR)$$libexec/mod_condcache.so"; \
	rm -f $(DESTDIR)$$libexec/mod_condcache.so; \
	sed 's|@LIBEXECDIR@|'"$$libexec"'|' debian/condcache.load | \
	    drop - $$avail/condcache.load; \
	drop debian/condcache.conf $$avail/condcache.conf

clean:
	rm -rf .libs *.la *.lo *.slo *.o tests/bin tests/bin-asan asan
	rm -rf fuzz/bin fuzz/work
	-cd t && perl TEST.PL -clean >/dev/null 2>&1
	rm -f t/modules t/logs/asan.* t/logs/ubsan.*
	-sh example/run.sh stop $(PORT) >/dev/null 2>&1
	rm -rf example/run
