#!/bin/sh
# A stream by its media type: a line every half second, six of them.
cat >/dev/null
printf 'Content-Type: application/x-ndjson\r\n\r\n'
for i in 1 2 3 4 5 6; do
    printf '{"n": %d}\n' "$i"
    [ "$i" -lt 6 ] && sleep 0.5
done
exit 0
