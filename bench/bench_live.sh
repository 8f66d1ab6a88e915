#!/usr/bin/env bash
# cap-start against tcpdump on the same loopback traffic at the same time:
# a blaster sends N UDP datagrams to 127.0.0.1 as fast as it can while
# both capture them; ours must capture at least as many as tcpdump. Both
# counts and both drop figures are printed. Each tool runs with its own
# defaults (tcpdump: 2 MiB buffer; cap-start: 32 MiB).
#
# Usage (as root): bash bench/bench_live.sh [BUILD_DIR]   (default: build, or $CAPTURE_BIN)
# Environment: BENCH_PACKETS (1000000), BENCH_PAYLOAD (64 bytes), BENCH_RUNS (3).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${CAPTURE_BIN:-$here/../build}}
packets=${BENCH_PACKETS:-1000000}
payload=${BENCH_PAYLOAD:-64}
runs=${BENCH_RUNS:-3}
die() { echo "bench_live: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (both capture)"
command -v tcpdump >/dev/null || die "needs tcpdump"
[ -x "$bin/cap-start" ] || die "no cap-start in $bin"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench_live.XXXXXX")
chmod 755 "$work"
tcpdump_pid=
cleanup() {
  [ -n "$tcpdump_pid" ] && kill "$tcpdump_pid" 2>/dev/null
  CAPTURE_DIR="$work/spool" "$bin/cap-ls" --records 2>/dev/null | CAPTURE_DIR="$work/spool" "$bin/cap-stop" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
export CAPTURE_DIR="$work/spool" CAPTURE_SYSLOG=off

# The blaster is built here, so bench/ needs no build step of its own.
${CXX:-c++} -O2 -std=c++17 -o "$work/udp_blast" "$here/udp_blast.cpp" || die "cannot build udp_blast"

wait_for() {  # wait_for SECONDS COMMAND...: bounded poll for a condition
  local end=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ "$SECONDS" -lt "$end" ] || return 1; sleep 0.05; done
}
# awk reads to the end (a `| head` would close the pipe early, under pipefail).
field() { printf '%s\n' "$2" | tr '\t' '\n' | awk -v k="$1=" 'index($0, k) == 1 && !done { print substr($0, length(k) + 1); done = 1 }'; }

printf '%-4s %10s %10s %10s %10s %10s %8s\n' run sent ours ours_drop tcpdump td_drop verdict
worse=0
for run in $(seq "$runs"); do
  port=$((30000 + RANDOM % 20000))
  expr="udp and dst port $port"
  tcpdump -i lo -n -w "$work/tcpdump.$run.pcap" "$expr" 2>"$work/tcpdump.$run.err" &
  tcpdump_pid=$!
  wait_for 10 grep -q "listening on" "$work/tcpdump.$run.err" || die "tcpdump did not start"
  rec=$("$bin/cap-start" -a bench -d "bench run $run" -e "$expr" -i lo --records)
  id=$(field id "$rec")
  file=$(field file "$rec")

  read -r sent _ < <("$work/udp_blast" "$port" "$packets" "$payload")

  # Both have the packets once their counters stop moving.
  last=-1
  for _ in $(seq 100); do
    now=$(field packets "$("$bin/cap-ls" --records | grep -P "^id=$id\t" || true)")
    [ "$now" = "$last" ] && break
    last=$now
    [ "$now" = "$sent" ] && break
    sleep 1.1  # the record is rewritten every second
  done
  final=$("$bin/cap-stop" --records "$id")
  kill -INT "$tcpdump_pid"
  wait "$tcpdump_pid" 2>/dev/null || true
  tcpdump_pid=
  ours=$(field packets "$final")
  ours_drop=$(field drops "$final")
  # Counted by cap-info, which agrees with capinfos (tests/e2e/test_cap_info_corpus.sh)
  # and reads a million packets in a fraction of what tcpdump -r takes to print them.
  theirs=$(field packets "$("$bin/cap-info" --records "$work/tcpdump.$run.pcap")")
  their_drop=$(sed -n 's/^\([0-9]*\) packets* dropped by kernel.*/\1/p' "$work/tcpdump.$run.err")
  check=$(field packets "$("$bin/cap-info" --records "$file")")
  [ "$check" = "$ours" ] || die "run $run: the record says $ours packets, the file holds $check"
  verdict=ok
  if [ "$ours" -lt "$theirs" ]; then verdict=WORSE; worse=$((worse + 1)); fi
  printf '%-4s %10s %10s %10s %10s %10s %8s\n' "$run" "$sent" "$ours" "${ours_drop:-?}" "$theirs" "${their_drop:-?}" "$verdict"
  rm -f "$work/tcpdump.$run.pcap" "$file"
done
[ "$worse" = 0 ] || die "cap-start captured fewer packets than tcpdump in $worse run(s)"
echo "bench_live: cap-start captured at least as many packets as tcpdump in every run"
