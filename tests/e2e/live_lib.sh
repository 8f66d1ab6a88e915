# Helpers for the live-capture tests (test_live_*.sh). Source after lib.sh.
#
# Every wait is bounded and waits for a condition, never for time alone.
# Traffic goes to 127.0.0.1 only.
need_root
need_cmd tcpdump
ip link show lo >/dev/null 2>&1 || skip "no lo interface"

# The capture process runs as an unprivileged user: it must reach the spool.
chmod 755 "$WORK"
export CAPTURE_DIR="$WORK/spool"

# Captures left running by a failing test are stopped on the way out.
cleanup_live() {
  if [ -d "$CAPTURE_DIR" ]; then
    cap-ls --records 2>/dev/null | cap-stop --wait 5 >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup_live EXIT

# free_port SLOT: a UDP port for this test, random per run within a range
# of its own (SLOT 0..9, one per test script, each 2000 wide, up to +9 free
# above it), so tests run at once by ctest -j never see each other's
# traffic. 10000-29999 only: test_cap_pull_live.sh uses 30000 and above.
# Taken: 0 live_capture, 1 live_limits, 2 live_crash, 3 live_ls,
# 4 live_parallel, 5 live_syslog, 6 faults_kill, 7 stress_captures,
# 8 faults_unreadable, 9 live_config.
free_port() { echo $(( 10000 + $1 * 2000 + (RANDOM % 1500) )); }

# send_udp PORT COUNT [TEXT]: COUNT datagrams to 127.0.0.1:PORT.
send_udp() {
  local i
  for ((i = 0; i < $2; i++)); do printf '%s %d\n' "${3:-packet}" "$i" >"/dev/udp/127.0.0.1/$1"; done
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.05 s until it
# succeeds; false when SECONDS pass first.
wait_until() {
  local limit=$1 start=$SECONDS
  shift
  while ! "$@" >/dev/null 2>&1; do
    [ $((SECONDS - start)) -lt "$limit" ] || return 1
    sleep 0.05
  done
}

# rec_of ID: the current record of capture ID (any state).
rec_of() { cap-ls --all --records | grep -P "^id=$1\t" || true; }

# rec_field_is ID KEY VALUE: true when capture ID's record has KEY=VALUE.
rec_field_is() { [ "$(field "$2" "$(rec_of "$1")")" = "$3" ]; }

# pcap_count FILE: the packets in FILE as tcpdump counts them.
pcap_count() { tcpdump -nr "$1" 2>/dev/null | wc -l | tr -d ' '; }

# proc_gone PID: true when PID has exited (a zombie not yet reaped counts).
proc_gone() { ! [ -e "/proc/$1/status" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
