#!/bin/sh
# Plain text that takes its time: a line every half second, six of them,
# and mod_cgid never flushes.
cat >/dev/null
printf 'Content-Type: text/plain\r\n\r\n'
for i in 1 2 3 4 5 6; do
    printf 'line %d\n' "$i"
    [ "$i" -lt 6 ] && sleep 0.5
done
exit 0
