#!/bin/sh
# An application that sends no freshness information.
cat >/dev/null
printf 'Content-Type: text/plain\r\n\r\n'
printf 'dynamic\n'
