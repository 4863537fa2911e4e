#!/bin/sh
# Run a command (make check) so that Apache::Test can start httpd: as is
# for a normal user; as root, as the unprivileged user condcache-test, in
# a copy of the tree that user owns.  Exits with the command's status.
set -eu

if [ "$(id -u)" != 0 ]; then
    exec "$@"
fi

user=condcache-test
if ! id -u "$user" >/dev/null 2>&1; then
    useradd --system --user-group --no-create-home \
            --shell /usr/sbin/nologin "$user"
fi

work=$(mktemp -d /tmp/condcache-test.XXXXXX)
tar --exclude=./.git --exclude=./.libs --exclude=./tests/bin \
    --exclude=./tests/bin-asan --exclude=./t/logs --exclude=./example/run \
    --exclude=./asan --exclude=./fuzz/bin --exclude=./fuzz/work \
    -cf - . | tar -C "$work" -xf -
chown -R "$user:" "$work"
chmod 755 "$work"

echo "running '$*' as $user in $work"
rc=0
(cd "$work" && runuser -u "$user" -- env HOME="$work" "$@") || rc=$?
if [ "$rc" != 0 ]; then
    echo "--- failed ($rc); the tail of $work/t/logs/error_log:"
    tail -n 40 "$work/t/logs/error_log" 2>/dev/null || true
else
    rm -rf "$work"
fi
exit "$rc"
