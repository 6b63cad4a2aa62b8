#!/usr/bin/env bash
# bezoar serve on stories260K over real loopback HTTP (curl): /v1/models, text
# completions equal `bezoar complete`'s greedy text, streamed (SSE, [DONE]) and whole,
# chat with --template alpaca, error statuses, usage errors, a
# taken port, and SIGTERM: the answer in flight finishes, then exit 0.
set -euo pipefail
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
DATA=../shared/data/models
[ -f "$DATA/stories260K.gguf" ] || { echo "../shared/data is absent: skipped"; exit 77; }
command -v curl >/dev/null || { echo "curl is absent: skipped"; exit 77; }
M=$DATA/stories260K.gguf
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$tmp"' EXIT

# usage errors exit 2
set +e
"$BIN" serve >/dev/null 2>&1; [ $? -eq 2 ] || { echo "no -m: want exit 2"; exit 1; }
"$BIN" serve -m "$M" --port 99999 >/dev/null 2>&1; [ $? -eq 2 ] || { echo "bad port: want 2"; exit 1; }
"$BIN" serve -m "$M" --template nope --port 0 >/dev/null 2>&1; [ $? -eq 1 ] || { echo "bad template"; exit 1; }
set -e

"$BIN" serve -m "$M" --port 0 --template alpaca --parallel 2 --threads 2 >"$tmp/url" 2>"$tmp/err" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/url" ] && break; sleep 0.05; done
U=$(head -1 "$tmp/url")
case "$U" in http://127.0.0.1:*/v1) ;; *) echo "no URL: $U"; cat "$tmp/err"; exit 1 ;; esac
port=${U#http://127.0.0.1:}; port=${port%/v1}

curl -sf "$U/models" | grep -q '"data":\[{"id":"stories260K","object":"model"' || { echo models; exit 1; }

want=$("$BIN" complete -m "$M" -p "Once upon a time" -n 30 2>/dev/null)
got=$(curl -sf "$U/completions" -d '{"prompt":"Once upon a time","max_tokens":30,"temperature":0}')
text=$(printf '%s' "$got" | sed 's/.*"text":"\([^"]*\)".*/\1/')
[ "$text" = "$want" ] || { echo "completions: '$text' want '$want'"; exit 1; }
echo "$got" | grep -q '"usage":{"prompt_tokens":5,"completion_tokens":30,"total_tokens":35}' ||
    { echo "usage: $got"; exit 1; }

# streamed: the pieces joined are the same text, the stream ends with [DONE]
curl -sfN "$U/completions" -d '{"prompt":"Once upon a time","max_tokens":30,"temperature":0,"stream":true}' >"$tmp/sse"
[ "$(tail -c 16 "$tmp/sse" | tr -d '\n')" = "data: [DONE]" ] || { tail -3 "$tmp/sse"; exit 1; }
joined=$(grep '^data: {' "$tmp/sse" | sed 's/.*"text":"\([^"]*\)".*/\1/' | tr -d '\n')
[ "$joined" = "$want" ] || { echo "stream: '$joined'"; exit 1; }
grep -q '"finish_reason":"length"' "$tmp/sse" || { echo "no finish_reason"; exit 1; }

# chat through the alpaca template
chat=$(curl -sf "$U/chat/completions" -d '{"messages":[{"role":"user","content":"Tell me a story."}],"max_tokens":12,"temperature":0}')
echo "$chat" | grep -q '"object":"chat.completion".*"message":{"role":"assistant","content":"[^"]' ||
    { echo "chat: $chat"; exit 1; }

# errors: status and an OpenAI-style body
code=$(curl -s -o "$tmp/b" -w '%{http_code}' "$U/completions" -d '{"prompt":')
[ "$code" = 400 ] && grep -q '"error":{"message":' "$tmp/b" || { echo "400: $code"; exit 1; }
code=$(curl -s -o "$tmp/b" -w '%{http_code}' "$U/completions" -d '{"prompt":"a","model":"nope"}')
[ "$code" = 404 ] || { echo "404: $code"; exit 1; }
code=$(curl -s -o "$tmp/b" -w '%{http_code}' "$U/chat/completions")
[ "$code" = 405 ] || { echo "405: $code"; exit 1; }
head -c 2000000 /dev/zero | tr '\0' 'x' >"$tmp/big"
code=$(curl -s -o "$tmp/b" -w '%{http_code}' "$U/completions" --data-binary @"$tmp/big")
[ "$code" = 413 ] || { echo "413: $code"; exit 1; }

# a second server on the same port is refused
set +e
"$BIN" serve -m "$M" --port "$port" >/dev/null 2>"$tmp/err2"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "cannot listen on 127.0.0.1:$port" "$tmp/err2" || { cat "$tmp/err2"; exit 1; }

# SIGTERM while an answer is being generated: it still arrives whole, then exit 0
curl -sf "$U/completions" -d '{"prompt":"Once","max_tokens":1500,"temperature":1,"seed":3}' >"$tmp/long" &
cpid=$!
sleep 0.3
kill -TERM $pid
wait $cpid || { echo "the answer in flight was lost"; exit 1; }
grep -q '"completion_tokens":' "$tmp/long" || { cat "$tmp/long"; exit 1; }
wait $pid; rc=$?
pid=
[ $rc -eq 0 ] || { echo "serve exit $rc"; cat "$tmp/err"; exit 1; }
grep -q "stopped after" "$tmp/err" || { cat "$tmp/err"; exit 1; }
echo ok
