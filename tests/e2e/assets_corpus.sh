#!/usr/bin/env bash
# gen-corpus (the demo model's pretraining text): deterministic for a seed, within the
# requested size, ASCII only, every document closed by <|endoftext|>, and the computed
# answers in its snippets are right (checked independently here with awk).
set -euo pipefail
build=${BEZOAR_BUILD:-build}
gen="$build/tools/gen-corpus"
[ -x "$gen" ] || { echo "$gen not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$gen" -n 300000 -s 5 -o "$tmp/a.txt"
"$gen" -n 300000 -s 5 -o "$tmp/b.txt"
"$gen" -n 300000 -s 6 -o "$tmp/c.txt"
"$gen" -n 300000 -s 5 > "$tmp/stdout.txt"
cmp "$tmp/a.txt" "$tmp/b.txt"
cmp "$tmp/a.txt" "$tmp/stdout.txt"
if cmp -s "$tmp/a.txt" "$tmp/c.txt"; then echo "seeds 5 and 6 gave the same corpus"; exit 1; fi

size=$(wc -c < "$tmp/a.txt")
if [ "$size" -gt 300000 ] || [ "$size" -lt 290000 ]; then
    echo "asked for at most 300000 bytes, got $size"; exit 1
fi
nonascii=$(LC_ALL=C tr -d '\000-\177' < "$tmp/a.txt" | wc -c)
[ "$nonascii" -eq 0 ] || { echo "$nonascii non-ASCII bytes"; exit 1; }
[ "$(tail -c 14 "$tmp/a.txt")" = "<|endoftext|>" ] || { echo "does not end with a separator"; exit 1; }
docs=$(grep -c '^<|endoftext|>$' "$tmp/a.txt")
stories=$(grep -c '^Once upon a time\|^One day, \|^There once was \|^[A-Z][a-z]* was an\? ' "$tmp/a.txt" || true)
snippets=$(grep -c '^### Instruction:$' "$tmp/a.txt")
echo "documents $docs, story openings $stories, snippets $snippets"
[ "$docs" -gt 500 ] && [ "$snippets" -gt 100 ] && [ "$stories" -gt 200 ]

# Every computed answer is checked: arithmetic, comparisons, sorting, reversal.
LC_ALL=C awk '
function fail(msg) { print "line " NR ": " msg ": " $0; bad++ }
function rev(s,   r, i) { r = ""; for (i = length(s); i > 0; i--) r = r substr(s, i, 1); return r }
/^### Instruction:$/ { getline instr; input = "" }
/^### Input:$/ { getline input }
/^### Response:$/ {
    getline; resp = $0
    if (/^[0-9]+ plus [0-9]+ is [0-9]+\.$/)  { n++; if ($1 + $3 != $5 + 0) fail("sum") }
    if (/^[0-9]+ minus [0-9]+ is [0-9]+\.$/) { n++; if ($1 - $3 != $5 + 0) fail("difference") }
    if (/^[0-9]+ times [0-9]+ is [0-9]+\.$/) { n++; if ($1 * $3 != $5 + 0) fail("product") }
    if (/^[0-9]+ is bigger than [0-9]+\.$/)  { n++; if ($1 + 0 <= $5 + 0) fail("comparison") }
    if (instr == "Spell this word backwards.") { n++; if (resp != rev(input)) fail("reversal") }
    if (instr == "Sort these numbers from smallest to largest.") {
        n++; k = split(resp, v, ", "); m = split(input, w, ", ")
        if (k != m) fail("sort length")
        for (i = 2; i <= k; i++) if (v[i-1] + 0 > v[i] + 0) fail("sort order")
        s1 = 0; s2 = 0; for (i = 1; i <= k; i++) { s1 += v[i]; s2 += w[i] }
        if (s1 != s2) fail("sort content")
    }
}
END { print n + 0 " computed answers checked, " bad + 0 " wrong"; exit (bad > 0 || n < 50) }
' "$tmp/a.txt"

# -j: the same documents as Alpaca JSON lines that the dataset module reads without a bad
# line; the snippets' instructions, inputs and outputs are the text mode's, the stories are
# outputs of a request for a story.
"$gen" -j -n 300000 -s 5 -o "$tmp/a.jsonl"
"$gen" -j -n 300000 -s 5 -o "$tmp/b.jsonl"
cmp "$tmp/a.jsonl" "$tmp/b.jsonl"
bezoar="$build/bezoar"
if [ -x "$bezoar" ]; then
    stats=$("$bezoar" data stats "$tmp/a.jsonl")
    echo "$stats" | head -1
    echo "$stats" | grep -q ' records (alpaca), 0 bad$' || { echo "jsonl: bad lines"; exit 1; }
fi
lines=$(wc -l < "$tmp/a.jsonl")
jstories=$(grep -c '^{"instruction":"\(Tell me a story.\|Write a short story.\|Tell me a bedtime story.\|Can you tell me a story?\)","input":"","output":"' "$tmp/a.jsonl" || true)
jsnips=$((lines - jstories))
echo "jsonl: $lines records, $jstories stories, $jsnips snippets"
[ "$jstories" -gt 100 ] && [ "$jsnips" -gt 50 ]
# The first records are the text mode's first documents: same instruction, same answer.
first_q=$(awk '/^### Instruction:$/ { getline; print; exit }' "$tmp/a.txt")
grep -F -q "{\"instruction\":\"$first_q\"" "$tmp/a.jsonl" || { echo "jsonl lacks: $first_q"; exit 1; }
grep -q '"input":"[0-9]' "$tmp/a.jsonl" || { echo "jsonl: no record with an input"; exit 1; }
if grep -q '###\|<|endoftext|>' "$tmp/a.jsonl"; then echo "jsonl: template text left in"; exit 1; fi

# Usage errors exit 2.
set +e
"$gen" -n 0 -o "$tmp/x" 2>/dev/null; rc1=$?
"$gen" -i 101 -o "$tmp/x" 2>/dev/null; rc2=$?
set -e
[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] || { echo "bad options: exit $rc1 and $rc2, expected 2"; exit 1; }
echo ok
