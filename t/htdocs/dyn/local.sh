#!/bin/sh
# A local redirect: httpd serves /static/a.txt in its place.
cat >/dev/null
printf 'Location: /static/a.txt\r\n\r\n'
