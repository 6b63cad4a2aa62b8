# `bezoar` alone opens the shipped demo: its deliberate bad line shows as a bad row,
# the ? overlay lists the keys from the key table, Japanese pairs render.
. tests/e2e/lib/tmux.sh
start 120 40 "$BIN"
wait_for "297 pending"
expect "1 bad"
expect "assets/demo/pairs.jsonl"
keys '?'
wait_for "Keys (Esc or ? closes"
expect "accept, go to the next pending"
expect "undo the last decision"
keys Escape
wait_gone "Keys (Esc or ? closes"
# the filter menu's "bad" status shows only the broken line, with its location
keys F 5 Enter
wait_for "filter: bad · 1 shown"
wait_for "pairs.jsonl:150"
keys F c Enter
keys / ; keys -l 'AI言語モデル'; keys Enter
# wait for the result, not the "searching ..." message
wait_for "AI言語モデルとして"
wait_gone "searching"
keys q
wait_for "[exit 0]"
# the demo's journal lives beside it; this session decided nothing, so none was made
echo "demo, help, bad-line filter and Japanese search: ok"
