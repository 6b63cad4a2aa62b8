#!/usr/bin/env bash
# bezoar generate against `bezoar serve` with the shipped demo model on loopback: N
# pairs of each scheme (lamini with topics, evol, orca) written with provenance and
# unique keys, JSON-lines events; a run killed with SIGKILL mid-way (plus a torn last
# line) resumes to exactly N pairs without a duplicate key; a finished run asks nothing.
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
M=$PWD/assets/demo-model.gguf
SEEDS=$PWD/assets/demo/seeds.jsonl
TOPICS=$PWD/assets/demo/topics.txt
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
tmp=$(mktemp -d)
pid=
gpid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; [ -n "$gpid" ] && kill -9 $gpid 2>/dev/null; rm -rf "$tmp"' EXIT

"$BIN" serve -m "$M" --port 0 --parallel 2 --threads 2 >"$tmp/url" 2>"$tmp/serve.err" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
U=$(head -1 "$tmp/url")
case "$U" in http://127.0.0.1:*/v1) ;; *) echo "no URL: $U"; cat "$tmp/serve.err"; exit 1 ;; esac
BE="openai:$U#demo-model"

# check_out FILE SCHEME N: N lines, all pairs of SCHEME with provenance, keys unique
check_out() {
    local f=$1 s=$2 n=$3
    [ "$(wc -l <"$f")" -eq "$n" ] || { echo "$f: $(wc -l <"$f") lines, want $n"; exit 1; }
    [ "$(tail -c 1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || { echo "$f: no final newline"; exit 1; }
    local k
    for k in '"messages":\[' "\"scheme\":\"$s\"" '"strategy":"' '"generation":[0-9]' \
             '"seed_id":"' "\"backend\":\"openai:http://127.0.0.1:[0-9]*/v1#demo-model\"" \
             '"model":"demo-model"' '"sampling":{"temperature":0.8,"top_p":0.95,"max_tokens":48,"seed":7}' \
             '"time":"20[0-9-]*T[0-9:]*Z"' "\"key\":\"$s/"; do
        [ "$(grep -c -- "$k" "$f")" -eq "$n" ] || { echo "$f: not every line has $k"; head -2 "$f"; exit 1; }
    done
    grep -c '"role":"assistant","content":"[^"]' "$f" | grep -qx "$n" || { echo "$f: empty answers"; exit 1; }
    local dups
    dups=$(grep -o '"key":"[^"]*"' "$f" | sort | uniq -d)
    [ -z "$dups" ] || { echo "$f: duplicate keys: $dups"; exit 1; }
    dups=$(grep -o '^{"id":"[^"]*"' "$f" | sort | uniq -d)
    [ -z "$dups" ] || { echo "$f: duplicate ids: $dups"; exit 1; }
}
common=(--seeds "$SEEDS" --backend "$BE" --temperature 0.8 --top-p 0.95 --max-tokens 48 --seed 7)

# lamini: example- and topic-guided
"$BIN" generate --scheme lamini --topics "$TOPICS" "${common[@]}" -n 8 -o "$tmp/lamini.jsonl" \
    --parallel 2 --json >"$tmp/lamini.ev" 2>"$tmp/lamini.err" || { cat "$tmp/lamini.err"; exit 1; }
check_out "$tmp/lamini.jsonl" lamini 8
grep -q '"strategy":"example"' "$tmp/lamini.jsonl" && grep -q '"strategy":"topic"' "$tmp/lamini.jsonl" ||
    { echo "lamini: want both strategies"; exit 1; }
grep -q '"topic":"farm animals"' "$tmp/lamini.jsonl" || { echo "lamini: no topic kept"; exit 1; }
head -1 "$tmp/lamini.ev" | grep -q '^{"event":"start","verb":"generate","scheme":"lamini"' ||
    { head -1 "$tmp/lamini.ev"; exit 1; }
[ "$(grep -c '^{"event":"pair"' "$tmp/lamini.ev")" -eq 8 ] || { echo "lamini: want 8 pair events"; exit 1; }
grep -q '^{"event":"progress","phase":"generate","done":8,"total":8,' "$tmp/lamini.ev" || { echo "no progress event"; exit 1; }
tail -1 "$tmp/lamini.ev" | grep -q '^{"event":"done",.*"written":8,"existing":0,"total":8,"target":8' ||
    { tail -1 "$tmp/lamini.ev"; exit 1; }

# evol: strategies and generations recorded; drops counted per reason in the done event
"$BIN" generate --scheme evol "${common[@]}" -n 6 -o "$tmp/evol.jsonl" --json \
    >"$tmp/evol.ev" 2>"$tmp/evol.err" || { cat "$tmp/evol.err"; exit 1; }
check_out "$tmp/evol.jsonl" evol 6
grep -qE '"strategy":"(add-constraints|deepen|concretize|more-reasoning|complicate-input|breadth)","generation":1,' \
    "$tmp/evol.jsonl" || { echo "evol: no strategy"; exit 1; }
tail -1 "$tmp/evol.ev" | grep -q '"dropped_by":{' || { tail -1 "$tmp/evol.ev"; exit 1; }
# more of the same file: the chains go on (generation 2 from generation 1)
"$BIN" generate --scheme evol "${common[@]}" -n 40 -o "$tmp/evol.jsonl" --quiet --parallel 2 ||
    { echo "evol 40 failed"; exit 1; }
check_out "$tmp/evol.jsonl" evol 40
grep -q '"generation":2,' "$tmp/evol.jsonl" || { echo "evol: no second generation"; exit 1; }

# orca: the system message stays in the pair
"$BIN" generate --scheme orca "${common[@]}" -n 6 -o "$tmp/orca.jsonl" --quiet 2>"$tmp/orca.err" ||
    { cat "$tmp/orca.err"; exit 1; }
check_out "$tmp/orca.jsonl" orca 6
[ "$(grep -c '^{"id":"[0-9a-f]*","messages":\[{"role":"system","content":"You are ' "$tmp/orca.jsonl")" -eq 6 ] ||
    { echo "orca: system messages missing"; head -1 "$tmp/orca.jsonl"; exit 1; }
grep -q '"strategy":"orca-system-' "$tmp/orca.jsonl" || { echo "orca: strategy"; exit 1; }
# the file reads as a dataset
"$BIN" data stats "$tmp/orca.jsonl" >"$tmp/stats" 2>&1 || { cat "$tmp/stats"; exit 1; }

# SIGKILL mid-way, a torn last line, then resume to exactly N
N=30
"$BIN" generate --scheme lamini --topics "$TOPICS" "${common[@]}" -n $N -o "$tmp/kill.jsonl" \
    --parallel 1 --quiet 2>/dev/null &
gpid=$!
for _ in $(seq 400); do
    [ -f "$tmp/kill.jsonl" ] && [ "$(wc -l <"$tmp/kill.jsonl")" -ge 4 ] && break
    sleep 0.02
done
kill -9 $gpid 2>/dev/null || true
wait $gpid 2>/dev/null || true
gpid=
got=$(wc -l <"$tmp/kill.jsonl")
[ "$got" -ge 4 ] && [ "$got" -lt $N ] || { echo "kill: $got lines when killed"; exit 1; }
# whole lines only so far (each pair is one write), then what a torn write would leave
[ "$(tail -c 1 "$tmp/kill.jsonl" | od -An -c | tr -d ' ')" = '\n' ] || { echo "kill: torn"; exit 1; }
torn='{"id":"torn","messages":[{"role":"user","content":"half a li'
printf '%s' "$torn" >>"$tmp/kill.jsonl"
"$BIN" generate --scheme lamini --topics "$TOPICS" "${common[@]}" -n $N -o "$tmp/kill.jsonl" \
    --parallel 2 --json >"$tmp/kill.ev" 2>"$tmp/kill.err" || { cat "$tmp/kill.err"; exit 1; }
grep -q "kill.jsonl: cut off a torn last line (${#torn} bytes)" "$tmp/kill.err" || { cat "$tmp/kill.err"; exit 1; }
head -1 "$tmp/kill.ev" | grep -q "\"existing\":$got,\"parallel\":2,\"torn_bytes\":${#torn}}" ||
    { head -1 "$tmp/kill.ev"; exit 1; }
check_out "$tmp/kill.jsonl" lamini $N

# at the target, nothing is asked: no pair, no request
"$BIN" generate --scheme lamini "${common[@]}" -n $N -o "$tmp/kill.jsonl" --json >"$tmp/again.ev"
tail -1 "$tmp/again.ev" | grep -q '"written":0,"existing":30,"total":30,"target":30,"dropped":0,"errors":0,"requests":0' ||
    { tail -1 "$tmp/again.ev"; exit 1; }
check_out "$tmp/kill.jsonl" lamini $N

# SIGTERM: the units in flight finish and are written, then exit 1 saying so
"$BIN" generate --scheme orca "${common[@]}" -n 80 -o "$tmp/term.jsonl" --parallel 2 --json \
    >"$tmp/term.ev" 2>"$tmp/term.err" &
gpid=$!
for _ in $(seq 400); do
    [ -f "$tmp/term.jsonl" ] && [ "$(wc -l <"$tmp/term.jsonl")" -ge 2 ] && break
    sleep 0.02
done
kill -TERM $gpid
set +e
wait $gpid
rc=$?
set -e
gpid=
[ $rc -eq 1 ] || { echo "SIGTERM: exit $rc, want 1"; cat "$tmp/term.err"; exit 1; }
grep -q "stopped short at [0-9]* of 80 orca pairs (interrupted); run again to go on" "$tmp/term.err" ||
    { cat "$tmp/term.err"; exit 1; }
tail -1 "$tmp/term.ev" | grep -q '"stopped":true' || { tail -1 "$tmp/term.ev"; exit 1; }
got=$(wc -l <"$tmp/term.jsonl")
[ "$got" -lt 80 ] || { echo "SIGTERM did not stop the run"; exit 1; }
check_out "$tmp/term.jsonl" orca "$got"

kill -TERM $pid
wait $pid || { echo "serve exit $?"; cat "$tmp/serve.err"; exit 1; }
pid=
echo ok
