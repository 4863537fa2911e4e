#!/bin/sh
# An application with a tag of its own that answers its own 304 when the
# client's If-None-Match names it, and sends the Cache-Control its query
# asks for (cc=max-age%3D60).
cc=$(printf '%s' "$QUERY_STRING" | sed -n 's/^cc=\([^&]*\).*/\1/p' |
     sed 's/%3D/=/g; s/%2C/,/g; s/%20/ /g')
cat >/dev/null
if [ "$HTTP_IF_NONE_MATCH" = '"own-v1"' ]; then
    printf 'Status: 304 Not Modified\r\nETag: "own-v1"\r\n'
    [ -n "$cc" ] && printf 'Cache-Control: %s\r\n' "$cc"
    printf '\r\n'
    exit 0
fi
printf 'Content-Type: text/plain\r\nETag: "own-v1"\r\n'
[ -n "$cc" ] && printf 'Cache-Control: %s\r\n' "$cc"
printf '\r\nthe application, version 1\n'
