# The Data view's generation form starts a real `bezoar generate` job (the demo model
# as a local backend): the pairs appear as pending rows while it runs, its progress is
# in the status line, 's' stops it; generating from the shipped demo goes into a copy
# under runs/ and the demo in assets/ stays byte for byte; the help lists the new keys.
. tests/e2e/lib/tmux.sh
"$BIN" --help 2>&1 | grep -q '^  generate ' || skip "SKIP: no 'bezoar generate' verb in this build yet"
ASSETS=$(cd "$(dirname "$0")/../../assets" && pwd)
[ -f "$ASSETS/demo/seeds.jsonl" ] || skip "SKIP: assets/demo/seeds.jsonl is missing"

pair() { printf '{"instruction": "Question %d?", "input": "", "output": "Answer %d."}\n' "$1" "$1"; }

# form_n N: in the open form, set the pair count to N and start
form_n() {
    wait_for "Generate pairs"
    keys j j j Enter
    wait_for "value: "
    keys C-u "$1" Enter
    wait_for "Generate pairs"
    keys j Enter
}

for size in "120 40" "80 24"; do
    set -- $size
    rm -rf "$TMP"/*
    for i in 1 2 3; do pair $i; done > "$TMP/d.jsonl"
    start "$1" "$2" "$BIN" d.jsonl
    wait_for "3 pending"
    keys j              # the selection stays on record 2 while rows arrive
    keys +
    form_n 4
    wait_for "generat" 10
    wait_for "7 pending" 120
    wait_for "generation done · +4 rows" 60
    expect "record 2 of 7"
    keys q
    wait_for "[exit 0]"
    tmux -L "$SOCK" kill-server
    [ "$(wc -l < "$TMP/d.jsonl")" = 7 ] || fail "expected 7 lines in d.jsonl"
    [ "$(grep -c '"scheme":"lamini"' "$TMP/d.jsonl")" = 4 ] || fail "4 lamini pairs with provenance"
    ls "$TMP"/runs/gen-*-lamini/worker.out >/dev/null || fail "no run directory for the job"
done

# the demo: generation goes into a copy; the shipped file is not touched
sum=$(md5sum < "$ASSETS/demo/pairs.jsonl")
rm -rf "$TMP"/*
start 120 40 "$BIN"
wait_for "297 pending"
keys '?'
wait_for "Keys (Esc or ? closes"
expect "generate pairs into this dataset"
expect "stop the generation job"
expect "order: file, score low first"
expect "pre-mark pending rows scored below T"
keys Escape
wait_gone "Keys (Esc or ? closes"
keys +
wait_for "into: a copy, runs/gen-*/pairs.jsonl"
form_n 100000
wait_for "runs/gen-" 10
wait_for "generating" 10
wait_for "pending" 10
got=0
for ((i = 0; i < 1200; i++)); do   # until the first rows have come (slow under ASan)
    if screen | grep -q "generating .*+[1-9][0-9]* rows"; then
        got=1
        break
    fi
    sleep 0.1
done
[ $got = 1 ] || fail "no generated pair arrived in 120 s"
keys s
wait_for "stopping gen-"
wait_for "generation stopped" 30
keys q
wait_for "[exit 0]"
expect "runs/gen-"
[ "$(md5sum < "$ASSETS/demo/pairs.jsonl")" = "$sum" ] || fail "the demo in assets/ changed"
copy=$(ls "$TMP"/runs/gen-*/pairs.jsonl)
n=$(wc -l < "$copy")
[ "$n" -gt 298 ] && [ "$n" -lt 100298 ] || fail "the copy has $n lines (stopped early)"
tmux -L "$SOCK" kill-server

# a JSON array cannot grow by appended lines: refused before anything starts
rm -rf "$TMP"/*
echo '[{"instruction": "Question 1?", "output": "Answer 1."}]' > "$TMP/a.json"
start 120 40 "$BIN" a.json
wait_for "1 pending"
keys +
wait_for "Generate pairs"
keys j j j j Enter
wait_for "cannot generate into this file: a.json: only JSON lines files are refreshed"
keys Escape
wait_gone "Generate pairs"
keys q
wait_for "[exit 0]"
[ ! -d "$TMP/runs" ] || fail "a job was started for a JSON array"
echo "generation from the Data view, live rows, stop, demo copy, refusal, help: ok"
