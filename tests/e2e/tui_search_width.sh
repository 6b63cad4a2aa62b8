# Search jumps to a match (and n wraps), a Japanese row lines up with the others,
# and resizing between 80x24 and 120x40 keeps the screen intact.
. tests/e2e/lib/tmux.sh
COLW="$BEZOAR_BUILD/tools/colwidth"
[ -x "$COLW" ] || fail "missing $COLW"
{
    for i in $(seq 1 30); do
        printf '{"instruction": "Question number %d about rivers.", "input": "", "output": "Answer %d."}\n' "$i" "$i"
    done
    printf '{"instruction": "富士山の高さは何メートルですか。", "input": "", "output": "富士山の高さは3776メートルです。"}\n'
    printf '{"instruction": "Which ocean is the largest?", "input": "", "output": "The Pacific Ocean."}\n'
} > "$TMP/d.jsonl"

start 120 40 "$BIN" d.jsonl
wait_for "32 pending"
keys / ; keys -l 'pacific'; keys Enter
# wait for the result, not the "searching /pacific/ ..." message
wait_for "record 32 of 32"
wait_gone "searching"
keys / ; keys -l '富士山'; keys Enter
wait_for "record 31 of 32"
# the Japanese row's length column starts where the other rows' does
cols=$(screen | sed -n '2,17p' | grep -E '^ ' | "$COLW" / | sort -u | grep -v '^-1$')
[ "$(echo "$cols" | wc -l)" = 1 ] || fail "length columns misaligned: $(echo $cols)"
expect "富士山の高さは3776メートルです。"
# n finds the next match of the last pattern, wrapping around
keys / ; keys -l 'Question number 2'; keys Enter
wait_for "record 2 of 32"
keys n; wait_for "record 20 of 32"
# resize down and up: header on line 0, counts on the second-to-last line, nothing wider
resize 80 24; sleep 0.3
line 0 | grep -q '^ Bezoar' || fail "header missing after resize to 80x24"
line 22 | grep -q 'pending' || fail "status line missing after resize to 80x24"
resize 120 40; sleep 0.3
line 0 | grep -q '^ Bezoar' || fail "header missing after resize to 120x40"
line 38 | grep -q 'pending' || fail "status line missing after resize to 120x40"
keys q
wait_for "[exit 0]"
echo "search, CJK alignment and resize: ok"
