#!/usr/bin/env bash
# make bench: what mod_condcache costs and saves, against stock httpd run
# side by side on 127.0.0.1.  Everything lives under bench/work/; nothing
# outside the tree is changed (wrk is installed when missing, as root).
#
#   BENCH_SECONDS  seconds a wrk run (3)     BENCH_ROUNDS  A B B A rounds (2)
#   BENCH_SKIP_CALLGRIND=1, BENCH_SKIP_WRK=1 to leave a part out
#   BENCH_ONLY="proxy proxy-inm"  only these workloads
#
# The store-* workloads run on servers of their own, each with one
# validator store (CondCacheStore is one a server): shmcb, and memcached
# and redis-server, which this script starts on loopback ports, as the
# user nobody when root, and stops at the end (installed when missing, as
# root, without their system services).  Their conditional rows are set
# against stock running the page and against the module's static 304
# (s1k-inm, run with them), and checked against the store's targets.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
W="$top/bench/work"
SECS=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-2}
APXS=${APXS:-apxs}
HTTPD="$($APXS -q SBINDIR)/$($APXS -q TARGET)"
MODULES=$($APXS -q LIBEXECDIR)
declare -A PORT=([stock]=8101 [module]=8102 [stock2]=8103 [backend]=8109
                 [store-shm]=8104 [store-mc]=8105 [store-rd]=8106
                 [memcached]=8111 [redis]=8112)
# the module's servers with a validator store: what CondCacheStore names,
# and the service on the network each one asks (its CPU is counted with
# the server's, as the backend's is with the proxy's)
declare -A STORE=([store-shm]="shmcb"
                  [store-mc]="memcache:127.0.0.1:${PORT[memcached]}"
                  [store-rd]="redis:127.0.0.1:${PORT[redis]}")
declare -A SERVICE=([store-mc]=memcached [store-rd]=redis)
declare -A SVC_PID=()

# --- the workloads: name, path, which conditional header, and the server
# --- that stands for the module (module when not named) ------------------
# The store rows ask for the page of dyn and dyn-inm on a server whose
# <Location /dyn.lua> keeps validators in its store: store-X is the
# unconditional 200 (the handler runs, and its validators are stored),
# store-X-inm the conditional GET with the page's tag, answered 304 from
# the store without running the handler.
WORKLOADS=(
    "s1k           /s1k.bin        -"
    "s64k          /s64k.bin       -"
    "s1m           /s1m.bin        -"
    "s1k-inm       /s1k.bin        inm"
    "s1k-ims       /s1k.bin        ims"
    "pol           /pol/s1k.bin    -"
    "pol-inm       /pol/s1k.bin    inm"
    "dyn           /dyn.lua        -"
    "dyn-inm       /dyn.lua        inm"
    "proxy         /proxy/dyn.lua  -"
    "proxy-inm     /proxy/dyn.lua  inm"
    "store-shm     /dyn.lua        -      store-shm"
    "store-shm-inm /dyn.lua        inm    store-shm"
    "store-mc      /dyn.lua        -      store-mc"
    "store-mc-inm  /dyn.lua        inm    store-mc"
    "store-rd      /dyn.lua        -      store-rd"
    "store-rd-inm  /dyn.lua        inm    store-rd"
)
if [ -n "${BENCH_ONLY:-}" ]; then
    only=" $BENCH_ONLY "
    # a store's 304 is set against the static 304 of the same run
    for o in $BENCH_ONLY; do
        [[ $o == store-*-inm ]] && only+="s1k-inm "
    done
    for i in "${!WORKLOADS[@]}"; do
        [[ $only == *" ${WORKLOADS[$i]%% *} "* ]] ||
            unset "WORKLOADS[$i]"
    done
fi
server_of() {   # server_of WORKLOAD-LINE: the server for the module's side
    local _n _p _k s
    read -r _n _p _k s <<<"$1"
    echo "${s:-module}"
}
# the module's servers the workloads need, in order, and their services
SERVERS=()
SERVICES=()
for w in "${WORKLOADS[@]}"; do
    s=$(server_of "$w")
    [[ " ${SERVERS[*]} " == *" $s "* ]] || SERVERS+=("$s")
    if [ -n "${SERVICE[$s]:-}" ] && [[ " ${SERVICES[*]} " != *" ${SERVICE[$s]} "* ]]; then
        SERVICES+=("${SERVICE[$s]}")
    fi
