# Curate in a real terminal at 120x40 and 80x24: accept 3, reject 2, undo 1, quit,
# reopen: the counts and the row marks survive; the source file is untouched.
. tests/e2e/lib/tmux.sh

make_data() {
    cat > "$TMP/pairs.jsonl" <<'JSON'
{"instruction": "Name the largest planet.", "input": "", "output": "Jupiter is the largest planet in the Solar System."}
{"instruction": "Convert 3 km to metres.", "input": "", "output": "3 km is 3000 metres."}
{"instruction": "Reverse the word 'stone'.", "input": "", "output": "enots"}
{"instruction": "What is 12 times 11?", "input": "", "output": "132"}
{"instruction": "Give a synonym for 'quick'.", "input": "", "output": "fast"}
{"instruction": "Translate 'cat' to French.", "input": "", "output": "chat"}
{"instruction": "broken line", "output": "no closing brace"
{"instruction": "日本の首都はどこですか。", "input": "", "output": "日本の首都は東京です。"}
{"instruction": "Sort 3, 1, 2.", "input": "", "output": "1, 2, 3"}
JSON
}

for size in "120 40" "80 24"; do
    set -- $size
    rm -rf "$TMP"/*
    make_data
    sum_before=$(md5sum < "$TMP/pairs.jsonl")
    start "$1" "$2" "$BIN" pairs.jsonl
    wait_for "0 accepted"
    wait_for "1 bad"
    keys a; wait_for "1 accepted"
    keys a; wait_for "2 accepted"
    keys a; wait_for "3 accepted"
    keys x; wait_for "1 rejected"
    keys x; wait_for "2 rejected"
    keys u; wait_for "1 rejected"
    expect "3 accepted"
    keys q
    wait_for "[exit 0]"
    expect "3 accepted, 1 rejected, 0 flagged, 4 pending, 1 bad"
    tmux -L "$SOCK" kill-server
    [ "$(md5sum < "$TMP/pairs.jsonl")" = "$sum_before" ] || fail "the source file changed"
    [ -s "$TMP/pairs.jsonl.bezoar/journal" ] || fail "no journal beside the dataset"

    start "$1" "$2" "$BIN" pairs.jsonl
    wait_for "3 accepted"
    expect "1 rejected"
    n=$(screen | grep -c '^ acc') || true
    [ "$n" = 3 ] || fail "expected 3 rows marked acc at $1x$2, saw $n"
    n=$(screen | grep -c '^ rej') || true
    [ "$n" = 1 ] || fail "expected 1 row marked rej at $1x$2, saw $n"
    n=$(screen | grep -c '^ BAD') || true
    [ "$n" = 1 ] || fail "expected the bad line shown as a BAD row at $1x$2, saw $n"
    keys q
    wait_for "[exit 0]"
    tmux -L "$SOCK" kill-server
done
echo "curation at 120x40 and 80x24: ok"
