#!/usr/bin/env bash
# train_recipe: `bezoar train --recipe` on the demo model with the shipped recipe data
# and tiny settings (a recipe written here, 5 stages: 4 SFT + DPO). Every stage leaves
# its adapter, each stage starts from the previous one's (config.json's init_adapter);
# killed with SIGKILL in the middle of stage 3, the same command skips stages 1-2
# untouched, resumes stage 3 and ends with the same final adapter, byte for byte, as the
# uninterrupted run; SIGTERM stops it with a checkpoint and a rerun finishes; a changed
# recipe is refused; bad recipes give one line naming the file and the stage, before any
# work. The recipe data regenerates byte for byte (gen-recipe-data).
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
BUILD=${BEZOAR_BUILD:-$(dirname "$BIN")}
REPO=$PWD
A=$REPO/assets
[ -f "$A/demo-model.gguf" ] || { echo "assets/demo-model.gguf is absent"; exit 77; }
TMP=$(mktemp -d /tmp/bezoar-recipe-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cd "$TMP"

# the data is what the generator writes
gen=$BUILD/tools/gen-recipe-data
[ -x "$gen" ] || fail "$gen not built"
"$gen" regen >/dev/null || fail "gen-recipe-data"
for f in lamini orca evol hh; do
    cmp "$A/demo/recipe/$f.jsonl" "regen/$f.jsonl" ||
        fail "assets/demo/recipe/$f.jsonl differs from a fresh generation (run: make assets)"
done

mkdir rec
cat >rec/tiny.json <<EOF
{
  "name": "tiny",
  "model": "$A/demo-model.gguf",
  "defaults": {"status": "all", "template": "alpaca", "targets": "q,v", "rank": 4,
               "alpha": 8, "lr": 2e-3, "batch": 4, "seq": 128, "max_steps": 6,
               "eval_split": 0.1, "eval_every": 3, "save_every": 1, "keep": 2, "seed": 5,
               "beta": 0.2},
  "stages": [
    {"name": "lamini", "method": "sft", "data": "$A/demo/recipe/lamini.jsonl"},
    {"name": "orca", "method": "sft", "data": "$A/demo/recipe/orca.jsonl"},
    {"name": "evol", "method": "sft", "data": "$A/demo/recipe/evol.jsonl"},
    {"name": "hh-sft", "method": "sft", "data": "$A/demo/recipe/hh.jsonl"},
    {"name": "hh-dpo", "method": "dpo", "data": "$A/demo/recipe/hh.jsonl", "lr": 1e-3}
  ]
}
EOF
stages=(01-lamini 02-orca 03-evol 04-hh-sft 05-hh-dpo)
run() { "$BIN" train --recipe rec/tiny.json --threads 2 --json "$@"; }
# in the background, $! must be the program itself, not a subshell running run()
args=(train --recipe rec/tiny.json --threads 2 --json)

# 1. uninterrupted
run --out runs/a >a.out 2>a.err || { cat a.err; fail "recipe run a"; }
[ "$(grep -c '"event":"stage"' a.out)" = 5 ] || fail "expected 5 stage events"
grep -q '"event":"recipe_done"' a.out || fail "no recipe_done event"
grep -q '"event":"recipe_done"' runs/a/events.jsonl || fail "recipe_done not in runs/a/events.jsonl"
cmp -s rec/tiny.json runs/a/recipe.json || fail "runs/a/recipe.json is not the recipe"
prev=
for s in "${stages[@]}"; do
    d=runs/a/$s
    [ -f $d/adapter/adapter_model.safetensors ] && [ -f $d/adapter.gguf ] || fail "$s: no adapter"
    grep -q '"event":"done"' $d/events.jsonl || fail "$s: no done event"
    if [ -z "$prev" ]; then
        grep -q '"init_adapter":null' $d/config.json || fail "$s: stage 1 starts from an adapter"
    else
        grep -qF "\"init_adapter\":\"runs/a/$prev/adapter\"" $d/config.json ||
            fail "$s does not start from $prev: $(grep -o '"init_adapter":[^,]*' $d/config.json)"
    fi
    prev=$s
done
grep -q '"method":"dpo"' runs/a/05-hh-dpo/config.json || fail "stage 5 is not DPO"
grep -q '"reward_accuracy"' runs/a/05-hh-dpo/events.jsonl || fail "stage 5 has no DPO rewards"
grep -q '"method":"dpo"' runs/a/04-hh-sft/config.json && fail "stage 4 ran as DPO"
# a second run of the same command has nothing left to do
run --out runs/a >a2.out 2>a2.err || { cat a2.err; fail "rerun of a finished recipe"; }
[ "$(grep -c '"action":"skip"' a2.out)" = 5 ] || fail "a finished recipe reran stages"
grep -q '"event":"step"' a2.out && fail "a finished recipe trained again"

# 2. SIGKILL in the middle of stage 3, then the same command
"$BIN" "${args[@]}" --out runs/b >b.out 2>b.err &
pid=$!
for i in $(seq 1 1200); do
    [ -d runs/b/03-evol/checkpoints/step-2 ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
[ -d runs/b/03-evol/checkpoints/step-2 ] || { cat b.err; fail "stage 3 wrote no checkpoint step-2"; }
grep -q '"event":"done"' runs/b/03-evol/events.jsonl && fail "stage 3 finished before the kill"
kill -9 $pid
wait $pid 2>/dev/null
pid=
cp runs/b/01-lamini/adapter.gguf lamini-before.gguf
touch -d '2000-01-01' runs/b/01-lamini/adapter.gguf
t0=$(stat -c %Y runs/b/01-lamini/adapter.gguf)
run --out runs/b >b2.out 2>b2.err || { cat b2.err; fail "rerun after SIGKILL"; }
actions=$(grep '"event":"stage"' b2.out | grep -o '"action":"[a-z]*"' | cut -d'"' -f4 | tr '\n' ' ')
[ "$actions" = "skip skip resume run run " ] || fail "actions after SIGKILL: $actions"
grep -q '"resumed_from":[1-9]' runs/b/03-evol/events.jsonl || fail "stage 3 did not resume from a checkpoint"
[ "$(stat -c %Y runs/b/01-lamini/adapter.gguf)" = "$t0" ] || fail "stage 1's adapter was written again"
cmp -s lamini-before.gguf runs/b/01-lamini/adapter.gguf || fail "stage 1's adapter changed"
for s in "${stages[@]}"; do
    cmp runs/a/$s/adapter.gguf runs/b/$s/adapter.gguf ||
        fail "$s: adapter differs from the uninterrupted run's"
done

# 3. SIGTERM stops the current stage with a checkpoint and the recipe; a rerun finishes
"$BIN" "${args[@]}" --out runs/c >c.out 2>c.err &
pid=$!
for i in $(seq 1 1200); do
    grep -q '"step":3,' runs/c/02-orca/events.jsonl 2>/dev/null && break
    sleep 0.05
done
kill -TERM $pid
wait $pid
rc=$?
pid=
[ $rc = 0 ] || { cat c.err; fail "SIGTERM: exit $rc"; }
grep -q '"event":"recipe_stopped","stage":2' c.out || fail "no recipe_stopped event in stage 2"
grep -q '"stopped":true' runs/c/02-orca/events.jsonl || fail "stage 2 did not stop with a checkpoint"
[ -d runs/c/03-evol ] && fail "stage 3 started after SIGTERM"
run --out runs/c >c2.out 2>c2.err || { cat c2.err; fail "rerun after SIGTERM"; }
grep -q '"event":"recipe_done"' c2.out || fail "no recipe_done after SIGTERM rerun"
cmp runs/a/05-hh-dpo/adapter.gguf runs/c/05-hh-dpo/adapter.gguf ||
    fail "final adapter after SIGTERM + rerun differs"

# 4. a recipe that changed since the run began is refused
sed 's/"lr": 2e-3/"lr": 3e-3/' rec/tiny.json >rec/changed.json
cp rec/changed.json rec/tiny.json
run --out runs/a >d.out 2>d.err && fail "a changed recipe was accepted"
grep -q "the recipe changed since runs/a started" d.err || { cat d.err; fail "changed-recipe message"; }

# 5. bad recipes: one line naming the file and the stage, nothing started
bad() {  # bad NAME PATTERN: rec/NAME.json is refused with PATTERN
    "$BIN" train --recipe rec/$1.json --out runs/$1 >$1.out 2>$1.err && fail "$1 accepted"
    [ "$(wc -l <$1.err)" = 1 ] || { cat $1.err; fail "$1: not one line"; }
    grep -qF -- "$2" $1.err || { cat $1.err; fail "$1: expected '$2'"; }
    [ -e runs/$1 ] && fail "$1: the run directory was created"
    return 0
}
mk() {  # mk NAME STAGE2-JSON
    cat >rec/$1.json <<EOF
{"name": "$1", "model": "../x.gguf",
 "stages": [{"name": "one", "method": "sft", "data": "d.jsonl"}, $2]}
EOF
}
cp "$A/demo-model.gguf" x.gguf
cp "$A/demo/recipe/evol.jsonl" rec/d.jsonl
# relative paths resolve against the recipe's directory (rec/), not the cwd
mk unknown '{"name": "two", "method": "sft", "data": "d.jsonl", "max_stepz": 3}'
bad unknown 'rec/unknown.json: stage 2 '"'"'two'"'"': unknown key "max_stepz"'
mk nodata '{"name": "two", "method": "dpo", "data": "missing.jsonl"}'
bad nodata "rec/nodata.json: stage 2 'two': data 'missing.jsonl' not found (looked at rec/missing.jsonl)"
mk method '{"name": "two", "method": "ppo", "data": "d.jsonl"}'
bad method "rec/method.json: stage 2 'two': \"method\" must be \"sft\" or \"dpo\" (got \"ppo\")"
mk type '{"name": "two", "method": "sft", "data": "d.jsonl", "rank": "eight"}'
bad type "rec/type.json: stage 2 'two': \"rank\" must be an integer"
mk betasft '{"name": "two", "method": "sft", "data": "d.jsonl", "beta": 0.1}'
bad betasft "rec/betasft.json: stage 2 'two': \"beta\" is for DPO stages"
mk dup '{"name": "one", "method": "sft", "data": "d.jsonl"}'
bad dup "rec/dup.json: stage 2 'one': the name is used by stage 1 too"
echo '{"name": "x", "model": "nowhere.gguf", "stages": [{"name": "a", "method": "sft", "data": "d.jsonl"}]}' >rec/nomodel.json
bad nomodel "rec/nomodel.json: model 'nowhere.gguf' not found"
echo '{"name": "x", "model": "../x.gguf", "stages": [], "extra": 1}' >rec/top.json
bad top 'rec/top.json: unknown key "extra"'
"$BIN" train --recipe rec/tiny.json --out runs/z --lr 1 >z.out 2>z.err && fail "--lr beside --recipe accepted"
grep -q "training options go in the recipe" z.err || { cat z.err; fail "option message"; }
echo "ok: 5 stages chained, SIGKILL + rerun byte-identical, SIGTERM + rerun, changed and bad recipes refused"
