# The Train view on a DPO run and on a recipe run, from scripted events files: the
# reward margin and accuracy charts beside the loss with the method and held-out
# rewards; a recipe run as its stages (finished, stopped, not started) with the
# current stage drawn as a run, [ and ] browsing the others; an SFT run without reward
# charts. 120x40 and 80x24.
. tests/e2e/lib/tmux.sh
cp assets/demo/pairs.jsonl "$TMP/d.jsonl"

# events FILE METHOD STEPS [done]: a worker's events file
events() {
    local f=$1 method=$2 n=$3 i
    mkdir -p "$(dirname "$f")"
    {
        if [ "$method" = dpo ]; then
            echo "{\"event\":\"start\",\"method\":\"dpo\",\"beta\":0.1,\"model\":\"m.gguf\",\"total_steps\":$n}"
            echo '{"event":"eval","step":0,"loss":0.693147,"reward_accuracy":0,"reward_margin":0}'
        else
            echo "{\"event\":\"start\",\"model\":\"m.gguf\",\"total_steps\":$n}"
        fi
        for ((i = 1; i <= n; i++)); do
            awk -v i="$i" -v m="$method" 'BEGIN {
                printf "{\"event\":\"step\",\"step\":%d,\"loss\":%.4f,\"lr\":0.0005,\"grad_norm\":0.8", i, 0.6931 / (1 + 0.05 * i)
                if (m == "dpo")
                    printf ",\"rewards_chosen\":%.4f,\"rewards_rejected\":%.4f,\"reward_margin\":%.4f,\"reward_accuracy\":%.3f", 0.02 * i, -0.03 * i, 0.05 * i, (i < 8 ? i / 8 : 1)
                printf ",\"tokens_per_s\":900,\"elapsed_s\":%d,\"eta_s\":0}\n", i }'
            if [ "$method" = dpo ] && [ $((i % 5)) = 0 ]; then
                awk -v i="$i" 'BEGIN { printf "{\"event\":\"eval\",\"step\":%d,\"loss\":%.4f,\"reward_accuracy\":%.3f,\"reward_margin\":%.4f}\n", i, 0.69 - 0.01 * i, 0.5 + 0.02 * i, 0.04 * i }'
            fi
        done
        [ "${4:-}" = done ] && echo "{\"event\":\"done\",\"step\":$n,\"stopped\":false}"
    } >"$f"
}

for size in "120 40" "80 24"; do
    set -- $size
    # a DPO run alone
    rm -rf "$TMP/runs"
    events "$TMP/runs/dpo/events.jsonl" dpo 20 done
    start "$1" "$2" "$BIN" d.jsonl
    resize "$1" "$2"
    wait_for "pending"
    keys 2
    wait_for "runs (n: new)"
    wait_for "dpo · done"
    expect "DPO β 0.1"
    expect "reward margin:"
    expect "reward accuracy:"
    expect "reward margin 1 · accuracy 1.00 · held-out margin"
    [ "$1" -lt 100 ] || expect "held-out margin 0.8 · accuracy 0.90"
    expect "loss: · raw"
    tmux -L "$SOCK" kill-server

    # an SFT run: no reward charts
    rm -rf "$TMP/runs"
    events "$TMP/runs/plain/events.jsonl" sft 12 done
    start "$1" "$2" "$BIN" d.jsonl
    resize "$1" "$2"
    wait_for "pending"
    keys 2
    wait_for "plain · done"
    expect "loss: · raw"
    expect_not "reward"
    tmux -L "$SOCK" kill-server

    # a recipe stopped in its second (DPO) stage; the third never started
    rm -rf "$TMP/runs"
    events "$TMP/runs/ob/01-sft/events.jsonl" sft 12 done
    events "$TMP/runs/ob/02-pref/events.jsonl" dpo 7
    {
        echo '{"event":"recipe","name":"ob","file":"ob.json","model":"m.gguf","stages":3}'
        echo '{"event":"stage","index":1,"of":3,"name":"sft","dir":"elsewhere/ob/01-sft","method":"sft","action":"run"}'
        echo '{"event":"stage","index":2,"of":3,"name":"pref","dir":"elsewhere/ob/02-pref","method":"dpo","action":"run"}'
        echo '{"event":"recipe_stopped","stage":2,"of":3,"dir":"elsewhere/ob/02-pref","elapsed_s":3}'
    } >"$TMP/runs/ob/events.jsonl"
    start "$1" "$2" "$BIN" d.jsonl
    resize "$1" "$2"
    wait_for "pending"
    keys 2
    wait_for "recipe ob · stopped · 3 stages"
    expect "✓ 01-sft"
    expect "‖ 02-pref"
    expect "· 03"
    expect "02-pref · stopped"
    expect "DPO β 0.1"
    expect "reward accuracy:"
    expect "step 7/7"
    expect "recipe stopped in stage 2/3 · R resumes it"
    # [ shows the finished SFT stage (no DPO charts), ] goes back to the current one
    keys [
    wait_for "01-sft · done"
    expect "step 12/12"
    expect_not "DPO β"
    keys [
    wait_for "no stage before"
    keys ]
    wait_for "02-pref · stopped"
    expect "DPO β 0.1"
    keys ]
    wait_for "no stage after"
    tmux -L "$SOCK" kill-server
done
echo "ok: DPO charts, SFT without them, a recipe as its stages (120x40, 80x24)"
