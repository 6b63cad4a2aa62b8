#!/usr/bin/env bash
# Run every test: unit tests (sanitizer build), fuzz corpus replays (sanitizer
# build), then end-to-end scripts tests/e2e/*.sh: the TUI ones (tui_*) against the
# sanitizer build of the program, the rest against the normal build. An e2e script
# passes with exit 0, skips with 77 (saying why), fails otherwise.
# Ends with one line: "N passed, N failed, N skipped".
set -u
BUILD=${1:-build}
SAN=${2:-build/san}
ONLY=${3:-}
export BEZOAR_BIN="$PWD/$BUILD/bezoar" BEZOAR_BUILD="$PWD/$BUILD" LC_ALL=C.UTF-8
pass=0 fail=0 skip=0

out=$(mktemp)
"$SAN/tests/unit" $ONLY | tee "$out"
line=$(grep -E '^unit: [0-9]+ passed' "$out" | tail -1)
if [ -n "$line" ]; then
    set -- $line
    pass=$((pass + $2)); fail=$((fail + $4)); skip=$((skip + $6))
else
    echo "FAIL  unit runner ended without a summary"; fail=$((fail + 1))
fi
rm -f "$out"

for r in "$SAN"/fuzz-replay/*; do
    [ -x "$r" ] || continue
    name=$(basename "$r")
    case "$name" in "$ONLY"*) ;; *) [ -n "$ONLY" ] && continue ;; esac
    if "$r" "tests/fuzz/corpus/$name" >/dev/null 2>"$SAN/$name.log"; then
        echo "ok    fuzz-replay/$name"; pass=$((pass + 1))
    else
        echo "FAIL  fuzz-replay/$name"; tail -20 "$SAN/$name.log"; fail=$((fail + 1))
    fi
done

for t in tests/e2e/*.sh; do
    [ -f "$t" ] || continue
    name=$(basename "$t" .sh)
    case "$name" in "$ONLY"*) ;; *) [ -n "$ONLY" ] && continue ;; esac
    log="$BUILD/e2e-$name.log"
    start=$(date +%s)
    # the workbench's own scripts drive the sanitizer build (ASan, UBSan, leaks): a
    # memory error or a leak makes the program exit non-zero, which the script sees
    bin="$PWD/$BUILD/bezoar"
    case "$name" in tui_*) [ -x "$SAN/bezoar" ] && bin="$PWD/$SAN/bezoar" ;; esac
    BEZOAR_BIN="$bin" timeout 600 bash "$t" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        echo "ok    e2e/$name (${secs}s)"; pass=$((pass + 1))
    elif [ $rc -eq 77 ]; then
        echo "SKIP  e2e/$name: $(tail -1 "$log")"; skip=$((skip + 1))
    else
        echo "FAIL  e2e/$name (exit $rc), last lines of $log:"; tail -25 "$log" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
done

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
