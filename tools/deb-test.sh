#!/bin/sh
# tools/deb-test.sh [DIR]: the Debian package, used as an administrator
# uses it.  'make deb-test' builds it into DIR (build/deb) first, lintian
# failing it on any error; 'make test' runs this as root when CI=true.
# As root, it checks, printing TAP:
#
#   - the package holds the module, condcache.load (a LoadModule of
#     Apache's module directory), condcache.conf, the README, copyright,
#     and docs/conformance.md and CHANGES where the tree has them;
#   - 'apt-get install ./<the .deb>' installs it and nothing else, without
#     enabling it; 'a2enmod condcache' enables it;
#   - Debian's apache2, started by apache2ctl from /etc/apache2 (Debian's
#     envvars, mods-enabled, conf-enabled, sites-enabled) on 127.0.0.1:PORT
#     with a site where CondCache is on, loads the package's module, gives
#     a file the module's tag (CondCacheETag Digest: the XXH3-128 of its
#     bytes, by xxhsum, a tag stock httpd never makes) and answers 304 to
#     If-None-Match with it, and 200 to another tag; its error log has no
#     warning;
#   - once apache2 is stopped, 'a2dismod condcache' and 'apt-get purge'
#     leave /etc/apache2 and /var/lib/apache2 (a2enmod's records) as they
#     were, file for file and byte for byte, the package unknown to dpkg,
#     and the system's apache2 running or not as it was.
#
# What it never touches: ports.conf (its Listen 80) and the system's
# apache2 service.  apache2ctl reads, through its own APACHE_ENVVARS and
# APACHE_ARGUMENTS, an envvars that sources /etc/apache2/envvars and then
# puts the pid file, the lock, the run directory and the logs in a
# temporary directory (not /var/run/apache2 nor /var/log/apache2), and a
# copy of apache2.conf whose 'Include ports.conf' includes this test's
# Listen and site instead.  So a system apache2 that runs is left alone.
# A policy-rc.d keeps apt-get from starting or restarting services, where
# the machine has none.  The port is DEB_TEST_PORT, else a free one.
#
# It refuses to run, changing nothing, when the package or a 'make install'
# copy of the module is there: it would replace them, then remove them.
# Every change is undone on failure too.  While the module is enabled
# (seconds), an Apache::Test run that starts on this machine inherits its
# LoadModule from /etc/apache2, as it inherits every enabled module's.
set -eu

pkg=libapache2-mod-condcache
etc=/etc/apache2
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$top/build/deb}

die() { echo "deb-test: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run it as root (make deb-test): it installs" \
    "$pkg and starts Debian's apache2"
for cmd in apt-get dpkg-parsechangelog apache2ctl a2enmod a2query curl \
           xxhsum apxs; do
    command -v $cmd >/dev/null || die "$cmd is missing (sh tools/deps.sh deb)"
done

version=$(cd "$top" && dpkg-parsechangelog -S Version)
deb=$dir/${pkg}_${version}_$(dpkg --print-architecture).deb
case $deb in /*) ;; *) deb=$PWD/$deb ;; esac
[ -f "$deb" ] || die "$deb is missing: make deb builds it"
libexec=$(apxs -q LIBEXECDIR)

# --- what is there before --------------------------------------------

pkg_status() {  # empty when dpkg knows nothing of it
    s=$(dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$s" = not-installed ] || echo "$s"
}
case $(pkg_status) in
    '') ;;
    *) die "$pkg is on this machine ($(pkg_status)): the test would" \
           "replace and remove it; apt-get purge $pkg first" ;;
esac
for f in "$libexec/mod_condcache.so" $etc/mods-available/condcache.load \
         $etc/mods-available/condcache.conf $etc/mods-enabled/condcache.load \
         $etc/mods-enabled/condcache.conf; do
    if [ -e "$f" ] || [ -L "$f" ]; then
        die "$f is there ('make install'?): the package would take it" \
            "over and its removal take it away; 'make uninstall' first"
    fi
done
grep -qx 'Include ports.conf' $etc/apache2.conf ||
    die "$etc/apache2.conf has no 'Include ports.conf' line to replace"

# apt-get would install the package alone (its dependencies are there:
# else the purge would leave them behind)
others=$(apt-get -s install "$deb" 2>/dev/null |
         sed -n 's/^Inst \([^ ]*\) .*/\1/p' | grep -vx "$pkg" || true)
[ -z "$others" ] || die "installing $pkg would install$(echo " $others" |
    tr '\n' ' ')too; install them first, or run this on another machine"

snapshot() {    # every file, link and directory, with owner, mode, bytes
    find $etc /var/lib/apache2 -printf '%p %y %m %u:%g %l\n' 2>/dev/null |
        LC_ALL=C sort
    find $etc /var/lib/apache2 -type f -exec sha256sum {} + 2>/dev/null |
        LC_ALL=C sort -k 2
}
system_apache2() {
    p=/var/run/apache2/apache2.pid
    if [ -f $p ] && kill -0 "$(cat $p)" 2>/dev/null; then
        echo "running, pid $(cat $p)"
    else
        echo "not running"
    fi
}

