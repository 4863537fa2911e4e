#!/bin/sh
# A script that answers with a redirect, with a body and no validators.
cat >/dev/null
printf 'Status: 302 Found\r\nLocation: /static/a.txt\r\n'
printf 'Content-Type: text/plain\r\n\r\n'
printf 'moved to /static/a.txt\n'
