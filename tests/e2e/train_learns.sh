#!/usr/bin/env bash
# train_learns: LoRA fine-tuning of stories260K on a few hundred pairs of the alpaca
# demo (80 steps of 4) lowers the training loss and the held-out eval loss (50 pairs
# never trained on), as reported by the worker's own events.
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
MODEL=$PWD/../shared/data/models/stories260K.gguf
DATA=$PWD/../shared/data/instruct/llamafactory_alpaca_en_demo.json
[ -f "$MODEL" ] && [ -f "$DATA" ] || { echo "../shared/data is absent (stories260K, alpaca demo)"; exit 77; }
TMP=$(mktemp -d /tmp/bezoar-train-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$TMP"
"$BIN" train -m "$MODEL" --data "$DATA" --status all --template alpaca --seq 128 --batch 4 \
    --max-steps 80 --eval-split 0.05 --eval-every 40 --save-every 0 --rank 8 --alpha 16 \
    --targets all --lr 3e-3 --warmup 5 --seed 3 --json --out runs/l >l.out 2>l.err \
    || { cat l.err; fail "train"; }
grep '"event":"start"' l.out | grep -o '"train_examples":[0-9]*,"eval_examples":[0-9]*'
e0=$(grep '"event":"eval","step":0,' l.out | grep -o '"loss":[0-9.]*' | cut -d: -f2)
e1=$(grep '"event":"eval","step":80,' l.out | grep -o '"loss":[0-9.]*' | cut -d: -f2)
first=$(grep '"event":"step"' l.out | head -10 | grep -o '"loss":[0-9.]*' | cut -d: -f2 | awk '{s+=$1} END {print s/NR}')
last=$(grep '"event":"step"' l.out | tail -10 | grep -o '"loss":[0-9.]*' | cut -d: -f2 | awk '{s+=$1} END {print s/NR}')
echo "train loss: first 10 steps $first, last 10 steps $last; eval loss: $e0 -> $e1"
[ -n "$e0" ] && [ -n "$e1" ] || fail "missing eval events"
awk -v a="$last" -v b="$first" 'BEGIN { exit !(a < b - 0.05) }' || fail "train loss did not drop"
awk -v a="$e1" -v b="$e0" 'BEGIN { exit !(a < b - 0.05) }' || fail "eval loss did not drop"

# --pack: several pairs per row of --seq tokens, each in its own attention segment;
# fewer rows than pairs, and the eval loss (never packed) still drops.
"$BIN" train -m "$MODEL" --data "$DATA" --status all --template alpaca --seq 256 --batch 2 \
    --pack --max-steps 20 --eval-split 0.05 --eval-every 20 --save-every 0 --rank 8 \
    --alpha 16 --targets all --lr 3e-3 --warmup 5 --seed 3 --json --out runs/p >p.out 2>p.err \
    || { cat p.err; fail "packed train"; }
ex=$(grep -o '"train_examples":[0-9]*' p.out | cut -d: -f2); rows=$(grep -o '"train_rows":[0-9]*' p.out | cut -d: -f2)
p0=$(grep '"event":"eval","step":0,' p.out | grep -o '"loss":[0-9.]*' | cut -d: -f2)
p1=$(grep '"event":"eval","step":20,' p.out | grep -o '"loss":[0-9.]*' | cut -d: -f2)
echo "packed: $ex pairs in $rows rows; eval loss $p0 -> $p1"
[ "$rows" -lt "$ex" ] || fail "packing made $rows rows of $ex pairs"
awk -v a="$p1" -v b="$p0" 'BEGIN { exit !(a < b - 0.05) }' || fail "packed eval loss did not drop"
echo ok
