#!/bin/sh
# A page that keeps its client waiting: nothing for PAUSE seconds (1 by
# default), then three lines.  t/h2.t opens a connection upgraded to h2c
# with it, so that its stream is still there while the others are served.
cat >/dev/null
pause=$(printf '%s' "$QUERY_STRING" | sed -n 's/.*pause=\([0-9]*\).*/\1/p')
sleep "${pause:-1}"
printf 'Content-Type: text/plain\r\n\r\n'
printf 'line %d, after a pause\n' 1 2 3
