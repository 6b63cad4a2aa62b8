#!/usr/bin/env bash
# bezoar convert: llama2.c -> GGUF behaves exactly like the published GGUF (same
# greedy text, byte-identical logits, same tokens); GGUF -> q8_0 / f16 / bf16 load and
# generate; ffn_down's 172-wide rows fall back to F16 and are reported; bad types
# are usage errors.
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
DATA=../shared/data/models
[ -f "$DATA/stories260K.gguf" ] || { echo "../shared/data is absent: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
G=$DATA/stories260K.gguf

"$BIN" convert "$DATA/llama2c/stories260K.bin" "$tmp/c.gguf" | tee "$tmp/out"
grep -q "wrote $tmp/c.gguf: 47 tensors, F32 from llama2c" "$tmp/out"

# same tokens, same logits (bit for bit), same greedy text as the published GGUF
for m in "$G" "$tmp/c.gguf"; do
    b=$(basename "$m")
    "$BIN" tokenize -m "$m" --ids "Once upon a time, Lily" > "$tmp/$b.ids"
    "$BIN" logits -m "$m" -p "Once upon a time" -o "$tmp/$b.f32" 2>/dev/null
    "$BIN" complete -m "$m" -p "Once upon a time" -n 60 2>/dev/null > "$tmp/$b.txt"
done
cmp "$tmp/stories260K.gguf.ids" "$tmp/c.gguf.ids"
cmp "$tmp/stories260K.gguf.f32" "$tmp/c.gguf.f32"
cmp "$tmp/stories260K.gguf.txt" "$tmp/c.gguf.txt"
want=$(cat "$DATA/reference/stories260K_greedy_prompt_once_64.txt")
[ "Once upon a time$(cat "$tmp/c.gguf.txt")" = "$want" ] || { echo "converted text differs"; exit 1; }

# type changes
"$BIN" convert "$G" "$tmp/q.gguf" --type q8_0 2>"$tmp/err" >/dev/null
[ "$(grep -c 'ffn_down.weight: rows of 172 are not a multiple of the Q8_0 block; written as F16' "$tmp/err")" -eq 5 ] ||
    { cat "$tmp/err"; exit 1; }
"$BIN" model info "$tmp/q.gguf" | grep -q "Q8_0 x32 (245.97 KiB), F32 x11 (2.75 KiB), F16 x5" || { "$BIN" model info "$tmp/q.gguf"; exit 1; }
for t in f16 bf16; do
    "$BIN" convert "$G" "$tmp/$t.gguf" -t $t --json > "$tmp/ev"
    grep -q "\"event\":\"done\".*\"type\":\"${t^^}\"" "$tmp/ev" || { cat "$tmp/ev"; exit 1; }
done
# a quantized model still tells the story (its first words match the F32 model's)
q=$("$BIN" complete -m "$tmp/q.gguf" -p "Once upon a time" -n 8 2>/dev/null)
h=$("$BIN" complete -m "$tmp/f16.gguf" -p "Once upon a time" -n 8 2>/dev/null)
[ "$q" = ", there was a little girl" ] || { echo "q8_0: '$q'"; exit 1; }
[ "$h" = ", there was a little girl" ] || { echo "f16: '$h'"; exit 1; }

set +e
"$BIN" convert "$G" "$tmp/x.gguf" --type q4_k 2>/dev/null; [ $? -eq 2 ] || { echo "q4_k should be refused"; exit 1; }
"$BIN" convert "$G" 2>/dev/null; [ $? -eq 2 ] || { echo "missing OUT should exit 2"; exit 1; }
"$BIN" convert "$tmp/none" "$tmp/y.gguf" 2>/dev/null; [ $? -eq 1 ] || { echo "missing IN should exit 1"; exit 1; }
[ ! -e "$tmp/y.gguf" ] || { echo "a failed convert left a file"; exit 1; }
echo ok
