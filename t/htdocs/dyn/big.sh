#!/bin/sh
# A body far over CondCacheDigestMaxSize: MB megabytes (default 1), the
# first half, a pause of PAUSE seconds, then the rest.
cat >/dev/null
mb=$(printf '%s' "$QUERY_STRING" | sed -n 's/.*mb=\([0-9]*\).*/\1/p')
pause=$(printf '%s' "$QUERY_STRING" | sed -n 's/.*pause=\([0-9]*\).*/\1/p')
mb=${mb:-1}
half=$((mb * 512))
printf 'Content-Type: application/octet-stream\r\n\r\n'
head -c $((half * 1024)) /dev/zero
[ -n "$pause" ] && sleep "$pause"
head -c $(((mb * 1024 - half) * 1024)) /dev/zero
