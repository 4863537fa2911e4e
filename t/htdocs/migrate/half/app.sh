#!/bin/sh
# A page that says it is per user.
cat >/dev/null
printf 'Content-Type: text/css\r\nCache-Control: private\r\n\r\n'
printf 'body { color: blue; }\n'