done

if ! command -v wrk >/dev/null || ! command -v ab >/dev/null || ! command -v bc >/dev/null || ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk apache2-utils bc valgrind >/dev/null
    else
        echo "make bench needs wrk, ab, bc and valgrind (apt-get install wrk apache2-utils bc valgrind)" >&2
        exit 1
    fi
fi

# the stores' services, for the workloads that ask them; installed by
# tools/apt-install.sh, which keeps Debian from starting the system-wide
# services on their standard ports
declare -A SVC_PKG=([memcached]=memcached [redis]=redis-server)
declare -A SVC_BIN=([memcached]=/usr/bin/memcached [redis]=/usr/bin/redis-server)
missing=""
for v in "${SERVICES[@]}"; do
    [ -x "${SVC_BIN[$v]}" ] || missing+=" ${SVC_PKG[$v]}"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "the store workloads need$missing (apt-get install$missing)," \
             "or leave them out with BENCH_ONLY" >&2
        exit 1
    fi
    # shellcheck disable=SC2086
    sh "$top/tools/apt-install.sh" $missing
fi

rm -rf "$W"
mkdir -p "$W/htdocs" "$W/cg"
# everything below writes to absolute paths; a stray redirection (awk's
# "print x > y" once wrote files named 0.9995 at the top of the tree)
# lands in bench/work
cd "$W"
chmod 755 "$W" "$W/htdocs"

# --- the site ------------------------------------------------------------
for s in 1k:1024 64k:65536 1m:1048576; do
    perl -e 'srand(42); print map { chr(97 + int(rand(26))) } 1 .. $ARGV[0]' \
        "${s#*:}" > "$W/htdocs/s${s%%:*}.bin"
