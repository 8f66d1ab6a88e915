#!/usr/bin/env bash
# SIGKILL at random moments (seeded: CAPTURE_KILL_SEED, printed) of a live
# capture, of cap-start, of pulls, merges (one in a tree) and digests with
# sidecars, several moments each, bounded by how long the tool takes here.
# After them: every file under a final name reads to its end with tcpdump,
# and cap-info counts what tcpdump counts; no record says running for a
# dead process, and a dead capture's record counts what its file holds;
# the temporaries the killed tools left are named by cap-ls and removed by
# cap-ls --clean, which leaves every other file alone.
source "$(dirname "$0")/lib.sh"
need_cmd tcpdump
need_cmd sha256sum
need_generator
seed=${CAPTURE_KILL_SEED:-20261126}
echo "seed: $seed (CAPTURE_KILL_SEED=$seed reproduces the moments)"
RANDOM=$seed
cd "$WORK"

now_ms() { date +%s%3N; }
# moment MS: sleeps a random time in [0, MS) milliseconds.
moment() { sleep "$(awk -v r="$RANDOM" -v ms="$1" 'BEGIN { printf "%.3f", (r % ms) / 1000 }')"; }
# killed_at MS COMMAND...: runs COMMAND, SIGKILLs it at a random moment in [0, MS) ms.
killed_at() {
  local ms=$1 pid
  shift
  "$@" >/dev/null 2>&1 &
  pid=$!
  moment "$ms"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
# timed COMMAND...: runs COMMAND, prints how many ms it took (at least 20).
timed() {
  local t0
  t0=$(now_ms)
  "$@" >/dev/null 2>&1 || true
  echo $(( $(now_ms) - t0 > 20 ? $(now_ms) - t0 : 20 ))
}

# check_dir DIR WHAT: the invariants, after cap-ls has seen DIR.
check_dir() {
  local dir=$1 what=$2 f n bad=0 listed rec file
  listed=$(cap-ls --dir "$dir" --all --records 2>"$WORK/ls.err")
  check_eq "$what: cap-ls reads every record" "" "$(grep -v 'left by process' "$WORK/ls.err" || true)"
  check_eq "$what: no record says running for a process that is gone" "" \
    "$(grep -P '\tstate=running\t' <<<"$listed" | while IFS= read -r rec; do
         kill -0 "$(field pid "$rec")" 2>/dev/null || echo "$rec"; done)"
  while IFS= read -r rec; do
    [ -n "$rec" ] || continue
    file=$(field file "$rec")
    case $(field state "$rec") in
    dead)
      # Killed before it wrote anything: no file, and the record says so.
      [ ! -e "$file" ] && [ ! -L "$file" ] && [ "$(field packets "$rec")" = 0 ] && continue
      [ -f "$file" ] && [ ! -L "$file" ] || { fail "$what: a dead capture's file is not a plain file: $file"; bad=1; continue; }
      [ "$(field packets "$rec")" = "$(tcpdump_count "$file")" ] || { fail "$what: $file: record says $(field packets "$rec") packets, the file holds $(tcpdump_count "$file")"; bad=1; } ;;
    done | stopped | limit | interrupted)
      [ "$(field packets "$rec")" = "$(tcpdump_count "$file")" ] || { fail "$what: $file: record says $(field packets "$rec") packets, the file holds $(tcpdump_count "$file")"; bad=1; } ;;
    esac
  done <<<"$listed"
  # What cap-ls names as left by killed tools: hidden temporaries, and the
  # link of a pull killed before it wrote its record.
  local named
  named=$(sed -n 's/^cap-ls: \(.*\): left by process [0-9]*, which ended .*$/\1/p' "$WORK/ls.err" | sort)
  for f in "$dir"/*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    case $f in *.pcap | *.pcapng) ;; *) continue ;; esac
    if [ -L "$f" ]; then
      grep -qxF "$f" <<<"$named" || { fail "$what: a link at a final name, not named as left: $f -> $(readlink "$f")"; bad=1; }
      continue
    fi
    reads_whole "$f" || { fail "$what: $f does not read to its end: $(cat "$WORK/tcpdump.err")"; bad=1; continue; }
    n=$(tcpdump_count "$f")
    [ "$(field packets "$(cap-info --no-syslog "$f")")" = "$n" ] || { fail "$what: $f: cap-info and tcpdump disagree"; bad=1; }
  done
  [ "$bad" = 0 ] && ok "$what: every file under a final name is whole, and counted right"
  echo "$what: $(grep -c . <<<"$listed" || true) records, $(grep -c $'\tstate=dead\t' <<<"$listed" || true) dead, $(grep -c . <<<"$named" || true) files left"
  check_eq "$what: cap-ls names every temporary left" "" \
    "$(ls -A "$dir" | grep '\.tmp$' | sed "s|^|$dir/|" | grep -vxF -f <(printf '%s\n' "$named") || true)"
  local before after
  before=$(ls -A "$dir" | sed "s|^|$dir/|" | grep -vxF -f <(printf '%s\n' "$named") | sort || true)
  run_tool cap-ls --dir "$dir" --no-syslog --clean --all --records
  check_eq "$what: --clean exits 0" 0 "$RC"
  check_eq "$what: --clean removed what was named ($(grep -c . <<<"$named" || true))" "$named" \
    "$(sed -n 's/^cap-ls: removed \(.*\) (.*, left by process [0-9]*)$/\1/p' <<<"$ERR" | sort)"
  check_eq "$what: no temporary is left" "" "$(ls -A "$dir" | grep '\.tmp$' || true)"
  after=$(ls -A "$dir" | sed "s|^|$dir/|" | sort)
  check_eq "$what: --clean left every other file alone" "$before" "$after"
  check_eq "$what: a second cap-ls names nothing" "" "$(cap-ls --dir "$dir" --all 2>&1 >/dev/null)"
}

"$GEN" --out arch --files 6 --size 4M --seed 41 --quiet >/dev/null
cat arch/* >/dev/null

# --- Pulls, one of them to the end first to measure how long one takes.
export CAPTURE_DIR=$WORK/pulls
ms=$(timed cap-pull --no-syslog -a k -d measure -e '' -r arch -j 1)
echo "a pull takes $ms ms here"
for i in 1 2 3 4 5; do killed_at "$ms" cap-pull --no-syslog -a k -d "killed $i" -e '' -r arch -j 1; done
check_dir "$CAPTURE_DIR" pulls

# --- Merges into the capture directory, plain and as a tree (parts).
export CAPTURE_DIR=$WORK/merges
ms=$(timed cap-merge --no-syslog -a k -d measure arch/*)
tms=$(timed cap-merge --no-syslog -a k -d measure-tree --max-open 2 arch/*)
echo "a merge takes $ms ms here, as a tree $tms ms"
for i in 1 2 3; do killed_at "$ms" cap-merge --no-syslog -a k -d "killed $i" arch/*; done
for i in 1 2 3; do killed_at "$tms" cap-merge --no-syslog -a k -d "tree $i" --max-open 2 arch/*; done
check_dir "$CAPTURE_DIR" merges

# --- Digests with sidecars, over many small files.
mkdir hashes
"$GEN" --out hashes --files 400 --size 4K --seed 42 --quiet >/dev/null
ms=$(timed cap-hash --no-syslog --sidecar -j 2 hashes/daemonlogger.pcap.*)
echo "hashing takes $ms ms here"
rm -f hashes/*.sha256
for i in 1 2 3 4; do killed_at "$ms" cap-hash --no-syslog --sidecar -j 2 hashes/daemonlogger.pcap.*; done
bad=0
for s in hashes/*.sha256; do
  [ -e "$s" ] || continue
  (cd hashes && sha256sum --quiet -c "$(basename "$s")" >/dev/null 2>&1) || { fail "sidecar $s does not verify"; bad=1; }
done
[ "$bad" = 0 ] && ok "hashes: every sidecar there verifies ($(ls hashes/*.sha256 2>/dev/null | wc -l))"
check_dir "$WORK/hashes" hashes

# --- Live captures on lo (root): the capture process killed at random
# moments while traffic flows, and cap-start killed while it starts one.
if [ "$(id -u)" = 0 ] && ip link show lo >/dev/null 2>&1; then
  source "$(dirname "$0")/live_lib.sh"
  export CAPTURE_DIR=$WORK/live
  port=$(free_port 6)
  ( while :; do printf 'kill test %s\n' "$RANDOM" >"/dev/udp/127.0.0.1/$port"; sleep 0.002; done ) 2>/dev/null &
  sender=$!
  trap 'kill "$sender" 2>/dev/null || true; cleanup_live' EXIT
  for i in 1 2 3 4; do
    out=$(cap-start --no-syslog -a k -d "live $i" -e "udp and dst port $port" -i lo)
    pid=$(field pid "$out")
    moment 1500
    kill -KILL "$pid"
    wait_until 10 proc_gone "$pid" || fail "live $i: SIGKILL did not end $pid"
  done
  ms=$(timed cap-start --no-syslog -a k -d measure -e "udp and dst port $port" -i lo)
  for i in 1 2 3 4; do killed_at "$ms" cap-start --no-syslog -a k -d "start killed $i" -e "udp and dst port $port" -i lo; done
  # A capture whose cap-start was killed before it said go gives up and
  # leaves nothing; one told to go runs, listed. Wait for each to be one
  # or the other.
  settled() {
    local p running
    running=$(cap-ls --records | while IFS= read -r r; do field pid "$r"; done)
    for p in $(pgrep -f "cap-start --no-syslog -a k -d start killed" || true); do
      grep -qx "$p" <<<"$running" || return 1
    done
  }
  wait_until 30 settled || fail "live: a capture whose cap-start was killed neither ran nor gave up"
  cap-ls --records | cap-stop --wait 10 >/dev/null 2>&1 || true
  kill "$sender" 2>/dev/null || true
  # A capture's process ends just after its final record (what cap-stop
  # waits for): a bounded moment for the last ones to exit.
  none_left() { ! pgrep -f "cap-start --no-syslog -a k -d" >/dev/null; }
  wait_until 10 none_left || true
  check_eq "live: no capture process left" "" "$(pgrep -f "cap-start --no-syslog -a k -d" || true)"
  check_eq "live: every capture killed is dead" 4 "$(cap-ls --all --records | grep -P '\tdesc=live [0-9]\t' | grep -c $'\tstate=dead\t' || true)"
  check_eq "live: no capture file without its record" "" \
    "$(for f in "$CAPTURE_DIR"/*.pcap; do [ -e "$f.record" ] || echo "$f"; done)"
  check_dir "$CAPTURE_DIR" live
else
  echo "note: not root (or no lo): the live captures were not killed"
fi

finish
