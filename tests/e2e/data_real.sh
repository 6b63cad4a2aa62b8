#!/usr/bin/env bash
# `bezoar data stats/import` on the real files of ../shared/data/instruct: counts and
# duplicates as that README documents, and every file converts to OpenAI JSON lines
# that read back with the same record count.
set -uo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
DATA=${BEZOAR_DATA:-$PWD/../shared/data}/instruct
[ -x "$BIN" ] || { echo "bezoar binary not built ($BIN)"; exit 77; }
[ -d "$DATA" ] || { echo "$DATA is absent (../shared/data not available)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
check() { # FILE RECORDS DUPS EMPTY FORMAT
    local out
    out=$("$BIN" data stats "$DATA/$1" --json) || fail "stats $1"
    grep -qF "\"records\":$2," <<<"$out" || fail "$1: records != $2: $out"
    grep -qF '"bad_lines":0,' <<<"$out" || fail "$1: bad lines: $out"
    grep -qF "\"exact_duplicates\":$3," <<<"$out" || fail "$1: duplicates != $3: $out"
    grep -qF "\"empty_responses\":$4," <<<"$out" || fail "$1: empty != $4: $out"
    grep -qF "\"format\":\"$5\"" <<<"$out" || fail "$1: format != $5: $out"
    "$BIN" data import "$DATA/$1" -o "$tmp/$1.jsonl" >/dev/null || fail "import $1"
    [ "$(wc -l <"$tmp/$1.jsonl")" -eq "$2" ] || fail "import $1: $(wc -l <"$tmp/$1.jsonl") lines"
    out=$("$BIN" data stats "$tmp/$1.jsonl" --json) || fail "stats of the import of $1"
    grep -qF "\"records\":$2," <<<"$out" || fail "re-read import of $1: $out"
    echo "ok $1"
}
check llamafactory_alpaca_en_demo.json 999 14 0 alpaca
check llamafactory_alpaca_zh_demo.json 1000 8 0 alpaca
check selfinstruct_seed_tasks.jsonl 175 0 0 selfinstruct
check ja_alpaca_seed_tasks_jp_cleaned.jsonl 175 0 0 selfinstruct
check llamafactory_dpo_en_demo.json 300 5 0 pref-llamafactory
check foundry_orca_dpo_pairs_validation.jsonl 284 0 0 pref-openai
check hh-rlhf_harmless-base_test.jsonl.gz 2312 0 4 pref-hh
check fastchat_dummy_conversation.json 500 0 0 sharegpt
check axolotl_fixture_conversation.json 1 0 0 sharegpt
