#!/usr/bin/env bash
# bezoar generate's errors: usage errors exit 2; a missing or bad seeds file names the
# file and line; a backend that refuses every request is an error (exit 1, JSON error
# event) after a bounded number of units; prompts replaced with --prompts.
set -uo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
SEEDS=$PWD/assets/demo/seeds.jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
want() { # want CODE PATTERN CMD...: exit code and a stderr line
    local code=$1 pat=$2; shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ $rc -eq "$code" ] || { cat "$tmp/err"; fail "$* -> exit $rc, want $code"; }
    grep -q -- "$pat" "$tmp/err" || { cat "$tmp/err"; fail "$*: stderr lacks '$pat'"; }
}
G=("$BIN" generate)
BE=openai:http://127.0.0.1:1/v1#m
want 2 "are required" "${G[@]}"
want 2 "expected lamini, evol or orca (got nope)" "${G[@]}" --scheme nope --seeds "$SEEDS" --backend "$BE" -n 1 -o "$tmp/o.jsonl"
want 2 "expected local:MODEL\[+ADAPTER\] or openai:URL#MODEL" "${G[@]}" --scheme orca --seeds "$SEEDS" --backend nope -n 1 -o "$tmp/o.jsonl"
want 2 "expected openai:URL#MODEL" "${G[@]}" --scheme orca --seeds "$SEEDS" --backend openai:http://x/v1 -n 1 -o "$tmp/o.jsonl"
want 2 "\-n: expected a number" "${G[@]}" --scheme orca --seeds "$SEEDS" --backend "$BE" -n 0 -o "$tmp/o.jsonl"
want 2 "whole numbers" "${G[@]}" --scheme orca --seeds "$SEEDS" --backend "$BE" -n 2.5 -o "$tmp/o.jsonl"
want 2 "\-\-topics is for --scheme lamini" "${G[@]}" --scheme evol --topics x --seeds "$SEEDS" --backend "$BE" -n 1 -o "$tmp/o.jsonl"
want 2 "unknown option --bogus" "${G[@]}" --bogus 1
want 1 "missing.jsonl: No such file" "${G[@]}" --scheme orca --seeds "$tmp/missing.jsonl" --backend "$BE" -n 1 -o "$tmp/o.jsonl"
printf '{"id":"a","instruction":"Say hi to me."}\n{"id":"b","instruction":\n' >"$tmp/bad.jsonl"
want 1 "bad.jsonl:2: not a JSON object" "${G[@]}" --scheme orca --seeds "$tmp/bad.jsonl" --backend "$BE" -n 1 -o "$tmp/o.jsonl"
want 1 "lamini-example.txt: No such file" "${G[@]}" --scheme orca --seeds "$SEEDS" --backend "$BE" -n 1 -o "$tmp/o.jsonl" --prompts "$tmp"
[ ! -s "$tmp/o.jsonl" ] || fail "an error run wrote pairs"

# every request refused: exit 1, after at most --max-units units, with events
"${G[@]}" --scheme orca --seeds "$SEEDS" --backend "$BE" -n 2 -o "$tmp/o.jsonl" --retries 0 \
    --max-units 3 --json >"$tmp/ev" 2>"$tmp/err"
[ $? -eq 1 ] || fail "refused backend: want exit 1"
grep -q "every request failed (3), the first: http://127.0.0.1:1/v1/chat/completions" "$tmp/err" ||
    { cat "$tmp/err"; fail "no 'every request failed'"; }
[ "$(grep -c '^{"event":"error","key":"orca/' "$tmp/ev")" -eq 3 ] || { cat "$tmp/ev"; fail "want 3 error events"; }
tail -1 "$tmp/ev" | grep -q '^{"event":"error","message":"every request failed' || { tail -1 "$tmp/ev"; fail "final error event"; }
[ ! -s "$tmp/o.jsonl" ] || fail "pairs written"

# a copy of the prompts with one Orca system message of our own
mkdir "$tmp/p"
cp "$PWD"/assets/prompts/lamini-*.txt "$PWD"/assets/prompts/evol-*.txt "$tmp/p/"
echo "Answer in exactly one step." >"$tmp/p/orca-system-only.txt"
"${G[@]}" --scheme orca --seeds "$SEEDS" --backend "local:$PWD/assets/demo-model.gguf" -n 2 \
    -o "$tmp/o2.jsonl" --prompts "$tmp/p" --max-tokens 8 --quiet || fail "--prompts run"
[ "$(grep -c '"role":"system","content":"Answer in exactly one step."' "$tmp/o2.jsonl")" -eq 2 ] ||
    { cat "$tmp/o2.jsonl"; fail "--prompts not used"; }
grep -q '"strategy":"orca-system-only"' "$tmp/o2.jsonl" || fail "strategy name"
echo ok
