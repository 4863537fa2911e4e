#!/bin/sh
# What PHP sends for a page with a session (session.cache_limiter nocache).
cat >/dev/null
printf 'Content-Type: text/plain\r\n'
printf 'Cache-Control: no-store, no-cache, must-revalidate\r\n'
printf 'Expires: Thu, 19 Nov 1981 08:52:00 GMT\r\n'
printf 'Pragma: no-cache\r\n\r\n'
printf 'your basket\n'
