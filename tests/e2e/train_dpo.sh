#!/usr/bin/env bash
# train_dpo: DPO with a LoRA policy on stories260K. Synthetic preference pairs: chosen
# = story text (the model's own reference story sentences and TinyStories-style ones),
# rejected = the same words shuffled. The held-out pairs' reward accuracy and margin
# start at 0 with loss log 2 (policy == reference) and rise; every DPO field is in the
# step events; a run killed with SIGKILL and resumed ends with the same adapter bytes;
# --init-adapter continues an SFT run's adapter (its rank taken, step 1 at log 2) and
# refuses a disagreeing --rank/--targets and an adapter made for another base, before
# any work; the Compare view's votes export trains, its ties skipped and counted.
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
MODEL=$PWD/../shared/data/models/stories260K.gguf
STORY=$PWD/../shared/data/models/reference/stories260K_greedy_bos_200.txt
DEMO=$PWD/assets/demo-model.gguf
[ -f "$MODEL" ] && [ -f "$STORY" ] || { echo "../shared/data is absent (stories260K)"; exit 77; }
TMP=$(mktemp -d /tmp/bezoar-dpo-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$TMP"

# 64 pairs in the TRL format: {"prompt","chosen","rejected"}
{
    tr -d '"' <"$STORY" | tr '\n' ' ' | sed 's/\([.!?]\) /\1\n/g' | awk 'NF >= 6'
    awk 'BEGIN {
        split("Lily Tom Ben Sue Max Anna Tim Mia", n, " ");
        split("ball cat dog kite tree cake toy box", t, " ");
        split("park garden house forest yard school", p, " ");
        split("big red little happy shiny blue", a, " ");
        srand(5);
        for (i = 0; i < 60; i++)
            printf "Once upon a time, there was a little girl named %s. She loved to play in " \
                   "the %s. One day, she saw a %s %s.\n", n[int(rand() * 8) + 1],
                   p[int(rand() * 6) + 1], a[int(rand() * 6) + 1], t[int(rand() * 8) + 1];
    }'
} | head -64 | awk 'BEGIN { srand(11) }
    { n = split($0, w, " ");
      for (i = n; i > 1; i--) { j = int(rand() * i) + 1; x = w[i]; w[i] = w[j]; w[j] = x }
      r = w[1]; for (i = 2; i <= n; i++) r = r " " w[i];
      if (r == $0) next;
      printf "{\"prompt\":\"Tell me a story.\",\"chosen\":\"%s\",\"rejected\":\"%s\"}\n", $0, r }' \
    >pairs.jsonl
[ "$(wc -l <pairs.jsonl)" -ge 60 ] || fail "made $(wc -l <pairs.jsonl) pairs"

common=(-m "$MODEL" --data pairs.jsonl --status all --template alpaca --method dpo --beta 0.2
        --seq 96 --batch 4 --max-steps 24 --eval-split 0.25 --eval-every 12 --save-every 2
        --rank 4 --alpha 8 --targets all --lr 1e-3 --threads 2 --seed 3 --json)
"$BIN" train "${common[@]}" --out runs/a >a.out 2>a.err || { cat a.err; fail "dpo run"; }
grep -q '"event":"done"' a.out || fail "no done event"
grep -q 'train: [0-9]* preference pairs; skipped 0' a.err || { cat a.err; fail "pairs line"; }
grep '"event":"start"' a.out | grep -q '"pairs":[0-9]*,"train_pairs":[0-9]*,"eval_pairs":1[0-9],"skipped":0' \
    || fail "start event: $(grep '"event":"start"' a.out)"
[ -s runs/a/reference.bin ] && [ -f runs/a/adapter.gguf ] || fail "no reference.bin or adapter"
for kv in '"method":"dpo"' '"beta":0.2' '"label_smoothing":0' '"init_adapter":null'; do
    grep -q "$kv" runs/a/config.json || fail "config.json lacks $kv: $(cat runs/a/config.json)"
done
for f in rewards_chosen rewards_rejected reward_margin reward_accuracy logps_chosen logps_rejected \
         ref_logps_chosen ref_logps_rejected; do
    grep '"event":"step","step":24,' a.out | grep -q "\"$f\":-\?[0-9]" || fail "step event lacks $f"
done
ev() { grep "\"event\":\"eval\",\"step\":$1," a.out | grep -o "\"$2\":-\?[0-9.]*" | cut -d: -f2; }
[ "$(ev 0 loss)" = 0.693147 ] || fail "eval loss at step 0: $(ev 0 loss), expected log 2"
a0=$(ev 0 reward_accuracy) a1=$(ev 24 reward_accuracy) m0=$(ev 0 reward_margin) m1=$(ev 24 reward_margin)
l1=$(ev 24 loss)
echo "held-out pairs: reward accuracy $a0 -> $a1, margin $m0 -> $m1, loss 0.693147 -> $l1"
awk -v a0="$a0" -v a1="$a1" -v m0="$m0" -v m1="$m1" -v l1="$l1" \
    'BEGIN { exit !(a1 >= 0.9 && a1 > a0 && m1 > m0 + 0.5 && l1 < 0.5) }' \
    || fail "DPO did not raise held-out accuracy/margin: $a0 -> $a1, $m0 -> $m1, loss $l1"

