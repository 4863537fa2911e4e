#!/bin/sh
# An application that states its lifetime with Expires, beside a
# Cache-Control without max-age.
cat >/dev/null
printf 'Content-Type: text/plain\r\nCache-Control: no-transform\r\n'
printf 'Expires: Thu, 01 Jan 2037 00:00:00 GMT\r\n\r\n'
printf 'until 2037\n'
