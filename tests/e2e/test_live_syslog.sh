#!/usr/bin/env bash
# The audit trail reaches a real syslog listener: one line for the start,
# one for the stop (naming both people when someone else stops it), one
# from the capture for its own end, one for a crash found.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/live_lib.sh"
source "$(dirname "$0")/syslog_lib.sh"
trap 'stop_syslog; cleanup_live' EXIT
start_syslog
logfile=$SYSLOG_FILE

port=$(free_port 5)
lines() { grep -c "$1" "$logfile" 2>/dev/null || true; }

# (Under real sudo, sudo_user= and the stop of another's capture are
# checked by test_sudo.sh; here root runs the tools itself.)
out=$(cap-start -a alice -d 'audited' -e "udp and dst port $port" -i lo)
id=$(field id "$out")
check_eq "the analyst" alice "$(field analyst "$out")"
wait_until 5 grep -q "action=start" "$logfile" || true
start_line=$(grep "action=start" "$logfile" || true)
check_eq "one start line" 1 "$(printf '%s\n' "$start_line" | grep -c . || true)"
check_match "the start line: who, what, where" "cap-start\[[0-9]+\]: action=start outcome=ok user=root id=$id analyst=alice file=$CAPTURE_DIR/alice_audited_" "$start_line"

# Root stops Alice's capture: the stop line names both.
cap-stop "$id" >/dev/null
# Two senders (cap-stop, the capture itself): either line may reach the
# listener first, so wait for each.
wait_until 5 grep -q "action=end" "$logfile" || true
wait_until 5 grep -q "action=stop" "$logfile" || true
stop_line=$(grep "action=stop" "$logfile" || true)
check_match "the stop line names the stopper and the owner" "cap-stop\[[0-9]+\]: action=stop outcome=ok user=root id=$id state=stopped analyst=alice .*owner=root" "$stop_line"
end_line=$(grep "action=end" "$logfile" || true)
check_match "the capture logs its own end" "cap-start\[[0-9]+\]: action=end outcome=stopped user=root id=$id" "$end_line"

# A limit and a refused start.
out=$(cap-start -a carol -d limited -e "udp and dst port $port" -i lo --count 1)
send_udp "$port" 3
wait_until 10 grep -q "action=limit" "$logfile" || true
check_match "a limit is one line" "action=limit outcome=limit .*analyst=carol .*limit=count" "$(grep 'action=limit' "$logfile" || true)"
start_at=$(grep -n 'action=start outcome=ok .*analyst=carol' "$logfile" | cut -d: -f1)
limit_at=$(grep -n 'action=limit .*analyst=carol' "$logfile" | cut -d: -f1)
if [ -n "$start_at" ] && [ -n "$limit_at" ] && [ "$start_at" -lt "$limit_at" ]; then
  ok "a start is logged before the capture's end, however fast it ends"
else
  fail "start line $start_at, limit line $limit_at"
fi
cap-start -a carol -e 'not an expression ((' -i lo 2>/dev/null || true
wait_until 5 grep -q "outcome=refused" "$logfile" || true
check_match "a refused start is one line with the reason" "action=start outcome=refused .*reason=\"bad expression" "$(grep 'outcome=refused' "$logfile" || true)"

# A crash found by cap-ls: one line, however often cap-ls looks.
out=$(cap-start -a dave -d crashing -e "udp and dst port $port" -i lo)
kill -KILL "$(field pid "$out")"
wait_until 10 proc_gone "$(field pid "$out")"
cap-ls --all >/dev/null
cap-ls --all >/dev/null
wait_until 5 grep -q "action=dead" "$logfile" || true
check_eq "a crash found is one line" 1 "$(lines 'action=dead')"
check_match "naming the capture" "action=dead outcome=dead .*analyst=dave" "$(grep 'action=dead' "$logfile" || true)"

# syslog on but the socket gone: said on stderr, never lost silently.
run_tool env CAPTURE_SYSLOG_SOCKET="$WORK/nowhere.sock" cap-start -a erin -d nolog -e "udp and dst port $port" -i lo
check_eq "a failure to log does not stop the capture" 0 "$RC"
check_match "but it is said" "cap-start: syslog: $WORK/nowhere.sock: .*not logged: action=start" "$ERR"
erin=$(field id "$OUT")
run_tool env CAPTURE_SYSLOG_SOCKET="$WORK/nowhere.sock" cap-stop "$erin"
check_eq "a failure to log does not stop the stop" 0 "$RC"
check_match "and it is said" "^cap-stop: syslog: $WORK/nowhere.sock: .*not logged: action=stop outcome=ok .*id=$erin" "$ERR"
# The capture's own end has no terminal to say it on: its record keeps it.
check_match "the end not logged is kept in the record" \
  "audit_error=syslog: $WORK/nowhere.sock: No such file or directory \(not logged: action=end " "$(rec_of "$erin")"

finish
