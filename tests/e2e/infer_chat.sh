#!/usr/bin/env bash
# bezoar chat: piped turns with a chosen template, the missing-template error, and in
# a real terminal (tmux) Ctrl-C stopping a long reply without ending the program.
source "$(dirname "$0")/lib/tmux.sh"
DATA=$PWD/../shared/data/models
[ -f "$DATA/stories260K.gguf" ] || skip "../shared/data is absent: skipped"
GEN=${BEZOAR_BUILD:-build}/tools/gen-model
[ -x "$GEN" ] || { echo "$GEN not built"; exit 1; }
M=$DATA/stories260K.gguf

# piped: two turns, /reset, a third; three replies; exit 0
out=$(printf 'Once upon a time\nTell me more\n/reset\nHello\n' |
      "$BIN" chat -m "$M" --template alpaca -n 20 --temp 0 2>"$TMP/err") || fail "chat exit $?"
[ "$(grep -c '^\[[0-9]* new prompt tokens' "$TMP/err")" -eq 3 ] || { cat "$TMP/err"; fail "expected 3 replies"; }
grep -q "template alpaca" "$TMP/err" || fail "no banner"
grep -q "conversation reset" "$TMP/err" || fail "no reset"
# the second turn reuses the cache: fewer new prompt tokens than the first turn's prompt + reply
n1=$(grep -o '^\[[0-9]* new' "$TMP/err" | sed -n 1p | tr -dc 0-9)
n2=$(grep -o '^\[[0-9]* new' "$TMP/err" | sed -n 2p | tr -dc 0-9)
[ "$n2" -lt $((n1 + 20)) ] || fail "turn 2 evaluated $n2 tokens (turn 1: $n1 + 20 generated)"
# the same greedy first reply as a fresh run with the same input
out2=$(printf 'Once upon a time\n' | "$BIN" chat -m "$M" --template alpaca -n 20 --temp 0 2>/dev/null)
[ -n "$out2" ] && [ "${out#"$out2"}" != "$out" ] || fail "first reply differs: $out2"

# no template in the model and none chosen: exit 1, the message says what to do
rc=0
echo hi | "$BIN" chat -m "$M" >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] && grep -q -- "--template" "$TMP/err" || { cat "$TMP/err"; fail "missing template: exit $rc"; }

# Ctrl-C in a terminal: a long reply from a bigger random model stops, the prompt comes back
"$GEN" -o "$TMP/big.gguf" --shape small --dim 512 --ffn 1408 --layers 8 --vocab-from "$M"
start 100 30 "$BIN" chat -m "$TMP/big.gguf" --template alpaca -n 100000 --ctx 4096 --threads 1 --temp 1
wait_for "Ctrl-C stops a reply" 20 || fail "no banner"
keys "tell me a very long story" Enter
sleep 2
keys C-c
wait_for "[stopped]" 10 || fail "Ctrl-C did not stop the reply"
wait_for "> " 5 || fail "no prompt after Ctrl-C"
keys "/exit" Enter
wait_for "[exit 0]" 10 || fail "did not exit 0 after /exit"
echo ok
