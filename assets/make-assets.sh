#!/usr/bin/env bash
# make-assets.sh BUILD_DIR [OUT_DIR]: regenerate Bezoar's shipped demo files from the
# hand-written sources in assets/src/ with the generator BUILD_DIR/tools/gen-demo
# (tests/tools/gen-demo.c), and the recipe data with BUILD_DIR/tools/gen-recipe-data. Deterministic: the same sources give the same bytes.
# OUT_DIR defaults to assets/; tests/e2e/assets_reproducible.sh passes a temp dir.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: assets/make-assets.sh BUILD_DIR [OUT_DIR]}
out=${2:-assets}
gen="$build/tools/gen-demo"
if [ ! -x "$gen" ]; then
    echo "make-assets: $gen not found; build it first with: make BUILD=$build" >&2
    exit 1
fi
# C.UTF-8 so that nothing locale-dependent (number formatting) can differ between machines.
LC_ALL=C.UTF-8 "$gen" assets/src "$out"
echo "make-assets: wrote $out/demo/pairs.jsonl, $out/demo/chat.jsonl," \
    "$out/demo/pairs-manifest.json, $out/questions.jsonl, $out/questions-reference.jsonl"
# The data of the OpenBezoar-style recipe (assets/recipes/openbezoar.json): one file per
# synthetic scheme and HH-RLHF-style preference transcripts (tests/tools/gen-recipe-data.c).
LC_ALL=C.UTF-8 "$build/tools/gen-recipe-data" "$out/demo/recipe"
