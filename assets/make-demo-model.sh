#!/usr/bin/env bash
# make-demo-model.sh BUILD_DIR [OUT]: retrain Bezoar's demo model (assets/demo-model.gguf
# unless OUT is given) from nothing but the project's own tools:
#   1. gen-corpus writes a text corpus of simple English (stories and instruction snippets);
#   2. train-vocab learns a 1024-token SentencePiece-style BPE vocab from it (a vocab-only
#      GGUF with the Alpaca chat template);
#   3. init-model writes a seeded random Llama (dim 192, 4 layers, 6 heads / 2 kv heads,
#      FFN 512, context 512, tied embeddings; 1.77M parameters) with that vocab;
#   4. gen-corpus -j writes the training set as Alpaca JSON lines (70% instruction snippets);
#   5. `bezoar train --full` trains every weight (3 epochs); its RUN/model.gguf (F32) is
#      written as Q8_0 by `bezoar convert` (1.8 MiB instead of 6.8).
# Deterministic given the seeds on one machine (same build, same thread count); bit-exact
# reproduction across machines or BLAS builds is not promised (float sums in another
# order), the figures in assets/README.md are. Takes about 5 minutes on two cores.
# Environment: THREADS (default: all CPUs), KEEP=DIR keeps the work files there.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: assets/make-demo-model.sh BUILD_DIR [OUT]}
out=${2:-assets/demo-model.gguf}
for t in tools/gen-corpus tools/train-vocab tools/init-model bezoar; do
    if [ ! -x "$build/$t" ]; then
        echo "make-demo-model: $build/$t not found; build it first with: make BUILD=$build" >&2
        exit 1
    fi
done
if [ -n "${KEEP:-}" ]; then
    work=$KEEP
    mkdir -p "$work"
else
    work=$(mktemp -d /tmp/bezoar-demo-model-XXXXXX)
    trap 'rm -rf "$work"' EXIT
fi
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
export LC_ALL=C.UTF-8

"$build/tools/gen-corpus" -n 2000000 -s 1 -o "$work/corpus.txt"
"$build/tools/train-vocab" -i "$work/corpus.txt" -o "$work/vocab.gguf" -n 1024 \
    --name bezoar-demo
"$build/tools/init-model" --vocab "$work/vocab.gguf" -o "$work/init.gguf" --dim 192 \
    --layers 4 --heads 6 --kv-heads 2 --ffn 512 --ctx 512 --seed 1
"$build/tools/gen-corpus" -j -n 1200000 -i 70 -s 1 -o "$work/data.jsonl"
rm -rf "$work/run"
start=$(date +%s)
"$build/bezoar" train -m "$work/init.gguf" --data "$work/data.jsonl" --status all \
    --template alpaca --full --seq 256 --batch 8 --lr 2e-3 --warmup 30 --schedule cosine \
    --min-lr-ratio 0.1 --epochs 3 --eval-split 0.01 --eval-every 100 --save-every 200 \
    --seed 1 "${threads[@]}" --quiet --out "$work/run"
end=$(date +%s)
ev="$work/run/events.jsonl"
e0=$(grep '"event":"eval","step":0,' "$ev" | grep -o '"loss":[0-9.]*' | cut -d: -f2)
done_line=$(grep '"event":"done"' "$ev")
echo "make-demo-model: eval loss $e0 -> $(echo "$done_line" | grep -o '"eval_loss":[0-9.]*' |
    cut -d: -f2), train loss $(echo "$done_line" | grep -o '"loss":[0-9.]*' | cut -d: -f2)," \
    "$((end - start)) s"
mkdir -p "$(dirname "$out")"
"$build/bezoar" convert "$work/run/model.gguf" "$out" --type q8_0
"$build/bezoar" model info "$out"
