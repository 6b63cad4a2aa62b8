#!/usr/bin/env bash
# train_resume: LoRA on stories260K. A run killed with SIGKILL after a random
# checkpoint and resumed ends with byte-identical adapter files and the same losses as
# an uninterrupted run; SIGTERM writes a checkpoint and stops cleanly; SAVE_NOW
# writes one without stopping; bad input is refused before training with the number;
# only the pairs the journal accepted are trained on by default.
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
MODEL=$PWD/../shared/data/models/stories260K.gguf
DATA=$PWD/../shared/data/instruct/llamafactory_alpaca_en_demo.json
[ -f "$MODEL" ] && [ -f "$DATA" ] || { echo "../shared/data is absent (stories260K, alpaca demo)"; exit 77; }
TMP=$(mktemp -d /tmp/bezoar-train-XXXXXX)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT
pid=
fail() { echo "FAIL: $*"; exit 1; }
cd "$TMP"
common=(-m "$MODEL" --data "$DATA" --status all --template alpaca --seq 96 --batch 2
        --grad-accum 2 --max-steps 10 --save-every 2 --eval-every 5 --rank 4 --alpha 8
        --targets all --lr 1e-3 --threads 2 --seed 7 --json)

"$BIN" train "${common[@]}" --out runs/a >a.out 2>a.err || { cat a.err; fail "run a"; }
grep -q '"event":"done"' a.out || fail "no done event"
[ -f runs/a/adapter/adapter_model.safetensors ] && [ -f runs/a/adapter.gguf ] || fail "no adapter"
[ "$(ls runs/a/checkpoints | wc -l)" = 3 ] || fail "keep 3: $(ls runs/a/checkpoints)"

# killed at a random checkpoint, then resumed
k=$(( (RANDOM % 4 + 1) * 2 ))
"$BIN" train "${common[@]}" --out runs/b >b.out 2>b.err &
pid=$!
for i in $(seq 1 600); do [ -d runs/b/checkpoints/step-$k ] && break; sleep 0.05; done
[ -d runs/b/checkpoints/step-$k ] || fail "no checkpoint step-$k"
kill -9 $pid; wait $pid 2>/dev/null
"$BIN" train --resume runs/b --json >b2.out 2>b2.err || { cat b2.err; fail "resume"; }
grep -q '"resumed_from":[1-9]' b2.out || fail "resume did not start from a checkpoint"
cmp runs/a/adapter.gguf runs/b/adapter.gguf || fail "adapter.gguf differs after resume (killed after step $k)"
cmp runs/a/adapter/adapter_model.safetensors runs/b/adapter/adapter_model.safetensors || fail "safetensors differ"
la=$(grep '"step":10,' a.out | grep -o '"loss":[0-9.]*'); lb=$(grep '"step":10,' b2.out | grep -o '"loss":[0-9.]*')
[ -n "$la" ] && [ "$la" = "$lb" ] || fail "step 10 loss: $la vs $lb"

# SIGTERM: checkpoint, done with stopped, exit 0
"$BIN" train "${common[@]}" --max-steps 400 --save-every 0 --out runs/c >c.out 2>c.err &
pid=$!
for i in $(seq 1 600); do grep -q '"step":3,' c.out 2>/dev/null && break; sleep 0.05; done
touch runs/c/SAVE_NOW
for i in $(seq 1 600); do grep -q '"event":"checkpoint"' c.out && break; sleep 0.05; done
grep -q '"event":"checkpoint"' c.out || fail "SAVE_NOW wrote no checkpoint"
kill -TERM $pid; wait $pid; rc=$?
[ $rc = 0 ] || fail "SIGTERM exit $rc"
grep -q '"stopped":true' c.out || fail "no stopped done event"
[ "$(grep -c '"event":"checkpoint"' c.out)" -ge 2 ] || fail "SIGTERM wrote no checkpoint"
pid=

# refusals before work, naming the number
"$BIN" train "${common[@]}" --rank 40 --targets k --out runs/d >d.out 2>d.err && fail "rank 40 accepted"
grep -q "rank 40 is larger than dimension 32 of k_proj" d.err || { cat d.err; fail "rank message"; }
"$BIN" train "${common[@]}" --seq 4096 --out runs/e >e.out 2>e.err && fail "seq 4096 accepted"
grep -q "seq 4096 is longer than the model's context [0-9]*: use --seq" e.err || { cat e.err; fail "seq message"; }
"$BIN" train "${common[@]}" --status accepted --out runs/f >f.out 2>f.err && fail "empty selection accepted"
grep -q "no usable examples with status 'accepted'" f.err || { cat f.err; fail "empty message"; }
grep -q '"event":"error"' f.out || fail "no error event"

# the journal's decisions select the data: accepted pairs only by default
for i in 1 2 3 4 5 6 7 8; do
    printf '{"instruction":"Say hi number %d","input":"","output":"Hi there %d, once upon a time."}\n' $i $i
done >pairs.jsonl
"$BIN" data export pairs.jsonl -o all.jsonl --status all --jsonl >/dev/null || fail "export"
for id in $(head -3 all.jsonl | grep -o '"id":"[^"]*"' | cut -d'"' -f4); do
    "$BIN" data decide pairs.jsonl --id "$id" --op accept >/dev/null || fail "decide"
done
"$BIN" train -m "$MODEL" --data pairs.jsonl --template alpaca --max-steps 1 --json --out runs/g \
    >g.out 2>g.err || { cat g.err; fail "accepted-only run"; }
grep -q '"examples":3,' g.out || fail "accepted pairs: $(grep -o '"examples":[0-9]*' g.out)"
echo ok
