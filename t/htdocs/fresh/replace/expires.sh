#!/bin/sh
# An application that states its lifetime with Expires alone.
cat >/dev/null
printf 'Content-Type: text/plain\r\nExpires: Thu, 01 Jan 2037 00:00:00 GMT\r\n\r\n'
printf 'until 2037\n'
