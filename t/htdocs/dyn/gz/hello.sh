#!/bin/sh
# Deterministic output, no validators.
cat >/dev/null
printf 'Content-Type: text/plain\r\n\r\n'
i=0
while [ $i -lt 200 ]; do
    printf 'line %d of a dynamic page with no validators of its own\n' $i
    i=$((i + 1))
done
