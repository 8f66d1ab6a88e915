#!/usr/bin/env bash
# cap-pull on synthetic archives in the three layouts: the packets tcpdump
# keeps (tcpdump -V over the same files), windows cut as editcap -A/-B cuts
# them, corrupt files named and skipped, an empty window, unknown names,
# thousands of small files, mixed link types, --vlan, reproducible bytes,
# the record in the capture directory, and an interrupted pull.
source "$(dirname "$0")/lib.sh"
need_cmd tcpdump
need_cmd editcap
# make_archive writes UTC names; the daemons' names are read in local time.
export TZ=UTC
gen=$CAPTURE_BIN/bench/make_archive
[ -x "$gen" ] || skip "no $gen (build the bench targets)"
cd "$WORK"
"$gen" --out dl --files 6 --size 1M --seed 11 --quiet >/dev/null
"$gen" --out dc --files 6 --size 1M --seed 12 --layout dumpcap --quiet >/dev/null
"$gen" --out td --files 6 --size 1M --seed 13 --layout tcpdump --format pcapng-ns --quiet >/dev/null
mkdir caps
# tcpdump run as root drops to its own user after the first file, and could
# not open the next ones in our private directory.
zroot=()
[ "$(id -u)" = 0 ] && zroot=(-Z root)

# text OUT: what tcpdump makes of a capture, every byte of every packet.
text() { tcpdump -tt -nn -xx -r "$1" 2>/dev/null; }
count() { { tcpdump -nn -r "$1" ${2:+"$2"} 2>/dev/null || true; } | wc -l; }
# reference LAYOUT EXPR [SINCE UNTIL]: tcpdump -V over the layout's files, cut by editcap.
reference() {
  local dir=$1 expr=$2
  find "$dir" -maxdepth 1 -type f | sort >"$WORK/list.$dir"
  tcpdump "${zroot[@]}" -V "$WORK/list.$dir" -w "$WORK/ref.all" "$expr" 2>"$WORK/ref.err" || { cat "$WORK/ref.err" >&2; return 1; }
  if [ $# -gt 2 ]; then
    editcap -A "$3" -B "$4" "$WORK/ref.all" "$WORK/ref.pcap"
  else
    cp "$WORK/ref.all" "$WORK/ref.pcap"
  fi
}

# The whole archive, three layouts, several expressions.
for dir in dl dc td; do
  for expr in 'host 10.0.0.7' 'udp port 53' 'tcp and not port 443'; do
    run_tool cap-pull -a grant -d test -e "$expr" -r "$dir" -w "$WORK/out.pcap" -j 2
    check_eq "$dir '$expr': exit 0" 0 "$RC"
    reference "$dir" "$expr"
    if cmp -s <(text out.pcap) <(text ref.pcap); then ok "$dir '$expr': tcpdump's packets, order and bytes"
    else fail "$dir '$expr': differs from tcpdump -V ($(count out.pcap) vs $(count ref.pcap) packets)"; fi
  done
done
check_match "pcapng-ns in, nanosecond pcap out" 'format=pcap-ns' "$OUT"

# Windows: cut exactly, as editcap -A (included) and -B (excluded) cut.
first_file=$(ls dl/* | sed -n 1p)
first=$(tcpdump -tt -nn -c1 -r "$first_file" 2>/dev/null | cut -d' ' -f1)
base=${first%.*}
for w in "5.25 9" "0 2" "7.5 7.500001" "3 30"; do
  set -- $w
  since=$(awk -v b="$base" -v o="$1" 'BEGIN { printf "%.6f", b + o }')
  until=$(awk -v b="$base" -v o="$2" 'BEGIN { printf "%.6f", b + o }')
  since_iso=$(date -u -d "@$since" +%Y-%m-%dT%H:%M:%S.%6NZ)
  until_iso=$(date -u -d "@$until" +%Y-%m-%dT%H:%M:%S.%6NZ)
  for dir in dl dc; do
    run_tool cap-pull -a grant -e 'ip' -r "$dir" --since "$since_iso" --until "@$until" -w "$WORK/out.pcap"
    reference "$dir" 'ip' "$(date -u -d "@$since" '+%Y-%m-%d %H:%M:%S.%6N')" "$(date -u -d "@$until" '+%Y-%m-%d %H:%M:%S.%6N')"
    if cmp -s <(text out.pcap) <(text ref.pcap); then ok "$dir window [$1 s, $2 s): as editcap cuts it ($(count out.pcap) packets)"
    else fail "$dir window [$1 s, $2 s): $(count out.pcap) packets, editcap keeps $(count ref.pcap)"; fi
  done
done

# Files wholly outside the window are never opened: an unreadable one
# outside it is not even noticed.
cp -r dl outside
chmod 000 outside/daemonlogger.pcap.$base
late=$(ls outside | tail -n1)
run_tool cap-pull -a grant -e ip -r outside --since "@${late##*.}" -w "$WORK/out.pcap"
if [ "$(id -u)" != 0 ]; then
  check_eq "a file outside the window is not opened" "0:" "$RC:$ERR"
fi
chmod 644 outside/daemonlogger.pcap.$base

# An empty window: a valid, empty capture, and exit 0.
run_tool cap-pull -a grant -e ip -r dl --since 2001-01-01 --until 2001-01-02 -w "$WORK/empty.pcap"
check_eq "empty window: exit 0" 0 "$RC"
check_match "empty window: said on stderr" 'no file of the archive covers the window' "$ERR"
check_eq "empty window: a capture tcpdump reads, with no packet" "0" "$(tcpdump -r empty.pcap 2>/dev/null | wc -l)"
tcpdump -r empty.pcap >/dev/null 2>&1 && ok "empty window: tcpdump reads the file" || fail "empty window: tcpdump cannot read it"

# Corrupt, truncated and unreadable files: named, the rest pulled, exit 1.
cp -r dl bad
files=(bad/*)
head -c 300000 "${files[2]}" >"$WORK/cut" && mv "$WORK/cut" "${files[2]}"
printf 'garbage, not a capture\n' >"${files[3]}"
run_tool cap-pull -a grant -e 'host 10.0.0.7' -r bad -w "$WORK/out.pcap"
check_eq "corrupt files: exit 1" 1 "$RC"
check_match "a truncated file is named" "cap-pull: ${files[2]}: .*truncated" "$ERR"
check_match "a junk file is named" "cap-pull: ${files[3]}: .*not a pcap or pcapng file" "$ERR"
want=0
for f in "${files[0]}" "${files[1]}" "${files[2]}" "${files[4]}" "${files[5]}"; do
  want=$((want + $(count "$f" 'host 10.0.0.7')))
done
check_eq "the good files and the truncated one's complete packets are pulled" "$want" "$(count out.pcap)"
check_match "the record counts the problems" 'problems=2' "$OUT"

# The newest file, still being written: read to its last complete packet, silently.
cp -r dl growing
newest=$(ls growing/* | tail -n1)
size=$(stat -c %s "$newest")
truncate -s $((size - 100)) "$newest"
run_tool cap-pull -a grant -e 'ip' -r growing -w "$WORK/out.pcap"
check_eq "a partly written newest file: exit 0, no warning" "0:" "$RC:$ERR"
want=0
for f in growing/*; do want=$((want + $(count "$f" ip))); done
check_eq "and its complete packets are there" "$want" "$(count out.pcap)"

# A bad expression: libpcap's words, as tcpdump says them, exit 2, nothing written.
run_tool cap-pull -a grant -e 'host 10.0.0.7 and' -r dl --dir "$WORK/caps"
check_eq "bad expression: exit 2" 2 "$RC"
theirs=$({ tcpdump -r "${files[0]}" 'host 10.0.0.7 and' 2>&1 >/dev/null || true; } | grep -v '^reading from')
check_eq "bad expression: tcpdump's words" "${theirs/tcpdump:/cap-pull:}" "${ERR%%$'\n'*}"
check_eq "bad expression: nothing written" "" "$(ls caps)"

# Usage errors.
run_tool cap-pull -a grant -e ip
check_eq "no archive: exit 2" 2 "$RC"
run_tool cap-pull -a grant -e ip -r dl --since 'next tuesday'
check_eq "a bad time: exit 2" 2 "$RC"
check_match "a bad time is named" "--since: 'next tuesday' is not a time" "$ERR"
run_tool cap-pull -a grant -e ip -r dl --since -1h --until -2h
check_eq "until before since: exit 2" 2 "$RC"

# The archives of the configuration file, when no -r is given.
printf 'archive = %s\narchive = %s\n' "$WORK/dl" "$WORK/dc" >"$WORK/capture.conf"
run_tool cap-pull --config "$WORK/capture.conf" -a grant -e 'host 10.0.0.7' -w "$WORK/out.pcap"
check_eq "archives from the configuration: exit 0" 0 "$RC"
check_eq "archives from the configuration: both" "dl\\ndc" "$(field archives "${OUT//$WORK\//}")"

# Unknown names (tcpdump -C): placed by their first packet.
mkdir rolled
i=0
for f in dl/*; do
  cp "$f" "rolled/trace$( [ $i = 0 ] || echo $i)"
  i=$((i + 1))
done
run_tool cap-pull -a grant -e 'host 10.0.0.7' -r rolled -w "$WORK/out.pcap"
reference dl 'host 10.0.0.7'
cmp -s <(text out.pcap) <(text ref.pcap) && ok "unknown names: ordered by their first packet" || fail "unknown names: differs"

# Thousands of small files.
"$gen" --out many --files 2000 --size 4K --seed 14 --quiet >/dev/null
run_tool cap-pull -a grant -e 'tcp port 443' -r many -w "$WORK/out.pcap"
check_eq "2000 files: exit 0" 0 "$RC"
reference many 'tcp port 443'
cmp -s <(text out.pcap) <(text ref.pcap) && ok "2000 files: tcpdump's packets ($(count out.pcap))" || fail "2000 files: differs"

# Two archives at once: merged in time order.
run_tool cap-pull -a grant -e 'host 10.0.0.7' -r dl -r dc -w "$WORK/out.pcap"
check_eq "two archives: every packet of both" "$(( $(tcpdump "${zroot[@]}" -V list.dl -nn 'host 10.0.0.7' 2>/dev/null | wc -l) + \
  $(tcpdump "${zroot[@]}" -V list.dc -nn 'host 10.0.0.7' 2>/dev/null | wc -l) ))" "$(count out.pcap)"
check_eq "two archives: in time order" "$(tcpdump -tt -nn -r out.pcap 2>/dev/null | cut -d' ' -f1 | sort -s -g | md5sum)" \
  "$(tcpdump -tt -nn -r out.pcap 2>/dev/null | cut -d' ' -f1 | md5sum)"

# Mixed link types: pcapng, one interface per link type; -F pcap refused.
mkdir mixed
cp dl/* mixed/
editcap -T rawip "${files[1]}" mixed/zz_00001_$(date -u -d "@$((base + 100))" +%Y%m%d%H%M%S).pcap
run_tool cap-pull -a grant -e 'ip' -r mixed -w "$WORK/mixed.out"
check_eq "mixed link types: exit 0" 0 "$RC"
check_match "mixed link types: pcapng" 'format=pcapng' "$OUT"
if command -v capinfos >/dev/null; then
  check_match "mixed link types: two interfaces" 'Number of interfaces in file: 2' "$(capinfos mixed.out)"
fi
run_tool cap-pull -a grant -e 'ip' -r mixed -F pcap -w "$WORK/mixed.out2"
check_eq "mixed link types with -F pcap: exit 2" 2 "$RC"

# --vlan: tagged frames too.
"$gen" --out vlan --files 3 --size 1M --seed 15 --vlan-fraction 0.3 --quiet >/dev/null
run_tool cap-pull -a grant -e 'udp port 53' --vlan -r vlan -w "$WORK/out.pcap"
reference vlan '(udp port 53) or (vlan and (udp port 53))'
cmp -s <(text out.pcap) <(text ref.pcap) && ok "--vlan: tcpdump's packets for EXPR or (vlan and EXPR)" || fail "--vlan differs"
plain=$(tcpdump "${zroot[@]}" -V list.vlan -nn 'udp port 53' 2>/dev/null | wc -l)
[ "$(count out.pcap)" -gt "$plain" ] && ok "--vlan finds more than the untagged ($plain)" || fail "--vlan finds no tagged frame"

# Reproducible: the same request on the same archive, any number of workers.
cap-pull -a grant -e 'ip' -r dl -r td -w "$WORK/r1.pcap" -j 1 >/dev/null 2>&1 || true
cap-pull -a grant -e 'ip' -r dl -r td -w "$WORK/r2.pcap" -j 4 >/dev/null 2>&1 || true
cmp -s r1.pcap r2.pcap && ok "reproducible: byte-identical with 1 and 4 workers" || fail "not reproducible"

# -w - streams pcap; never to a terminal.
cap-pull -a grant -e 'host 10.0.0.7' -r dl -w - 2>/dev/null >stream.pcap
cap-pull -a grant -e 'host 10.0.0.7' -r dl -w "$WORK/file.pcap" >/dev/null 2>&1
cmp -s stream.pcap file.pcap && ok "-w - writes what -w FILE writes" || fail "-w - differs"

# The default output: the capture directory, the naming convention, a
# record beside it, and a record on stdout for the next tool.
run_tool cap-pull -a grant -d 'beacon to 10.0.0.7' -e 'host 10.0.0.7' -r dl --dir "$WORK/caps"
check_eq "into the capture directory: exit 0" 0 "$RC"
file=$(field file "$OUT")
check_match "named as DESIGN.md says" "^$WORK/caps/grant_beacon.to.10.0.0.7_[A-Z][a-z]{2}\.[A-Z][a-z]{2}[0-9]{2}\.[0-9]{4}-[0-9.]{8}\.UTC_[0-9]+_\.past\.pcap$" "$file"
[ -f "$file" ] && [ ! -L "$file" ] && ok "a real file once done" || fail "not a regular file: $file"
check_match "its record: kind pull, state done" "kind=pull	state=done	analyst=grant" "$(cat "$file.record")"
check_eq "the record printed has the packets" "$(count "$file")" "$(field packets "$OUT")"
if [ -x "$CAPTURE_BIN/cap-hash" ]; then
  line=$(cap-pull -a grant -e 'udp port 53' -r dl --dir "$WORK/caps" 2>/dev/null | cap-hash | cap-info)
  check_match "cap-pull | cap-hash | cap-info: one record with all of it" 'kind=pull.*format=pcap.*sha256=[0-9a-f]{64}.*linktype=EN10MB' "$line"
fi

# Syslog: one line when a pull starts, one when it ends.
if command -v python3 >/dev/null; then
  sock="$WORK/log.sock"
  python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
with open(sys.argv[2], "w", buffering=1) as out:
    while True:
        try:
            out.write(s.recv(65536).decode("utf-8", "replace") + "\n")
        except socket.timeout:
            break
' "$sock" "$WORK/syslog.txt" &
  listener=$!
  for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
  CAPTURE_SYSLOG=on CAPTURE_SYSLOG_SOCKET=$sock cap-pull -a grant -d logged -e 'udp port 53' -r dl --dir "$WORK/caps" >/dev/null
  for _ in $(seq 100); do [ "$(grep -c 'action=pull' "$WORK/syslog.txt" 2>/dev/null)" = 2 ] && break; sleep 0.05; done
  kill "$listener" 2>/dev/null || true
  log=$(cat "$WORK/syslog.txt")
  check_match "syslog: the start" 'cap-pull\[[0-9]+\]: action=pull outcome=started user=[^ ]+ id=[a-z2-9]{6} analyst=grant file=[^ ]+ expr="udp port 53" files=6' "$log"
  check_match "syslog: the end" 'action=pull outcome=ok .* packets=[0-9]+ bytes=[0-9]+' "$log"
fi

# Dry run: the files, bytes, span, gaps and an estimate; no output file.
before=$(ls caps | wc -l)
run_tool cap-pull -n -a grant -e 'ip' -r dl --since "@$((base - 60))" --until "@$((base + 3))" --dir "$WORK/caps"
check_eq "dry run: exit 0" 0 "$RC"
check_match "dry run: lists the first file" "file=dl/daemonlogger.pcap.$base" "$OUT"
check_match "dry run: bytes" '# bytes: [0-9]+' "$OUT"
check_match "dry run: the gap before the archive" '# gap: .* \(1 min 00 s\)' "$OUT"
check_match "dry run: an estimate" '# estimate: .* at [0-9]+ MiB/s' "$OUT"
check_eq "dry run: nothing written" "$before" "$(ls caps | wc -l)"

# Interrupted, by SIGINT and by cap-stop: a valid capture of what was
# merged, the record says so. The pull is frozen (SIGSTOP) as soon as its
# record appears (its link comes just before), so that the signal reliably
# comes while it runs; cap-stop's SIGTERM is waited for, pending on the
# frozen pull, before it may go on (a fixed sleep there let a pull on a busy
# machine finish first, and cap-stop then found nothing to stop).
"$gen" --out big --files 8 --size 24M --seed 16 --quiet >/dev/null
cat big/* >/dev/null
# sigterm_pending PID: SIGTERM (15: bit 14 of the mask) waits on the process.
sigterm_pending() { [ $((0x$(awk '/^ShdPnd:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0) & 0x4000)) != 0 ]; }
for how in sigint cap-stop; do
  cap-pull -a "$how" -d interrupted -e 'tcp' -r big --dir "$WORK/caps-$how" -j 1 >"$WORK/int.out" 2>"$WORK/int.err" &
  pid=$!
  link=$(wait_for_file "caps-$how" '*interrupted*.past.pcap.record')
  kill -STOP "$pid" 2>/dev/null || true
  link=${link%.record}
  [ -n "$link" ] && [ -L "$link" ] && ok "$how: while it runs, the final name is a symbolic link" || fail "$how: no link while running"
  stopper=
  if [ "$how" = cap-stop ] && [ -x "$CAPTURE_BIN/cap-ls" ] && [ -x "$CAPTURE_BIN/cap-stop" ]; then
    check_match "$how: cap-ls -v shows the progress" 'Progress: ' "$(cap-ls --dir "$WORK/caps-$how" -v --human)"
    cap-stop --dir "$WORK/caps-$how" -f "$how" --wait 20 >"$WORK/stop.out" 2>&1 &
    stopper=$!
    for _ in $(seq 2000); do sigterm_pending "$pid" && break; sleep 0.01; done
  else
    kill -INT "$pid"
  fi
  kill -CONT "$pid"
  set +e; wait "$pid"; rc=$?; set -e
  if [ -n "$stopper" ]; then wait "$stopper" || fail "cap-stop failed: $(cat "$WORK/stop.out")"; fi
  out=$(cat "$WORK/int.out")
  if [ "$(field state "$out")" = interrupted ]; then
    check_eq "$how: exit 1" 1 "$rc"
    check_match "$how: the record says interrupted" 'state=interrupted' "$(cat "$link.record")"
    check_match "$how: and up to when it is complete" 'progress=interrupted: complete up to ' "$(cat "$link.record")"
  else
    echo "note: $how: the pull ended before the signal: $(field state "$out")"
  fi
  [ -f "$link" ] && [ ! -L "$link" ] && ok "$how: after, a real file" || fail "$how: after, not a regular file"
  tcpdump -r "$link" -w /dev/null 2>/dev/null && ok "$how: tcpdump reads it" || fail "$how: tcpdump cannot read it"
  check_eq "$how: as many packets as the record says" "$(field packets "$out")" "$(count "$link")"
done
finish
