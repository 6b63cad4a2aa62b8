#!/usr/bin/env bash
# `bezoar data score` against `bezoar serve` with the shipped demo model on loopback:
# the tiny model rarely writes "[[N]]", so this checks only that the pipeline runs and
# counts: every request answered, each verdict either stored as a score or counted as
# unparseable, the scores file as long as the scored count, a rerun asking only the
# unscored ones. (Parsing and resuming are proven by data_score.sh's scripted server.)
set -uo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
M=$PWD/assets/demo-model.gguf
[ -x "$BIN" ] || { echo "bezoar binary not built ($BIN)"; exit 77; }
[ -f "$M" ] || { echo "SKIP: no demo model ($M)"; exit 77; }
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && { kill -9 $pid; wait $pid; } 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
num() { grep -o "\"$1\":[0-9]*" "$tmp/out" | tail -1 | cut -d: -f2; }

"$BIN" serve -m "$M" --port 0 --parallel 2 --threads 2 >"$tmp/url" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
U=$(head -1 "$tmp/url")
case "$U" in http://127.0.0.1:*/v1) ;; *) cat "$tmp/serve.err"; fail "no URL: $U" ;; esac

d=$tmp/pairs.jsonl
# short records: the rubric and the pair must fit the demo model's 512-token context
awk 'length($0) < 200' assets/demo/pairs.jsonl | head -12 >"$d"
"$BIN" data score "$d" --judge "openai:$U#demo-model" --limit 6 --max-tokens 24 --parallel 2 \
    --json >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "score against serve"; }
tail -1 "$tmp/out"
[ "$(num requested)" -eq 6 ] || fail "requested $(num requested)"
[ "$(num failed)" -eq 0 ] || fail "failed requests: $(grep failed "$tmp/out")"
[ $(( $(num scored) + $(num unparseable) )) -eq 6 ] || fail "scored + unparseable != 6"
[ "$(grep -c '"event":"unparseable"' "$tmp/out")" -eq "$(num unparseable)" ] || fail "unparseable events"
S=$d.bezoar/scores.jsonl
if [ "$(num scored)" -gt 0 ]; then
    [ "$(wc -l <"$S")" -eq "$(num scored)" ] || fail "scores file lines"
    grep -q "\"judge\":\"openai:$U#demo-model\"" "$S" || fail "judge not stored"
else
    [ ! -s "$S" ] || fail "scores written without a parsed verdict"
fi
scored=$(num scored)
"$BIN" data score "$d" --judge "openai:$U#demo-model" --limit 2 --max-tokens 24 --json \
    >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/out" "$tmp/err"; fail "second run"; }
[ "$(num already_scored)" -eq "$scored" ] || fail "rerun: already_scored $(num already_scored), want $scored"
[ "$(num requested)" -eq 2 ] || fail "rerun requested $(num requested)"
echo "data score against bezoar serve: ok ($scored of 6 parsed)"
