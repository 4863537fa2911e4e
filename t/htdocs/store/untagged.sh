#!/bin/sh
# A CGI that counts its runs in t/logs/store-runs/untagged.sh, for the
# validator store's tests.  Its page is the same each time, but for what
# t/logs/store-runs/untagged.sh.mode says: "big", more than
# CondCacheDigestMaxSize (1 MiB) after it; "slow", a pause longer than
# CondCacheDigestMaxWait (1 s) in its middle.  Either way the page leaves
# without a digest tag.
dir="${DOCUMENT_ROOT}/../logs/store-runs"
mkdir -p "$dir"
n=$(cat "$dir/untagged.sh" 2>/dev/null || echo 0)
echo $((n + 1)) > "$dir/untagged.sh"
mode=$(cat "$dir/untagged.sh.mode" 2>/dev/null)
cat >/dev/null
printf 'Content-Type: text/plain\r\n\r\n'
printf 'the page\n'
case "$mode" in
big) head -c 1100000 /dev/zero | tr '\0' x; printf '\n' ;;
slow) sleep 2; printf 'after a pause\n' ;;
esac
