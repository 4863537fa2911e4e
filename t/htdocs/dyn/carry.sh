#!/bin/sh
# A script without a tag of its own that sends the fields a 304 and a 206
# repeat: Content-Location, Vary, Cache-Control, and an Expires that
# agrees with its max-age.
cat >/dev/null
printf 'Content-Type: text/plain\r\nContent-Location: /dyn/carry.sh?lang=en\r\n'
printf 'Vary: Accept-Language\r\nCache-Control: max-age=60\r\n'
printf 'Expires: %s\r\n\r\n' \
    "$(LC_ALL=C date -u -d '+60 seconds' '+%a, %d %b %Y %H:%M:%S GMT')"
printf 'the english page, the same every time\n'
