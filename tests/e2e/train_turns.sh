#!/usr/bin/env bash
# train_turns: a conversation with two turns of one role in a row (HH-RLHF transcripts
# hold a few) trains with those turns joined instead of being refused by the chat
# template; the start event counts them (merged_turns). Demo model, one step.
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
MODEL=$PWD/assets/demo-model.gguf
[ -f "$MODEL" ] || { echo "FAIL: no assets/demo-model.gguf"; exit 1; }
TMP=$(mktemp -d /tmp/bezoar-turns-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$TMP"
cat >d.jsonl <<'JSON'
{"messages":[{"role":"user","content":"Name a colour."},{"role":"assistant","content":"Blue."},{"role":"assistant","content":"Or red."}]}
{"messages":[{"role":"user","content":"Add 2 and 3."},{"role":"user","content":"Quickly."},{"role":"assistant","content":"5"}]}
{"messages":[{"role":"user","content":"What sound does a cow make?"},{"role":"assistant","content":"A cow says moo."}]}
JSON
"$BIN" train -m "$MODEL" --data d.jsonl --status all --max-steps 1 --eval-split 0 --threads 1 \
    --json --out runs/t >t.out 2>t.err || { cat t.err; fail "train"; }
start=$(grep '"event":"start"' t.out)
num() { echo "$start" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
[ "$(num examples)" = 3 ] || fail "examples: $start"
[ "$(num unrenderable)" = 0 ] || fail "unrenderable: $start"
[ "$(num merged_turns)" = 2 ] || fail "merged_turns: $start"
grep -q '"event":"done"' t.out || fail "no done event"
echo ok
