#!/usr/bin/env bash
# bezoar generate on a terminal (tmux): a progress bar with done/total, rate and ETA on
# stderr, then the summary line.
. "$(dirname "$0")/lib/tmux.sh"
start 120 20 "$BIN" generate --scheme orca --seeds "$PWD/assets/demo/seeds.jsonl" \
    --backend "local:$PWD/assets/demo-model.gguf" -n 5 -o "$TMP/out.jsonl" --max-tokens 24
wait_for "[exit 0]" 60
expect "generate [########################] 5/5"
expect "pairs/s  ETA 0 s  dropped 0  errors 0"
expect "generate: $TMP/out.jsonl: 5 new orca pairs, 5 of 5; 0 dropped; 0 request errors of 5 requests"
[ "$(wc -l <"$TMP/out.jsonl")" -eq 5 ] || fail "want 5 lines"
echo ok
