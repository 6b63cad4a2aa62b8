# Edit in $EDITOR (run without a shell), see the original, revert; filter by status;
# mark rows and apply a bulk decision with a confirmation that states the count.
. tests/e2e/lib/tmux.sh
for i in 1 2 3 4 5 6; do
    printf '{"instruction": "Question %d?", "input": "", "output": "Answer %d."}\n' "$i" "$i"
done > "$TMP/d.jsonl"

start 120 40 env "EDITOR=sed -i s/Answer/EDITED/" "$BIN" d.jsonl
wait_for "6 pending"
keys e
wait_for "EDITED (D shows the original, R reverts)"
expect "EDITED 1."
keys D
wait_for "ORIGINAL (before your edit"
expect "Answer 1."
keys R
wait_for "reverted the edit"
wait_gone "EDITED 1."
expect "Answer 1."

# filter: pending only, then accept one; the header says what the filter is
keys F 1 Enter
wait_for "filter: pending"
keys a
wait_for "1 accepted"

# marks + bulk reject with confirmation
keys F c Enter
wait_for "filter: all · 6 shown"
keys G m k m
wait_for "2 marked"
keys B
wait_for "bulk on 2 marked records"
keys x
wait_for "Reject 2 marked records? [y/N]"
keys y
wait_for "2 rejected"
wait_for "reject: 2 records"

# bulk over everything the filter shows: the 3 still pending
keys F 1 Enter
wait_for "filter: pending · 3 shown"
keys B a
wait_for "Accept 3 records shown by the filter? [y/N]"
keys n
wait_for "canceled"
keys B a y
wait_for "4 accepted"
expect "0 pending"
keys q
wait_for "[exit 0]"
expect "4 accepted, 2 rejected, 0 flagged, 0 pending, 0 bad"
echo "edit, revert, filter, marks and bulk: ok"
