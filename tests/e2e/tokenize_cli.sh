#!/usr/bin/env bash
# bezoar tokenize: stories260K from GGUF, llama2.c model and tokenizer.bin (same ids
# as llama2.c), vocab-only GGUF files, stdin byte for byte, --special, --json, the
# piece listing, and refusals (usage errors exit 2, a bad or unknown vocab exits 1).
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
D=../shared/data
[ -f "$D/models/stories260K.gguf" ] || { echo "../shared/data is absent: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

want="1 403 407 261 378"
for m in "$D/models/stories260K.gguf" "$D/models/llama2c/stories260K.bin" \
    "$D/models/llama2c/tok512.bin"; do
    got=$("$BIN" tokenize -m "$m" --ids "Once upon a time")
    [ "$got" = "$want" ] || fail "$m: got '$got', want '$want'"
done
got=$("$BIN" tokenize -m "$D/models/stories260K.gguf" --ids --no-bos "Once upon a time")
[ "$got" = "403 407 261 378" ] || fail "--no-bos: $got"

# vocab-only GGUF files (no weights)
got=$("$BIN" tokenize -m "$D/vocab/ggml-vocab-gpt-2.gguf" --ids "Hello world")
[ "$got" = "15496 995" ] || fail "gpt-2: $got"
got=$("$BIN" tokenize -m "$D/vocab/ggml-vocab-llama-spm.gguf" --ids --no-bos " Hello World!")
[ "$got" = "29871 15043 2787 29991" ] || fail "llama-spm: $got"

# WordPiece: [CLS] ... [SEP] around the text, uncased, accents dropped
got=$("$BIN" tokenize -m "$D/vocab/ggml-vocab-bert-bge.gguf" --ids "Führer")
[ "$got" = "101 11865 17875 102" ] || fail "bert-bge: $got"

# stdin byte for byte: the trailing newline is part of the text
got=$(printf 'a\nb\n' | "$BIN" tokenize -m "$D/vocab/ggml-vocab-gpt-2.gguf" --ids -)
[ "$got" = "64 198 65 198" ] || fail "stdin: $got"

# control tokens only with --special
got=$("$BIN" tokenize -m "$D/vocab/ggml-vocab-llama-spm.gguf" --ids --no-bos "<s>Hi")
case " $got " in *" 1 "*) fail "<s> parsed without --special: $got" ;; esac
got=$("$BIN" tokenize -m "$D/vocab/ggml-vocab-llama-spm.gguf" --ids --no-bos --special "<s>Hi")
[ "$got" = "1 6324" ] || fail "--special: $got"

# the listing: id TAB quoted piece, half characters from byte tokens as \xNN
out=$("$BIN" tokenize -m "$D/models/stories260K.gguf" "Tom said 你")
printf '%s\n' "$out"
grep -qP '^1\t"<s>"$' <<<"$out" || fail "listing lacks BOS line"
grep -qP '^231\t"\\xE4"$' <<<"$out" || fail "listing lacks the byte token line"
out=$("$BIN" tokenize -m "$D/vocab/ggml-vocab-gpt-2.gguf" --json "Hi 🙂")
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); assert len(d["ids"])==len(d["pieces"])' <<<"$out" ||
        fail "--json: $out"
fi

# chat: the model's own template recognised (Phi-3), the loss mask on the assistant
# turn and its end token, --template override, refusals when nothing is recognised
cat > "$tmp/chat.json" <<'JSON'
{"messages": [{"role": "user", "content": "Hi <|end|>"},
              {"role": "assistant", "content": "Hello there"}]}
JSON
out=$("$BIN" tokenize -m "$D/vocab/ggml-vocab-phi-3.gguf" --chat "$tmp/chat.json" 2>"$tmp/err")
printf '%s\n' "$out"
grep -q "template phi3 (the model's own)" "$tmp/err" || fail "template not reported"
[ "$(grep -c '^32007' <<<"$out")" = 2 ] || fail "<|end|> in user content must stay text"
[ "$(tail -1 <<<"$out")" = "$(printf '32007\t1\t"<|end|>"')" ] || fail "end token not in mask"
grep -qP '^15043\t1\t" Hello"$' <<<"$out" || fail "assistant token not masked"
grep -qP '^32010\t0\t' <<<"$out" || fail "user header masked"
got=$("$BIN" tokenize -m "$D/vocab/ggml-vocab-gpt-2.gguf" --chat "$tmp/chat.json" \
    --template alpaca --ids)
[ -n "$got" ] || fail "--template alpaca gave nothing"
set +e
"$BIN" tokenize -m "$D/vocab/ggml-vocab-gpt-2.gguf" --chat "$tmp/chat.json" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "no chat template" "$tmp/err" || fail "missing template not reported"
"$BIN" tokenize -m "$D/vocab/ggml-vocab-gpt-2.gguf" --chat "$tmp/chat.json" --template x 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "unknown template 'x'" "$tmp/err" || fail "bad --template: $(cat "$tmp/err")"
set -e

# refusals
set +e
"$BIN" tokenize "text" 2>/dev/null; [ $? -eq 2 ] || fail "no -m should exit 2"
"$BIN" tokenize -m x --frob "text" 2>/dev/null; [ $? -eq 2 ] || fail "unknown flag should exit 2"
"$BIN" tokenize -m "$tmp/none.gguf" "x" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "none.gguf" "$tmp/err" || fail "missing model: rc $rc $(cat "$tmp/err")"
printf 'GGUF\003\000\000\000' > "$tmp/trunc.gguf"
"$BIN" tokenize -m "$tmp/trunc.gguf" "x" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || fail "truncated gguf: rc $rc $(cat "$tmp/err")"
if command -v python3 >/dev/null; then
    python3 - "$tmp/pre.gguf" <<'PY'
import struct, sys
def s(x): b = x.encode(); return struct.pack('<Q', len(b)) + b
kv = [("tokenizer.ggml.model", 8, s("gpt2")), ("tokenizer.ggml.pre", 8, s("no-such-pre")),
      ("tokenizer.ggml.tokens", 9, struct.pack('<IQ', 8, 2) + s("a") + s("b")),
      ("tokenizer.ggml.merges", 9, struct.pack('<IQ', 8, 1) + s("a b"))]
out = b"GGUF" + struct.pack('<IQQ', 3, 0, len(kv))
for k, t, v in kv: out += s(k) + struct.pack('<I', t) + v
open(sys.argv[1], "wb").write(out)
PY
    "$BIN" tokenize -m "$tmp/pre.gguf" "ab" 2>"$tmp/err"; rc=$?
    [ $rc -eq 1 ] && grep -q "unknown pre-tokenizer 'no-such-pre'" "$tmp/err" ||
        fail "unknown pre: rc $rc $(cat "$tmp/err")"
fi
echo "tokenize_cli: ok"
