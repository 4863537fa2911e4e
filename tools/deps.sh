#!/bin/sh
# Install what building and testing mod_condcache needs, when it is
# missing: Debian packages only.  As root it installs them; otherwise it
# says what to install and fails.  'tools/deps.sh deb' adds what 'make deb'
# and 'make deb-test' need.
set -eu

missing=""
need() {    # need PACKAGE TEST...
    pkg=$1; shift
    if ! "$@" >/dev/null 2>&1; then
        missing="$missing $pkg"
    fi
}

need apache2              test -x /usr/sbin/apache2
need apache2-dev          sh -c 'command -v apxs'
need libapache2-mod-perl2 perl -MApache::TestRun -e1
need libwww-perl          perl -MLWP::UserAgent -e1
need pkg-config           sh -c 'command -v pkg-config'
need check                pkg-config --exists check
need libxxhash-dev        test -f /usr/include/xxhash.h
need curl                 sh -c 'command -v curl'
need xxhash               sh -c "command -v xxhsum"
need make                 sh -c 'command -v make'
# the validator store's services, started by the tests on loopback ports
need memcached            test -x /usr/bin/memcached
need redis-server         test -x /usr/bin/redis-server
# t/php.t: Debian's php-fpm, whose pool the test starts (never the
# system's service)
need php8.2-fpm           test -x /usr/sbin/php-fpm8.2
need gcc                  sh -c 'command -v gcc'
# TLS and HTTP/2 (t/tls.t, t/h2.t): Apache::Test makes its test CA with
# openssl, LWP speaks https, nghttp is an HTTP/2 client; and mod_ssl warns
# (AH01882, into the error log the tests read) when the libssl it loads is
# older than the one it was built with
need openssl              sh -c 'command -v openssl'
need liblwp-protocol-https-perl perl -MLWP::Protocol::https -e1
need nghttp2-client       sh -c 'command -v nghttp'
ssl_probe='so=$(apxs -q LIBEXECDIR)/mod_ssl.so
built=$(grep -aom1 "OpenSSL [0-9][0-9.]*" "$so" | head -1 | cut -d" " -f2)
v=$(openssl version)
case $v in *Library:*) v=${v#*Library: } ;; esac
loaded=$(echo "$v" | cut -d" " -f2)
dpkg --compare-versions "$loaded" ge "$built"'
need libssl3              sh -c "$ssl_probe"
# make fuzz: clang and its libFuzzer runtime (libclang_rt.fuzzer-*.a,
# in libclang-rt-14-dev on Debian 12, which libclang-rt-dev pulls in)
fuzz_probe='int LLVMFuzzerTestOneInput(void) { return 0; }'
need clang                sh -c 'command -v clang'
need libclang-rt-dev      sh -c "echo '$fuzz_probe' | clang -x c - \
                              -fsanitize=fuzzer -o /dev/null"
# make deb (dpkg-buildpackage; dh_apache2 is apache2-dev's) and make
# deb-test (lintian; build-essential, which dpkg-buildpackage checks for)
if [ "${1:-}" = deb ]; then
    need dpkg-dev         sh -c 'command -v dpkg-buildpackage'
    need debhelper        sh -c 'command -v dh'
    need build-essential  sh -c "dpkg-query -W -f '\${db:Status-Status}' \
                              build-essential | grep -qx installed"
    need lintian          sh -c 'command -v lintian'
fi

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "mod_condcache needs these Debian packages:$missing" >&2
    echo "install them (sudo apt-get install$missing) and run again" >&2
    exit 1
fi
echo "installing:$missing"
# shellcheck disable=SC2086
sh "$(dirname "$0")/apt-install.sh" $missing
