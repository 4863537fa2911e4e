#!/bin/sh
# An application that sends 40,000 Cache-Control members on 80 lines (and
# one of them twice).
cat >/dev/null
printf 'Content-Type: text/plain\r\n'
for line in $(seq 1 80); do
    printf 'Cache-Control: %s\r\n' "$(seq -s, -f "m${line}_%g" 0 499)"
done
printf 'Cache-Control: m1_0=again\r\n\r\n'
printf 'many\n'
