#!/usr/bin/env bash
# The shipped demo files are exactly what `make assets` generates from assets/src/:
# regenerate into a temp dir with the built gen-demo and compare byte for byte. Also
# checks the line counts the manifest promises, so a stale manifest fails too.
set -euo pipefail
build=${BEZOAR_BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bash assets/make-assets.sh "$build" "$tmp"
status=0
for f in demo/pairs.jsonl demo/chat.jsonl demo/pairs-manifest.json questions.jsonl questions-reference.jsonl; do
    if cmp "assets/$f" "$tmp/$f"; then
        echo "same: assets/$f"
    else
        echo "DIFFERENT: assets/$f does not match a fresh generation (run: make assets)"
        status=1
    fi
done
# A second run must give the same bytes again (no clock, no address-dependent order).
mkdir "$tmp/again"
bash assets/make-assets.sh "$build" "$tmp/again" >/dev/null
for f in demo/pairs.jsonl demo/chat.jsonl demo/pairs-manifest.json questions.jsonl questions-reference.jsonl; do
    cmp "$tmp/$f" "$tmp/again/$f" || { echo "NOT DETERMINISTIC: $f"; status=1; }
done
lines=$(wc -l < assets/demo/pairs.jsonl)
promised=$(sed -n 's/^  "lines": \([0-9]*\),$/\1/p' assets/demo/pairs-manifest.json)
if [ "$lines" != "$promised" ]; then
    echo "pairs.jsonl has $lines lines, the manifest says $promised"
    status=1
fi
for f in assets/demo/*.jsonl assets/questions.jsonl; do
    size=$(wc -c < "$f")
    if [ "$size" -gt 1048576 ]; then
        echo "$f is $size bytes, over the 1 MiB budget"
        status=1
    fi
done
exit $status
