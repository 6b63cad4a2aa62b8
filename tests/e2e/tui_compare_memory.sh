# Comparing base and base + adapter holds one copy of the base weights: with a 260 MB
# F32 model, after both answers are generated the program's anonymous memory stays far
# below the model's size (the weights are one shared file mapping, read by both sides).
. tests/e2e/lib/tmux.sh
GEN="$BEZOAR_BUILD/tools/gen-model"
[ -x "$GEN" ] || fail "missing $GEN"
[ -f assets/demo-model.gguf ] || fail "missing assets/demo-model.gguf"
"$GEN" -o "$TMP/big.gguf" --shape small --layers 4 --dim 1024 --ffn 4096 --type f32 \
    --vocab-from assets/demo-model.gguf --adapter "$TMP/big-adapter.gguf" --rank 8 \
    >/dev/null || fail "gen-model failed"
size_kb=$(( $(stat -c %s "$TMP/big.gguf") / 1024 ))
head -n 5 assets/demo/pairs.jsonl > "$TMP/d.jsonl"
start 120 40 "$BIN" compare -m big.gguf --lora big-adapter.gguf --template alpaca d.jsonl
wait_for "Compare ·" 20
keys Enter
for i in $(seq 1 600); do
    [ "$(screen | grep -o 'tok/s · done' | wc -l)" = 2 ] && break
    sleep 0.1
done
[ "$(screen | grep -o 'tok/s · done' | wc -l)" = 2 ] || fail "the two answers did not finish"
shell=$(tmux -L "$SOCK" display -p -t t '#{pane_pid}')
pid=$(pgrep -P "$shell" -f bezoar | head -1)
[ -n "$pid" ] || fail "cannot find the bezoar process"
anon=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status")
file=$(awk '/^RssFile:/ { print $2 }' "/proc/$pid/status")
echo "model ${size_kb} kB; RssAnon ${anon} kB; RssFile ${file} kB"
[ "$anon" -lt $(( size_kb / 2 )) ] || fail "anonymous memory ${anon} kB: the weights were copied"
[ "$file" -gt $(( size_kb / 2 )) ] || fail "the weights were not read through the mapping"
keys q
wait_for "[exit 0]" 20
echo "compare keeps one copy of the base weights: ok"
