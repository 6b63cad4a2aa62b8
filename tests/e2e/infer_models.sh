#!/usr/bin/env bash
# Random-weight models written by tests/tools/gen-model through the GGUF writer:
# SmolLM2-135M's shape (2 of its 30 layers, Q8_0) and a Qwen2-style one (q/k/v bias,
# NeoX RoPE, tied): the logits of one prefill and of step-by-step decode agree; a LoRA
# adapter changes the logits, one with B = 0 does not; a wrong adapter is refused.
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
GEN=${BEZOAR_BUILD:-build}/tools/gen-model
V=../shared/data/models/stories260K.gguf
[ -f "$V" ] || { echo "../shared/data is absent (its vocab is borrowed): skipped"; exit 77; }
[ -x "$GEN" ] || { echo "$GEN not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
P="Once upon a time, there was a little girl named Lily. She loved to play outside."

# maxdiff A B: the largest absolute difference of two float32 files, and the largest |A|
maxdiff() {
    paste <(od -An -v -f -w4 "$1") <(od -An -v -f -w4 "$2") |
        awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; a = $1 < 0 ? -$1 : $1; if (a > x) x = a }
             END { printf "%g %g\n", m, x }'
}
# agree A B TOL: max diff <= TOL * (1 + max |A|)
agree() {
    read -r d x < <(maxdiff "$1" "$2")
    echo "$1 vs $2: max diff $d (max |logit| $x)"
    awk -v d="$d" -v x="$x" -v t="$3" 'BEGIN { exit !(d <= t * (1 + x)) }'
}

"$GEN" -o "$tmp/smol.gguf" --shape smollm2 --layers 2 --type q8_0 --vocab-from "$V"
"$GEN" -o "$tmp/qwen.gguf" --shape qwen2 --type f32 --vocab-from "$V" \
       --adapter "$tmp/qa.gguf" --rank 4
"$GEN" -o "$tmp/qwen.gguf" --shape qwen2 --type f32 --vocab-from "$V" \
       --adapter "$tmp/qz.gguf" --rank 4 --zero-b
"$GEN" -o "$tmp/small.gguf" --shape small --dim 64 --vocab-from "$V" --adapter "$tmp/sa.gguf"

for m in smol qwen; do
    "$BIN" logits -m "$tmp/$m.gguf" -p "$P" -o "$tmp/$m.pre" 2>/dev/null
    "$BIN" logits -m "$tmp/$m.gguf" -p "$P" -o "$tmp/$m.dec" --decode 2>/dev/null
    agree "$tmp/$m.pre" "$tmp/$m.dec" 1e-4
done
"$BIN" logits -m "$tmp/qwen.gguf" --lora "$tmp/qa.gguf" -p "$P" -o "$tmp/qa.pre" 2>/dev/null
"$BIN" logits -m "$tmp/qwen.gguf" --lora "$tmp/qa.gguf" -p "$P" -o "$tmp/qa.dec" --decode 2>/dev/null
agree "$tmp/qa.pre" "$tmp/qa.dec" 1e-4
read -r d x < <(maxdiff "$tmp/qwen.pre" "$tmp/qa.pre")
awk -v d="$d" 'BEGIN { exit !(d > 1e-2) }' || { echo "the adapter changed nothing ($d)"; exit 1; }
"$BIN" logits -m "$tmp/qwen.gguf" --lora "$tmp/qz.gguf" -p "$P" -o "$tmp/qz.pre" 2>/dev/null
agree "$tmp/qwen.pre" "$tmp/qz.pre" 1e-6
# an adapter made for another model is refused, with exit 1 and one line
set +e
"$BIN" complete -m "$tmp/qwen.gguf" --lora "$tmp/sa.gguf" -p x 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || { echo "foreign adapter: exit $rc"; cat "$tmp/err"; exit 1; }
cat "$tmp/err"
echo "ok"
