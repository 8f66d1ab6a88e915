#!/usr/bin/env bash
# cap-index --follow on a real daemonlogger ring written on lo while the
# test sends loopback traffic: each file is indexed once it is closed (a
# newer one exists, or it has settled), cap-ls shows the indexer running
# and how far behind it is, SIGTERM ends it with its record done, and
# pulls through the indexes give the bytes a scan gives.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"
need_cmd daemonlogger
cd "$WORK"
# 50000-51999: this test's own ports (the others use 10000-39999).
port=$((50000 + RANDOM % 1990))

# traffic ROUNDS: rounds of 30 datagrams to our ports, about a second apart,
# so that daemonlogger's one-second names stay unique.
traffic() {
  local r i
  for ((r = 0; r < $1; r++)); do
    for ((i = 0; i < 30; i++)); do
      printf 'round %d datagram %d of the index test\n' "$r" "$i" >"/dev/udp/127.0.0.1/$((port + i % 3))"
    done
    sleep 1.1
  done
}
# Files with at least a header (daemonlogger may leave its last one empty).
files_in() { find "$1" -maxdepth 1 -type f -name 'dl.pcap.*' -size +23c | wc -l; }
indexes_in() { find "$1" -maxdepth 1 -type f -name '.dl.pcap.*.cidx' | wc -l; }
# all_but_newest_indexed: every file but the newest has an index.
all_but_newest_indexed() { local n; n=$(files_in dl); [ "$n" -ge 2 ] && [ "$(indexes_in dl)" -ge $((n - 1)) ]; }
all_indexed() { local n; n=$(files_in dl); [ "$n" -ge 1 ] && [ "$(indexes_in dl)" -eq "$n" ]; }
index_running() { cap-ls --records | grep -P '\tkind=index\tstate=running\t' >/dev/null; }

mkdir dl
chmod 777 dl
daemonlogger -i lo -l "$WORK/dl" -n dl.pcap -s 2000 "udp and dst host 127.0.0.1 and portrange $port-$((port + 2))" \
  >"$WORK/dl.log" 2>&1 &
dpid=$!

cap-index --follow -r "$WORK/dl" --settle 2 --records --no-syslog >follow.out 2>follow.err &
ipid=$!
if wait_until 10 index_running; then ok "cap-ls shows cap-index --follow running"; else fail "no running index record: $(cat follow.err)"; fi
run_tool cap-ls --human
check_match "cap-ls says how far behind it is, for a person" '\[index: indexed [0-9]+ files, (up to date|[0-9]+ behind)' "$OUT"
run_tool cap-ls -v --human
check_match "cap-ls -v gives its progress and behind" 'Behind: [0-9]+ files' "$OUT"

traffic 4
if wait_until 15 all_but_newest_indexed; then ok "files the daemon closed are indexed while it runs ($(indexes_in dl) of $(files_in dl))"
else fail "closed files not indexed: $(indexes_in dl) of $(files_in dl): $(cat follow.err)"; fi
kill "$dpid"
wait "$dpid" 2>/dev/null || true
if wait_until 15 all_indexed; then ok "the last file is indexed once it has settled"
else fail "the last file was not indexed: $(indexes_in dl) of $(files_in dl)"; fi
rec=$(cap-ls --records | grep -P '\tkind=index\t')
check_match "the record counts what it indexed" "indexed=$(files_in dl)	" "$rec"
check_eq "and is behind by nothing" 0 "$(field behind "$rec")"
check_eq "one output record per file indexed" "$(files_in dl)" "$(grep -c 'index=' follow.out)"

kill -TERM "$ipid"
if wait_until 10 proc_gone "$ipid"; then ok "SIGTERM ends cap-index --follow"; else fail "cap-index --follow still runs after SIGTERM"; fi
set +e
wait "$ipid"
rc=$?
set -e
check_eq "it exits 0 [$(cat follow.err)]" 0 "$rc"
rec=$(cap-ls --all --records | grep -P '\tkind=index\t' || true)
check_eq "its record says done" done "$(field state "$rec")"

for e in "udp and port $port" "udp and dst port $((port + 1)) and host 127.0.0.1" 'udp' "ip and port $((port + 2))"; do
  run_tool cap-pull -n -r dl -e "$e"
  check_match "'$e': through the index" '# path: index \(' "$OUT"
  run_tool cap-pull -r dl -e "$e" -w idx.pcap
  rc_index=$RC
  run_tool cap-pull --no-index -r dl -e "$e" -w scan.pcap
  check_eq "'$e': exit 0 both ways" "0/0" "$rc_index/$RC"
  if cmp -s idx.pcap scan.pcap; then ok "'$e': the same bytes both ways ($(pcap_count idx.pcap) packets)"
  else fail "'$e': index and scan differ"; fi
done
[ "$(pcap_count idx.pcap)" -gt 0 ] && ok "the pulls are not empty" || fail "the last pull is empty"
finish
