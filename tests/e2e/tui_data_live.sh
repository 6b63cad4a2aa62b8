# The Data view follows its file as it grows (a generator, or anyone appending): new
# pairs appear as pending rows within a second, the selection and the marks stay, a
# torn last line waits for its newline, a filtered list takes the new rows in; a file
# rewritten underneath is refused with a message, not misread. At 120x40 and 80x24.
. tests/e2e/lib/tmux.sh

pair() { printf '{"instruction": "Question %d?", "input": "", "output": "Answer %d."}\n' "$1" "$1"; }

for size in "120 40" "80 24"; do
    set -- $size
    rm -rf "$TMP"/*
    for i in 1 2 3; do pair $i; done > "$TMP/d.jsonl"
    start "$1" "$2" "$BIN" d.jsonl
    wait_for "3 pending"
    keys j m            # mark record 2, the cursor moves to record 3
    wait_for "1 marked"
    wait_for "record 3 of 3"
    # a script appends, as a generator would, a line at a time
    (for i in 4 5 6; do pair $i >> "$TMP/d.jsonl"; sleep 0.3; done) &
    wait_for "6 pending" 10
    wait
    expect "record 3 of 6"
    expect "1 marked"
    expect "Question 6?"
    n=$(screen | grep -c '^\*') || true
    [ "$n" = 1 ] || fail "expected one marked row at $1x$2, saw $n"
    # a line written in two parts shows only once it is whole
    printf '{"instruction": "Torn question?", "in' >> "$TMP/d.jsonl"
    sleep 1.2
    expect "6 pending"
    expect_not "Torn question?"
    printf 'put": "", "output": "Now whole."}\n' >> "$TMP/d.jsonl"
    wait_for "Torn question?" 5
    expect "7 pending"
    # a filtered list (pending only) takes the new rows in too
    keys a
    wait_for "1 accepted"
    keys F 1 Enter
    wait_for "filter: pending"
    wait_gone "Question 3?"     # the accepted one
    pair 8 >> "$TMP/d.jsonl"
    wait_for "Question 8?" 5
    expect_not "Question 3?"
    keys q
    wait_for "[exit 0]"
    expect "1 accepted, 0 rejected, 0 flagged, 7 pending, 0 bad"
    tmux -L "$SOCK" kill-server
done

# rewritten in place (not appended): refused with a message, the rows stay as they were
rm -rf "$TMP"/*
for i in 1 2 3; do pair $i; done > "$TMP/d.jsonl"
start 120 40 "$BIN" d.jsonl
wait_for "3 pending"
{ pair 9; pair 2; pair 3; pair 4; } > "$TMP/d.new" && cat "$TMP/d.new" > "$TMP/d.jsonl"
wait_for "the indexed part of the file changed" 5
expect "3 pending"
keys q
wait_for "[exit 0]"
echo "live rows while a script appends, torn line, filter, refusal: ok"
