#!/usr/bin/env bash
# train_dpo_hh: HH-RLHF (harmless-base test, 2312 transcripts) through `bezoar train`:
# DPO reads every record as a pair (the shared prefix is the prompt), skips the 4 with
# an empty final reply and reports them by count (stderr line + "skipped" in the start
# event): 2308 pairs. The 8 transcripts with two assistant turns in a row render with
# those turns joined (merged_turns), so none is refused by the template; a prompt
# longer than --seq loses its start, not the answer, so none is without answer tokens.
# SFT on the file trains on prompt + chosen (the HH-style SFT stage).
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
MODEL=$PWD/../shared/data/models/stories260K.gguf
DATA=$PWD/../shared/data/instruct/hh-rlhf_harmless-base_test.jsonl.gz
[ -f "$MODEL" ] && [ -f "$DATA" ] || { echo "../shared/data is absent (stories260K, hh-rlhf)"; exit 77; }
TMP=$(mktemp -d /tmp/bezoar-dpohh-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$TMP"
"$BIN" train -m "$MODEL" --data "$DATA" --status all --template alpaca --method dpo --seq 64 \
    --max-steps 1 --eval-split 0 --threads 2 --json --out runs/d >d.out 2>d.err \
    || { cat d.err; fail "dpo on hh-rlhf"; }
grep 'preference pairs' d.err
grep -q 'train: [0-9]* preference pairs; skipped 4: 4 with an empty side, 0 with chosen == rejected, 0 not preference pairs' d.err \
    || { cat d.err; fail "skip line"; }
start=$(grep '"event":"start"' d.out)
num() { echo "$start" | grep -o "\"$1\":[0-9]*" | cut -d: -f2; }
[ "$(num skipped)" = 4 ] && [ "$(num skipped_empty)" = 4 ] || fail "start event: $start"
total=$(( $(num pairs) + $(num skipped) + $(num without_loss) + $(num unrenderable) ))
[ "$total" = 2312 ] || fail "pairs $(num pairs) + skipped + without_loss + unrenderable = $total, not 2312"
[ "$(num without_loss)" = 0 ] || fail "long prompts left no answer tokens: $start"
[ "$(num pairs)" = 2308 ] && [ "$(num unrenderable)" = 0 ] || fail "2308 pairs, none unrenderable: $start"
[ "$(num merged_turns)" = 8 ] || fail "merged_turns: $start"
grep -q '"event":"step","step":1,.*"reward_accuracy"' d.out || fail "no DPO step"

"$BIN" train -m "$MODEL" --data "$DATA" --status all --template alpaca --seq 64 --max-steps 1 \
    --eval-split 0 --threads 2 --json --out runs/s >s.out 2>s.err || { cat s.err; fail "sft on hh-rlhf"; }
start=$(grep '"event":"start"' s.out)
total=$(( $(num examples) + $(num without_loss) + $(num unrenderable) ))
[ "$total" = 2312 ] || fail "sft: examples + without_loss + unrenderable = $total: $start"
echo ok
