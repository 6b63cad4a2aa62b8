# Scores and suggestions in the Data view: suggested rejects written by the real
# `bezoar data filter` (a refusal, an empty answer) and judge scores in
# DATASET.bezoar/scores.jsonl (the format dataset.h documents, as `bezoar data score`
# writes it) show in the list (score column, '!' marker, flag names) and the detail
# (score, judge, rationale, the suggestion's why, the flag explained); 'o' sorts by
# score both ways; the filter menu filters by score below T and by suggestion; 'p'
# pre-marks the pending rows below T and the suggested rejects, B x y rejects them
# with a counted confirmation, and the journal then holds the decisions. 120x40, 80x24.
. tests/e2e/lib/tmux.sh

make_data() {
    cat > "$TMP/s.jsonl" <<'JSON'
{"id": "q1", "instruction": "Name the largest planet.", "output": "Jupiter is the largest planet in the Solar System."}
{"id": "q2", "instruction": "Convert 3 km to metres.", "output": "3 km is 3000 metres."}
{"id": "q3", "instruction": "Write a poem about the sea.", "output": "As an AI language model, I cannot write poems."}
{"id": "q4", "instruction": "What is 12 times 11?", "output": "12 times 11 is 132."}
{"id": "q5", "instruction": "Give a synonym for quick.", "output": "   "}
{"id": "q6", "instruction": "Translate cat to French.", "output": "Cat in French is chat."}
JSON
    (cd "$TMP" && "$BIN" data filter s.jsonl > filter.out) || fail "bezoar data filter failed"
    grep -q '"suggest":"reject","why":"refusal"' "$TMP/s.jsonl.bezoar/journal" ||
        fail "data filter wrote no suggestion for the refusal"
    J='openai:http://127.0.0.1:9/v1#judge'
    cat > "$TMP/s.jsonl.bezoar/scores.jsonl" <<JSON
{"t":1795683390.0,"id":"q1","judge":"$J","score":9,"rationale":"Correct and complete."}
{"t":1795683390.1,"id":"q2","judge":"$J","score":8,"rationale":"Right."}
{"t":1795683390.2,"id":"q4","judge":"$J","score":3,"rationale":"Terse arithmetic."}
{"t":1795683390.3,"id":"q6","judge":"$J","score":2,"rationale":"Too short to help."}
JSON
}

# first_row: the title of the first list row
first_row() { line 1; }

for size in "120 40" "80 24"; do
    set -- $size
    rm -rf "$TMP"/*
    make_data
    start "$1" "$2" "$BIN" s.jsonl
    wait_for "6 pending"
    # list: score column, suggestion marker, flags by name
    screen | grep -q ' \. !.*Write a poem.*-  refusa' || fail "q3 row lacks the marker or flag"
    screen | grep -q ' \. !.*Give a synonym.*-  empty' || fail "q5 row lacks the marker or flag"
    screen | grep -q 'Name the largest planet\. *9\.0' || fail "q1 row lacks its score"
    # detail: score, judge, rationale; then suggestion and the flag explained
    wait_for "score 9 by openai:http://127.0.0.1:9/v1#judge"
    expect "Correct and complete."
    keys j j
    wait_for "suggested: reject (refusal)"
    expect "flag refusal: the response refuses"
    # sort by score, lowest first, then highest first, then file order
    keys o
    wait_for "order: score, lowest first"
    first_row | grep -q "Translate cat" || fail "lowest score not first: $(first_row)"
    keys o
    wait_for "order: score, highest first"
    first_row | grep -q "Name the largest" || fail "highest score not first: $(first_row)"
    keys o
    wait_for "order: file"
    first_row | grep -q "Name the largest" || fail "file order not back"
    # filter: score below 4, then suggested rejects
    keys F b
    wait_for "score below (empty: off):"
    keys 4 Enter
    wait_for "score below: 4"
    keys Enter
    wait_for "score<4"
    n=$(screen | grep -cE '^ [ *]\.  ' ) || true
    [ "$n" = 2 ] || fail "score<4 shows $n rows, expected 2"
    expect "Translate cat"
    expect "12 times 11"
    keys F c S Enter
    wait_for "+suggested"
    n=$(screen | grep -cE '^ [ *]\. !' ) || true
    [ "$n" = 2 ] || fail "suggested shows $n rows, expected 2"
    keys F c e Enter
    wait_for "+empty"
    n=$(screen | grep -cE '^ [ *]\. ' ) || true
    [ "$n" = 1 ] || fail "filter by the empty flag shows $n rows, expected 1"
    keys F c Enter
    wait_for "filter: all"
    # pre-mark below 4 and the suggested rejects; one of them decided already
    keys G a
    wait_for "1 accepted"     # q6 (score 2) accepted by the person: not pre-marked
    keys p
    wait_for "pre-mark pending scored below"
    keys 4 Enter
    wait_for "marked 3 pending: 1 scored below 4, 2 suggested rejects"
    expect "3 marked"
    keys B x
    wait_for "Reject 3 marked records? [y/N]"
    keys y
    wait_for "3 rejected"
    keys q
    wait_for "[exit 0]"
    expect "1 accepted, 3 rejected, 0 flagged, 2 pending, 0 bad"
    tmux -L "$SOCK" kill-server
    for id in q3 q4 q5; do
        grep -q "\"id\":\"$id\",\"op\":\"reject\"" "$TMP/s.jsonl.bezoar/journal" ||
            fail "the journal lacks the reject of $id"
    done
    grep -q '"id":"q6","op":"accept"' "$TMP/s.jsonl.bezoar/journal" || fail "q6 accept missing"
done
echo "scores, suggestions, sort, filters, pre-mark and bulk reject: ok"
