#!/usr/bin/env bash
# `bezoar data filter` and `data dedup` end to end: on the demo dataset (its manifest
# assets/demo/pairs-manifest.json lists the oddities on purpose) every listed empty,
# refusal (EN and JA), loop, long answer and exact duplicate is flagged and suggested
# for rejection with the flag as the reason, the kept originals are not, a second run
# writes nothing, suggestions are not decisions, --decide is; --rules overrides;
# near duplicates in English and Japanese are grouped by dedup; usage errors.
set -uo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
[ -x "$BIN" ] || { echo "bezoar binary not built ($BIN)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() {
    local want=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ $rc -eq "$want" ] || { cat "$tmp/out" "$tmp/err"; fail "exit $rc, expected $want: $*"; }
}
has() { grep -qF -- "$1" "$tmp/out" || { cat "$tmp/out"; fail "output lacks $1"; }; }

M=assets/demo/pairs-manifest.json
d=$tmp/pairs.jsonl
cp assets/demo/pairs.jsonl "$d"
# the manifest's line lists, as "N N N"
list() { tr -d '\n ' <"$M" | grep -o "\"$1\":\[[0-9,]*\]" | grep -o '\[.*\]' | tr -d '[]' | tr ',' ' '; }
id_at() { sed -n "$1p" "$d" | grep -o '^{"id":"[^"]*"' | cut -d'"' -f4; }
# suggestion_of ID: the reason of the last suggestion line for ID in the journal
suggestion_of() { grep -F "\"id\":\"$1\",\"op\":\"suggest\"" "$d.bezoar/journal" | tail -1 |
                  grep -o '"why":"[^"]*"' | cut -d'"' -f4; }

expect 0 "$BIN" data filter "$d" --json
for kv in '"records":298' '"bad":1' '"empty":3' '"refusal":7' '"repeat":1' '"long":4' '"dup":6' \
          '"neardup":0' '"lang":0' '"echo":0' '"ctrl":0' '"short":0' '"exact_groups":6' \
          '"flagged":21' '"mode":"suggest"' '"written":21' '"already_decided":0'; do
    has "$kv"
done
check_reason() { # check_reason MANIFEST_KEY WHY
    local l id
    for l in $(list "$1"); do
        id=$(id_at "$l")
        [ "$(suggestion_of "$id")" = "$2" ] || fail "line $l ($id, $1): suggestion '$(suggestion_of "$id")', want '$2'"
    done
}
check_reason empty_responses empty
check_reason refusals_en refusal
check_reason refusals_ja refusal
check_reason repetition_loops repeat
check_reason long_outputs long
# duplicates: [line, line of the original]: the copy is suggested, the original is not
for pair in $(tr -d '\n ' <"$M" | grep -o '"exact_duplicates":\[.*\]\],' | grep -o '\[[0-9]*,[0-9]*\]'); do
    dup=$(echo "$pair" | tr -d '[]' | cut -d, -f1); orig=$(echo "$pair" | tr -d '[]' | cut -d, -f2)
    [ "$(suggestion_of "$(id_at "$dup")")" = dup ] || fail "duplicate line $dup not suggested"
    [ -z "$(suggestion_of "$(id_at "$orig")")" ] || fail "kept original line $orig got a suggestion"
done
[ "$(grep -c '"op":"suggest"' "$d.bezoar/journal")" -eq 21 ] || fail "journal: want 21 suggestions"

# suggestions are not decisions; a second run writes nothing
expect 0 "$BIN" data stats "$d" --json
has '"pending":297'
has '"rejected":0'
lines=$(wc -l <"$d.bezoar/journal")
expect 0 "$BIN" data filter "$d"
has "suggested reject: 0 ids in 0 journal step(s); 21 unchanged"
has "refusal      7  the response refuses"
[ "$(wc -l <"$d.bezoar/journal")" -eq "$lines" ] || fail "a second run wrote to the journal"

# a person's decision is left alone; rules from a file: long instructions on, refusal off
expect 0 "$BIN" data decide "$d" --id "$(id_at 28)" --op accept
printf '{"long_prompt_chars": 1000, "flags": ["empty", "long", "repeat", "dup"]}\n' >"$tmp/r.json"
expect 0 "$BIN" data filter "$d" --rules "$tmp/r.json" --json
has '"long":7'
has '"refusal":0'
has '"cleared":7'          # the 7 refusal suggestions no longer hold
has '"already_decided":0'
for l in $(list long_instructions); do
    [ "$(suggestion_of "$(id_at "$l")")" = long ] || fail "long instruction line $l not suggested"
