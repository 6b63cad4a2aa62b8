#!/usr/bin/env bash
# assets_demo_model: the shipped demo model (assets/demo-model.gguf) loads, has the shape
# and vocab that assets/README.md states, detects its Alpaca chat template, generates
# English, and a short LoRA fine-tune on the demo pairs (assets/demo/pairs.jsonl, every
# status) lowers its training loss and changes its greedy answer to a prompt from those
# pairs. Needs nothing outside the repository.
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
MODEL=$PWD/assets/demo-model.gguf
PAIRS=$PWD/assets/demo/pairs.jsonl
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$BIN" ] || fail "$BIN not built"
[ -f "$MODEL" ] || fail "$MODEL missing (make demo-model)"
TMP=$(mktemp -d /tmp/bezoar-demo-model-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cd "$TMP"

size=$(wc -c < "$MODEL")
echo "demo-model.gguf: $size bytes"
[ "$size" -lt $((6 * 1024 * 1024)) ] || fail "the model is larger than 6 MiB ($size bytes)"

"$BIN" model info "$MODEL" > info.txt 2>&1 || { cat info.txt; fail "model info"; }
cat info.txt
grep -q '^arch *llama$' info.txt || fail "not a llama model"
grep -q 'dim 192, layers 4, heads 6 (kv 2), head dim 32, ffn 512, vocab 1024, context 512' \
    info.txt || fail "shape differs from assets/README.md"
grep -q '^tokenizer *spm, 1024 tokens' info.txt || fail "vocab"
grep -q '^template *alpaca (detected)' info.txt || fail "chat template not detected as alpaca"

# The vocab's learned pieces: whole words of the corpus are one token each; text outside
# it falls back to bytes and decodes back exactly.
"$BIN" tokenize -m "$MODEL" --ids "Once upon a time, there was a little girl." > ids.txt ||
    fail "tokenize"
n=$(wc -w < ids.txt)
echo "tokenize: $n ids: $(cat ids.txt)"
[ "$n" -le 14 ] || fail "corpus words are not single pieces ($n ids)"
"$BIN" tokenize -m "$MODEL" "Zürich" > bytes.txt || fail "tokenize bytes"
grep -q '<0xC3>\|\\xC3' bytes.txt || { cat bytes.txt; fail "no byte fallback for a non-ASCII letter"; }

# Completion (the model was trained on answers only, so the prompt is an Alpaca turn):
# greedy, deterministic, English words that the corpus uses.
story=$'### Instruction:\nTell me a story.\n\n### Response:\nOnce upon a time'
"$BIN" complete -m "$MODEL" -p "$story" -n 40 > c1.txt 2> c1.err ||
    { cat c1.err; fail "complete"; }
"$BIN" complete -m "$MODEL" -p "$story" -n 40 > c2.txt 2> /dev/null
echo "complete: Once upon a time$(cat c1.txt)"
cmp -s c1.txt c2.txt || fail "greedy completion is not deterministic"
words=$(tr -c 'A-Za-z' ' ' < c1.txt | wc -w)
[ "$words" -ge 15 ] || fail "completion has only $words words"
known=$(tr -c 'A-Za-z' '\n' < c1.txt | grep -c -x -i 'there\|was\|a\|an\|the\|named\|girl\|boy\|had\|she\|he\|her\|his\|it\|to\|and' || true)
[ "$known" -ge 5 ] || fail "completion has only $known common story words"

# Chat through the detected template: the answer is the model's, not the template echoed.
printf 'What sound does a cow make?\n' |
    "$BIN" chat -m "$MODEL" --temp 0 -n 30 > chat.txt 2> chat.err || { cat chat.err; fail "chat"; }
echo "chat: $(tr '\n' ' ' < chat.txt)"
grep -qi moo chat.txt || fail "chat answer to the cow question lacks 'moo'"
if grep -q '### ' chat.txt; then fail "chat printed template text"; fi

# Fine-tune on the demo pairs (all statuses), then compare greedy answers.
"$BIN" train -m "$MODEL" --data "$PAIRS" --status all --template alpaca --seq 256 --batch 4 \
    --max-steps 40 --eval-split 0 --save-every 0 --rank 16 --alpha 32 --targets all \
    --lr 5e-3 --warmup 2 --seed 1 --json --out run > train.out 2> train.err ||
    { tail -5 train.err; fail "train"; }
first=$(grep '"event":"step"' train.out | head -8 | grep -o '"loss":[0-9.]*' | cut -d: -f2 |
    awk '{s+=$1} END {print s/NR}')
last=$(grep '"event":"step"' train.out | tail -8 | grep -o '"loss":[0-9.]*' | cut -d: -f2 |
    awk '{s+=$1} END {print s/NR}')
grep -o '"tokens_per_s":[0-9.]*' train.out | tail -1
echo "fine-tune loss: first 8 steps $first, last 8 steps $last"
awk -v a="$last" -v b="$first" 'BEGIN { exit !(a < b - 0.2) }' || fail "train loss did not drop"
[ -f run/adapter.gguf ] || fail "no adapter.gguf"

prompt=$'### Instruction:\nWhat is 410 + 539?\n\n### Response:\n'
"$BIN" complete -m "$MODEL" -p "$prompt" -n 24 > base.txt 2> /dev/null || fail "complete base"
"$BIN" complete -m "$MODEL" --lora run/adapter.gguf -p "$prompt" -n 24 > tuned.txt 2> tuned.err ||
    { cat tuned.err; fail "complete with --lora"; }
echo "base:  $(tr '\n' ' ' < base.txt)"
echo "tuned: $(tr '\n' ' ' < tuned.txt)"
cmp -s base.txt tuned.txt && fail "the adapter did not change the greedy answer"
"$BIN" complete -m "$MODEL" --lora run/adapter -p "$prompt" -n 24 > peft.txt 2> /dev/null ||
    fail "complete with the PEFT adapter"
cmp -s tuned.txt peft.txt || fail "PEFT and GGUF adapters answer differently"
echo ok
