#!/bin/sh
# An application that sends its own Cache-Control.
cat >/dev/null
printf 'Content-Type: text/plain\r\nCache-Control: private, max-age=0\r\n\r\n'
printf 'per-user page\n'
