#!/usr/bin/env bash
# `bezoar data filter` / `dedup` on the real files of ../shared/data/instruct (copied
# to a temp dir: the journal lives next to the file): the exact duplicates and the
# "As an AI"-style answers their README documents are found (every "AI language
# model" answer of alpaca_en ends rejected with --decide), HH-RLHF's 4 empty replies,
# the heavily duplicated FastChat dummy file groups as near duplicates, and the
# Japanese and Chinese files do not drown in language-mismatch flags.
set -uo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
DATA=${BEZOAR_DATA:-$PWD/../shared/data}/instruct
[ -x "$BIN" ] || { echo "bezoar binary not built ($BIN)"; exit 77; }
[ -d "$DATA" ] || { echo "SKIP: $DATA is absent (../shared/data not available)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# filt FILE: run the filter (JSON) on a copy, output in $out
filt() {
    cp "$DATA/$1" "$tmp/$1"
    out=$("$BIN" data filter "$tmp/$1" --json "${@:2}") || fail "filter $1"
    echo "$1: $out"
}
num() { grep -o "\"$1\":[0-9]*" <<<"$out" | head -1 | cut -d: -f2; }

filt llamafactory_alpaca_en_demo.json
[ "$(num dup)" -eq 14 ] || fail "alpaca_en: dup $(num dup), README says 14"
[ "$(num exact_groups)" -eq 13 ] || fail "alpaca_en: exact groups"
[ "$(num refusal)" -ge 8 ] || fail "alpaca_en: refusal $(num refusal), README says 8"
[ "$(num lang)" -eq 0 ] && [ "$(num echo)" -eq 0 ] || fail "alpaca_en: false lang/echo flags"
# the duplicates have no own id: they share the kept record's content id (no suggestion)
[ "$(num shared_ids)" -eq 14 ] || fail "alpaca_en: shared ids"
# --decide rejects every flagged id: all 8 "AI language model" answers among them
"$BIN" data filter "$tmp/llamafactory_alpaca_en_demo.json" --decide >/dev/null || fail "decide"
"$BIN" data export "$tmp/llamafactory_alpaca_en_demo.json" --status rejected --format alpaca \
    --jsonl -o "$tmp/rej.jsonl" >/dev/null || fail "export rejected"
n=$(grep -c 'AI language model' "$tmp/rej.jsonl")
[ "$n" -eq 8 ] || fail "alpaca_en: $n of the 8 'AI language model' answers rejected"
"$BIN" data export "$tmp/llamafactory_alpaca_en_demo.json" --status pending --format alpaca \
    --jsonl -o "$tmp/pend.jsonl" >/dev/null || fail "export pending"
! grep -q 'AI language model' "$tmp/pend.jsonl" || fail "alpaca_en: an 'AI language model' answer left"

filt llamafactory_alpaca_zh_demo.json
[ "$(num dup)" -eq 8 ] || fail "alpaca_zh: dup $(num dup)"
[ "$(num refusal)" -ge 8 ] || fail "alpaca_zh: refusal $(num refusal)"
[ "$(num lang)" -le 30 ] || fail "alpaca_zh: $(num lang) language flags (English answers to Chinese instructions; glossed terms must not count)"

filt ja_alpaca_seed_tasks_jp_cleaned.jsonl
[ "$(num lang)" -le 2 ] || fail "ja seeds: $(num lang) language flags (code and translations are traps)"
[ "$(num dup)" -eq 0 ] && [ "$(num neardup)" -eq 0 ] || fail "ja seeds: duplicates"

filt hh-rlhf_harmless-base_test.jsonl.gz
[ "$(num empty)" -eq 4 ] || fail "hh-rlhf: empty $(num empty), README says 4"

filt llamafactory_dpo_en_demo.json
[ "$(num dup)" -eq 5 ] || fail "dpo_en: dup $(num dup)"

cp "$DATA/fastchat_dummy_conversation.json" "$tmp/"
out=$("$BIN" data dedup "$tmp/fastchat_dummy_conversation.json" --json | tail -1) || fail "dedup fastchat"
echo "fastchat dedup: $out"
[ "$(num near_groups)" -ge 20 ] && [ "$(num members)" -ge 300 ] ||
    fail "fastchat (heavily duplicated): near groups $(num near_groups), members $(num members)"
echo "data filter on the real files: ok"
