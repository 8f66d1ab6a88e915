#!/usr/bin/env bash
# What a person sees on a real terminal (a tmux pane read back with
# capture-pane): cap-pull's progress bar on stderr (bytes read of bytes to
# read, rate, ETA, files), cap-ls's table with a header and the running
# pull's id, percent and ETA, and no bar when stderr is not a terminal.
# The pull is made slow enough to watch by its work alone: a big synthetic
# archive walked by one worker through a long BPF program.
source "$(dirname "$0")/lib.sh"
need_cmd tmux
need_generator
cd "$WORK"
"$GEN" --out arch --files 8 --size 32M --seed 3 --quiet >/dev/null
# A sum of a thousand bytes of each frame that is never reached, then the
# host of interest: every packet runs a program of some 3000 instructions
# (quick to compile, unlike a long chain of hosts that libpcap optimises).
{ printf '('; for i in $(seq 1 1000); do printf 'ether[%d] + ' $((i % 60)); done; printf '0 = 99999999) or host 10.0.0.7\n'; } >expr

sock=capture-e2e-$$
tm() { tmux -L "$sock" -f /dev/null "$@"; }
trap 'tm kill-server 2>/dev/null || true; rm -rf "$WORK"' EXIT
shell="env -i PATH='$PATH' TERM=xterm HOME='$WORK' HISTFILE=/dev/null TZ=UTC CAPTURE_SYSLOG=off bash --norc --noprofile"
tm new-session -d -x 200 -y 50 -s t "$shell"
screen() { tm capture-pane -p -t "$1"; }
# wait_screen PANE REGEX [TENTHS]: until the pane shows REGEX (bounded).
wait_screen() {
  local i
  for ((i = 0; i < ${3:-600}; i++)); do
    screen "$1" | grep -Eq -- "$2" && return 0
    sleep 0.1
  done
  return 1
}

tm send-keys -t t:0 "cap-pull --dir '$WORK/caps' -a grant -d 'slow pull' -e \"\$(cat '$WORK/expr')\" -r '$WORK/arch' -j 1; echo PULL-END rc=\$?" Enter
bar='\[[=> ]{20}\] +[0-9]{1,3}%  [0-9.]+ (bytes|[KMGT]iB) of 256\.0 MiB  [0-9.]+ (bytes|[KMGT]iB)/s  ETA [0-9]+[smhd]'
if wait_screen t:0 "$bar"; then
  ok "the bar: bytes read of bytes to read, rate and ETA"
  line=$(screen t:0 | grep -E -- "$bar" | tail -n1)
  check_match "the bar: files done of files to read" ' [0-9]/8 files$' "$line"
  [ "${#line}" -lt 200 ] && ok "the bar fits the terminal's width (${#line} columns)" || fail "the bar wraps: ${#line} columns"
else
  fail "no progress bar on the terminal: [$(screen t:0 | grep -v '^$' | tail -n3)]"
fi

# cap-ls in another window of the same terminal, until the running pull's
# record has its figures (rewritten every second).
tm new-window -t t "$shell"
row='^[a-z0-9]+ +grant +[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [0-9]{4}  running +[0-9.]+ (bytes|[KMGT]iB) +[0-9]{1,3}% ETA [0-9]+[smhd] +slow pull$'
seen=
for n in $(seq 100); do
  tm send-keys -t t:1 "clear; cap-ls --dir '$WORK/caps'; echo LS-END-\$((40 + $n))" Enter
  wait_screen t:1 "^LS-END-$((40 + n))\$" 100 || break
  if screen t:1 | grep -Eq -- "$row"; then seen=yes; break; fi
  # The pull ended before its record said how far it got: nothing to watch.
  screen t:0 | grep -q "^PULL-END" && break
  sleep 0.2
done
table=$(screen t:1)
if [ -n "$seen" ]; then
  ok "cap-ls on a terminal: the running pull with its percent and ETA"
  check_match "cap-ls on a terminal: a header, id first" '^ID +ANALYST +STARTED +STATE +SIZE +PROGRESS +DESCRIPTION$' "$table"
  id=$(field id "$(cap-ls --dir caps --records)")
  check_match "cap-ls on a terminal: the id is the record's, what cap-stop takes" "^$id +grant " "$table"
  head=$(grep -E '^ID ' <<<"$table")
  data=$(grep -E "^$id " <<<"$table")
  prefix=${head%%PROGRESS*}
  check_eq "cap-ls on a terminal: the columns are aligned" "${#prefix}" "$(($(awk -v s="$data" 'BEGIN { print index(s, "%") }') - $(grep -Eo ' [0-9]{1,3}%' <<<"$data" | head -n1 | wc -c) + 2))"
  rec=$(cat caps/*.record)
  check_match "the record has read_bytes" 'read_bytes=[0-9]+' "$rec"
  check_eq "the record has total_bytes" "$(du -cb arch/* | tail -n1 | cut -f1)" "$(field total_bytes "$rec")"
  check_match "the record has eta" 'eta=[0-9]+' "$rec"
  check_match "in a pipe, records as before" "^id=$id	kind=pull	state=running	analyst=grant	" "$(cap-ls --dir caps)"
else
  fail "cap-ls never showed the running pull with its figures: [$table]"
fi

# Stopped: the bar gives way to the summary line.
cap-stop --dir caps -f grant --wait 30 >/dev/null 2>&1 || true
wait_screen t:0 '^PULL-END rc=' || fail "the pull did not end"
final=$(screen t:0)
check_match "once ended, the summary line" '^(Interrupted: |Pulled )[0-9]+ packets' "$final"
if grep -Eq -- "$bar" <<<"$(grep -E '^(Interrupted|Pulled)' <<<"$final")"; then fail "the bar is left on the summary line"; else ok "the bar is cleared at the end"; fi

# stderr not a terminal: no bar, even though stdout is one.
tm send-keys -t t:0 "clear; cap-pull -w '$WORK/quiet.pcap' -a grant -e \"\$(cat '$WORK/expr')\" -r '$WORK/arch' -j 1 --until 2023-11-14T22:13:40Z 2>'$WORK/err'; echo QUIET-END rc=\$?" Enter
wait_screen t:0 '^QUIET-END rc=' 1200 || fail "the quiet pull did not end"
check_eq "stderr in a file: no bar, no escape" "" "$(grep -E 'ETA|\[K' "$WORK/err" || true)"
finish
