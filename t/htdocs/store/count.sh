#!/bin/sh
# A CGI that counts its runs in t/logs/store-runs/count.sh, for the
# validator store's tests.  GET: a page ("version N", N from
# count.sh.version); any other method: 204, or 303 to ?see=... with
# ?see=... in its query, or a local redirect (mod_cgi makes it a GET of
# that URI) to the request field X-Local's URI.
dir="${DOCUMENT_ROOT}/../logs/store-runs"
mkdir -p "$dir"
n=$(cat "$dir/count.sh" 2>/dev/null || echo 0)
echo $((n + 1)) > "$dir/count.sh"
cat >/dev/null
case "$REQUEST_METHOD" in
GET|HEAD)
    printf 'Content-Type: text/plain\r\n\r\n'
    printf 'cgi page version %s\n' "$(cat "$dir/count.sh.version" 2>/dev/null || echo 1)"
    ;;
*)
    if [ -n "$HTTP_X_LOCAL" ]; then
        printf 'Location: %s\r\n\r\n' "$HTTP_X_LOCAL"
        exit 0
    fi
    case "$QUERY_STRING" in
    see=*) printf 'Status: 303 See Other\r\nLocation: %s\r\n\r\n' "${QUERY_STRING#see=}" ;;
    *) printf 'Status: 204 No Content\r\n\r\n' ;;
    esac
    ;;
esac
