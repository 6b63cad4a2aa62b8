#!/usr/bin/env bash
# bezoar model info on the three sources of stories260K (GGUF, llama2.c, an HF
# directory made by convert's reverse is not available, so GGUF and llama2.c), JSON
# output, refusals (missing file, unknown architecture) and usage errors.
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
DATA=../shared/data/models
[ -f "$DATA/stories260K.gguf" ] || { echo "../shared/data is absent: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$("$BIN" model info "$DATA/stories260K.gguf")
echo "$out"
for want in "(gguf)" "arch       llama" \
    "dim 64, layers 5, heads 8 (kv 4), head dim 8, ffn 172, vocab 512, context 2048" \
    "params     292.80K (292800)" "F32 x48" "tokenizer  spm, 512 tokens" \
    "bos 1 '<s>', eos 2 '</s>', unk 0 '<unk>'" "template   none in the model"; do
    grep -qF "$want" <<<"$out" || { echo "missing: $want"; exit 1; }
done

out=$("$BIN" model info "$DATA/llama2c/stories260K.bin" --json --tensors)
for want in '"format":"llama2c"' '"tied_output":true' '"ctx_len":512' '"n_tensors":47' \
    '"kind":"spm","n_tokens":512' '"name":"blk.4.ffn_down.weight","type":"F32","ne":[172,64]'; do
    grep -qF "$want" <<<"$out" || { echo "missing: $want in $out"; exit 1; }
done
if command -v python3 >/dev/null; then python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$out"; fi

# refusals: exit 1 with one line naming the file; usage errors exit 2
set +e
"$BIN" model info "$tmp/none.gguf" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "none.gguf" "$tmp/err" || { echo "missing file: rc $rc"; cat "$tmp/err"; exit 1; }
printf 'GGUF\003\000\000\000\000\000\000\000\000\000\000\000\001\000\000\000\000\000\000\000' > "$tmp/t.gguf"
"$BIN" model info "$tmp/t.gguf" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "truncated" "$tmp/err" || { echo "truncated: rc $rc"; cat "$tmp/err"; exit 1; }
mkdir "$tmp/neox" && echo '{"model_type":"gpt_neox"}' > "$tmp/neox/config.json"
"$BIN" model info "$tmp/neox" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "architecture 'gpt_neox' is not supported" "$tmp/err" ||
    { echo "gpt_neox: rc $rc"; cat "$tmp/err"; exit 1; }
"$BIN" model info 2>/dev/null; [ $? -eq 2 ] || { echo "no MODEL should be a usage error"; exit 1; }
"$BIN" model frob x 2>/dev/null; [ $? -eq 2 ] || { echo "unknown subcommand should exit 2"; exit 1; }
"$BIN" model info --bogus x 2>/dev/null; [ $? -eq 2 ] || { echo "unknown flag should exit 2"; exit 1; }
echo ok
