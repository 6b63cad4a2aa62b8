#!/usr/bin/env bash
# `bezoar data` end to end on a file written here: stats (text and --json), decide,
# export in each format, import, and the error/usage paths (one line on stderr,
# exit 1 at run time, 2 for usage, 0 for -h).
set -uo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
[ -x "$BIN" ] || { echo "bezoar binary not built ($BIN)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# expect CODE CMD...: run CMD, its exit code must be CODE
expect() {
    local want=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ $rc -eq "$want" ] || { cat "$tmp/out" "$tmp/err"; fail "exit $rc, expected $want: $*"; }
}
one_error_line() {
    [ "$(wc -l <"$tmp/err")" -eq 1 ] || { cat "$tmp/err"; fail "stderr is not one line"; }
    grep -q '^bezoar: ' "$tmp/err" || { cat "$tmp/err"; fail "stderr does not start with 'bezoar: '"; }
}

d=$tmp/pairs.jsonl
cat >"$d" <<'JSON'
{"id":"a1","instruction":"Name a colour.","output":"Blue."}
{"id":"a2","instruction":"Name a fruit.","output":"Apple."}
{"id":"a3","instruction":"Name a fruit.","output":"Apple."}
{"instruction":"Say nothing.","output":"  "}
{"instruction":"broken",
{"conversations":[{"from":"human","value":"こんにちは"},{"from":"gpt","value":"こんにちは！"}]}
JSON

expect 0 "$BIN" data stats "$d" --json
json=$(cat "$tmp/out")
for kv in '"records":6' '"bad_lines":1' '"accepted":0' '"rejected":0' '"flagged":0' \
          '"pending":5' '"exact_duplicates":1' '"empty_responses":1' '"alpaca":4' '"sharegpt":1'; do
    grep -qF "$kv" <<<"$json" || fail "stats --json lacks $kv: $json"
done
grep -qF "pairs.jsonl:5:" <<<"$json" || fail "stats --json lacks the bad location: $json"
[ ! -e "$d.bezoar" ] || fail "stats created the journal directory"

expect 0 "$BIN" data decide "$d" --id a1 --op accept
grep -qx "a1: accepted" "$tmp/out" || fail "decide printed: $(cat "$tmp/out")"
expect 0 "$BIN" data decide "$d" --id a2 --id a3 --op reject
[ "$(wc -l <"$d.bezoar/journal")" -eq 3 ] || fail "journal has $(wc -l <"$d.bezoar/journal") lines"
expect 1 "$BIN" data decide "$d" --id nope --op flag
one_error_line
grep -q "no record with id 'nope'" "$tmp/err" || fail "decide unknown id: $(cat "$tmp/err")"
expect 2 "$BIN" data decide "$d" --id a1 --op edit
one_error_line

expect 0 "$BIN" data stats "$d"
grep -q "accepted 1, rejected 2, flagged 0, pending 2" "$tmp/out" || fail "stats text: $(cat "$tmp/out")"
grep -q "bad: .*pairs.jsonl:5:" "$tmp/out" || fail "stats text lacks the bad line"

expect 0 "$BIN" data export "$d" --status accepted --format alpaca -o "$tmp/acc.json"
grep -q '^{"id":"a1","instruction":"Name a colour.","input":"","output":"Blue."}$' "$tmp/acc.json" \
    || fail "alpaca export: $(cat "$tmp/acc.json")"
head -c1 "$tmp/acc.json" | grep -q '\[' || fail "alpaca export is not a JSON array"
expect 0 "$BIN" data export "$d" --status rejected,pending --format sharegpt --jsonl -o "$tmp/r.jsonl"
[ "$(wc -l <"$tmp/r.jsonl")" -eq 4 ] || fail "sharegpt export has $(wc -l <"$tmp/r.jsonl") lines"
grep -q '"from":"human","value":"こんにちは"' "$tmp/r.jsonl" || fail "sharegpt export lost the Japanese pair"
expect 0 "$BIN" data export "$d" --status all --format openai -o "$tmp/all.json"
grep -q "^5 records written to" "$tmp/out" || fail "export all: $(cat "$tmp/out")"
# the export reads back with the same ids
expect 0 "$BIN" data stats "$tmp/all.json" --json
grep -qF '"records":5' "$tmp/out" || fail "re-opened export: $(cat "$tmp/out")"
ls "$tmp" | grep -q '\.tmp\.' && fail "a temp file was left behind"

expect 0 "$BIN" data import "$d" -o "$tmp/imp.jsonl"
[ "$(wc -l <"$tmp/imp.jsonl")" -eq 5 ] || fail "import wrote $(wc -l <"$tmp/imp.jsonl") lines"
grep -q '"source":{"file":".*pairs.jsonl","line":6,"format":"sharegpt"}' "$tmp/imp.jsonl" \
    || fail "import lacks source: $(tail -1 "$tmp/imp.jsonl")"
grep -q "warning: .*pairs.jsonl:5:" "$tmp/err" || fail "import did not report the bad line"

# errors and usage
expect 1 "$BIN" data stats "$tmp/missing.jsonl"; one_error_line
grep -q "missing.jsonl: no such file" "$tmp/err" || fail "missing: $(cat "$tmp/err")"
expect 1 "$BIN" data stats "$tmp"; one_error_line
: >"$tmp/empty.jsonl"
expect 1 "$BIN" data stats "$tmp/empty.jsonl"; one_error_line
grep -q "empty file" "$tmp/err" || fail "empty: $(cat "$tmp/err")"
head -c 3000 /dev/urandom >"$tmp/noise.bin"; printf '\0' >>"$tmp/noise.bin"
expect 1 "$BIN" data stats "$tmp/noise.bin"; one_error_line
grep -q "binary file" "$tmp/err" || fail "binary: $(cat "$tmp/err")"
expect 2 "$BIN" data; expect 2 "$BIN" data frobnicate; one_error_line
expect 2 "$BIN" data stats; one_error_line
expect 2 "$BIN" data export "$d" --format yaml -o x; one_error_line
expect 2 "$BIN" data export "$d" --status maybe -o x; one_error_line
expect 2 "$BIN" data export "$d"; one_error_line
expect 2 "$BIN" data import "$d" -o x --format nope; one_error_line
for sub in stats export import decide; do
    expect 0 "$BIN" data "$sub" -h
    grep -q "^usage: bezoar data $sub" "$tmp/out" || fail "$sub -h: $(cat "$tmp/out")"
done
echo "data CLI ok"
