#!/usr/bin/env bash
# Eight analysts start and stop captures at the same moment: every capture
# starts, every record is its own, every file holds exactly its packets.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"

N=8
base=$(free_port 4)
pids=()
for i in $(seq 1 "$N"); do
  ( cap-start -a "analyst$i" -d "parallel $i" -e "udp and dst port $((base + i))" -i lo >"$WORK/start.$i" 2>"$WORK/start.$i.err"; echo $? >"$WORK/start.$i.rc" ) &
  pids+=($!)
done
# Each shell's own status too: one once ended without its rc file under a
# loaded ctest -j3, and this says how next time (137: SIGKILL from outside).
started=0
for i in $(seq 1 "$N"); do
  set +e
  wait "${pids[i - 1]}"
  shell_status=$?
  set -e
  if [ ! -e "$WORK/start.$i.rc" ]; then
    fail "analyst$i: its shell ended with status $shell_status before cap-start's status was written: $(cat "$WORK/start.$i.err" 2>/dev/null)"
    continue
  fi
  [ "$(cat "$WORK/start.$i.rc")" = 0 ] && [ "$(field state "$(cat "$WORK/start.$i")")" = running ] && started=$((started + 1))
done
check_eq "all $N captures started" "$N" "$started"
check_eq "$N distinct ids" "$N" "$(cat "$WORK"/start.? | cut -f1 | sort -u | wc -l)"
check_eq "cap-ls lists $N running" "$N" "$(cap-ls | wc -l)"

# Each analyst gets i+2 packets on its own port.
for i in $(seq 1 "$N"); do send_udp "$((base + i))" $((i + 2)) & done
wait
for i in $(seq 1 "$N"); do
  id=$(field id "$(cat "$WORK/start.$i")")
  wait_until 10 rec_field_is "$id" packets $((i + 2)) || fail "analyst$i never counted $((i + 2)): $(rec_of "$id")"
done

# All stop at once, each through its own pipe.
pids=()
for i in $(seq 1 "$N"); do
  ( cap-ls -f "analyst$i" | cap-stop >"$WORK/stop.$i" 2>"$WORK/stop.$i.err"; echo $? >"$WORK/stop.$i.rc" ) &
  pids+=($!)
done
wait "${pids[@]}"
for i in $(seq 1 "$N"); do
  rec=$(cat "$WORK/stop.$i")
  check_eq "analyst$i: cap-stop exits 0" "0:" "$(cat "$WORK/stop.$i.rc"):$(cat "$WORK/stop.$i.err")"
  check_eq "analyst$i: stopped its own capture" "analyst$i/stopped" "$(field analyst "$rec")/$(field state "$rec")"
  file=$(field file "$rec")
  check_eq "analyst$i: exactly its $((i + 2)) packets" "$((i + 2))" "$(pcap_count "$file")"
  check_eq "analyst$i: only its port" 0 "$(tcpdump -nr "$file" 2>/dev/null | grep -vc "\.$((base + i)): UDP" || true)"
done
check_eq "nothing left running" "" "$(cap-ls)"
check_eq "$N finished records" "$N" "$(cap-ls --all | grep -c 'state=stopped')"
check_eq "no temporary files left" "" "$(ls -A "$CAPTURE_DIR" | grep '^\.' || true)"

finish
