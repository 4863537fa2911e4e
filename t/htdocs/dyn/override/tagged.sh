#!/bin/sh
# An application with validators of its own.
cat >/dev/null
printf 'Content-Type: text/plain\r\nETag: "app-v1"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n'
printf 'tagged by the application\n'
