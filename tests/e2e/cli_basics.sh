# The program's own edges: help, an unknown verb with arguments (usage, exit 2), no terminal for the
# workbench (exit 2, naming the dataset), a missing dataset (exit 1, one line).
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
fail() { echo "FAIL: $*"; exit 1; }
"$BIN" -h | grep -q "^verbs:" || fail "-h lists no verbs"
for v in data model convert tokenize complete chat logits perplexity train compare serve judge; do
    "$BIN" -h | grep -q "^  $v " || fail "-h does not list $v"
done
out=$("$BIN" frobnicate --now 2>&1); rc=$?
[ $rc = 2 ] || fail "unknown verb exited $rc"
echo "$out" | grep -q "^usage: bezoar" || fail "unknown verb message: $out"
out=$("$BIN" </dev/null 2>&1); rc=$?
[ $rc = 2 ] || fail "no terminal exited $rc"
echo "$out" | grep -q "needs a terminal.*assets/demo/pairs.jsonl" || fail "no-tty message: $out"
out=$(script -qec "$BIN /nonexistent/x.jsonl" /dev/null 2>&1); rc=$?
[ $rc = 1 ] || fail "missing dataset exited $rc"
echo "$out" | grep -q "^bezoar: /nonexistent/x.jsonl" || fail "missing dataset message: $out"
echo "cli basics: ok"
