#!/bin/sh
# A dynamic page with no validators of its own.
printf 'Content-Type: text/plain\r\n\r\n'
printf 'Hello from a CGI script, %s.\n' "the same every time"
i=0
while [ $i -lt 50 ]; do
    printf 'line %d: compressible text compresses well\n' $i
    i=$((i + 1))
done
