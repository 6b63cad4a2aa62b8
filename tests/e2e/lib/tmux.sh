# tmux.sh: helpers for end-to-end tests in a real terminal (tmux). Source it.
# Each test gets its own tmux server (socket) and a temp dir, removed on exit.
set -u
BIN=${BEZOAR_BIN:-$PWD/build/bezoar}
TMP=$(mktemp -d /tmp/bezoar-e2e-XXXXXX)
SOCK="bz-e2e-$$-0"
NSTART=0
export LC_ALL=C.UTF-8 NO_COLOR= TERM=xterm-256color
cleanup() {
    local i
    for ((i = 0; i <= NSTART; i++)); do tmux -L "bz-e2e-$$-$i" kill-server 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; echo "--- screen:"; screen; exit 1; }
skip() { echo "$*"; exit 77; }
command -v tmux >/dev/null || skip "tmux is not installed"

# start COLS ROWS CMD...: run CMD in a fresh tmux server and session (a new socket
# each time: a killed server may still be exiting); the pane stays after exit and
# prints "[exit N]".
start() {
    local cols=$1 rows=$2; shift 2
    NSTART=$((NSTART + 1))
    SOCK="bz-e2e-$$-$NSTART"
    local cmd
    printf -v cmd '%q ' "$@"
    tmux -L "$SOCK" -f /dev/null new-session -d -s t -x "$cols" -y "$rows" \
        "cd $TMP && $cmd; echo \"[exit \$?]\"; sleep 600"
}
keys() { tmux -L "$SOCK" send-keys -t t "$@"; }
screen() { tmux -L "$SOCK" capture-pane -p -t t; }
# wait_for TEXT [SECONDS]: until the screen shows TEXT (a fixed string).
wait_for() {
    local i limit=$(( ${2:-10} * 20 ))
    for ((i = 0; i < limit; i++)); do
        screen | grep -qF -- "$1" && return 0
        sleep 0.05
    done
    fail "timed out waiting for '$1'"
}
# wait_gone TEXT [SECONDS]
wait_gone() {
    local i limit=$(( ${2:-10} * 20 ))
    for ((i = 0; i < limit; i++)); do
        screen | grep -qF -- "$1" || return 0
        sleep 0.05
    done
    fail "timed out waiting for '$1' to go away"
}
expect() { screen | grep -qF -- "$1" || fail "screen lacks '$1'"; }
expect_not() { screen | grep -qF -- "$1" && fail "screen shows '$1'"; return 0; }
resize() { tmux -L "$SOCK" resize-window -t t -x "$1" -y "$2"; }
# line N: line N (0-based) of the screen
line() { screen | sed -n "$(( $1 + 1 ))p"; }