# killed at a random checkpoint, resumed: the same adapter bytes and final loss
k=$(( (RANDOM % 8 + 1) * 2 ))
"$BIN" train "${common[@]}" --out runs/b >b.out 2>b.err &
pid=$!
for i in $(seq 1 600); do [ -d runs/b/checkpoints/step-$k ] && break; sleep 0.02; done
[ -d runs/b/checkpoints/step-$k ] || fail "no checkpoint step-$k"
kill -9 $pid; wait $pid 2>/dev/null; pid=
"$BIN" train --resume runs/b --json >b2.out 2>b2.err || { cat b2.err; fail "resume"; }
cmp runs/a/adapter.gguf runs/b/adapter.gguf || fail "adapter.gguf differs after resume (killed after step $k)"
cmp runs/a/adapter/adapter_model.safetensors runs/b/adapter/adapter_model.safetensors || fail "safetensors differ"
la=$(grep '"step":24,' a.out | grep -o '"loss":[0-9.]*' | head -1)
lb=$(grep '"step":24,' b2.out | grep -o '"loss":[0-9.]*' | head -1)
[ -n "$la" ] && [ "$la" = "$lb" ] || fail "step 24 loss: $la vs $lb"

# SFT on the pairs (prompt + chosen), then DPO from its adapter
"$BIN" train -m "$MODEL" --data pairs.jsonl --status all --template alpaca --seq 96 --batch 4 \
    --max-steps 4 --rank 2 --alpha 4 --targets q,v --lr 1e-3 --threads 2 --json --out runs/s \
    >s.out 2>s.err || { cat s.err; fail "sft run"; }
grep -q '"examples":6[0-9],' s.out || fail "SFT on pairs: $(grep -o '"examples":[0-9]*' s.out)"
"$BIN" train -m "$MODEL" --data pairs.jsonl --status all --template alpaca --method dpo \
    --init-adapter runs/s --seq 96 --batch 4 --max-steps 2 --eval-split 0 --threads 2 --json \
    --out runs/i >i.out 2>i.err || { cat i.err; fail "dpo from an adapter"; }
grep '"event":"start"' i.out | grep -q '"targets":"q,v".*"rank":2,.*"alpha":4,' \
    || fail "rank/targets not from the adapter: $(grep '"event":"start"' i.out)"
grep -q '"init_adapter":"runs/s"' runs/i/config.json || fail "config.json lacks init_adapter"
l=$(grep '"event":"step","step":1,' i.out | grep -o '"loss":[0-9.]*' | cut -d: -f2)
awk -v l="$l" 'BEGIN { exit !(l > 0.6931 && l < 0.6932) }' || fail "step 1 loss from the adapter: $l"

"$BIN" train -m "$MODEL" --data pairs.jsonl --status all --method dpo --init-adapter runs/s/adapter.gguf \
    --rank 8 --out runs/r1 >r1.out 2>r1.err && fail "rank 8 accepted"
grep -q -- "--rank 8 disagrees with the adapter's rank 2" r1.err || { cat r1.err; fail "rank message"; }
"$BIN" train -m "$MODEL" --data pairs.jsonl --status all --init-adapter runs/s --targets q,k,v \
    --out runs/r2 >r2.out 2>r2.err && fail "targets q,k,v accepted"
grep -q -- "--targets q,k,v disagrees with the adapter's targets q,v" r2.err || { cat r2.err; fail "targets message"; }
if [ -f "$DEMO" ]; then
    "$BIN" train -m "$DEMO" --data pairs.jsonl --status all --method dpo --init-adapter runs/s \
        --out runs/r3 >r3.out 2>r3.err && fail "adapter for another base accepted"
    grep -q "has shape (2, 64), the model needs (2, 192)" r3.err || { cat r3.err; fail "shape message"; }
    [ ! -e runs/r3/config.json ] && ! grep -q '"event":"start"' r3.out || fail "work done before the refusal"
fi
# the Compare view's votes export: {"id","prompt","chosen","rejected"}; a tie is skipped
printf '%s\n' '{"id":"v1","prompt":"Say hi.","chosen":"Hi there, friend.","rejected":"Go away."}' \
    '{"id":"v2","prompt":"Tell a story.","chosen":"Once upon a time, a cat sat.","rejected":"No."}' \
    '{"id":"v3","prompt":"Same?","chosen":"Yes.","rejected":"Yes."}' >votes.jsonl
"$BIN" train -m "$MODEL" --data votes.jsonl --status all --template alpaca --method dpo \
    --max-steps 1 --eval-split 0 --threads 2 --json --out runs/v >v.out 2>v.err || { cat v.err; fail "votes"; }
grep -q 'train: 2 preference pairs; skipped 1: 0 with an empty side, 1 with chosen == rejected' v.err \
    || { cat v.err; fail "votes pairs line"; }
grep '"event":"start"' v.out | grep -q '"skipped":1,' || fail "votes: no skipped field"
echo ok
