#!/bin/sh
# example/run.sh start|stop [port]: run httpd with mod_condcache and the
# example site on 127.0.0.1, everything under example/run/.
set -eu

cmd=${1:-start}
port=${2:-8080}
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
run="$here/run"
apxs=${APXS:-apxs}
httpd="$($apxs -q SBINDIR)/$($apxs -q TARGET)"

case "$cmd" in
start)
    mkdir -p "$run/logs"
    user=""
    if [ "$(id -u)" = 0 ]; then
        # root starts httpd, which then serves as this user: it must be
        # able to read the tree
        user="User www-data
Group www-data"
        id -u www-data >/dev/null 2>&1 || user="User nobody
Group nogroup"
    fi
    awk -v run="$run" -v port="$port" -v modules="$($apxs -q LIBEXECDIR)" \
        -v so="$top/.libs/mod_condcache.so" -v site="$here/htdocs" \
        -v example="$here" -v user="$user" '
        { gsub(/@RUN@/, run); gsub(/@PORT@/, port); gsub(/@MODULES@/, modules);
          gsub(/@SO@/, so); gsub(/@SITE@/, site); gsub(/@EXAMPLE@/, example);
          gsub(/@USER@/, user); print }' "$here/httpd.conf.in" > "$run/httpd.conf"
    if [ -f "$run/httpd.pid" ] && kill -0 "$(cat "$run/httpd.pid")" 2>/dev/null; then
        "$httpd" -d "$run" -f "$run/httpd.conf" -k stop
        sleep 1
    fi
    "$httpd" -d "$run" -f "$run/httpd.conf" -k start
    echo "mod_condcache example: http://127.0.0.1:$port/"
    echo "logs: $run/logs/   stop: make stop"
    ;;
stop)
    if [ -f "$run/httpd.conf" ]; then
        "$httpd" -d "$run" -f "$run/httpd.conf" -k stop 2>/dev/null || true
    fi
    echo "stopped"
    ;;
*)
    echo "usage: $0 start|stop [port]" >&2
    exit 2
    ;;
esac