done

# --decide: reject decisions in one step; the decided (accepted) record stays accepted
expect 0 "$BIN" data filter "$d" --decide --json
has '"mode":"decide"'
has '"steps":1'
has '"written":20'
has '"already_decided":1'
expect 0 "$BIN" data stats "$d" --json
has '"rejected":20'
has '"accepted":1'

# dedup lists the exact groups with the kept member marked
expect 0 "$BIN" data dedup "$d"
has "6 exact and 0 near-duplicate groups (12 records, threshold 0.8, keep first"
grep -q '^  \* line 3 .* ja-014 ' "$tmp/out" || { cat "$tmp/out"; fail "dedup: kept line 3 not marked"; }
grep -q '^    line 21 .* ja-014-2 ' "$tmp/out" || { cat "$tmp/out"; fail "dedup: line 21 not listed"; }

# near duplicates, English and Japanese, and a distinct pair that must not group
n=$tmp/near.jsonl
cat >"$n" <<'JSON'
{"id":"en-a","instruction":"Explain photosynthesis.","output":"Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make glucose and oxygen. It takes place mainly in the leaves, inside chloroplasts that hold the pigment chlorophyll, which absorbs red and blue light and reflects green light."}
{"id":"ja-a","instruction":"光合成を説明してください。","output":"光合成とは、植物が太陽の光を使って、水と二酸化炭素からブドウ糖と酸素を作り出す働きのことです。主に葉の中にある葉緑体で行われます。作られたブドウ糖はでんぷんとして蓄えられ、夜の間や冬の成長に使われます。"}
{"id":"other","instruction":"Describe the French Revolution.","output":"The French Revolution began in 1789 with the storming of the Bastille and ended the absolute monarchy of Louis XVI. It spread ideas of liberty and equality across Europe."}
{"id":"en-b","instruction":"Explain photosynthesis.","output":"Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make glucose and oxygen. It takes place mostly in the leaves, inside chloroplasts that hold the pigment chlorophyll, which absorbs red and blue light and reflects green light."}
{"id":"ja-b","instruction":"光合成を説明してください。","output":"光合成とは、植物が太陽の光を利用して、水と二酸化炭素からブドウ糖と酸素を作り出す働きのことです。主に葉の中にある葉緑体で行われます。作られたブドウ糖はでんぷんとして蓄えられ、夜の間や冬の成長に使われます。"}
JSON
expect 0 "$BIN" data dedup "$n" --json
[ "$(grep -c '"kind":"near"' "$tmp/out")" -eq 2 ] || { cat "$tmp/out"; fail "dedup: want 2 near groups"; }
grep -q '"id":"en-a","keep":true.*"id":"en-b","keep":false,"flag":"neardup"' "$tmp/out" || { cat "$tmp/out"; fail "en group"; }
grep -q '"id":"ja-a","keep":true.*"id":"ja-b","keep":false,"flag":"neardup"' "$tmp/out" || { cat "$tmp/out"; fail "ja group"; }
grep -q '"id":"other"' "$tmp/out" && fail "a distinct record was grouped"
[ ! -e "$n.bezoar" ] || fail "dedup wrote a journal directory"
expect 0 "$BIN" data dedup "$n" --shingle char --json
[ "$(grep -c '"kind":"near"' "$tmp/out")" -eq 2 ] || { cat "$tmp/out"; fail "dedup --shingle char"; }
expect 0 "$BIN" data dedup "$n" --near 0.99
has "0 exact and 0 near-duplicate groups"
expect 0 "$BIN" data filter "$n" --json
has '"neardup":2'
has '"near_groups":2'

# usage and errors: exit 2 for usage, 1 at run time, one line on stderr
expect 2 "$BIN" data filter "$d" --near 2
expect 2 "$BIN" data filter
expect 2 "$BIN" data dedup "$d" --shingle bytes
printf '{"long_chars": "many"}\n' >"$tmp/bad.json"
expect 1 "$BIN" data filter "$d" --rules "$tmp/bad.json"
grep -q "^bezoar: .*bad.json: long_chars: expected a whole number" "$tmp/err" || { cat "$tmp/err"; fail "bad rules message"; }
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "stderr is not one line"
expect 1 "$BIN" data filter "$tmp/missing.jsonl"
expect 0 "$BIN" data filter -h
has "--decide"
echo "data filter: ok"
