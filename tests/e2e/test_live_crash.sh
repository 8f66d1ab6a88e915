#!/usr/bin/env bash
# A capture killed with SIGKILL shows as dead, its file readable up to the
# last flush; pid reuse never fools cap-ls or cap-stop.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"

port=$(free_port 2)
K=7

out=$(cap-start -a crash -d 'to be killed' -e "udp and dst port $port" -i lo)
id=$(field id "$out")
pid=$(field pid "$out")
file=$(field file "$out")
send_udp "$port" "$K"
# The record is rewritten after each flush: K packets there means K on disk.
if wait_until 10 rec_field_is "$id" packets "$K"; then ok "the packets are flushed"; else fail "never flushed: $(rec_of "$id")"; fi
kill -KILL "$pid"
if wait_until 10 proc_gone "$pid"; then ok "the capture is killed"; else fail "SIGKILL did not end $pid"; fi

check_eq "cap-ls no longer lists it as running" "" "$(cap-ls)"
rec=$(rec_of "$id")
check_eq "cap-ls --all shows it dead" dead "$(field state "$rec")"
check_match "with the reason" "ended without writing its final record" "$(field reason "$rec")"
check_match "and an end time (its last write)" '^[0-9]{4}-.*Z$' "$(field ended "$rec")"
check_match "a person sees it dead" "^crash .* to be killed \[dead " "$(cap-ls --all --human)"
check_eq "the file holds every packet flushed" "$K" "$(pcap_count "$file")"
check_eq "the record was marked dead once, on disk" dead "$(field state "$(cat "$file.record")")"
run_tool cap-stop "$id"
check_eq "stopping a dead capture exits 1" 1 "$RC"
check_match "and says it is dead" "not running \(dead\)" "$ERR"

# Pid reuse: a record naming a live process (a sleep of ours) with another
# start time is dead, and cap-stop never signals that process.
sleep 300 &
victim=$!
real_start=$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$victim/stat")
forged="$CAPTURE_DIR/forged_reuse_Thu.Jan01.2026-00.00.00.UTC_1767225600_.pcap"
cp "$file" "$forged"
printf 'id=reused\tkind=live\tstate=running\tanalyst=forger\tfile=%s\tdesc=reuse\texpr=udp\tiface=lo\tstarted=2026-01-01T00:00:00Z\tpid=%s\tpstart=%s\n' \
  "$forged" "$victim" "$((real_start + 12345))" >"$forged.record"
check_eq "a reused pid is not running" "" "$(cap-ls -f forger)"
check_eq "a reused pid is dead in --all" dead "$(field state "$(cap-ls --all -f forger)")"
# Forge a second one, still "running", and try to stop it.
forged2="$CAPTURE_DIR/forged_again_Thu.Jan01.2026-00.00.00.UTC_1767225600_.pcap"
cp "$file" "$forged2"
printf 'id=again2\tkind=live\tstate=running\tanalyst=forger2\tfile=%s\tstarted=2026-01-01T00:00:00Z\tpid=%s\tpstart=%s\n' \
  "$forged2" "$victim" "$((real_start + 1))" >"$forged2.record"
run_tool cap-stop again2
check_eq "cap-stop refuses a reused pid" 1 "$RC"
if kill -0 "$victim" 2>/dev/null; then ok "the process with the reused pid was not signalled"; else fail "cap-stop killed an innocent process"; fi

# The same process with its true start time is running (the check is not vacuous).
forged3="$CAPTURE_DIR/forged_true_Thu.Jan01.2026-00.00.00.UTC_1767225600_.pcap"
cp "$file" "$forged3"
printf 'id=truest\tkind=pull\tstate=running\tanalyst=forger3\tfile=%s\tstarted=2026-01-01T00:00:00Z\tpid=%s\tpstart=%s\tprogress=2026-01-01T00:00:05Z\n' \
  "$forged3" "$victim" "$real_start" >"$forged3.record"
check_eq "pid and start time matching: running" running "$(field state "$(cap-ls -f forger3)")"
check_match "a running pull shows its progress" "\[pull at 2026-01-01T00:00:05Z\]" "$(cap-ls --human -f forger3)"
# cap-stop is generic over kinds: it signals the pull, which (being a
# sleep) dies without a final record, and that is said.
run_tool cap-stop --wait 5 truest
if wait_until 5 proc_gone "$victim"; then ok "cap-stop signals a pull by pid and start time"; else fail "the pull was not signalled"; fi
check_match "a process that ends without its final record is reported" "ended without writing its final record" "$ERR"
wait "$victim" 2>/dev/null || true

finish
