#!/usr/bin/env bash
# `bezoar data score` against a scripted OpenAI-compatible server (python3, on
# loopback): ratings parsed strictly and stored with the judge, unparseable verdicts
# and failed requests counted and reported, never stored; a rerun asks only what is
# missing (resumable); --below writes suggested rejects; --limit, --status, a custom
# rubric and a second judge; usage errors; a run where every request fails exits 1.
set -uo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
[ -x "$BIN" ] || { echo "bezoar binary not built ($BIN)"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is needed for the scripted server"; exit 77; }
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() {
    local want=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    [ $rc -eq "$want" ] || { cat "$tmp/out" "$tmp/err"; fail "exit $rc, expected $want: $*"; }
}
has() { grep -qF -- "$1" "$tmp/out" || { cat "$tmp/out"; fail "output lacks $1"; }; }

cat >"$tmp/server.py" <<'PY'
import http.server, json, sys
log = open(sys.argv[1], "a")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a):
        pass
    def reply(self, code, obj):
        b = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        p = body["messages"][-1]["content"]
        log.write(json.dumps({"path": self.path, "model": body.get("model"),
                              "stream": body.get("stream", False), "prompt": p}) + "\n")
        log.flush()
        if "FAILME" in p:
            return self.reply(400, {"error": {"message": "scripted failure"}})
        if p.startswith("CUSTOM"):
            t = "Custom rubric seen.\nRating: [[9]]"
        elif "colour" in p:
            t = "Correct and brief.\nRating: [[8]]"
        elif "poem" in p:
            t = "A refusal, not a poem.\nRating: [[2]]"
        elif "fruit" in p:
            t = "I would say it is fine, maybe [7]."
        else:
            t = "Adequate.\nRating: [[5.5]]"
        self.reply(200, {"id": "x", "object": "chat.completion", "model": body.get("model"),
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": t}}],
                         "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}})
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print("http://127.0.0.1:%d/v1" % s.server_address[1], flush=True)
s.serve_forever()
PY
python3 "$tmp/server.py" "$tmp/requests.log" >"$tmp/url" 2>"$tmp/server.err" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
U=$(head -1 "$tmp/url")
case "$U" in http://127.0.0.1:*/v1) ;; *) cat "$tmp/server.err"; fail "no server URL: $U" ;; esac
J="openai:$U#fake"
asked() { wc -l <"$tmp/requests.log"; }

d=$tmp/d.jsonl
cat >"$d" <<'JSON'
{"id":"s1","instruction":"Name a colour.","output":"Blue."}
{"id":"s2","instruction":"Write a poem about the sea.","output":"As an AI language model, I cannot."}
{"id":"s3","instruction":"Name a fruit.","output":"Apple."}
{"id":"s4","instruction":"Why is the sky blue?","output":"Scattering of sunlight."}
{"id":"s5","instruction":"FAILME please.","output":"Sure."}
{"id":"s6","instruction":"Name another colour.","output":"Red."}
JSON

expect 0 "$BIN" data score "$d" --judge "$J" --json --below 4 --parallel 2
has '"selected":6,"already_scored":0,"requested":6,"scored":4,"unparseable":1,"failed":1,"below":1,"suggested":1,"scores_total":4'
grep -q '^{"event":"unparseable","id":"s3","reason":"verdict: no rating written \[\[N\]\]"}$' "$tmp/out" || fail "unparseable event"
grep -q '^{"event":"failed","id":"s5","reason":"[^"]*400' "$tmp/out" || { cat "$tmp/out"; fail "failed event"; }
grep -q '^{"event":"progress","phase":"score","done":6,"total":6,"failed":1,"unparseable":1,' "$tmp/out" || fail "progress event"
[ "$(asked)" -eq 6 ] || fail "server asked $(asked) times, want 6"
grep -q '"stream": true' "$tmp/requests.log" && fail "the judge was asked to stream"
grep -q '"model": "fake"' "$tmp/requests.log" || fail "model name not sent"
grep -qF 'Rating: [[5]]' "$tmp/requests.log" || fail "the default rubric was not sent"
grep -qF '[Instruction]\nName a colour.\n\n[Response]\nBlue.' "$tmp/requests.log" || fail "rubric not filled"
S=$d.bezoar/scores.jsonl
[ "$(wc -l <"$S")" -eq 4 ] || fail "scores.jsonl: $(wc -l <"$S") lines"
grep -q "^{\"t\":[0-9.]*,\"id\":\"s1\",\"judge\":\"$J\",\"score\":8,\"rationale\":\"Correct and brief.\"}$" "$S" ||
    { cat "$S"; fail "score line of s1"; }
grep -q '"id":"s4",.*"score":5.5,' "$S" || fail "decimal rating"
grep -q '"id":"s3"' "$S" && fail "an unparseable verdict was stored"
grep -q '"id":"s2","op":"suggest","suggest":"reject","why":"score<4"' "$d.bezoar/journal" || fail "--below suggestion"
[ "$(grep -c '"op":"suggest"' "$d.bezoar/journal")" -eq 1 ] || fail "more than one suggestion"

# resumable: only the unscored ones are asked again; nothing new suggested
expect 0 "$BIN" data score "$d" --judge "$J" --json --below 4
has '"selected":6,"already_scored":4,"requested":2,"scored":0,"unparseable":1,"failed":1,"below":1,"suggested":0'
[ "$(asked)" -eq 8 ] || fail "rerun asked $(( $(asked) - 6 )), want 2"
expect 0 "$BIN" data score "$d" --judge "$J" --limit 1
has "6 records selected, 4 already scored by this judge, 1 asked: 0 scored, 1 unparseable, 0 failed"
[ "$(asked)" -eq 9 ] || fail "--limit 1 asked $(( $(asked) - 8 ))"

# another judge and a custom rubric: everything is asked again, the last score wins
printf 'CUSTOM {instruction} => {response}\n' >"$tmp/rubric.txt"
expect 0 "$BIN" data score "$d" --judge "$J-2" --rubric "$tmp/rubric.txt" --json
has '"requested":6,"scored":5,"unparseable":0,"failed":1'
has '"scores_total":5'
grep -qF '"prompt": "CUSTOM Name a colour. => Blue.\n"' "$tmp/requests.log" || fail "custom rubric not filled"
# --status picks the records: one accepted, scored by a third judge
"$BIN" data decide "$d" --id s1 --op accept >/dev/null || fail "decide"
expect 0 "$BIN" data score "$d" --judge "$J-3" --status accepted --json
has '"selected":1,"already_scored":0,"requested":1,"scored":1'

# usage and run-time errors
expect 2 "$BIN" data score "$d"
expect 2 "$BIN" data score "$d" --judge "$J" --below 11
expect 2 "$BIN" data score "$d" --judge "$J" --parallel 0
printf 'no placeholder\n' >"$tmp/bad-rubric.txt"
expect 2 "$BIN" data score "$d" --judge "$J" --rubric "$tmp/bad-rubric.txt"
expect 1 "$BIN" data score "$d" --judge "$J" --rubric "$tmp/missing.txt"
expect 1 "$BIN" data score "$d" --judge "nope:x"
printf '{"id":"f1","instruction":"FAILME now.","output":"x"}\n' >"$tmp/f.jsonl"
expect 1 "$BIN" data score "$tmp/f.jsonl" --judge "$J"
grep -q "^bezoar: data score: every request to the judge failed$" "$tmp/err" || { cat "$tmp/err"; fail "all-failed message"; }
expect 0 "$BIN" data score -h
has "--below T"
echo "data score: ok"
