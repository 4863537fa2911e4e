#!/bin/sh
# tools/apt-install.sh PACKAGE...: install Debian packages, as root,
# without starting the services they hold (memcached and redis-server
# would start system-wide ones on their standard ports; the tests and the
# benchmarks start their own).  A policy-rc.d of its own keeps them from
# starting, only where the machine has none, and goes again after.
# tools/deps.sh and bench/run.sh call it.
set -eu

export DEBIAN_FRONTEND=noninteractive
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# mod_condcache tools/apt-install.sh, for one apt-get run\nexit 101\n' \
        > "$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
