#!/bin/sh
# An application that fails, in a scope with CondCacheFreshnessStatus.
cat >/dev/null
printf 'Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\n'
printf 'broken\n'