done
mkdir -p "$W/htdocs/pol"
cp "$W/htdocs/s1k.bin" "$W/htdocs/pol/s1k.bin"
touch -d '2024-01-01 00:00:00 UTC' "$W"/htdocs/*.bin "$W"/htdocs/pol/*.bin
cp "$top/bench/dyn.lua" "$W/htdocs/dyn.lua"

user_lines=""
if [ "$(id -u)" = 0 ]; then
    user_lines=$'User www-data\nGroup www-data'
fi

# the freshness policy of /pol/, as mod_expires' directives (stock) or the
# module's, in place of mod_expires (module): four rules by type
rules() {   # rules PREFIX
    printf '    %sByType %s "%s"\n' \
        "$1" text/css "access plus 1 month" \
        "$1" image/png "access plus 1 week" \
        "$1" text/html "access plus 10 minutes" \
        "$1" application/octet-stream "access plus 1 hour"
}

conf() {    # conf NAME MODULE(0|1) [STORE]
    local name=$1 module=$2 store=${3:-} dir="$W/$1"
    # a store's lifetime in the scope of the page: longer than any run, so
    # that no entry goes stale between its priming and its row
    local lifetime=""
    [ -z "$store" ] || lifetime='    CondCacheStoreLifetime "access plus 1 day"'
    mkdir -p "$dir"
    {
        cat <<EOC
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:${PORT[$name]}
PidFile "$dir/httpd.pid"
ErrorLog "$dir/error_log"
LogLevel warn
$user_lines
LoadModule mpm_event_module "$MODULES/mod_mpm_event.so"
LoadModule authz_core_module "$MODULES/mod_authz_core.so"
LoadModule mime_module "$MODULES/mod_mime.so"
LoadModule lua_module "$MODULES/mod_lua.so"
LoadModule proxy_module "$MODULES/mod_proxy.so"
LoadModule proxy_http_module "$MODULES/mod_proxy_http.so"
LoadModule expires_module "$MODULES/mod_expires.so"
LoadModule socache_shmcb_module "$MODULES/mod_socache_shmcb.so"
LoadModule socache_memcache_module "$MODULES/mod_socache_memcache.so"
LoadModule socache_redis_module "$MODULES/mod_socache_redis.so"
TypesConfig /etc/mime.types
DocumentRoot "$W/htdocs"
KeepAlive On
MaxKeepAliveRequests 0
<Directory "$W/htdocs">
    Require all granted
    AddHandler lua-script .lua
</Directory>
ProxyPass /proxy/ http://127.0.0.1:${PORT[backend]}/
EOC
        # the same sections on both sides, so that walking them costs the
        # same: only the module's directives differ (every server loads the
        # socache providers, which have no hook in a request, so that the
        # module tables are as long on both sides)
        if [ "$module" = 0 ]; then
            cat <<EOC
<Directory "$W/htdocs">
    Options FollowSymLinks
</Directory>
<Directory "$W/htdocs/pol">
    Options FollowSymLinks
    ExpiresActive On
$(rules Expires)
</Directory>
<Location /dyn.lua>
    Options FollowSymLinks
</Location>
<Location /proxy/>
    Options FollowSymLinks
</Location>
EOC
        fi
        if [ "$module" = 1 ]; then
            cat <<EOC
LoadModule condcache_module "$top/.libs/mod_condcache.so"
${store:+CondCacheStore $store}
# valgrind runs httpd some fifty times slower: the store's default wait
# (50ms) would be over before memcached or Redis answered under callgrind
${store:+CondCacheStoreTimeout 5s}
<Directory "$W/htdocs">
    Options FollowSymLinks
    CondCache On
</Directory>
<Directory "$W/htdocs/pol">
    Options FollowSymLinks
$(rules CondCacheExpires)
</Directory>
<Location /dyn.lua>
    Options FollowSymLinks
    CondCacheDigest On
$lifetime
</Location>
<Location /proxy/>
    Options FollowSymLinks
    CondCache On
    CondCacheDigest On
</Location>
EOC
        fi
        if [ -n "$store" ]; then
            # started with -D BENCH_CHECK once, before the runs: the log
            # shows how the module answered each request (store_check)
            cat <<EOC
<IfDefine BENCH_CHECK>
LogFormat "%>s %{condcache}n" condcache
CustomLog "$dir/check_log" condcache
</IfDefine>
EOC
        fi
    } > "$dir/httpd.conf"
}

start() {   # start NAME [extra httpd args]
    local name=$1; shift
    "$HTTPD" -d "$W/$name" -f "$W/$name/httpd.conf" "$@" -k start
    wait_port "${PORT[$name]}"
}

wait_port() {
    local i
    for i in $(seq 1 200); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        sleep 0.1
    done
    echo "port $1 did not answer" >&2
    return 1
}

stop() {   # stop NAME, and wait until its parent has gone (its port is free)
    local pid i
    pid=$(cat "$W/$1/httpd.pid" 2>/dev/null) || pid=""
    "$HTTPD" -d "$W/$1" -f "$W/$1/httpd.conf" -k stop >/dev/null 2>&1 || true
    [ -n "$pid" ] || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

wait_tcp() {   # wait_tcp PORT: until something listens there
    local i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "port $1 did not answer" >&2
    return 1
}

# memcached and redis-server on loopback, in the foreground of a job of
# this script (so that $! is the service itself), as nobody when root;
# nothing of theirs is kept on disk but their logs
start_service() {   # start_service memcached|redis
    local v=$1 port=${PORT[$1]} d="$W/svc"
    local -a as=()
    mkdir -p "$d"
    if [ "$(id -u)" = 0 ]; then
        as=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
    fi
    case $v in
    memcached)
        "${as[@]}" "${SVC_BIN[memcached]}" -l 127.0.0.1 -p "$port" -U 0 \
            -m 64 > "$d/memcached.log" 2>&1 & ;;
    redis)
        "${as[@]}" "${SVC_BIN[redis]}" --bind 127.0.0.1 --port "$port" \
            --save "" --appendonly no --dir "$d" --logfile "" \
            > "$d/redis.log" 2>&1 & ;;
    esac
    SVC_PID[$v]=$!
    wait_tcp "$port"
}

stop_service() {
    local pid=${SVC_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "SVC_PID[$1]"
}

cleanup() {
    local n
    for n in stock module stock2 backend "${!STORE[@]}"; do stop "$n"; done
    for n in "${!SVC_PID[@]}"; do stop_service "$n"; done
}
trap cleanup EXIT

for n in stock stock2 backend; do conf "$n" 0; done
conf module 1
for n in "${SERVERS[@]}"; do
    [ -z "${STORE[$n]:-}" ] || conf "$n" 1 "${STORE[$n]}"
done
(cd "$top" && make -s build >/dev/null)
start backend
for v in "${SERVICES[@]}"; do start_service "$v"; done

# Each store's server once with its check log: the page's 200, then its
# tag, must come back as a 304 from the store ("304 store-match"), or the
# rows would measure something else.  Then stopped, to run without a log.
store_check() {   # store_check NAME
    local port=${PORT[$1]} tag code note
    start "$1" -D BENCH_CHECK
    tag=$(curl -s -o /dev/null -D - "http://127.0.0.1:$port/dyn.lua" |
          awk -F': ' 'tolower($1) == "etag" { print $2 }' | tr -d '\r')
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $tag" \
           "http://127.0.0.1:$port/dyn.lua")
    stop "$1"
    note=$(tail -n 1 "$W/$1/check_log" 2>/dev/null | cut -d' ' -f2-)
    if [ "$code" != 304 ] || [ "$note" != "304 store-match" ]; then
        echo "store check: $1 (${STORE[$1]}) answered $code, note '$note'," \
             "not a 304 from the store (see $W/$1/error_log)" >&2
        exit 1
    fi
}
for n in "${SERVERS[@]}"; do
    [ -z "${STORE[$n]:-}" ] || store_check "$n"
done

# the header a conditional workload sends to a server: the validator that
# server gave the same URL (stock has none for dynamic pages, so the
# module's tag is sent there: stock answers 200, as it always does)
cond_header() {   # cond_header NAME PATH KIND
    local port=${PORT[$1]} v
    case $3 in
    inm)
        v=$(curl -s -o /dev/null -D - "http://127.0.0.1:$port$2" |
            awk -F': ' 'tolower($1) == "etag" { print $2 }' | tr -d '\r')
        if [ -z "$v" ]; then
            v=$(curl -s -o /dev/null -D - "http://127.0.0.1:${PORT[module]}$2" |
                awk -F': ' 'tolower($1) == "etag" { print $2 }' | tr -d '\r')
        fi
        echo "If-None-Match: $v" ;;
    ims)
        v=$(curl -s -o /dev/null -D - "http://127.0.0.1:$port$2" |
            awk -F': ' 'tolower($1) == "last-modified" { print $2 }' | tr -d '\r')
        echo "If-Modified-Since: $v" ;;
    *)  echo "X-Bench: unconditional" ;;
    esac
}

server_ticks() {  # utime + stime of a server's processes, in clock ticks
    local parent t=0 f
    parent=$(cat "$W/$1/httpd.pid")
    for f in /proc/[0-9]*/stat; do
        # (2> first: a process may be gone between the glob and the read)
        read -r -a s 2>/dev/null < "$f" || continue
        if [ "${s[0]}" = "$parent" ] || [ "${s[3]}" = "$parent" ]; then
            t=$((t + s[13] + s[14]))
        fi
    done
    echo "$t"
}

