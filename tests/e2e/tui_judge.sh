# The Judge view on hand-made judgment files: the table's means, the radar, hiding a
# model, drilling down to a category's rows and to one judgment, at 120x40 and 80x24.
. tests/e2e/lib/tmux.sh
mkdir -p "$TMP/judgments"
cp tests/judge/expected/judgments-radar.jsonl "$TMP/judgments/"
cp assets/demo/pairs.jsonl "$TMP/d.jsonl"
for size in "120 40" "80 24"; do
    set -- $size
    start "$1" "$2" "$BIN" d.jsonl
    wait_for "pending"
    keys 4
    wait_for "3 models"
    expect "base+sft"
    expect "6.20"
    expect "8.93"
    expect "humanities"
    # braille or ASCII radar cells are on screen
    screen | LC_ALL=C grep -q $'\xe2[\xa0-\xa3]' || fail "no radar drawn"
    keys j ' '
    wait_for " base+sft"
    keys l Enter
    wait_for "roleplay: "
    wait_for "single rows"
    keys Enter
    wait_for "the judge answered:"
    expect "Rating: [["
    keys BSpace BSpace
    wait_for "h/l choose, Enter opens"
    keys q
    wait_for "[exit 0]"
done
echo "judge view: table, radar, drill-down: ok"
