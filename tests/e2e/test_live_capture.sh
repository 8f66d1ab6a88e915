#!/usr/bin/env bash
# The core loop as root on lo: cap-start, traffic, cap-ls -f A | cap-stop,
# and the file holds exactly the packets asked for. Then what is refused
# before anything starts (bad expression, unknown interface, no
# privileges), the speed-start form, the detached and unprivileged process.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"

port=$(free_port 0)
noise=$((port + 1))
K=25

# Start: a record in a pipe, exit 0, a running capture.
run_tool cap-start -a grant -d 'udp to the test port' -e "udp and dst port $port" -i lo
check_eq "cap-start exits 0" 0 "$RC"
check_eq "cap-start says nothing on stderr" "" "$ERR"
id=$(field id "$OUT")
file=$(field file "$OUT")
pid=$(field pid "$OUT")
check_match "the id is six readable characters" '^[a-km-np-z2-9]{6}$' "$id"
check_eq "state running" running "$(field state "$OUT")"
check_eq "kind live" live "$(field kind "$OUT")"
check_eq "analyst" grant "$(field analyst "$OUT")"
check_match "the file keeps the original naming" "^$CAPTURE_DIR/grant_udp\.to\.the\.test\.port_[A-Z][a-z]{2}\.[A-Z][a-z]{2}[0-9]{2}\.[0-9]{4}-[0-9.]{8}\.UTC_[0-9]+_\.pcap$" "$file"
check_eq "the record lives beside the file" "$file.record" "$(ls "$CAPTURE_DIR"/*.record)"
check_eq "the file exists at once, a valid empty capture" 0 "$(pcap_count "$file")"

# The capture process: detached, unprivileged, alive.
status=$(cat "/proc/$pid/status")
tcpdump_uid=$(id -u tcpdump 2>/dev/null || id -u nobody)
check_eq "the capture runs as the unprivileged user" "$tcpdump_uid" "$(printf '%s\n' "$status" | awk '/^Uid:/ {print $2 $3 $4 $5 == $2 $2 $2 $2 ? $2 : "mixed"}')"
check_eq "with no capabilities left" 0000000000000000 "$(printf '%s\n' "$status" | awk '/^CapEff:/ {print $2}')"
check_eq "its stdin is /dev/null" /dev/null "$(readlink "/proc/$pid/fd/0")"
check_eq "it has no terminal" 0 "$(awk '{sub(/.*\) /, ""); print $5}' "/proc/$pid/stat")"
check_match "it is not a session leader (cannot regain a terminal)" '^[0-9]+$' "$(awk -v p="$pid" '{sub(/.*\) /, ""); if ($4 != p) print $4}' "/proc/$pid/stat")"
check_eq "the file is mode 0640" 640 "$(stat -c %a "$file")"
check_eq "the file has the capture group" "$(id -gn tcpdump 2>/dev/null || echo nogroup)" "$(stat -c %G "$file")"

# cap-ls lists it, for people and for pipes.
line=$(cap-ls --human)
check_match "cap-ls on a terminal: analyst, time, description" "^grant [A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} [0-9]{4} udp to the test port$" "$line"
check_eq "cap-ls in a pipe gives the record" "$id" "$(field id "$(cap-ls)")"
if command -v script >/dev/null; then
  screen=$(script -qec "cap-ls -v" /dev/null | tr -d '\r')
  for label in Analyst 'Size \(bytes\)' Started 'Last Modified' 'Last Accessed' 'Last Changed' Description Expression 'Capture File' Interface Packets Dropped; do
    check_match "cap-ls -v on a terminal has $label" "(^|$(printf '\n'))$label: " "$screen"
  done
fi

# Traffic: K packets to the port, noise elsewhere.
send_udp "$port" "$K" wanted
send_udp "$noise" "$K" noise
if wait_until 10 rec_field_is "$id" packets "$K"; then ok "the record counts the packets while it runs"; else fail "packets never reached $K: $(rec_of "$id")"; fi
check_eq "the file is readable while the capture runs" "$K" "$(pcap_count "$file")"