svc_ticks() {   # utime + stime of a service (every thread of it)
    local -a st
    if read -r -a st 2>/dev/null < "/proc/${SVC_PID[$1]}/stat"; then
        echo $((st[13] + st[14]))
    else
        echo "the store's service $1 has gone (see $W/svc/$1.log)" >&2
        echo 0
    fi
}

# what a request costs on the server's side: a proxied page costs its
# backend too, a store on the network its service: both counted
ticks() {   # ticks NAME PATH
    local t
    t=$(server_ticks "$1")
    [[ $2 == /proxy/* ]] && t=$((t + $(server_ticks backend)))
    [ -z "${SERVICE[$1]:-}" ] || t=$((t + $(svc_ticks "${SERVICE[$1]}")))
    echo "$t"
}

RESULTS="$W/results.txt"
: > "$RESULTS"

wrk_one() {   # wrk_one NAME PATH HEADER CONNS -> "rps lat_ms cpu_us_per_req"
    local name=$1 path=$2 header=$3 conns=$4 out t0 t1 n rps lat
    t0=$(ticks "$name" "$path")
    out=$(wrk -t1 -c"$conns" -d"${SECS}s" -H "$header" \
          "http://127.0.0.1:${PORT[$name]}$path" 2>&1)
    t1=$(ticks "$name" "$path")
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    lat=$(awk '/^ +Latency/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 }
              else if (v ~ /ms$/) sub(/ms/, "", v);
              else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 } print v }' <<<"$out")
    echo "$rps $lat $(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
                      'BEGIN { printf "%.1f", d * 1e6 / hz / n }')"
}

# A B B A rounds of one workload between two servers; prints the means.
# With PATH_B and WORKLOAD_B, B runs that other workload (a store's 304
# against a static 304)
abba() {   # abba A B PATH KIND CONNS WORKLOAD [PATH_B WORKLOAD_B]
    local a=$1 b=$2 path=$3 kind=$4 conns=$5 ha hb r x
    local pb=${7:-$3}
    local -a ra=() rb=()
    ha=${HDR[$a:$6]}
    hb=${HDR[$b:${8:-$6}]}
    for r in $(seq 1 "$ROUNDS"); do
        ra+=("$(wrk_one "$a" "$path" "$ha" "$conns")")
        rb+=("$(wrk_one "$b" "$pb" "$hb" "$conns")")
        rb+=("$(wrk_one "$b" "$pb" "$hb" "$conns")")
        ra+=("$(wrk_one "$a" "$path" "$ha" "$conns")")
    done
    for x in a b; do
        local -n arr=r$x
        printf '%s\n' "${arr[@]}" | awk '{ r += $1; l += $2; c += $3; n++ }
            END { printf "%.0f %.3f %.1f ", r / n, l / n, c / n }'
    done
    echo
}

bytes_of() {   # bytes on the wire of one response: header + body
    curl -s -o /dev/null -H "${HDR[$1:$4]}" \
         -w '%{size_header} %{size_download}' "http://127.0.0.1:${PORT[$1]}$2" |
        awk '{ print $1 + $2 }'
}

# a store's server gets the page once before a row, so that its entry is
# there and fresh (shmcb's went with the last server that held it)
prime() {   # prime NAME PATH
    [ -z "${STORE[$1]:-}" ] ||
        curl -s -o /dev/null "http://127.0.0.1:${PORT[$1]}$2"
}

start stock
start module
start stock2
for n in "${SERVERS[@]}"; do
    [ -z "${STORE[$n]:-}" ] || start "$n"
done

# every server's conditional header for every workload it runs, taken once
declare -A HDR
for w in "${WORKLOADS[@]}"; do
    read -r wname path kind srv <<<"$w"
    for n in stock stock2 "${srv:-module}"; do
        HDR[$n:$wname]=$(cond_header "$n" "$path" "$kind")
    done
done

# the store's rows: the static 304 a store's 304 is set against, and the
# figures the targets are checked on
STORE_INM=()
for w in "${WORKLOADS[@]}"; do
    read -r wname _ kind srv <<<"$w"
    [[ $wname == store-*-inm ]] && STORE_INM+=("$wname $srv")
done
declare -A WRK=() STATIC=()

echo "# mod_condcache benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')" >> "$RESULTS"
echo "# $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" >> "$RESULTS"
echo "# $("$HTTPD" -v | head -1); wrk ${SECS}s a run, $ROUNDS A B B A rounds" >> "$RESULTS"
for n in "${SERVERS[@]}"; do
    [ -z "${STORE[$n]:-}" ] ||
        echo "# $n: the module with CondCacheStore ${STORE[$n]} (checked: 304 store-match)" >> "$RESULTS"
done

if [ -z "${BENCH_SKIP_WRK:-}" ]; then
    printf '\n%-13s %9s %9s %7s %8s %8s %7s %7s %7s\n' workload "stock/s" "module/s" \
        ratio "cpu_us A" "cpu_us B" "cpu B/A" "A/A" "bytes" >> "$RESULTS"
    for w in "${WORKLOADS[@]}"; do
        read -r name path kind srv <<<"$w"
        srv=${srv:-module}
        prime "$srv" "$path"
        read -r ra la ca rb lb cb <<<"$(abba stock "$srv" "$path" "$kind" 8 "$name")"
        read -r qa _ _ qb _ _ <<<"$(abba stock stock2 "$path" "$kind" 8 "$name")"
        WRK[$name]="$ra $rb $ca $cb"
        printf '%-13s %9s %9s %7.3f %8s %8s %7.3f %7.3f %4s/%s\n' "$name" "$ra" "$rb" \
            "$(bc -l <<<"$rb / $ra")" "$ca" "$cb" "$(bc -l <<<"$cb / $ca")" \
            "$(bc -l <<<"$qb / $qa")" "$(bytes_of stock "$path" "$kind" "$name")" \
            "$(bytes_of "$srv" "$path" "$kind" "$name")" >> "$RESULTS"
    done
    if [ ${#STORE_INM[@]} -gt 0 ]; then
        printf '\n%-13s %9s %9s %7s %8s %8s   (wrk A B B A: A the static 304 of s1k-inm, B the store'"'"'s 304 of /dyn.lua)\n' \
            workload "static/s" "store/s" ratio "cpu_us A" "cpu_us B" >> "$RESULTS"
        for w in "${STORE_INM[@]}"; do
            read -r name srv <<<"$w"
            prime "$srv" /dyn.lua
            read -r ra la ca rb lb cb <<<"$(abba module "$srv" /s1k.bin inm 8 s1k-inm /dyn.lua "$name")"
            STATIC[$name]=$(bc -l <<<"$rb / $ra")
            printf '%-13s %9s %9s %7.3f %8s %8s\n' "$name" "$ra" "$rb" \
                "${STATIC[$name]}" "$ca" "$cb" >> "$RESULTS"
        done
    fi
    printf '\n%-13s %12s %12s %7s   (wrk -c1, mean latency)\n' workload \
        "stock ms" "module ms" ratio >> "$RESULTS"
    for w in "s1k       /s1k.bin        -" "s1k-inm   /s1k.bin        inm" \
             "dyn-inm   /dyn.lua        inm" \
             "store-shm-inm /dyn.lua    inm   store-shm"; do
        read -r name path kind srv <<<"$w"
        srv=${srv:-module}
        [ -n "${HDR[$srv:$name]+set}" ] || continue    # not in BENCH_ONLY
        prime "$srv" "$path"
        read -r ra la ca rb lb cb <<<"$(abba stock "$srv" "$path" "$kind" 1 "$name")"
        printf '%-13s %12s %12s %7.3f\n' "$name" "$la" "$lb" \
            "$(bc -l <<<"$lb / $la")" >> "$RESULTS"
    done
fi
stop stock; stop module; stop stock2
for n in "${SERVERS[@]}"; do
    [ -z "${STORE[$n]:-}" ] || stop "$n"
done

# --- instructions per request: callgrind on httpd -X ----------------------
# Two runs a workload, N1 and N2 requests, each from start to exit: the
# difference of the totals over N2 - N1 is what one request costs, with the
# start-up and shut-down of the server cancelled out.  callgrind counts
# instructions, so the figure repeats to well under 1%.  As root, the
# server runs as nobody (httpd -X would switch users and could then not
# write its profile).
as_runner() {
    if [ "$(id -u)" = 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}

cg_conf() {   # cg_conf NAME: a copy of NAME's config for one process
    local d="$W/cg/$1"
    mkdir -p "$d"
    chmod 1777 "$d"
    sed -e "s|^ServerRoot .*|ServerRoot \"$d\"|" \
        -e "s|^PidFile .*|PidFile \"$d/httpd.pid\"|" \
        -e "s|^ErrorLog .*|ErrorLog \"$d/error_log\"|" \
        -e '/^User /d' -e '/^Group /d' "$W/$1/httpd.conf" > "$d/httpd.conf"
}

cg_total() {   # cg_total NAME N PATH HEADER TAG: Ir of a run of N requests
    local name=$1 n=$2 path=$3 header=$4 out="$W/cg/$1/$5.$2.out" pid
    as_runner valgrind --tool=callgrind --callgrind-out-file="$out" \
        "$HTTPD" -X -d "$W/cg/$name" -f "$W/cg/$name/httpd.conf" \
        > "$W/cg/$name/$5.$2.log" 2>&1 &
    pid=$!
    wait_port "${PORT[$name]}"
    # a store's entry, made again in each run (shmcb's lives in the
    # process): the same page's 200 in both runs, so it cancels out
    prime "$name" "$path"
    ab -q -k -n "$n" -c 1 -H "$header" "http://127.0.0.1:${PORT[$name]}$path" \
        > /dev/null
    "$HTTPD" -d "$W/cg/$name" -f "$W/cg/$name/httpd.conf" -k stop \
        > /dev/null 2>&1 || kill "$pid"
    wait "$pid" 2>/dev/null || true
    grep -h '^summary:\|^totals:' "$out" | head -1 | awk '{ print $2 }'
}

# The store rows ask stock for the page of dyn and dyn-inm with the same
# header: a request measured once is not measured again in the same run.
# The network stores' services are not counted, only the httpd process
# (all its threads: the module asks memcached and Redis from threads of
# its own, which valgrind runs one at a time).
cg_run() {   # cg_run NAME [WORKLOAD...]: "workload Ir-a-request" lines
    local name=$1 w wname path kind n1 n2 i1 i2
    local -A seen=()
    shift
    cg_conf "$name"
    for w in "${WORKLOADS[@]}"; do
        read -r wname path kind _ <<<"$w"
        if [ $# -gt 0 ] && [[ " $* " != *" $wname "* ]]; then continue; fi
        # the page runs: fewer requests
        case $path in /dyn.lua|/proxy/*) n1=20; n2=120 ;; *) n1=100; n2=600 ;; esac
        if [ -n "${STORE[$name]:-}" ] && [ "$kind" = inm ]; then n1=100; n2=600; fi
        if [ -z "${seen[$path ${HDR[$name:$wname]}]:-}" ]; then
            i1=$(cg_total "$name" "$n1" "$path" "${HDR[$name:$wname]}" "$wname")
            i2=$(cg_total "$name" "$n2" "$path" "${HDR[$name:$wname]}" "$wname")
            seen[$path ${HDR[$name:$wname]}]=$(( (i2 - i1) / (n2 - n1) ))
        fi
        echo "$wname ${seen[$path ${HDR[$name:$wname]}]}"
    done
}

if [ -z "${BENCH_SKIP_CALLGRIND:-}" ]; then
    chmod 1777 "$W/cg"
    cg_run stock > "$W/cg/stock.ir"
    # the module's side: each workload on its server
    : > "$W/cg/module.ir"
    for n in "${SERVERS[@]}"; do
        list=()
        for w in "${WORKLOADS[@]}"; do
            [ "$(server_of "$w")" = "$n" ] && list+=("${w%% *}")
        done
        cg_run "$n" "${list[@]}" >> "$W/cg/module.ir"
    done
    # A/A: stock again, on the static and dynamic cases, for the noise band
    list=()
    for w in "${WORKLOADS[@]}"; do
        [[ " s1k s1k-inm dyn " == *" ${w%% *} "* ]] && list+=("${w%% *}")
    done
    : > "$W/cg/stock2.ir"
    [ ${#list[@]} -eq 0 ] || cg_run stock2 "${list[@]}" > "$W/cg/stock2.ir"
    printf '\n%-13s %12s %12s %7s %7s   (instructions a request, callgrind)\n' \
        workload stock module ratio "A/A" >> "$RESULTS"
    awk 'FILENAME ~ /stock\.ir$/ { a[$1] = $2; order[++n] = $1 }
         FILENAME ~ /module\.ir$/ { b[$1] = $2 }
         FILENAME ~ /stock2\.ir$/ { c[$1] = $2 }
         END { for (i = 1; i <= n; i++) { w = order[i]
                 printf "%-13s %12d %12d %7.3f %7s\n", w, a[w], b[w],
                        b[w] / a[w], (w in c) ? sprintf("%.4f", c[w] / a[w]) : "-" } }' \
        "$W/cg/stock.ir" "$W/cg/module.ir" "$W/cg/stock2.ir" >> "$RESULTS"
fi

# --- the validator store against its targets ------------------------------
ir() {   # ir SIDE WORKLOAD: its instructions a request, if measured
    awk -v w="$2" '$1 == w { print $2 }' "$W/cg/$1.ir" 2>/dev/null || true
}
ratio() {   # ratio X Y: X / Y, empty when either is missing
    [ -n "$1" ] && [ -n "$2" ] && printf '%.3f' "$(bc -l <<<"$1 / $2")" || true
}
target() {   # target WORKLOAD WHAT VALUE [OP LIMIT]
    local verdict="(no target)" v=${3:--}
    if [ -n "${4:-}" ]; then
        if [ -z "$3" ]; then verdict="not measured"
        elif [ "$(bc -l <<<"$3 $4 $5")" = 1 ]; then verdict="ok ($4 $5)"
        else verdict="MISSED ($4 $5)"; fi
    fi
    printf '%-13s %-46s %8s   %s\n' "$1" "$2" "$v" "$verdict" >> "$RESULTS"
}
STORE_200=()
for w in "${WORKLOADS[@]}"; do
    [[ ${w%% *} == store-* && ${w%% *} != *-inm ]] && STORE_200+=("${w%% *}")
done
if [ ${#STORE_INM[@]} -gt 0 ] || [ ${#STORE_200[@]} -gt 0 ]; then
    printf '\n# the validator store against its targets: instructions from callgrind\n' >> "$RESULTS"
    printf '# (the httpd process; memcached'"'"'s and Redis'"'"' own are not counted),\n' >> "$RESULTS"
    printf '# rates and CPU from wrk (noisy on a shared machine; CPU counts the service)\n' >> "$RESULTS"
    for w in "${STORE_INM[@]}"; do
        read -r name srv <<<"$w"
        # shmcb: within 1.2x the instructions and 0.8x the rate of a
        # static 304; a store on the network: half its rate
        if [ "$srv" = store-shm ]; then
            ilim=("<=" 1.20); rlim=(">=" 0.80)
        else
            ilim=(); rlim=(">=" 0.50)
        fi
        target "$name" "instructions / a static 304 (s1k-inm)" \
            "$(ratio "$(ir module "$name")" "$(ir module s1k-inm)")" "${ilim[@]}"
        target "$name" "rate / a static 304 (s1k-inm, same rounds)" \
            "$(ratio "${STATIC[$name]:-}" 1)" "${rlim[@]}"
        target "$name" "stock's instructions (the page runs) / store's" \
            "$(ratio "$(ir stock "$name")" "$(ir module "$name")")"
        read -r ra rb _ _ <<<"${WRK[$name]:-}"
        target "$name" "stock's rate (the page runs) / store's" \
            "$(ratio "${ra:-}" "${rb:-}")"
    done
    for name in "${STORE_200[@]}"; do
        target "$name" "the 200 with the store: instructions / stock's" \
            "$(ratio "$(ir module "$name")" "$(ir stock "$name")")" "<=" 1.03
        read -r _ _ ca cb <<<"${WRK[$name]:-}"
        target "$name" "the 200 with the store: CPU / stock's (wrk)" \
            "$(ratio "${cb:-}" "${ca:-}")" "<=" 1.03
    done
fi
# a store that failed or was slow leaves its warning (CC00014): the rows
# after it measured requests without the store
for f in "$W"/store-*/error_log "$W"/cg/store-*/error_log; do
    [ -f "$f" ] || continue
    if grep -q CC00014 "$f"; then
        printf '# WARNING: %s: %s\n' "${f#"$W"/}" \
            "$(grep CC00014 "$f" | head -1 | sed 's/.*CC00014: //')" >> "$RESULTS"
    fi
done

printf '\n# the digest (XXH3-128) against memcpy\n' >> "$RESULTS"
cc -O2 -I"$top" $(make -s -C "$top" xxh-defs) $(pkg-config --cflags apr-1) \
    "$top/bench/hashbench.c" "$top/cc_digest.c" -o "$W/hashbench" \
    $(pkg-config --libs apr-1) -lxxhash
"$W/hashbench" >> "$RESULTS"

cat "$RESULTS"
