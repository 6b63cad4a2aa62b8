#!/usr/bin/env bash
# bezoar complete / logits / perplexity on stories260K: greedy text as llama2.c's,
# --json events, a seed reproduces a sampled run, logits as the reference file,
# perplexity finite and low on the model's own greedy text, usage errors exit 2.
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
DATA=../shared/data/models
[ -f "$DATA/stories260K.gguf" ] || { echo "../shared/data is absent: skipped"; exit 77; }
M=$DATA/stories260K.gguf
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# greedy: prompt + continuation == llama2.c's 64-token text (its first line and "Lily")
out=$("$BIN" complete -m "$M" -p "Once upon a time" -n 60 2>"$tmp/err")
want=$(cat "$DATA/reference/stories260K_greedy_prompt_once_64.txt")
[ "Once upon a time$out" = "$want" ] || { echo "got: Once upon a time$out"; echo "want: $want"; exit 1; }
grep -q "^prompt: 5 tokens, .* tokens/s; generation: 60 tokens, .* tokens/s; stop: length" "$tmp/err" ||
    { cat "$tmp/err"; exit 1; }

# the same through the llama2.c checkpoint (tokenizer.bin is not beside it: BEZOAR_TOKENIZER)
out2=$(BEZOAR_TOKENIZER=$DATA/llama2c/tok512.bin "$BIN" complete -m "$DATA/llama2c/stories260K.bin" \
       -p "Once upon a time" -n 60 2>/dev/null)
[ "$out2" = "$out" ] || { echo "llama2.c import differs: $out2"; exit 1; }

# --json: start, 8 token events, done with the same text; stop string never shown
"$BIN" complete -m "$M" -p "Once upon a time" -n 8 --json > "$tmp/ev"
[ "$(grep -c '"event":"token"' "$tmp/ev")" -eq 8 ] || { cat "$tmp/ev"; exit 1; }
head -1 "$tmp/ev" | grep -q '"event":"start".*"prompt_tokens":5' || { cat "$tmp/ev"; exit 1; }
tail -1 "$tmp/ev" | grep -q '"event":"done","stop":"length".*"text":", there was a little girl"}' ||
    { tail -1 "$tmp/ev"; exit 1; }
s=$("$BIN" complete -m "$M" -p "Once upon a time" -n 60 --stop " named" 2>"$tmp/err")
[ "$s" = ", there was a little girl" ] || { echo "stop string: '$s'"; exit 1; }
grep -q "stop: stop" "$tmp/err" || { cat "$tmp/err"; exit 1; }

# sampling: a seed reproduces, another seed differs
a=$("$BIN" complete -m "$M" -p "Once" -n 40 --temp 1 --top-p 0.95 --seed 11 2>/dev/null)
b=$("$BIN" complete -m "$M" -p "Once" -n 40 --temp 1 --top-p 0.95 --seed 11 2>/dev/null)
c=$("$BIN" complete -m "$M" -p "Once" -n 40 --temp 1 --top-p 0.95 --seed 12 2>/dev/null)
[ "$a" = "$b" ] || { echo "seed 11 twice differs"; exit 1; }
[ "$a" != "$c" ] || { echo "seeds 11 and 12 agree"; exit 1; }

# logits: BOS row equals the reference's first row within 1e-4
"$BIN" logits -m "$M" -p "Once upon a time" -o "$tmp/l.f32" 2>/dev/null
[ "$(stat -c %s "$tmp/l.f32")" -eq $((5 * 512 * 4)) ] || { echo "logits file size"; exit 1; }
paste <(head -c 2048 "$tmp/l.f32" | od -An -v -f -w4) \
      <(head -c 2048 "$DATA/reference/stories260K_greedy_bos_logits16.f32" | od -An -v -f -w4) |
    awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > 1e-4) { print "logit " NR-1 ": " $1 " vs " $2; bad = 1 } }
         END { exit bad }'

# perplexity of the model's own greedy text is low; of other text, higher
p=$("$BIN" perplexity -m "$M" "$DATA/reference/stories260K_greedy_bos_200.txt" 2>/dev/null)
echo "$p"
awk -v s="$p" 'BEGIN { split(s, f, " "); exit !(f[2] > 1 && f[2] < 4) }' || { echo "ppl: $p"; exit 1; }
printf 'The quantum chromodynamics lecture covered renormalization.\n' > "$tmp/odd.txt"
q=$("$BIN" perplexity -m "$M" "$tmp/odd.txt" --json 2>/dev/null)
echo "$q" | grep -q '"ppl":' || { echo "$q"; exit 1; }
awk -v s="$q" 'BEGIN { match(s, /"ppl":[0-9.]+/); v = substr(s, RSTART + 6, RLENGTH - 6); exit !(v > 4) }' ||
    { echo "odd text ppl: $q"; exit 1; }

# usage errors exit 2, runtime errors 1 with one line
set +e
"$BIN" complete -m "$M" 2>/dev/null; [ $? -eq 2 ] || { echo "no prompt: not 2"; exit 1; }
"$BIN" complete -m "$M" -p x --temp -1 2>/dev/null; [ $? -eq 2 ] || { echo "bad temp: not 2"; exit 1; }
"$BIN" complete -m "$M" -p x --bogus 2>/dev/null; [ $? -eq 2 ] || { echo "bad flag: not 2"; exit 1; }
"$BIN" complete -m "$tmp/none.gguf" -p x 2>"$tmp/err"; [ $? -eq 1 ] || { echo "no model: not 1"; exit 1; }
[ "$(wc -l < "$tmp/err")" -eq 1 ] || { cat "$tmp/err"; exit 1; }
echo "ok"
