#!/bin/sh
# An application that answers with the status its query names (200 by
# default; a 3xx with a Location, a 206 with its Content-Range), and no
# freshness fields of its own.
cat >/dev/null
status=${QUERY_STRING:-200}
printf 'Status: %s\r\n' "$status"
case $status in
3*) printf 'Location: /fresh/a.txt\r\n' ;;
206) printf 'Content-Range: bytes 0-3/8\r\n' ;;
esac
printf 'Content-Type: text/plain\r\n\r\n'
case $status in
204|205) ;;
206) printf 'part' ;;
*) printf 'status %s\n' "$status" ;;
esac
