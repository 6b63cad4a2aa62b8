#!/usr/bin/env bash
# A scripted stand-in for 'bezoar train --json' that speaks the worker protocol,
# so the Train view's handling of live steps, garbage and crashes is tested
# deterministically. SCRIPTED_MODE: ok (30 steps, 0.2 s apart), garbage (prints a
# non-JSON line, exits 1), crash (dies by SIGSEGV after 3 steps), linger (as ok, but
# exits 3 s after its done event).
out=""
while [ $# -gt 0 ]; do
    case "$1" in --out|--resume) out=$2; shift ;; esac
    shift
done
[ -n "$out" ] || { echo "scripted-worker: --out DIR or --resume DIR is required" >&2; exit 2; }
mode=${SCRIPTED_MODE:-ok}
echo '{"event":"start","model":"scripted","total_steps":30}'
echo '{"event":"progress","phase":"tokenize","done":10,"total":10}'
for i in $(seq 1 30); do
    loss=$(awk -v i="$i" 'BEGIN { printf "%.4f", 3.0 / (1 + 0.1 * i) + (i % 3) * 0.05 }')
    echo "{\"event\":\"step\",\"step\":$i,\"epoch\":$(awk -v i=$i 'BEGIN{print i/10}'),\"loss\":$loss,\"lr\":0.0002,\"grad_norm\":1.5,\"tokens_per_s\":1234,\"elapsed_s\":$i,\"eta_s\":$((30 - i))}"
    if [ $((i % 10)) = 0 ]; then
        echo "{\"event\":\"eval\",\"step\":$i,\"loss\":$(awk -v i=$i 'BEGIN{printf "%.4f", 2.5 - i/100}')}"
        mkdir -p "$out/checkpoints/step-$i"
        echo "{\"event\":\"checkpoint\",\"step\":$i,\"path\":\"$out/checkpoints/step-$i\"}"
    fi
    if [ "$mode" = garbage ] && [ "$i" = 3 ]; then
        echo "Traceback (most recent call last): not an event"
        echo "worker: out of cheese" >&2
        exit 1
    fi
    if [ "$mode" = crash ] && [ "$i" = 3 ]; then
        kill -SEGV $$
    fi
    sleep 0.2
done
mkdir -p "$out/adapter"
echo "{\"event\":\"done\",\"adapter\":\"$out/adapter\"}"
# linger: the done event first, the exit a while later (a worker still writing files)
if [ "$mode" = linger ]; then
    sleep 3
fi
exit 0