# Stop through the pipe.
run_tool bash -c "cap-ls -f grant | cap-stop"
check_eq "cap-ls -f grant | cap-stop exits 0" 0 "$RC"
check_eq "cap-stop is quiet on stderr" "" "$ERR"
check_eq "cap-stop prints the final record: stopped" stopped "$(field state "$OUT")"
check_eq "the final record counts K packets" "$K" "$(field packets "$OUT")"
check_match "the final record has an end time" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$(field ended "$OUT")"
check_match "the final record keeps libpcap's counters" '^[0-9]+$' "$(field received "$OUT")$(field drops "$OUT")$(field ifdrops "$OUT")"
if proc_gone "$pid"; then ok "the process is gone"; else fail "process $pid still runs"; fi
check_eq "tcpdump reads exactly K packets" "$K" "$(pcap_count "$file")"
check_eq "no packet of the noise" 0 "$(tcpdump -nr "$file" 2>/dev/null | grep -c "\.$noise:" || true)"
check_eq "cap-info counts K packets" "$K" "$(field packets "$(cap-info "$file")")"
check_eq "cap-ls no longer lists it" "" "$(cap-ls)"
check_match "cap-ls --all lists it stopped, with its end" "^grant .* udp to the test port \[stopped [A-Z]" "$(cap-ls --all --human)"
run_tool bash -c "cap-ls -f nobody | cap-stop"
check_eq "nothing to stop is success, silently" "0:" "$RC:$OUT$ERR"
run_tool cap-stop "$id"
check_eq "stopping a stopped capture exits 1" 1 "$RC"
check_match "and says so" "cap-stop: $id: not running \(stopped\)" "$ERR"
run_tool cap-stop zzzzzz
check_match "an unknown id is named" "cap-stop: zzzzzz: no such capture" "$ERR"

# Refused before anything starts: nothing is left behind.
before=$(ls -A "$CAPTURE_DIR" | sort)
run_tool cap-start -a grant -d bad -e "udp and dst prot $port" -i lo
check_eq "a bad expression exits 2" 2 "$RC"
check_match "with libpcap's own words" "^cap-start: bad expression 'udp and dst prot $port': .*(syntax error|unknown)" "$ERR"
run_tool cap-start -a grant -d bad -e "udp" -i no-such-if0
check_eq "an unknown interface exits 1" 1 "$RC"
check_match "and says so plainly" "^cap-start: no-such-if0: no such interface" "$ERR"
if command -v setpriv >/dev/null; then
  run_tool setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all env CAPTURE_DIR="$CAPTURE_DIR" \
    "$CAPTURE_BIN/cap-start" -a grant -d noperm -e udp -i lo
  check_eq "without privileges, exit 1" 1 "$RC"
  check_match "and says so plainly" "^cap-start: lo: not permitted to capture .*sudo" "$ERR"
fi
run_tool cap-start -a grant -d nothing -i lo
check_eq "no expression is a usage error" 2 "$RC"
check_eq "refusals leave no file and no record" "$before" "$(ls -A "$CAPTURE_DIR" | sort)"

# A directory the capture user cannot write, and that holds more than
# captures (one that holds only captures is made usable:
# test_live_capture_dir.sh): why, the command that fixes it, and nothing
# left behind.
mkdir -m 0755 "$WORK/closed"
echo notes >"$WORK/closed/notes.txt"
run_tool cap-start --dir "$WORK/closed" -a grant -d closed -e udp -i lo
check_eq "an unwritable directory exits 1" 1 "$RC"
check_match "the words, with the user it runs as and the fix" "^cap-start: $WORK/closed: the capture runs as [a-z]+:[a-z]+, which cannot write there .*make this one usable with: chgrp " "$ERR"
check_eq "and nothing is left there" "notes.txt" "$(ls -A "$WORK/closed")"

# Speed start: analyst, description, expression without flags.
run_tool cap-start grant 'irc traffic' udp and dst port "$port"
check_eq "speed start exits 0" 0 "$RC"
check_eq "speed start: the analyst" grant "$(field analyst "$OUT")"
check_eq "speed start: the description" "irc traffic" "$(field desc "$OUT")"
check_eq "speed start: the expression" "udp and dst port $port" "$(field expr "$OUT")"
s1=$(field id "$OUT")
run_tool cap-start alice udp and dst port "$port"
check_eq "speed start without a description: the expression" "udp and dst port $port" "$(field expr "$OUT")"
check_eq "a description is made from it" "traffic: udp and dst port $port" "$(field desc "$OUT")"
s2=$(field id "$OUT")
run_tool cap-start bob beacon udp port "$port"
check_eq "a one-word description is told from the expression" "beacon/udp port $port" "$(field desc "$OUT")/$(field expr "$OUT")"
s3=$(field id "$OUT")
if command -v script >/dev/null; then
  screen=$(script -qec "cap-start carol 'on a terminal' udp port $port" /dev/null | tr -d '\r')
  check_match "on a terminal cap-start says Started ID: FILE" "^Started [a-z0-9]+: $CAPTURE_DIR/carol_on\.a\.terminal_.*_\.pcap$" "$screen"
fi
run_tool cap-stop "$s1" "$s2" "$s3" -f carol
check_eq "cap-stop by ids and by analyst exits 0" 0 "$RC"
check_eq "four final records" 4 "$(printf '%s\n' "$OUT" | grep -c 'state=stopped')"
check_eq "nothing is left running" "" "$(cap-ls)"

finish
