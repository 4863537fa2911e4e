#!/usr/bin/env bash
# make bench: what mod_condcache costs and saves, against stock httpd run
# side by side on 127.0.0.1.  Everything lives under bench/work/; nothing
# outside the tree is changed (wrk is installed when missing, as root).
#
#   BENCH_SECONDS  seconds a wrk run (3)     BENCH_ROUNDS  A B B A rounds (2)
#   BENCH_SKIP_CALLGRIND=1, BENCH_SKIP_WRK=1 to leave a part out
#   BENCH_ONLY="proxy proxy-inm"  only these workloads
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
W="$top/bench/work"
SECS=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-2}
APXS=${APXS:-apxs}
HTTPD="$($APXS -q SBINDIR)/$($APXS -q TARGET)"
MODULES=$($APXS -q LIBEXECDIR)
declare -A PORT=([stock]=8101 [module]=8102 [stock2]=8103 [backend]=8109)

if ! command -v wrk >/dev/null || ! command -v ab >/dev/null || ! command -v bc >/dev/null || ! command -v valgrind >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk apache2-utils bc valgrind >/dev/null
    else
        echo "make bench needs wrk, ab, bc and valgrind (apt-get install wrk apache2-utils bc valgrind)" >&2
        exit 1
    fi
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

conf() {    # conf NAME MODULE(0|1)
    local name=$1 module=$2 dir="$W/$1"
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
        # same: only the module's directives differ
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
</Location>
<Location /proxy/>
    Options FollowSymLinks
    CondCache On
    CondCacheDigest On
</Location>
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

stop() {
    "$HTTPD" -d "$W/$1" -f "$W/$1/httpd.conf" -k stop >/dev/null 2>&1 || true
}

cleanup() {
    local n
    for n in stock module stock2 backend; do stop "$n"; done
}
trap cleanup EXIT

for n in stock stock2 backend; do conf "$n" 0; done
conf module 1
(cd "$top" && make -s build >/dev/null)
start backend

# --- the workloads: name, path, and which conditional header -------------
WORKLOADS=(
    "s1k       /s1k.bin        -"
    "s64k      /s64k.bin       -"
    "s1m       /s1m.bin        -"
    "s1k-inm   /s1k.bin        inm"
    "s1k-ims   /s1k.bin        ims"
    "pol       /pol/s1k.bin    -"
    "pol-inm   /pol/s1k.bin    inm"
    "dyn       /dyn.lua        -"
    "dyn-inm   /dyn.lua        inm"
    "proxy     /proxy/dyn.lua  -"
    "proxy-inm /proxy/dyn.lua  inm"
)
if [ -n "${BENCH_ONLY:-}" ]; then
    for i in "${!WORKLOADS[@]}"; do
        [[ " $BENCH_ONLY " == *" ${WORKLOADS[$i]%% *} "* ]] ||
            unset "WORKLOADS[$i]"
    done
fi

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
        read -r -a s < "$f" 2>/dev/null || continue
        if [ "${s[0]}" = "$parent" ] || [ "${s[3]}" = "$parent" ]; then
            t=$((t + s[13] + s[14]))
        fi
    done
    echo "$t"
}

RESULTS="$W/results.txt"
: > "$RESULTS"

