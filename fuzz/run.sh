#!/bin/sh
# Run each libFuzzer harness for a while over a scratch copy of its seed
# corpus; 'make fuzz' calls it.
#
#   sh fuzz/run.sh SECONDS NAME...
#
# fuzz/bin/fuzz_NAME runs for SECONDS over fuzz/work/NAME/corpus, a copy
# of fuzz/corpus/NAME (the seeds run first, so a saved reproducer fails
# at once), with fuzz/dict/NAME.dict when there is one.  What it finds
# stays in fuzz/work/; the tree is not modified.  Exits non-zero when any
# harness found a crash, a failed check, a leak or a timeout, after
# naming the reproducer.
set -u

cd "$(dirname "$0")/.." || exit 1
seconds=$1; shift
failed=""

for name in "$@"; do
    bin=fuzz/bin/fuzz_$name
    work=fuzz/work/$name
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/crashes"
    cp fuzz/corpus/"$name"/* "$work/corpus/"
    dict=""
    [ -f fuzz/dict/"$name".dict ] && dict=-dict=fuzz/dict/$name.dict

    # shellcheck disable=SC2086
    "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$work/crashes/" $dict "$work/corpus" \
        >"$work/log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    if [ "$rc" = 0 ]; then
        echo "fuzz_$name: ok, ${runs:-?} runs in ${seconds}s" \
             "(corpus $(find "$work/corpus" -type f | wc -l) inputs)"
        continue
    fi
    failed="$failed $name"
    echo "fuzz_$name: FAILED (exit $rc); the end of $work/log:"
    tail -n 40 "$work/log" | sed 's/^/    /'
    for f in "$work"/crashes/*; do
        [ -f "$f" ] || continue
        echo "fuzz_$name: reproducer $f; run it again with"
        echo "    $bin $f"
    done
done

if [ -n "$failed" ]; then
    echo "fuzzing found problems in:$failed"
    exit 1
fi
