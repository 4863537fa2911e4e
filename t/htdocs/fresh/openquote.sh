#!/bin/sh
# An application whose private="..." lost its closing quote.
cat >/dev/null
printf 'Content-Type: text/plain\r\nCache-Control: private="Set-Cookie, \r\n\r\n'
printf 'per-user page\n'
