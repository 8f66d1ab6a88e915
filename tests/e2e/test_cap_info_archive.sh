#!/usr/bin/env bash
# cap-info --archive: the summary line and exit status a monitoring system
# reads (0 OK, 1 WARNING for a gap, a bad file or a stale capture, 2 usage),
# the time covered exactly as tcpdump reads the first and last packets, a
# gap between files, a file cut inside a record (bad) against the newest file
# being written (not bad), a file that is no capture, pcapng walked, and a
# live capture that is running too long flagged here and by cap-ls.
source "$(dirname "$0")/lib.sh"
need_cmd tcpdump
need_generator
cd "$WORK"
"$GEN" --out a --files 4 --size 256K --seed 5 --quiet >/dev/null
mkdir caps
first_of() { tcpdump -tt -nn -c1 -r "$1" 2>/dev/null | cut -d' ' -f1; }
last_of() { tcpdump -tt -nn -r "$1" 2>/dev/null | tail -n1 | cut -d' ' -f1; }
iso() { date -u -d "@${1%.*}" +%Y-%m-%dT%H:%M:%SZ; }
files=(a/*)

run_tool cap-info --dir caps --archive a
check_eq "a whole archive: exit 0" 0 "$RC"
summary=$(sed -n 1p <<<"$OUT")
check_match "one summary line first, OK" "^ARCHIVE OK - 4 files, " "$summary"
check_match "perfdata after |" "\\| files=4 bytes=[0-9]+B gaps=0 bad=0 stale=0" "$summary"
rec=$(sed -n 2p <<<"$OUT")
check_eq "first: tcpdump's first packet of the oldest file" "$(iso "$(first_of "${files[0]}")")" "$(field first "$rec")"
check_eq "last: tcpdump's last packet of the newest file" "$(iso "$(last_of "${files[3]}")")" "$(field last "$rec")"
check_eq "bytes: the files' sizes" "$(cat a/* | wc -c)" "$(field bytes "$rec")"
check_match "days left at the archive's rate" '^[0-9]+\.[0-9]$' "$(field days_left "$rec")"

# A gap: a second run of the generator two hours later, in the same directory.
"$GEN" --out a --files 2 --size 256K --seed 6 --start 1700007200 --quiet >/dev/null
files=(a/*)
run_tool cap-info --dir caps --archive a
check_eq "a gap: exit 1" 1 "$RC"
check_match "a gap: WARNING" "^ARCHIVE WARNING - 6 files, .* 1 gaps, 0 bad" "$OUT"
gap=$(grep 'kind=gap' <<<"$OUT")
check_eq "the gap starts at the last packet before it" "$(iso "$(last_of "${files[3]}")")" "$(field from "$gap")"
check_eq "and ends at the first after it" "$(iso "$(first_of "${files[4]}")")" "$(field to "$gap")"
check_eq "and names the file after it" "${files[4]}" "$(field file "$gap")"
run_tool cap-info --dir caps --archive a --gap 3h
check_eq "--gap 3h: no gap that long, exit 0" 0 "$RC"

# Cut inside a record: bad when it is not the newest file; the newest one is being written.
truncate -s -7 "${files[1]}"
truncate -s -7 "${files[5]}"
run_tool cap-info --dir caps --archive a --gap 3h
check_eq "a truncated file: exit 1" 1 "$RC"
bad=$(grep 'kind=bad' <<<"$OUT")
check_eq "one bad file: the one cut in the middle" "${files[1]}" "$(field file "$bad")"
check_match "said to be truncated" "truncated" "$(field reason "$bad")"
check_eq "the newest file's last whole packet still counts" "$(iso "$(last_of "${files[5]}")")" "$(field last "$(sed -n 2p <<<"$OUT")")"
printf 'not a capture at all, but named like one\n' >a/daemonlogger.pcap.1700003000
run_tool cap-info --dir caps --archive a --gap 3h --json
check_eq "--json: no summary line, JSON only" 0 "$(grep -vc '^{' <<<"$OUT" || true)"
check_eq "--json: two bad files" 2 "$(grep -c '"kind":"bad"' <<<"$OUT")"
run_tool cap-info --dir caps --archive a --gap 3h --human
check_match "for a person: Bad: lines" "Bad: .*daemonlogger.pcap.1700003000" "$OUT"

# pcapng: walked whole, the same answers.
"$GEN" --out ng --files 3 --size 128K --seed 7 --format pcapng --layout dumpcap --quiet >/dev/null
ng=(ng/*)
run_tool cap-info --dir caps --archive ng
check_eq "pcapng: exit 0" 0 "$RC"
check_eq "pcapng: last packet" "$(iso "$(last_of "${ng[2]}")")" "$(field last "$(sed -n 2p <<<"$OUT")")"

# Drops where the format records them: an interface statistics block (made
# here by hand, as dumpcap writes one at the end of each file) saying 42.
python3 - "${ng[1]}" <<'PY'
import struct, sys
body = struct.pack('<III', 0, 0, 0) + struct.pack('<HHQ', 5, 8, 42) + struct.pack('<HH', 0, 0)
block = struct.pack('<II', 5, 12 + len(body)) + body + struct.pack('<I', 12 + len(body))
open(sys.argv[1], 'ab').write(block)
PY
run_tool cap-info --dir caps --archive ng
check_eq "drops recorded are not a problem: exit 0" 0 "$RC"
check_eq "the file's drops, from its statistics block" "${ng[1]}/42" "$(field file "$(grep kind=drops <<<"$OUT")")/$(field drops "$(grep kind=drops <<<"$OUT")")"
if reads_whole "${ng[1]}"; then ok "the block made is one tcpdump reads past"; else fail "tcpdump: $(cat "$WORK/tcpdump.err")"; fi

# A live capture running for two days (a process of ours stands in for it).
sleep 600 &
pid=$!
pstart=$(awk '{ print $22 }' "/proc/$pid/stat")
: >caps/grant_x_.pcap
printf 'id=stalex\tkind=live\tstate=running\tanalyst=grant\tfile=%s\tstarted=%s\tpid=%s\tpstart=%s\n' \
  "$WORK/caps/grant_x_.pcap" "$(date -u -d '2 days ago' +%Y-%m-%dT%H:%M:%SZ)" "$pid" "$pstart" >caps/grant_x_.pcap.record
run_tool cap-info --dir caps --archive ng
check_eq "a stale capture: exit 1" 1 "$RC"
check_match "a stale capture: flagged" "id=stalex	kind=stale" "$OUT"
run_tool cap-ls --dir caps
check_match "cap-ls flags it too" "stale=yes" "$OUT"
kill "$pid"
wait "$pid" 2>/dev/null || true

run_tool cap-info --archive ng a/daemonlogger.pcap.1700000000
check_eq "--archive with FILE operands: exit 2" 2 "$RC"
run_tool cap-info --archive ng --gap soon
check_eq "a bad --gap: exit 2" 2 "$RC"
finish