work=$(mktemp -d /tmp/condcache-deb.XXXXXX)
chmod 755 "$work"
snapshot > "$work/before"
find /var/lib/apache2 -type d > "$work/dirs"
system_before=$(system_apache2)

if [ -n "${DEB_TEST_PORT:-}" ]; then
    port=$DEB_TEST_PORT
else
    port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(
        Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0)->sockport')
fi

# --- TAP ----------------------------------------------------------------

n=0
failed=0
passed=""       # whether the last ok passed
ok() {          # ok DESCRIPTION COMMAND...: a test; the output on failure
    desc=$1; shift
    n=$((n + 1))
    if "$@" >"$work/out" 2>&1; then
        echo "ok $n - $desc"
        passed=yes
    else
        echo "not ok $n - $desc"
        sed 's/^/#   /' "$work/out"
        failed=$((failed + 1))
        passed=""
    fi
}
is() {          # is GOT EXPECTED: says both when they differ
    [ "$1" = "$2" ] && return 0
    echo "got:      '$1'"; echo "expected: '$2'"; return 1
}
bail() { echo "Bail out! $*"; exit 1; }

# --- undoing, on success and failure alike -------------------------------

policy=""
installed=""
enabled=""
started=""
pid=""
apache2ctl_() {
    APACHE_CONFDIR=$etc APACHE_ENVVARS=$work/envvars \
    APACHE_ARGUMENTS="-d $etc -f $work/apache2.conf" \
    APACHE_STARTED_BY_SYSTEMD=not-systemd apache2ctl "$@"
}
stop_apache2() {
    [ -n "$started" ] || return 0
    for _ in $(seq 1 50); do        # a start that was cut short
        [ -z "$pid" ] || break
        pid=$(cat "$work/run/apache2.pid" 2>/dev/null || true)
        [ -n "$pid" ] || sleep 0.1
    done
    apache2ctl_ -k stop || true
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "# apache2 (pid $pid) did not stop: killed"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    started=""
    pid=""
}
apt_() {
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
        "$@"
}
undo() {
    stop_apache2
    if [ -n "$enabled" ]; then
        a2dismod -q condcache || true
        enabled=""
    fi
    if [ -n "$installed" ]; then
        apt_ purge "$pkg" || true
        installed=""
    fi
    if [ -n "$policy" ]; then
        rm -f "$policy"
        policy=""
    fi
    # a2enmod and a2dismod make the directories of their records
    # (enabled_by_admin, disabled_by_admin) and leave them, empty
    find /var/lib/apache2 -depth -type d -empty | while read -r d; do
        grep -qxF "$d" "$work/dirs" || rmdir "$d"
    done
}
finish() {
    rc=$?
    undo >/dev/null 2>&1
    if [ "$rc" != 0 ] && [ -f "$work/before" ]; then
        snapshot > "$work/after"
        if ! cmp -s "$work/before" "$work/after"; then
            echo "# after undoing, $etc or /var/lib/apache2 differ:"
            diff "$work/before" "$work/after" | sed 's/^/#   /'
        fi
        echo "# the error log and the site's files: kept in $work"
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap finish EXIT
trap 'echo "# interrupted"; exit 1' HUP INT TERM

if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\n# mod_condcache tools/deb-test.sh, while it runs\nexit 101\n' \
        > $policy
    chmod 755 $policy
fi

# --- the package ----------------------------------------------------------

echo "# $deb on 127.0.0.1:$port; the system's apache2 is $system_before"
dpkg-deb -c "$deb" | awk '{ print $NF }' > "$work/contents"
for f in "$libexec/mod_condcache.so" $etc/mods-available/condcache.load \
         $etc/mods-available/condcache.conf \
         /usr/share/doc/$pkg/README.gz /usr/share/doc/$pkg/copyright; do
    ok "the package holds $f" grep -qx ".$f" "$work/contents"
done
# where the tree has them: the rules (docs/) and the changes (CHANGES)
doc=./usr/share/doc/$pkg
[ ! -f "$top/docs/conformance.md" ] ||
    ok "the package holds docs/conformance.md" \
        grep -qxE "$doc/docs/conformance\.md(\.gz)?" "$work/contents"
[ ! -f "$top/CHANGES" ] ||
    ok "the package holds CHANGES as changelog.gz" \
        grep -qx "$doc/changelog.gz" "$work/contents"

installed=yes
apt_ install "$deb" > "$work/apt.log" 2>&1 ||
    { cat "$work/apt.log"; bail "apt-get install $deb failed"; }
ok "apt-get install: $pkg installed" is "$(pkg_status)" installed
ok "condcache.load loads the package's module" is \
    "$(grep -v '^#' $etc/mods-available/condcache.load)" \
    "LoadModule condcache_module $libexec/mod_condcache.so"
ok "installing does not enable the module" \
    test ! -e $etc/mods-enabled/condcache.load

enabled=yes
ok "a2enmod condcache" a2enmod condcache
ok "a2query -m condcache: enabled" a2query -q -m condcache
for f in load conf; do
    ok "mods-enabled/condcache.$f links to mods-available" is \
        "$(readlink $etc/mods-enabled/condcache.$f)" \
        "../mods-available/condcache.$f"
done

# --- Debian's apache2 with a site that uses it -----------------------------

mkdir -p "$work/htdocs" "$work/run" "$work/lock" "$work/log"
printf 'hello from the package of mod_condcache\n' > "$work/htdocs/hello.txt"
echo ready > "$work/htdocs/ready.txt"
tag="\"$(xxhsum -H2 < "$work/htdocs/hello.txt" | cut -c1-32)\""
cat > "$work/envvars" <<EOF
# Debian's envvars, then this test's own places for what apache2 writes
. $etc/envvars
export APACHE_PID_FILE=$work/run/apache2.pid
export APACHE_RUN_DIR=$work/run
export APACHE_LOCK_DIR=$work/lock
export APACHE_LOG_DIR=$work/log
EOF
cat > "$work/site.conf" <<EOF
# tools/deb-test.sh: instead of ports.conf
ServerName 127.0.0.1
Listen 127.0.0.1:$port
<VirtualHost 127.0.0.1:$port>
    DocumentRoot $work/htdocs
    CustomLog \${APACHE_LOG_DIR}/condcache.log "%m %U %>s [%{condcache}n]"
    <Directory $work/htdocs>
        Require all granted
        CondCache On
        CondCacheETag Digest
    </Directory>
</VirtualHost>
EOF
sed "s|^Include ports.conf\$|Include $work/site.conf|" $etc/apache2.conf \
    > "$work/apache2.conf"

loads_condcache() {
    apache2ctl_ -M > "$work/modules" 2>&1 || { cat "$work/modules"; return 1; }
    grep -q 'condcache_module (shared)' "$work/modules"
}
ok "apache2ctl configtest" apache2ctl_ configtest
ok "apache2 loads condcache_module" loads_condcache
started=yes
apache2ctl_ -k start > "$work/start.log" 2>&1 ||
    { cat "$work/start.log" "$work/log/error.log" 2>/dev/null || true
      bail "apache2ctl -k start failed"; }
for _ in $(seq 1 100); do
    [ -s "$work/run/apache2.pid" ] && pid=$(cat "$work/run/apache2.pid") &&
        curl -s -o /dev/null "http://127.0.0.1:$port/ready.txt" && break
    sleep 0.1
done
[ -n "$pid" ] || bail "apache2 wrote no pid file"

url=http://127.0.0.1:$port/hello.txt
curl -s -D "$work/h1" -o "$work/b1" "$url" || bail "no answer from $url"
ok "200 with the file's bytes" is \
    "$(sed -n '1s/\r$//p' "$work/h1") $(cat "$work/b1")" \
    "HTTP/1.1 200 OK $(cat "$work/htdocs/hello.txt")"
ok "ETag is the module's digest tag (XXH3-128 of the bytes)" is \
    "$(sed -n 's/^ETag: \(.*\)\r$/\1/Ip' "$work/h1")" "$tag"
got=$(curl -s -D "$work/h2" -o /dev/null -w '%{http_code} %{size_download}' \
    -H "If-None-Match: $tag" "$url")
ok "If-None-Match with that tag: 304, no body" is "$got" "304 0"
ok "the 304 has the same ETag" is \
    "$(sed -n 's/^ETag: \(.*\)\r$/\1/Ip' "$work/h2")" "$tag"
ok "If-None-Match with another tag: 200" is "$(curl -s -o /dev/null \
    -w '%{http_code}' -H 'If-None-Match: "other"' "$url")" 200

stop_apache2
closed() { ! curl -s -o /dev/null "http://127.0.0.1:$port/"; }
ok "apache2 stopped, the port closed" closed
# the first word of each note of hello.txt ("200 unconditional", ...)
ok "the module's notes: 200, then 304, then 200" is \
    "$(sed -n 's|^GET /hello.txt [0-9]* \[\([0-9a-z]*\) .*|\1|p' \
       "$work/log/condcache.log" | tr '\n' ' ')" "200 304 200 "
quiet_log() {
    ! grep -E '\[[a-z_0-9]*:(warn|error|crit|alert|emerg)\]' \
        "$work/log/error.log"
}
ok "the error log has no warning nor error" quiet_log

# --- removed again ------------------------------------------------------------

ok "a2dismod condcache" a2dismod condcache
[ -z "$passed" ] || enabled=""
ok "apt-get purge $pkg" apt_ purge "$pkg"
[ -z "$passed" ] || installed=""
ok "dpkg knows no $pkg" is "$(pkg_status)" ""
for f in "$libexec/mod_condcache.so" $etc/mods-available/condcache.load \
         $etc/mods-available/condcache.conf /usr/share/doc/$pkg; do
    ok "$f is gone" test ! -e "$f"
done
undo
snapshot > "$work/after"
ok "$etc and /var/lib/apache2 are as they were" diff "$work/before" \
    "$work/after"
ok "the system's apache2 is $system_before, as before" is \
    "$(system_apache2)" "$system_before"

echo "1..$n"
[ "$failed" = 0 ] || { echo "# $failed of $n failed"; exit 1; }
