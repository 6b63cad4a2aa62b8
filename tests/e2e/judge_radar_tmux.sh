#!/usr/bin/env bash
# judge_radar_tmux: `bezoar judge show --radar` in a real terminal (tmux) sizes itself
# to the pane and leaves a row for the prompt: the screens at 80x24 and 120x40 equal
# the stored ones (braille, no colour), and with colours on, the chart shows one
# colour per model (checked through capture-pane -e).
. tests/e2e/lib/tmux.sh
# like start, but "[exit N]" ends without a newline, so a 24-row output of 23 lines
# plus the status line fills the pane without scrolling
start_noscroll() {
    local cols=$1 rows=$2; shift 2
    NSTART=$((NSTART + 1))
    SOCK="bz-e2e-$$-$NSTART"
    local cmd
    printf -v cmd '%q ' "$@"
    tmux -L "$SOCK" -f /dev/null new-session -d -s t -x "$cols" -y "$rows" \
        "cd $TMP && $cmd; printf '[exit %d]' \$?; sleep 600"
}
EXP=$PWD/tests/judge/expected
J=$EXP/judgments-radar.jsonl
for size in 80x24 120x40; do
    start_noscroll "${size%x*}" "${size#*x}" env NO_COLOR=1 BEZOAR_CHART=braille "$BIN" judge show "$J" --radar
    wait_for "[exit 0]"
    screen | sed 's/ *$//' > "$TMP/screen.txt"
    diff -u "$EXP/tmux-radar-$size.txt" "$TMP/screen.txt" || fail "screen $size differs"
done
start_noscroll 80 24 env BEZOAR_CHART=braille "$BIN" judge show "$J" --radar
wait_for "[exit 0]"
tmux -L "$SOCK" capture-pane -e -p -t t > "$TMP/color.txt"
n=$(grep -o $'\x1b\\[[0-9;]*3[1-6]m' "$TMP/color.txt" | sed 's/.*\(3[1-6]\)m/\1/' | sort -u | wc -l)
[ "$n" -eq 3 ] || fail "expected 3 model colours, got $n"
echo "judge_radar_tmux: ok"
