#!/bin/sh
# An Action for a media type: what it wraps, and that it ran.
cat >/dev/null
printf 'Content-Type: text/plain\r\n\r\n'
printf 'wrapped %s\n' "${PATH_INFO}"
