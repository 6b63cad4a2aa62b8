#!/usr/bin/env bash
# bezoar generate with the local: backend (the engine in-process, the shipped demo
# model): pairs of two schemes with provenance, resumed in the same file.
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
M=$PWD/assets/demo-model.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--seeds "$PWD/assets/demo/seeds.jsonl" --backend "local:$M" --max-tokens 40 --seed 3)

"$BIN" generate --scheme orca "${common[@]}" -n 3 -o "$tmp/out.jsonl" --json >"$tmp/ev" 2>"$tmp/err" ||
    { cat "$tmp/err"; exit 1; }
[ "$(wc -l <"$tmp/out.jsonl")" -eq 3 ] || { cat "$tmp/out.jsonl"; exit 1; }
[ "$(grep -c "\"scheme\":\"orca\",.*\"backend\":\"local:$M\",\"model\":\"demo-model\",\"sampling\":{\"temperature\":0.7,\"top_p\":0.95,\"max_tokens\":40,\"seed\":3}" "$tmp/out.jsonl")" -eq 3 ] ||
    { echo "provenance"; head -1 "$tmp/out.jsonl"; exit 1; }
head -1 "$tmp/ev" | grep -q '"parallel":1,' || { echo "local runs one at a time"; head -1 "$tmp/ev"; exit 1; }
# a second scheme into the same file counts its own pairs
"$BIN" generate --scheme evol "${common[@]}" -n 2 -o "$tmp/out.jsonl" --quiet 2>"$tmp/err" ||
    { cat "$tmp/err"; exit 1; }
[ "$(grep -c '"scheme":"evol"' "$tmp/out.jsonl")" -eq 2 ] || { cat "$tmp/out.jsonl"; exit 1; }
[ "$(grep -c '"scheme":"orca"' "$tmp/out.jsonl")" -eq 3 ] || { cat "$tmp/out.jsonl"; exit 1; }
[ -z "$(grep -o '"key":"[^"]*"' "$tmp/out.jsonl" | sort | uniq -d)" ] || { echo "duplicate keys"; exit 1; }
# without a terminal and without --json: a summary line on stderr, nothing on stdout
"$BIN" generate --scheme orca "${common[@]}" -n 4 -o "$tmp/out.jsonl" >"$tmp/stdout" 2>"$tmp/err"
[ ! -s "$tmp/stdout" ] || { cat "$tmp/stdout"; exit 1; }
grep -q "generate: $tmp/out.jsonl: 1 new orca pair, 4 of 4; 0 dropped; 0 request errors of 1 requests" "$tmp/err" ||
    { cat "$tmp/err"; exit 1; }
echo ok