wrk_one() {   # wrk_one NAME PATH HEADER CONNS -> "rps lat_ms cpu_us_per_req"
    local name=$1 path=$2 header=$3 conns=$4 out t0 t1 n rps lat
    # a proxied page costs its backend too: count both servers
    t0=$(server_ticks "$name")
    [[ $path == /proxy/* ]] && t0=$((t0 + $(server_ticks backend)))
    out=$(wrk -t1 -c"$conns" -d"${SECS}s" -H "$header" \
          "http://127.0.0.1:${PORT[$name]}$path" 2>&1)
    t1=$(server_ticks "$name")
    [[ $path == /proxy/* ]] && t1=$((t1 + $(server_ticks backend)))
    n=$(awk '/requests in/ { print $1 }' <<<"$out")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    lat=$(awk '/^ +Latency/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 }
              else if (v ~ /ms$/) sub(/ms/, "", v);
              else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 } print v }' <<<"$out")
    echo "$rps $lat $(awk -v d=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" \
                      'BEGIN { printf "%.1f", d * 1e6 / hz / n }')"
}

# A B B A rounds of one workload between two servers; prints the means
abba() {   # abba A B PATH KIND CONNS WORKLOAD
    local a=$1 b=$2 path=$3 kind=$4 conns=$5 ha hb r x
    local -a ra=() rb=()
    ha=${HDR[$a:$6]}
    hb=${HDR[$b:$6]}
    for r in $(seq 1 "$ROUNDS"); do
        ra+=("$(wrk_one "$a" "$path" "$ha" "$conns")")
        rb+=("$(wrk_one "$b" "$path" "$hb" "$conns")")
        rb+=("$(wrk_one "$b" "$path" "$hb" "$conns")")
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

start stock
start module
start stock2

# every server's conditional header for every workload, taken once
declare -A HDR
for n in stock module stock2; do
    for w in "${WORKLOADS[@]}"; do
        read -r wname path kind <<<"$w"
        HDR[$n:$wname]=$(cond_header "$n" "$path" "$kind")
    done
done

echo "# mod_condcache benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')" >> "$RESULTS"
echo "# $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" >> "$RESULTS"
echo "# $("$HTTPD" -v | head -1); wrk ${SECS}s a run, $ROUNDS A B B A rounds" >> "$RESULTS"

if [ -z "${BENCH_SKIP_WRK:-}" ]; then
    printf '\n%-10s %9s %9s %7s %8s %8s %7s %7s %7s\n' workload "stock/s" "module/s" \
        ratio "cpu_us A" "cpu_us B" "cpu B/A" "A/A" "bytes" >> "$RESULTS"
    for w in "${WORKLOADS[@]}"; do
        read -r name path kind <<<"$w"
        read -r ra la ca rb lb cb <<<"$(abba stock module "$path" "$kind" 8 "$name")"
        read -r qa _ _ qb _ _ <<<"$(abba stock stock2 "$path" "$kind" 8 "$name")"
        printf '%-10s %9s %9s %7.3f %8s %8s %7.3f %7.3f %4s/%s\n' "$name" "$ra" "$rb" \
            "$(bc -l <<<"$rb / $ra")" "$ca" "$cb" "$(bc -l <<<"$cb / $ca")" \
            "$(bc -l <<<"$qb / $qa")" "$(bytes_of stock "$path" "$kind" "$name")" \
            "$(bytes_of module "$path" "$kind" "$name")" >> "$RESULTS"
    done
    printf '\n%-10s %12s %12s %7s   (wrk -c1, mean latency)\n' workload \
        "stock ms" "module ms" ratio >> "$RESULTS"
    for w in "s1k       /s1k.bin        -" "s1k-inm   /s1k.bin        inm" \
             "dyn-inm   /dyn.lua        inm"; do
        read -r name path kind <<<"$w"
        [ -n "${HDR[stock:$name]+set}" ] || continue    # not in BENCH_ONLY
        read -r ra la ca rb lb cb <<<"$(abba stock module "$path" "$kind" 1 "$name")"
        printf '%-10s %12s %12s %7.3f\n' "$name" "$la" "$lb" \
            "$(bc -l <<<"$lb / $la")" >> "$RESULTS"
    done
fi
stop stock; stop module; stop stock2

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
    ab -q -k -n "$n" -c 1 -H "$header" "http://127.0.0.1:${PORT[$name]}$path" \
        > /dev/null
    "$HTTPD" -d "$W/cg/$name" -f "$W/cg/$name/httpd.conf" -k stop \
        > /dev/null 2>&1 || kill "$pid"
    wait "$pid" 2>/dev/null || true
    grep -h '^summary:\|^totals:' "$out" | head -1 | awk '{ print $2 }'
}

cg_run() {   # cg_run NAME [WORKLOAD...]: "workload Ir-a-request" lines
    local name=$1 w wname path kind n1 n2 i1 i2
    shift
    cg_conf "$name"
    for w in "${WORKLOADS[@]}"; do
        read -r wname path kind <<<"$w"
        if [ $# -gt 0 ] && [[ " $* " != *" $wname "* ]]; then continue; fi
        case $wname in dyn*|proxy*) n1=20; n2=120 ;; *) n1=100; n2=600 ;; esac
        i1=$(cg_total "$name" "$n1" "$path" "${HDR[$name:$wname]}" "$wname")
        i2=$(cg_total "$name" "$n2" "$path" "${HDR[$name:$wname]}" "$wname")
        echo "$wname $(( (i2 - i1) / (n2 - n1) ))"
    done
}

if [ -z "${BENCH_SKIP_CALLGRIND:-}" ]; then
    chmod 1777 "$W/cg"
    cg_run stock > "$W/cg/stock.ir"
    cg_run module > "$W/cg/module.ir"
    # A/A: stock again, on the static and dynamic cases, for the noise band
    cg_run stock2 s1k s1k-inm dyn > "$W/cg/stock2.ir"
    printf '\n%-10s %12s %12s %7s %7s   (instructions a request, callgrind)\n' \
        workload stock module ratio "A/A" >> "$RESULTS"
    awk 'FILENAME ~ /stock\.ir$/ { a[$1] = $2; order[++n] = $1 }
         FILENAME ~ /module\.ir$/ { b[$1] = $2 }
         FILENAME ~ /stock2\.ir$/ { c[$1] = $2 }
         END { for (i = 1; i <= n; i++) { w = order[i]
                 printf "%-10s %12d %12d %7.3f %7s\n", w, a[w], b[w],
                        b[w] / a[w], (w in c) ? sprintf("%.4f", c[w] / a[w]) : "-" } }' \
        "$W/cg/stock.ir" "$W/cg/module.ir" "$W/cg/stock2.ir" >> "$RESULTS"
fi

printf '\n# the digest (XXH3-128) against memcpy\n' >> "$RESULTS"
cc -O2 -I"$top" $(make -s -C "$top" xxh-defs) $(pkg-config --cflags apr-1) \
    "$top/bench/hashbench.c" "$top/cc_digest.c" -o "$W/hashbench" \
    $(pkg-config --libs apr-1) -lxxhash
"$W/hashbench" >> "$RESULTS"

cat "$RESULTS"
