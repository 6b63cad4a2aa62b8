# Quitting right after a job's done event while its worker is still exiting: the
# workbench quits cleanly (exit 0, no leak report from the sanitizer build), and the
# worker finishes on its own.
. tests/e2e/lib/tmux.sh
W="$PWD/tests/e2e/lib/scripted-worker.sh"
cp assets/demo/pairs.jsonl "$TMP/d.jsonl"
MODEL="$PWD/assets/demo-model.gguf"
[ -f "$MODEL" ] || fail "no assets/demo-model.gguf (shipped in the repository)"
start 120 40 env BEZOAR_WORKER="$W" SCRIPTED_MODE=linger "$BIN" d.jsonl
wait_for "pending"
keys a a a 2
wait_for "runs (n: new)"
keys n
wait_for "New run"
keys Enter C-u; keys -l "$MODEL"; keys Enter
keys j j Enter C-u; keys -l linger; keys Enter
for i in $(seq 1 16); do keys j; done
keys Enter
wait_for "linger · done" 30
keys q
wait_for "[exit 0]" 10
expect_not "LeakSanitizer"
echo "quit while a finished worker is still exiting: ok"
