#!/bin/sh
# A slow dynamic page (half a second of "work"), with no validators of its
# own; each run says so in the error log.
echo "report.cgi ran" >&2
sleep 0.5
printf 'Content-Type: text/plain\r\n\r\n'
printf 'A report that takes half a second to make.\n'
