#!/usr/bin/env bash
# Limits end a capture on their own, and its record says which:
# --count, --duration, --max-size, the configured max-duration; a full
# disk ends it as failed, with the reason, the file still valid.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"

port=$(free_port 1)

# wait_ended ID: true once capture ID's record is no longer running.
ended() { local s; s=$(field state "$(rec_of "$1")"); [ -n "$s" ] && [ "$s" != running ]; }

# --count N: exactly N packets, then state=limit limit=count.
id=$(field id "$(cap-start -a lim -d count -e "udp and dst port $port" -i lo --count 3)")
send_udp "$port" 10
if wait_until 10 ended "$id"; then ok "--count ends the capture"; else fail "--count: still $(rec_of "$id")"; fi
rec=$(rec_of "$id")
check_eq "--count: state limit" limit "$(field state "$rec")"
check_eq "--count: the record says which limit" count "$(field limit "$rec")"
check_eq "--count: exactly 3 packets in the file" 3 "$(pcap_count "$(field file "$rec")")"

# --duration: ends by itself, state=limit limit=duration.
id=$(field id "$(cap-start -a lim -d duration -e "udp and dst port $port" -i lo --duration 1s)")
if wait_until 10 ended "$id"; then ok "--duration ends the capture"; else fail "--duration: still $(rec_of "$id")"; fi
rec=$(rec_of "$id")
check_eq "--duration: the record says which limit" "limit/duration" "$(field state "$rec")/$(field limit "$rec")"

# --max-size: the file never grows beyond it.
id=$(field id "$(cap-start -a lim -d size -e "udp and dst port $port" -i lo --max-size 300)")
send_udp "$port" 20 "a packet long enough to fill three hundred bytes quickly"
if wait_until 10 ended "$id"; then ok "--max-size ends the capture"; else fail "--max-size: still $(rec_of "$id")"; fi
rec=$(rec_of "$id")
file=$(field file "$rec")
check_eq "--max-size: the record says which limit" "limit/size" "$(field state "$rec")/$(field limit "$rec")"
size=$(stat -c %s "$file")
if [ "$size" -le 300 ] && [ "$size" -gt 24 ]; then ok "--max-size: $size bytes, at most 300"; else fail "--max-size: $size bytes"; fi
check_eq "--max-size: the file is whole packets" "$(field packets "$rec")" "$(pcap_count "$file")"

# The configured default maximum duration applies without --duration.
printf 'max-duration = 1s\n' >"$WORK/short.conf"
out=$(CAPTURE_CONF="$WORK/short.conf" cap-start -a lim -d default -e "udp and dst port $port" -i lo)
id=$(field id "$out")
check_eq "max-duration is in the record" 1 "$(field max_duration "$out")"
if wait_until 10 ended "$id"; then ok "max-duration ends the capture"; else fail "max-duration: still $(rec_of "$id")"; fi
check_eq "max-duration: limit=duration" duration "$(field limit "$(rec_of "$id")")"

run_tool cap-start -a lim -e udp -i lo --duration soon
check_eq "a bad --duration is a usage error" 2 "$RC"
check_match "named" "^cap-start: --duration: 'soon' is not a duration" "$ERR"

# A full disk: state failed with the reason, the file cut at a whole packet.
if mkdir -p "$WORK/small" && mount -t tmpfs -o size=64k,mode=0755 tmpfs "$WORK/small" 2>/dev/null; then
  trap 'umount "$WORK/small" 2>/dev/null; cleanup_live' EXIT
  # No max-size (by default a tenth of the free space would end it first).
  printf 'max-size = 0\n' >"$WORK/unbounded.conf"
  out=$(CAPTURE_CONF="$WORK/unbounded.conf" CAPTURE_DIR="$WORK/small/spool" cap-start -a lim -d full -e "udp and dst port $port" -i lo)
  id=$(field id "$out")
  file=$(field file "$out")
  big=$(head -c 1400 /dev/zero | tr '\0' x)
  full() { local s; s=$(field state "$(CAPTURE_DIR="$WORK/small/spool" cap-ls --all | grep -P "^id=$id\t")"); [ -n "$s" ] && [ "$s" != running ]; }
  for _ in $(seq 200); do
    printf '%s' "$big" >"/dev/udp/127.0.0.1/$port"
    full && break
  done
  if wait_until 10 full; then ok "a full disk ends the capture"; else fail "full disk: still running"; fi
  rec=$(CAPTURE_DIR="$WORK/small/spool" cap-ls --all | grep -P "^id=$id\t")
  check_eq "a full disk: state failed" failed "$(field state "$rec")"
  check_match "a full disk: the reason" "No space left on device" "$(field reason "$rec")"
  n=$(pcap_count "$file")
  check_match "the file is still read to its end by tcpdump" '^[1-9][0-9]*$' "$n"
  tcpdump -nr "$file" -w /dev/null 2>/dev/null && ok "a full disk: no packet cut short" || fail "a full disk: tcpdump complains"
  check_eq "a full disk: the failed record counts exactly the packets kept" "$n" "$(field packets "$rec")"
  run_tool cap-info "$file"
  check_eq "cap-info reads it without error" "0:" "$RC:$(field error "$OUT")"
  umount "$WORK/small"
  trap cleanup_live EXIT
else
  echo "note: cannot mount a small tmpfs here; the full-disk check is skipped"
fi

finish
