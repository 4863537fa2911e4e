#!/bin/sh
# A CGI with no validators of its own.
cat >/dev/null
printf 'Content-Type: text/plain\r\n\r\n'
printf 'hello from %s\n' "$REQUEST_METHOD"
