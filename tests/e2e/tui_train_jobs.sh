# The Train view with a scripted worker: live steps and chart, reattach after the
# TUI quits leaving the job running, a worker printing garbage or crashing shown as
# failed with its message, at 120x40 and 80x24.
. tests/e2e/lib/tmux.sh
W="$PWD/tests/e2e/lib/scripted-worker.sh"
cp assets/demo/pairs.jsonl "$TMP/d.jsonl"
# a model file that opens, so the form accepts it: the shipped demo model when there
# is one, else stories260K from the shared data
MODEL=""
[ -f assets/demo-model.gguf ] && MODEL="$PWD/assets/demo-model.gguf"
[ -z "$MODEL" ] && [ -f ../shared/data/models/stories260K.gguf ] && MODEL="$(cd ../shared/data/models && pwd)/stories260K.gguf"
[ -n "$MODEL" ] || skip "no model to fill the form with (assets/demo-model.gguf or ../shared/data)"

new_run() {  # new_run NAME: open the form, set model and name, start
    keys n
    wait_for "New run"
    keys Enter C-u; keys -l "$MODEL"; keys Enter
    keys j j Enter C-u; keys -l "$1"; keys Enter
    for i in $(seq 1 16); do keys j; done
    keys Enter
}

for size in "120 40" "80 24"; do
    set -- $size
    rm -rf "$TMP/runs" "$TMP/d.jsonl.bezoar"
    start "$1" "$2" env BEZOAR_WORKER="$W" SCRIPTED_MODE=ok "$BIN" d.jsonl
    wait_for "pending"
    keys a a a 2
    wait_for "runs (n: new)"
    new_run good
    wait_for "good · running"
    wait_for "step 5/30"
    expect "loss:"
    # quit, keeping the job running; reopen: it is found and followed live
    keys q
    wait_for "k keep them running"
    keys k
    wait_for "still running"
    tmux -L "$SOCK" kill-server
    start "$1" "$2" env BEZOAR_WORKER="$W" "$BIN" d.jsonl
    wait_for "pending"
    keys 2
    wait_for "good · running"
    wait_for "step 2" 10
    wait_for "good · done" 15
    wait_for "done · adapter: runs/good/adapter"
    expect "step 30/30"
    keys q
    wait_for "[exit 0]"
    tmux -L "$SOCK" kill-server

    for mode in garbage crash; do
        start "$1" "$2" env BEZOAR_WORKER="$W" SCRIPTED_MODE=$mode "$BIN" d.jsonl
        wait_for "pending"
        keys 2
        new_run "$mode"
        wait_for "$mode · failed" 15
        if [ $mode = garbage ]; then
            wait_for "worker exited with status 1"
            expect "out of cheese"
        else
            wait_for "killed by signal 11"
        fi
        keys q
        wait_for "[exit 0]"
        tmux -L "$SOCK" kill-server
    done
done
echo "train view: live run, reattach, garbage and crash: ok"
