# bezoar convert --merge: the merged model's logits equal base + adapter applied
# beside the weights (within float rounding), and differ from the base's.
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
MODEL=""
[ -f assets/demo-model.gguf ] && MODEL="$PWD/assets/demo-model.gguf"
[ -z "$MODEL" ] && [ -f ../shared/data/models/stories260K.gguf ] && MODEL="$(cd ../shared/data/models && pwd)/stories260K.gguf"
[ -n "$MODEL" ] || { echo "no model (assets/demo-model.gguf or ../shared/data)"; exit 77; }
T=$(mktemp -d /tmp/bezoar-merge-XXXXXX)
trap 'rm -rf "$T"' EXIT
head -n 30 assets/demo/pairs.jsonl > "$T/d.jsonl"
(cd "$T" && "$BIN" train -m "$MODEL" --data d.jsonl --status all --out runs/a --template alpaca \
    --targets all --epochs 2 --seq 128 --lr 3e-3 --quiet) || { echo "FAIL: training"; exit 1; }
"$BIN" convert --merge "$MODEL" "$T/runs/a/adapter" "$T/merged.gguf" || { echo "FAIL: merge"; exit 1; }
"$BIN" convert --merge "$MODEL" "$T/runs/a/adapter.gguf" "$T/merged2.gguf" || { echo "FAIL: merge gguf"; exit 1; }
P="### Instruction: Name a colour."
"$BIN" logits -m "$T/merged.gguf" -p "$P" -o "$T/m.f32" 2>/dev/null || exit 1
"$BIN" logits -m "$T/merged2.gguf" -p "$P" -o "$T/m2.f32" 2>/dev/null || exit 1
"$BIN" logits -m "$MODEL" --lora "$T/runs/a/adapter" -p "$P" -o "$T/l.f32" 2>/dev/null || exit 1
"$BIN" logits -m "$MODEL" -p "$P" -o "$T/b.f32" 2>/dev/null || exit 1
read -r dl db d2 < <(paste <(od -An -v -f -w4 "$T/m.f32") <(od -An -v -f -w4 "$T/l.f32") \
    <(od -An -v -f -w4 "$T/b.f32") <(od -An -v -f -w4 "$T/m2.f32") | awk '
    function abs(x) { return x < 0 ? -x : x }
    { a = abs($1 - $2); if (a > ml) ml = a; b = abs($1 - $3); if (b > mb) mb = b;
      c = abs($4 - $2); if (c > m2) m2 = c }
    END { printf "%g %g %g\n", ml, mb, m2 }')
echo "max |merged - lora| = $dl, |merged(gguf adapter) - lora| = $d2, |merged - base| = $db"
awk -v a="$dl" -v c="$d2" -v b="$db" 'BEGIN { exit !(a < 1e-3 && c < 1e-3 && b > 1e-3) }' \
    || { echo "FAIL: merged logits do not match base + adapter"; exit 1; }
echo "convert --merge: ok"
