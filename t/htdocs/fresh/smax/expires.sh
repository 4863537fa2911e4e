#!/bin/sh
# expires.sh of the parent directory, under this one's policy
exec "$(dirname "$0")/../expires.sh"
